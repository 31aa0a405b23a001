import type { BridgeErrorCode } from '../../src/protocol/index';

/** Every failure the HTTP API reports, with the status it maps to. */
export type ApiErrorCode =
    | 'invalid_request'
    | 'invalid_json'
    | 'invalid_api_key'
    | 'host_not_allowed'
    | 'origin_not_allowed'
    | 'not_found'
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

const STATUS: Record<ApiErrorCode, number> = {
    invalid_request: 400,
    invalid_json: 400,
    invalid_api_key: 401,
    host_not_allowed: 403,
    origin_not_allowed: 403,
    not_found: 404,
    model_not_found: 404,
    payload_too_large: 413,
    queue_full: 429,
    rate_limit_exceeded: 429,
    internal_error: 500,
    st_error: 502,
    tab_closed: 502,
    no_tab: 503,
    tab_unavailable: 503,
    st_busy: 503,
    cancelled: 503,
    shutting_down: 503,
    timeout: 504,
};

/** OpenAI's `error.type` families, so clients that switch on them behave sensibly. */
function typeFor(status: number): string {
    if (status === 401) return 'authentication_error';
    if (status === 429) return 'rate_limit_error';
    if (status >= 500) return 'server_error';
    return 'invalid_request_error';
}

export interface OpenAiErrorBody {
    error: { message: string; type: string; param: string | null; code: ApiErrorCode };
}

/** An error with the HTTP status and OpenAI-shaped body it is answered with. */
export class ApiError extends Error {
    readonly code: ApiErrorCode;
    readonly status: number;
    readonly param: string | null;

    constructor(code: ApiErrorCode, message: string, options?: { param?: string | null; cause?: unknown }) {
        super(message, options?.cause === undefined ? undefined : { cause: options.cause });
        this.name = 'ApiError';
        this.code = code;
        this.status = STATUS[code];
        this.param = options?.param ?? null;
    }

    get body(): OpenAiErrorBody {
        return { error: { message: this.message, type: typeFor(this.status), param: this.param, code: this.code } };
    }
}

/** How a `fail` frame from the extension reaches the HTTP client. */
const FROM_FAIL: Record<BridgeErrorCode, ApiErrorCode> = {
    bad_request: 'invalid_request',
    not_found: 'model_not_found',
    busy: 'st_busy',
    cancelled: 'cancelled',
    timeout: 'timeout',
    st_error: 'st_error',
    tab_closed: 'tab_closed',
    unavailable: 'tab_unavailable',
};

export function fromFail(code: BridgeErrorCode, message: string): ApiError {
    return new ApiError(FROM_FAIL[code], message ? `SillyTavern: ${message}` : `SillyTavern failed (${code}).`);
}

/** Anything thrown inside a handler becomes an ApiError; unknown errors keep no detail for the client. */
export function toApiError(err: unknown): ApiError {
    if (err instanceof ApiError) return err;
    return new ApiError('internal_error', 'Internal error in the bridge server.', { cause: err });
}

/** Truncates user-supplied text before it is echoed in an error message. */
export const clip = (text: string, max = 120): string => (text.length > max ? `${text.slice(0, max)}…` : text);

/**
 * The answer for a model the caller's key may not use: word for word the relay's for a model no tab
 * offers (relay.ts `submit`), so a scoped key cannot tell a hidden model from a missing one.
 */
export const unknownModel = (model: string): ApiError =>
    new ApiError('model_not_found', `The model '${clip(model)}' does not exist; GET /v1/models lists what SillyTavern offers.`, { param: 'model' });
