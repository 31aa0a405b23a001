/**
 * OpenAI-compatible image generation client (`POST {url}/images/generations`). Pure: `fetch` and
 * `sleep` are passed in, as openai-node does, so it runs in node, the browser and tests alike.
 */
import type { ImagesSettings } from '../../settings/schema';
import { EnsembleError, errorMessage } from '../../shared/errors';
import { type Words, inEnglish, say, t, translatedError } from '../../shared/i18n';
import { MAX_IMAGE_BYTES, tooLarge } from './image-bytes';
import { applyImageEvent, parseImagesJson, type GeneratedImage } from './image-response';
import {
    AbortedError, BodyTooLargeError, abortable, deadline, hostOf, isHttpUrl, joinUrl, jsonHeaders, readBytes,
    readErrorMessage, redactor, type Deadline,
} from './http';
import { SseEventTooLargeError, readSse } from './sse';

export type { GeneratedImage } from './image-response';
export { MAX_IMAGE_BYTES, type ImageMime } from './image-bytes';
export { resolveImageUrl, type ResolvedImage, type ResolveImageDeps } from './resolve-url';

export interface ImageApiConfig {
    /** Base URL, normally ending in /v1. `/images/generations` is appended as is, whatever the URL ends in. */
    url: string;
    key: string;
    model: string;
    size: string;
    aspectRatio: string;
    resolution: string;
    n: number;
    responseFormat: 'b64_json' | 'url';
    stream: boolean;
    /** Longest wait for one attempt, from sending the request to the last byte of the answer. */
    timeoutMs: number;
    /** Extra attempts after a network failure, HTTP 429 or 5xx. */
    retries: number;
}

export function imageApiConfig(settings: ImagesSettings): ImageApiConfig {
    return {
        url: settings.imageUrl, key: settings.imageKey, model: settings.imageModel, size: settings.size,
        aspectRatio: settings.aspectRatio, resolution: settings.resolution, n: settings.n,
        responseFormat: settings.responseFormat, stream: settings.stream, timeoutMs: settings.timeoutMs, retries: settings.retries,
    };
}

/**
 * - `request`: attempt N is being sent;
 * - `waiting`: the API answered 2xx and its body is being read (detail `streaming` for SSE);
 * - `retry`: attempt N failed and another follows (detail: why, and the wait);
 * - `partial`: a streamed partial picture arrived (detail `partial picture K`; the picture itself is not kept).
 */
export interface ImageProgress {
    attempt: number;
    phase: 'request' | 'waiting' | 'retry' | 'partial';
    detail?: string;
}

export interface ImageApiDeps {
    fetch: typeof fetch;
    /** The caller's cancel: aborts at once with IMAGE_CANCELLED, including during a retry wait; never retried. */
    signal?: AbortSignal;
    sleep?: (ms: number) => Promise<void>;
    onProgress?: (p: ImageProgress) => void;
}

/** The JSON body of the request. Empty optional settings are left out rather than sent empty. */
export function imageRequestBody(cfg: ImageApiConfig, prompt: string): Record<string, unknown> {
    const body: Record<string, unknown> = { prompt, n: cfg.n, response_format: cfg.responseFormat };
    if (cfg.model.trim()) body.model = cfg.model.trim();
    if (cfg.size.trim()) body.size = cfg.size.trim();
    if (cfg.aspectRatio.trim()) body.aspect_ratio = cfg.aspectRatio.trim();
    if (cfg.resolution.trim()) body.resolution = cfg.resolution.trim();
    if (cfg.stream) body.stream = true;
    return body;
}

export const MAX_RETRY_AFTER_MS = 30_000;
const BACKOFF_BASE_MS = 1_000;

/**
 * Wait before retry number `retry` (1-based): a numeric `Retry-After` (seconds) when the API sent
 * one, capped at 30 s; otherwise 1 s, 2 s, 4 s… plus up to 25 % jitter, so each wait is longer than
 * the one before. An HTTP-date Retry-After is ignored (clocks differ).
 */
