/**
 * The one error type of Ensemble, in the extension and in the bridge server: a message for people and a
 * stable `code` for code and tests. Each code means one thing (the comment beside it); check `code`, not
 * the message. A few subclasses remain (AbortedError, BodyTooLargeError, SseEventTooLargeError,
 * UsageError, SessionProblem): each fixes one code and adds nothing but that code's data.
 */

/** Failures inside the extension: toasts, logs, slash-command results. */
export type ExtensionErrorCode =
    // SillyTavern, as the host adapter meets it
    | 'HOST_UNSUPPORTED' // this SillyTavern lacks an event or a feature Ensemble needs
    | 'ST_REQUEST_FAILED' // one of ST's server endpoints answered with an error status
    | 'ST_TIMEOUT' // ST did not finish a step (opening a chat, generating) in time
    | 'ST_NO_REPLY' // ST's generation ended without adding a reply
    | 'CHARACTER_NOT_FOUND' // no character at that index (or with that avatar)
    | 'GROUP_NOT_FOUND' // no group with that id
    | 'CLIPBOARD_DENIED' // the browser refused to copy text
    | 'FILE_TOO_LARGE' // a file the user picked is past the size Ensemble accepts
    | 'TEMPLATE_INVALID' // one of Ensemble's own HTML templates lacks an element the code needs
    | 'WAIT_CANCELLED' // a wait (shared/wait.ts) was cancelled by its signal
    // Connection Profiles
    | 'PROFILE_MISSING' // the user's own profile, to restore, no longer exists
    | 'PROFILE_SWITCH_TIMEOUT' // ST did not report a profile switch in time
    | 'PROFILE_SWITCH_OFFLINE' // ST stayed offline after a profile switch
    | 'PROFILE_SWITCH_MISMATCH' // ST kept another model than the profile's
    | 'PROFILE_SWITCH_NO_RESTORE' // a full switch was needed with no profile of the user's own to go back to
    // scene images
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
    | 'ST_IMAGE_DISABLED' // ST's Image Generation extension is turned off in Manage Extensions
    | 'ST_IMAGE_MISSING' // ST's Image Generation extension is not loaded (no /imagine command)
    | 'ST_IMAGE_UNCONFIGURED' // ST's Image Generation source lacks a key, URL or module ST checks before drawing
    | 'ST_IMAGE_FAILED' // ST's Image Generation drew nothing (it showed its own toast with the reason)
    | 'ABORTED' // an HTTP helper's signal aborted; its caller says whether that was a cancel or a timeout
    | 'BODY_TOO_LARGE' // an HTTP answer's body is past the reader's limit
    | 'SSE_EVENT_TOO_LARGE' // one server-sent event is past the decoder's limit
    // the bridge, inside ST: each is sent to the server as the `fail` frame's code beside it
    | 'BRIDGE_BAD_REQUEST' // bad_request: the request cannot be served as sent
    | 'BRIDGE_TARGET_NOT_FOUND' // not_found: no character or group behind the model id
    | 'BRIDGE_UNAVAILABLE' // unavailable: this tab cannot serve (its session is taken)
    | 'BRIDGE_CANCELLED' // cancelled: the client cancelled
    // NextChat
    | 'CARD_INVALID'; // a character card is malformed for export

/**
 * The bridge server's HTTP answers: the `code` of the OpenAI-shaped error body, lowercase as OpenAI's are.
 * server/src/errors.ts maps each to its HTTP status.
 */
export type ApiErrorCode =
    | 'invalid_request'
    | 'invalid_json'
    | 'invalid_api_key'
    | 'host_not_allowed'
    | 'origin_not_allowed'
    | 'not_found' // no such HTTP route or WebSocket path
    | 'model_not_found'
    | 'payload_too_large'
    | 'queue_full'
    | 'rate_limit_exceeded'
    | 'no_tab'
    | 'st_busy'
    | 'cancelled'
    | 'st_error'
    | 'tab_closed'
    | 'tab_unavailable'
    | 'timeout'
    | 'shutting_down'
    | 'internal_error';

/** The bridge server's own start-up and command line. */
export type ServerErrorCode =
    | 'CLI_USAGE' // a flag or environment variable is wrong (the usage text follows)
    | 'CONFIG_INVALID' // a setting (flag, environment, config file) is malformed
    | 'SECRETS_INVALID' // secrets.json is malformed
    | 'CHAT_INDEX_UNREADABLE' // the index of bridge chats could not be read
    | 'ST_SESSION_FAILED' // a background SillyTavern session could not start or stay up
    | 'INTERNAL'; // Ensemble's own code broke one of its rules (a bug); answered as internal_error

export type ErrorCode = ExtensionErrorCode | ApiErrorCode | ServerErrorCode;

export interface EnsembleErrorOptions {
    cause?: unknown;
    /** The request field at fault, for OpenAI-shaped answers. */
    param?: string | null;
    /** Set when another attempt may succeed: the server's Retry-After, if it sent one. */
    retry?: { after: string | null };
    /** The same sentence in the user's language, for the extension's toasts and panel; `message` stays English (logs). */
    userMessage?: string;
}

export class EnsembleError<C extends ErrorCode = ErrorCode> extends Error {
    readonly code: C;
    readonly param: string | null;
    readonly retry: { after: string | null } | undefined;
    /** What the user reads: the translated sentence when one was given, else `message`. */
    readonly userMessage: string;

    constructor(code: C, message: string, options?: EnsembleErrorOptions) {
        super(message, options && 'cause' in options ? { cause: options.cause } : undefined);
        this.name = 'EnsembleError';
        this.code = code;
        this.param = options?.param ?? null;
        this.retry = options?.retry;
        this.userMessage = options?.userMessage ?? message;
    }
}

/** An error as the user reads it (toasts, panel, slash-command results): an EnsembleError's translated text, if it has one. */
export function errorMessage(err: unknown): string {
    if (err instanceof EnsembleError) return err.userMessage;
    return err instanceof Error ? err.message : String(err);
}

/** An error in English: for logs and for what the bridge sends to API clients (an API speaks one language). */
export function englishMessage(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}
