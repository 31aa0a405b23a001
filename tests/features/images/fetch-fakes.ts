/** Fakes for the image tests: picture bytes, recorded fetch calls, and bodies streamed in chosen chunks. */
import type { ImageApiConfig } from '../../../src/features/images/image-api';

export const KEY = 'sk-test-VERY-SECRET-4242';

export function config(extra: Partial<ImageApiConfig> = {}): ImageApiConfig {
    return {
        url: 'https://img.example/v1', key: KEY, model: 'img-model', size: '1024x1024', aspectRatio: '', resolution: '',
        n: 1, responseFormat: 'b64_json', stream: false, timeoutMs: 120_000, retries: 2, ...extra,
    };
}

const bytes = (head: number[], size: number) => {
    const out = new Uint8Array(Math.max(size, head.length));
    out.set(head);
    for (let i = head.length; i < out.length; i++) out[i] = (i * 7) & 0xff;
    return out;
};
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

export const PNG = (size = 64) => bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], size);
export const JPEG = (size = 64) => bytes([0xff, 0xd8, 0xff, 0xe0], size);
export const GIF = (size = 64) => bytes(ascii('GIF89a'), size);
export const WEBP = (size = 64) => bytes([...ascii('RIFF'), 0, 0, 0, 0, ...ascii('WEBPVP8 ')], size);
export const SVG_WITH_SCRIPT = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>');
export const HTML_PAGE = new TextEncoder().encode('<!DOCTYPE html><html><body><script>alert(1)</script></body></html>');

export const b64 = (data: Uint8Array) => Buffer.from(data).toString('base64');

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

export const imagesBody = (...items: Record<string, unknown>[]) => ({ created: 1, data: items });

export interface Call {
    url: string;
    init: RequestInit;
    body: Record<string, unknown> | undefined;
}

type Responder = (url: string, init: RequestInit) => Response | Promise<Response>;

/** A fetch that answers from a script, one responder per call (the last one repeats), and records calls. */
export function scriptedFetch(...responders: Responder[]) {
    const calls: Call[] = [];
    const fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
        const url = String(input);
        calls.push({ url, init, body: typeof init.body === 'string' ? JSON.parse(init.body) as Record<string, unknown> : undefined });
        const responder = responders[Math.min(calls.length - 1, responders.length - 1)];
        if (!responder) throw new Error('no responder');
        return responder(url, init);
    };
    return { fetch: fetch as typeof globalThis.fetch, calls };
}

/** What a real fetch does with a request that never gets an answer: wait, and reject when aborted. */
export const hangUntilAborted: Responder = (_url, init) => new Promise<Response>((_resolve, reject) => {
    const signal = init.signal;
    if (!signal) return;
    signal.addEventListener('abort', () => reject(signal.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError')), { once: true });
});

export interface ChunkedStream {
    stream: ReadableStream<Uint8Array>;
    /** How many chunks the consumer pulled, and whether it cancelled. */
    stats: { pulled: number; cancelled: boolean };
}

/** A body delivered in exactly these chunks; `stall` keeps it open after the last one (a server gone quiet). */
export function chunked(chunks: (string | Uint8Array)[], opts: { stall?: boolean } = {}): ChunkedStream {
    const enc = new TextEncoder();
    const stats = { pulled: 0, cancelled: false };
    let i = 0;
    const stream = new ReadableStream<Uint8Array>({
        pull(ctl) {
            const c = chunks[i++];
            if (c === undefined) {
                if (opts.stall) return new Promise<void>(() => undefined);
                ctl.close();
                return undefined;
            }
            stats.pulled++;
            ctl.enqueue(typeof c === 'string' ? enc.encode(c) : c);
            return undefined;
        },
        cancel() {
            stats.cancelled = true;
        },
    }, { highWaterMark: 0 });
    return { stream, stats };
}

/** An endless-looking body of `chunkBytes` chunks, `count` of them, starting with a PNG header. */
export function bigBody(count: number, chunkBytes: number): ChunkedStream {
    const stats = { pulled: 0, cancelled: false };
    const stream = new ReadableStream<Uint8Array>({
        pull(ctl) {
            if (stats.pulled >= count) {
                ctl.close();
                return;
            }
            ctl.enqueue(stats.pulled === 0 ? PNG(chunkBytes) : new Uint8Array(chunkBytes));
            stats.pulled++;
        },
        cancel() {
            stats.cancelled = true;
        },
    }, { highWaterMark: 0 });
    return { stream, stats };
}

/** Splits a string into chunks at the given offsets (in UTF-8 bytes, so characters can be cut too). */
export function splitBytes(text: string, cuts: number[]): Uint8Array[] {
    const all = new TextEncoder().encode(text);
    const points = [0, ...cuts.filter((c) => c > 0 && c < all.length).sort((a, b) => a - b), all.length];
    const out: Uint8Array[] = [];
    for (let i = 0; i < points.length - 1; i++) out.push(all.slice(points[i], points[i + 1]));
    return out;
}

/** A deterministic pseudo-random source, so "random" chunkings are the same on every run. */
export function seeded(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
        s = (s * 1664525 + 1013904223) >>> 0;
        return s / 2 ** 32;
    };
}

export async function caught(promise: Promise<unknown>): Promise<Error & { code?: string }> {
    try {
        await promise;
    } catch (err) {
        return err as Error & { code?: string };
    }
    throw new Error('expected a rejection, got a value');
}