export function retryDelayMs(retry: number, retryAfter: string | null, random: () => number = Math.random): number {
    const seconds = retryAfter !== null && /^\s*\d+(\.\d+)?\s*$/.test(retryAfter) ? Number(retryAfter) : NaN;
    if (Number.isFinite(seconds)) return Math.min(seconds * 1000, MAX_RETRY_AFTER_MS);
    const base = BACKOFF_BASE_MS * 2 ** (retry - 1);
    return Math.min(Math.round(base * (1 + 0.25 * random())), MAX_RETRY_AFTER_MS);
}


/** A whole non-streamed answer: n pictures in base64 plus room for the JSON around them. */
const jsonLimit = (n: number) => Math.max(1, n) * Math.ceil((MAX_IMAGE_BYTES * 4) / 3) + 1024 * 1024;
const SSE_EVENT_LIMIT = Math.ceil((MAX_IMAGE_BYTES * 4) / 3) + 64 * 1024;
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Attempt {
    cfg: ImageApiConfig;
    endpoint: string;
    init: { method: 'POST'; headers: Record<string, string>; body: string };
    deps: ImageApiDeps;
    number: number;
    progress: (p: ImageProgress) => void;
}

function cancelled(): EnsembleError {
    return translatedError('IMAGE_CANCELLED', 'ensemble.images.apiCancelled');
}

function abortFailure(dl: Deadline, cfg: ImageApiConfig): EnsembleError {
    if (!dl.timedOut()) return cancelled();
    const limit = cfg.timeoutMs >= 1000 ? `${Math.round(cfg.timeoutMs / 1000)} s` : `${cfg.timeoutMs} ms`;
    return translatedError('IMAGE_TIMEOUT', 'ensemble.images.apiTimeout', { limit });
}

async function httpFailure(res: Response, a: Attempt, dl: Deadline): Promise<never> {
    const message = await readErrorMessage(res, dl.signal);
    const said = message ? `: ${message}` : '.';
    const status = res.status;
    if (status === 401 || status === 403) {
        const key = a.cfg.key.trim() ? 'ensemble.images.apiKeyRefused' : 'ensemble.images.apiKeyMissing';
        throw translatedError('IMAGE_API_AUTH', key, { status, detail: said });
    }
    const retryAfter = res.headers.get('retry-after');
    if (status === 429) throw translatedError('IMAGE_API_RATE_LIMITED', 'ensemble.images.apiRateLimited', { detail: said }, { retry: { after: retryAfter } });
    if (status >= 500) throw translatedError('IMAGE_API_HTTP', 'ensemble.images.apiServerError', { status, detail: said }, { retry: { after: retryAfter } });
    if (status === 404 && !message) throw translatedError('IMAGE_API_HTTP', 'ensemble.images.apiNotFoundCheckUrl', { status });
    throw translatedError('IMAGE_API_HTTP', 'ensemble.images.apiRefused', { status, detail: said });
}

async function readImages(res: Response, a: Attempt, signal: AbortSignal): Promise<GeneratedImage[]> {
    const type = res.headers.get('content-type')?.toLowerCase() ?? '';
    const sse = type.includes('text/event-stream') || (a.cfg.stream && !/json|html/.test(type));
    a.progress({ attempt: a.number, phase: 'waiting', ...(sse ? { detail: 'streaming' } : {}) });
    if (!sse || !res.body) {
        const bytes = await readBytes(res, jsonLimit(a.cfg.n), signal);
        return parseImagesJson(new TextDecoder().decode(bytes), type || null);
    }
    const images: GeneratedImage[] = [];
    const onPartial = (index: number | undefined) =>
        a.progress({ attempt: a.number, phase: 'partial', detail: `partial picture ${(index ?? 0) + 1}` });
    for await (const ev of readSse(res.body, signal, SSE_EVENT_LIMIT)) applyImageEvent(ev, images, onPartial);
    if (images.length === 0) throw translatedError('IMAGE_API_EMPTY', 'ensemble.images.apiStreamEmpty');
    return images;
}

