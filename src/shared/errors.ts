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
    | 'HOST_UNSUPPORTED';

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
