import type { BridgeErrorCode } from '../../src/protocol/index';
import { type ApiErrorCode, EnsembleError } from '../../src/shared/errors';

/** An error with one of the HTTP API's codes: the status and OpenAI-shaped body it is answered with follow from the code. */
export type ApiError = EnsembleError<ApiErrorCode>;

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

const API_CODES = new Set<string>(Object.keys(STATUS));

export function isApiError(err: unknown): err is ApiError {
    return err instanceof EnsembleError && API_CODES.has(err.code);
}

/** The HTTP status an error is answered with. */
export const httpStatus = (err: ApiError): number => STATUS[err.code];

/** The OpenAI-shaped body an error is answered with. */
export function openAiBody(err: ApiError): OpenAiErrorBody {
    return { error: { message: err.message, type: typeFor(httpStatus(err)), param: err.param, code: err.code } };
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
    return new EnsembleError(FROM_FAIL[code], message ? `SillyTavern: ${message}` : `SillyTavern failed (${code}).`);
}

/** Anything thrown inside a handler becomes an ApiError; other errors keep no detail for the client. */
export function toApiError(err: unknown): ApiError {
    if (isApiError(err)) return err;
    return new EnsembleError('internal_error', 'Internal error in the bridge server.', { cause: err });
}

/** Truncates user-supplied text before it is echoed in an error message. */
export const clip = (text: string, max = 120): string => (text.length > max ? `${text.slice(0, max)}…` : text);

/**
 * The answer for a model the caller's key may not use: word for word the relay's for a model no tab
 * offers (relay.ts `submit`), so a scoped key cannot tell a hidden model from a missing one.
 */
export const unknownModel = (model: string): ApiError =>
    new EnsembleError('model_not_found', `The model '${clip(model)}' does not exist; GET /v1/models lists what SillyTavern offers.`, { param: 'model' });