async function attempt(a: Attempt): Promise<GeneratedImage[]> {
    const dl = deadline(a.cfg.timeoutMs, a.deps.signal);
    try {
        let res: Response;
        try {
            res = await abortable(a.deps.fetch(a.endpoint, { ...a.init, signal: dl.signal }), dl.signal);
        } catch (err) {
            if (dl.signal.aborted) throw abortFailure(dl, a.cfg);
            throw translatedError('IMAGE_API_UNREACHABLE', 'ensemble.images.apiUnreachable', { host: hostOf(a.endpoint) }, { cause: err, retry: { after: null } });
        }
        if (!res.ok) return await httpFailure(res, a, dl);
        return await readImages(res, a, dl.signal);
    } catch (err) {
        if (dl.signal.aborted && !(err instanceof EnsembleError && (err.code === 'IMAGE_CANCELLED' || err.code === 'IMAGE_TIMEOUT'))) {
            throw abortFailure(dl, a.cfg);
        }
        if (err instanceof BodyTooLargeError || err instanceof SseEventTooLargeError) {
            throw tooLarge(t('ensemble.images.subjectApiAnswer'), err instanceof BodyTooLargeError ? err.declared : undefined, err instanceof BodyTooLargeError ? jsonLimit(a.cfg.n) : SSE_EVENT_LIMIT);
        }
        if (err instanceof TypeError) {
            // The connection dropped while the body was being read.
            throw translatedError('IMAGE_API_UNREACHABLE', 'ensemble.images.apiBrokeOff', undefined, { cause: err, retry: { after: null } });
        }
        throw err;
    } finally {
        dl.dispose();
    }
}

/** Makes sure no message (nor the stack built from it) carries the key, whatever the API echoed. */
function scrub(err: unknown, redact: (s: string) => string): unknown {
    if (!(err instanceof Error) || redact(err.message) === err.message) return err;
    const code = err instanceof EnsembleError ? err.code : 'IMAGE_API_INVALID';
    return new EnsembleError(code, redact(err.message), { userMessage: redact(errorMessage(err)) });
}

/**
 * Generates pictures for `prompt`. Retries network failures, HTTP 429 and 5xx up to `cfg.retries`
 * times; never retries a refused key (401/403), another 4xx, a timeout (the server may still be
 * generating, and billing, the first picture), an invalid answer or a cancel. Every failure is an
 * EnsembleError whose message never contains the key. `url` pictures are checked to be http(s) but
 * not downloaded: see resolveImageUrl.
 */
export async function generateImages(cfg: ImageApiConfig, prompt: string, deps: ImageApiDeps): Promise<GeneratedImage[]> {
    const base = cfg.url.trim();
    if (!base) throw translatedError('IMAGE_NOT_CONFIGURED', 'ensemble.images.apiNoUrl');
    if (!isHttpUrl(base)) throw translatedError('IMAGE_NOT_CONFIGURED', 'ensemble.images.apiBadUrl');
    const redact = redactor(cfg.key);
    const progress = (p: ImageProgress) => {
        try {
            deps.onProgress?.(p.detail === undefined ? p : { ...p, detail: redact(p.detail) });
        } catch {
            // A failing progress display must not fail the generation.
        }
    };
    const sleep = deps.sleep ?? defaultSleep;
    const init = { method: 'POST' as const, headers: jsonHeaders(cfg.key), body: JSON.stringify(imageRequestBody(cfg, prompt)) };
    const endpoint = joinUrl(base, '/images/generations');
    try {
        for (let number = 1; ; number++) {
            if (deps.signal?.aborted) throw cancelled();
            progress({ attempt: number, phase: 'request' });
            try {
                return await attempt({ cfg, endpoint, init, deps, number, progress });
            } catch (err) {
                // Only a failure marked worth another attempt (network, 429, 5xx) is retried.
                if (!(err instanceof EnsembleError) || !err.retry) throw err;
                if (number > cfg.retries) {
                    const gaveUp: Words = number === 1 ? { key: 'ensemble.images.apiGaveUpOne' } : { key: 'ensemble.images.apiGaveUpMany', vars: { count: number } };
                    throw new EnsembleError(err.code, `${err.message} ${inEnglish(gaveUp)}`, { cause: err.cause, userMessage: `${err.userMessage} ${say(gaveUp)}` });
                }
                const wait = retryDelayMs(number, err.retry.after);
                progress({ attempt: number, phase: 'retry', detail: `${err.message} Retrying in ${(wait / 1000).toFixed(1)} s.` });
                try {
                    await abortable(sleep(wait), deps.signal);
                } catch (e) {
                    throw e instanceof AbortedError ? cancelled() : e;
                }
            }
        }
    } catch (err) {
        throw scrub(err, redact);
    }
}
