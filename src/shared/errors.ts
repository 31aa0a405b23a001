/** Stable codes for every failure Ensemble reports; messages are for people, codes for code and tests. */
export type EnsembleErrorCode =
    | 'SETTINGS_INVALID'
    | 'PROFILE_MISSING'
    | 'PROFILE_SWITCH_TIMEOUT'
    | 'PROFILE_SWITCH_OFFLINE'
    | 'PROFILE_SWITCH_MISMATCH'
    | 'PROFILE_SWITCH_NO_RESTORE'
    | 'CHARACTER_NOT_FOUND'
    | 'GROUP_NOT_FOUND'
    | 'HOST_UNSUPPORTED'
    // images
    | 'IMAGE_NOT_CONFIGURED'
    | 'IMAGE_API_UNREACHABLE'
    | 'IMAGE_API_AUTH'
    | 'IMAGE_API_RATE_LIMITED'
    | 'IMAGE_API_HTTP'
    | 'IMAGE_API_INVALID'
    | 'IMAGE_API_EMPTY'
    | 'IMAGE_UNSAFE'
    | 'IMAGE_TOO_LARGE'
    | 'IMAGE_TIMEOUT'
    | 'IMAGE_CANCELLED'
    | 'PROMPT_LLM_FAILED'
    | 'PROMPT_EMPTY'
    | 'MESSAGE_NOT_FOUND'
    | 'IMAGE_SAVE_FAILED'
    // NextChat
    | 'CARD_INVALID';

export class EnsembleError extends Error {
    readonly code: EnsembleErrorCode;

    constructor(code: EnsembleErrorCode, message: string, options?: { cause?: unknown }) {
        super(message, options);
        this.name = 'EnsembleError';
        this.code = code;
    }
}

export function errorMessage(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}
