/**
 * Small fetch helpers shared by the image API client and the prompt endpoint: URLs, headers,
 * deadlines, capped abortable body reads, and reading an API's error message. Web APIs only.
 */
import { EnsembleError } from '../../shared/errors';
import { t } from '../../shared/i18n';

/** Joins a base URL (trailing slashes dropped) and a path. */
export const joinUrl = (base: string, path: string) => `${base.trim().replace(/\/+$/, '')}${path}`;

/** True for an absolute http(s) URL. */
export function isHttpUrl(url: string): boolean {
    try {
        const u = new URL(url);
        return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
        return false;
    }
}

/** The host of a URL, for messages (never its path, query or credentials, where keys sometimes hide). */
export function hostOf(url: string): string {
    try {
        return new URL(url).host || url;
    } catch {
        return t('ensemble.images.configuredUrl');
    }
}

export function jsonHeaders(key: string): Record<string, string> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (key.trim()) headers.Authorization = `Bearer ${key.trim()}`;
    return headers;
}

/** Replaces the key wherever a message might echo it (some proxies quote the key they rejected). */
export function redactor(key: string): (text: string) => string {
    const k = key.trim();
    return k.length >= 4 ? (text) => text.split(k).join('[key]') : (text) => text;
}

/** Thrown by the helpers below when their signal aborts; callers map it to cancelled or timed out. */
export class AbortedError extends EnsembleError<'ABORTED'> {
    constructor() {
        super('ABORTED', 'aborted');
        this.name = 'AbortedError';
    }
}

/** Resolves with `promise`, or rejects with AbortedError as soon as `signal` aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (!signal) return promise;
    if (signal.aborted) return Promise.reject(new AbortedError());
    return new Promise<T>((resolve, reject) => {
        const onAbort = () => reject(new AbortedError());
        signal.addEventListener('abort', onAbort, { once: true });
        promise.then(
            (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
            (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e); },
        );
    });
}

/** The caller's signal combined with a timeout. `timedOut` tells the two apart after an abort. */
export interface Deadline {
    signal: AbortSignal;
    timedOut(): boolean;
    dispose(): void;
}

export function deadline(timeoutMs: number, outer: AbortSignal | undefined): Deadline {
    const ctl = new AbortController();
    let expired = false;
    const timer = setTimeout(() => { expired = true; ctl.abort(); }, timeoutMs);
    const onOuter = () => ctl.abort();
    if (outer?.aborted) ctl.abort();
    else outer?.addEventListener('abort', onOuter, { once: true });
    return {
        signal: ctl.signal,
        timedOut: () => expired && !outer?.aborted,
        dispose: () => { clearTimeout(timer); outer?.removeEventListener('abort', onOuter); },
    };
}

export class BodyTooLargeError extends EnsembleError<'BODY_TOO_LARGE'> {
    constructor(readonly declared: number | undefined) {
        super('BODY_TOO_LARGE', 'body too large');
        this.name = 'BodyTooLargeError';
    }
}

/**
 * Reads a body with a running byte count. Past `maxBytes` it stops and cancels the rest, then either
 * throws BodyTooLargeError (`declared` set when Content-Length already said so, before any read) or,
 * with `truncate`, returns what it has: enough of an error page to find its message.
 */
export async function readBytes(res: Response, maxBytes: number, signal?: AbortSignal, truncate = false): Promise<Uint8Array> {
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (!truncate && Number.isFinite(declared) && declared > maxBytes) {
        void res.body?.cancel().catch(() => undefined);
        throw new BodyTooLargeError(declared);
    }
    if (!res.body) return new Uint8Array(0);
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
        for (;;) {
            const { done, value } = await abortable(reader.read(), signal);
            if (done) break;
            if (total + value.length > maxBytes) {
                if (!truncate) throw new BodyTooLargeError(undefined);
                chunks.push(value.subarray(0, maxBytes - total));
                total = maxBytes;
                break;
            }
            chunks.push(value);
            total += value.length;
        }
    } catch (err) {
        void reader.cancel().catch(() => undefined);
        throw err;
    }
    if (total >= maxBytes) void reader.cancel().catch(() => undefined);
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) { out.set(c, at); at += c.length; }
    return out;
}

/** True when a body is an HTML page: a login wall, a proxy's error page, a web UI's index. */
export function isHtml(text: string, contentType: string | null): boolean {
    if (contentType?.toLowerCase().includes('text/html')) return true;
    return /^\s*<(!doctype html|html|head|body)\b/i.test(text.slice(0, 256));
}

const short = (s: string, max = 300) => (s.length > max ? `${s.slice(0, max)}…` : s);

/** The message in an OpenAI-shaped error body (`{error:{message}}`, or `{error:"…"}`, `{message}`), shortened, as a sentence. */
export function apiErrorMessage(text: string): string | undefined {
    let body: unknown;
    try {
        body = JSON.parse(text);
    } catch {
        return undefined;
    }
    if (typeof body !== 'object' || body === null) return undefined;
    const { error, message } = body as { error?: unknown; message?: unknown };
    const inner = typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : error;
    const found = [inner, message].find((m): m is string => typeof m === 'string' && m.trim() !== '');
    if (found === undefined) return undefined;
    const said = short(found.trim().replace(/\s+/g, ' '));
    return /[.!?…]$/.test(said) ? said : `${said}.`;
}

export const ERROR_BODY_BYTES = 64 * 1024;

/** The error message an HTTP error response carries, if any (reads at most 64 KB of it). */
export async function readErrorMessage(res: Response, signal?: AbortSignal): Promise<string | undefined> {
    try {
        const text = new TextDecoder().decode(await readBytes(res, ERROR_BODY_BYTES, signal, true));
        return apiErrorMessage(text);
    } catch (err) {
        if (err instanceof AbortedError) throw err;
        return undefined;
    }
}
