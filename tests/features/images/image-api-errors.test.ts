// @vitest-environment node
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, generateImages, retryDelayMs, type ImageProgress } from '../../../src/features/images/image-api';
import { EnsembleError } from '../../../src/shared/errors';
import { resetLocale, useLocale } from '../../../src/shared/i18n';
import {
    KEY, PNG, b64, caught, chunked, config, hangUntilAborted, imagesBody, json, scriptedFetch,
} from './fetch-fakes';

const ok = () => json(imagesBody({ b64_json: b64(PNG(100)) }));
const status = (code: number, body: unknown = { error: { message: `status ${code}` } }, headers: Record<string, string> = {}) =>
    () => json(body, code, headers);
const networkDown = () => Promise.reject(new TypeError('fetch failed'));

/** A sleep that records its waits and returns at once. */
function fakeSleep() {
    const waits: number[] = [];
    return { waits, sleep: async (ms: number) => { waits.push(ms); } };
}

describe('generateImages: HTTP errors', () => {
    it.each([401, 403])('says IMAGE_API_AUTH for HTTP %i and does not retry', async (code) => {
        const f = scriptedFetch(status(code, { error: { message: 'Incorrect API key provided.' } }));
        const s = fakeSleep();
        const err = await caught(generateImages(config(), 'p', { fetch: f.fetch, sleep: s.sleep }));
        expect(err).toMatchObject({ code: 'IMAGE_API_AUTH', message: `The image API refused the key (HTTP ${code}): Incorrect API key provided.` });
        expect(f.calls).toHaveLength(1);
        expect(s.waits).toEqual([]);
    });

    it('says the key is missing on a 401 when none is set', async () => {
        const err = await caught(generateImages(config({ key: '' }), 'p', { fetch: scriptedFetch(status(401, 'nope')).fetch }));
        expect(err).toMatchObject({ code: 'IMAGE_API_AUTH', message: 'The image API needs a key, and none is set (HTTP 401).' });
    });

    it('gives another 4xx as IMAGE_API_HTTP with the API’s own message, without retrying', async () => {
        const f = scriptedFetch(status(400, { error: { message: "Invalid size '7x7'. Supported sizes are 1024x1024.", code: 'invalid_size' } }));
        const err = await caught(generateImages(config(), 'p', { fetch: f.fetch, sleep: fakeSleep().sleep }));
        expect(err).toMatchObject({ code: 'IMAGE_API_HTTP', message: "The image API refused the request (HTTP 400): Invalid size '7x7'. Supported sizes are 1024x1024." });
        expect(f.calls).toHaveLength(1);
    });

    it('hints at the URL for a bare 404', async () => {
        const f = scriptedFetch(() => new Response('Not Found', { status: 404 }));
        const err = await caught(generateImages(config(), 'p', { fetch: f.fetch }));
        expect(err.message).toBe('The image API refused the request (HTTP 404). Check the URL: it usually ends in /v1.');
    });

    it('shortens a very long API message', async () => {
        const f = scriptedFetch(status(400, { error: { message: 'x'.repeat(5000) } }));
        const err = await caught(generateImages(config(), 'p', { fetch: f.fetch }));
        expect(err.message.length).toBeLessThan(400);
        expect(err.message.endsWith('…')).toBe(true);
    });
});

describe('generateImages: retries', () => {
    it('retries 5xx with growing, jittered waits, then succeeds', async () => {
        const f = scriptedFetch(status(503), status(502), ok);
        const s = fakeSleep();
        const images = await generateImages(config({ retries: 2 }), 'p', { fetch: f.fetch, sleep: s.sleep });
        expect(images).toHaveLength(1);
        expect(f.calls).toHaveLength(3);
        expect(s.waits).toHaveLength(2);
        expect(s.waits[0]).toBeGreaterThanOrEqual(1000);
        expect(s.waits[0]).toBeLessThanOrEqual(1250);
        expect(s.waits[1]).toBeGreaterThanOrEqual(2000);
        expect(s.waits[1]).toBeLessThanOrEqual(2500);
    });

    it('waits longer before each retry (5 retries) and gives up with IMAGE_API_HTTP after all attempts', async () => {
        const f = scriptedFetch(status(500, { error: { message: 'upstream exploded' } }));
        const s = fakeSleep();
        const err = await caught(generateImages(config({ retries: 5 }), 'p', { fetch: f.fetch, sleep: s.sleep }));
        expect(err).toMatchObject({ code: 'IMAGE_API_HTTP', message: 'The image API failed with HTTP 500: upstream exploded. Gave up after 6 attempts.' });
        expect(f.calls).toHaveLength(6);
        expect(s.waits).toHaveLength(5);
        for (let i = 1; i < s.waits.length; i++) expect(s.waits[i]!).toBeGreaterThan(s.waits[i - 1]!);
    });

    it('computes backoff from the retry number, within 25 % jitter, and caps it at 30 s', () => {
        expect(retryDelayMs(1, null, () => 0)).toBe(1000);
        expect(retryDelayMs(1, null, () => 0.999)).toBe(1250);
        expect(retryDelayMs(3, null, () => 0)).toBe(4000);
        expect(retryDelayMs(3, null, () => 0.5)).toBe(4500);
        expect(retryDelayMs(10, null, () => 0.9)).toBe(MAX_RETRY_AFTER_MS);
    });

    it('honours a numeric Retry-After on 429, and gives up with IMAGE_API_RATE_LIMITED', async () => {
        const f = scriptedFetch(status(429, { error: { message: 'Rate limit reached for images per minute.' } }, { 'retry-after': '7' }));
        const s = fakeSleep();
        const err = await caught(generateImages(config({ retries: 2 }), 'p', { fetch: f.fetch, sleep: s.sleep }));
        expect(s.waits).toEqual([7000, 7000]);
        expect(err).toMatchObject({
            code: 'IMAGE_API_RATE_LIMITED',
            message: 'The image API is rate-limiting requests (HTTP 429): Rate limit reached for images per minute. Gave up after 3 attempts.',
        });
        expect(f.calls).toHaveLength(3);
    });

    it('caps a long Retry-After at 30 s and honours it on 5xx too', async () => {
        const f = scriptedFetch(status(429, {}, { 'retry-after': '3600' }), status(503, {}, { 'retry-after': '0.5' }), ok);
        const s = fakeSleep();
        await generateImages(config({ retries: 2 }), 'p', { fetch: f.fetch, sleep: s.sleep });
        expect(s.waits).toEqual([30_000, 500]);
    });

    it('falls back to backoff for a Retry-After that is an HTTP date', async () => {
        const f = scriptedFetch(status(429, {}, { 'retry-after': 'Wed, 21 Oct 2065 07:28:00 GMT' }), ok);
        const s = fakeSleep();
        await generateImages(config(), 'p', { fetch: f.fetch, sleep: s.sleep });
        expect(s.waits[0]).toBeGreaterThanOrEqual(1000);
        expect(s.waits[0]).toBeLessThanOrEqual(1250);
    });

    it('retries a network failure and finally says IMAGE_API_UNREACHABLE, naming the host only', async () => {
        const f = scriptedFetch(networkDown);
        const s = fakeSleep();
        const err = await caught(generateImages(config({ url: 'https://img.example/v1?token=abc', retries: 1 }), 'p', { fetch: f.fetch, sleep: s.sleep }));
        expect(err).toMatchObject({
            code: 'IMAGE_API_UNREACHABLE',
            message: 'Could not reach the image API at img.example. Check the URL, that the server is running, and that it allows requests from this page (CORS). Gave up after 2 attempts.',
        });
        expect(err.message).not.toContain('token');
        expect(f.calls).toHaveLength(2);
        expect((err as EnsembleError).cause).toBeInstanceOf(TypeError);
    });

    it('recovers when the network comes back', async () => {
        const f = scriptedFetch(networkDown, ok);
        expect(await generateImages(config(), 'p', { fetch: f.fetch, sleep: fakeSleep().sleep })).toHaveLength(1);
        expect(f.calls).toHaveLength(2);
    });

    it('makes a single attempt with retries = 0', async () => {
        const f = scriptedFetch(status(503));
        const s = fakeSleep();
        const err = await caught(generateImages(config({ retries: 0 }), 'p', { fetch: f.fetch, sleep: s.sleep }));
        expect(err.message).toMatch(/Gave up after 1 attempt\.$/);
        expect(f.calls).toHaveLength(1);
        expect(s.waits).toEqual([]);
    });

    it('reports request, retry and waiting progress with attempt numbers', async () => {
        const f = scriptedFetch(status(503, {}, { 'retry-after': '2' }), ok);
        const seen: ImageProgress[] = [];
        await generateImages(config(), 'p', { fetch: f.fetch, sleep: fakeSleep().sleep, onProgress: (p) => seen.push(p) });
        expect(seen).toEqual([
            { attempt: 1, phase: 'request' },
            { attempt: 1, phase: 'retry', detail: 'The image API failed with HTTP 503. Retrying in 2.0 s.' },
            { attempt: 2, phase: 'request' },
            { attempt: 2, phase: 'waiting' },
        ]);
    });

    it('is not derailed by a progress callback that throws', async () => {
        const f = scriptedFetch(ok);
        const images = await generateImages(config(), 'p', { fetch: f.fetch, onProgress: () => { throw new Error('UI gone'); } });
        expect(images).toHaveLength(1);
    });
});

describe('generateImages: timeout and cancel', () => {
    it('says IMAGE_TIMEOUT when the API does not answer in time, and does not retry', async () => {
        const f = scriptedFetch(hangUntilAborted);
        const err = await caught(generateImages(config({ timeoutMs: 30, retries: 3 }), 'p', { fetch: f.fetch, sleep: fakeSleep().sleep }));
        expect(err).toMatchObject({ code: 'IMAGE_TIMEOUT', message: 'The image API did not answer within 30 ms.' });
        expect(f.calls).toHaveLength(1);
        expect(f.calls[0]?.init.signal?.aborted).toBe(true);
    });

    it('says IMAGE_TIMEOUT when the body stalls after the headers, even with a fetch that ignores the signal', async () => {
        const f = scriptedFetch(() => new Response(chunked(['{"data":['], { stall: true }).stream, { headers: { 'content-type': 'application/json' } }));
        const err = await caught(generateImages(config({ timeoutMs: 40 }), 'p', { fetch: f.fetch }));
        expect(err.code).toBe('IMAGE_TIMEOUT');
    });

    it('says IMAGE_CANCELLED when the caller aborts during the request, and does not retry', async () => {
        const f = scriptedFetch(hangUntilAborted);
        const ctl = new AbortController();
        const pending = caught(generateImages(config({ retries: 3 }), 'p', { fetch: f.fetch, signal: ctl.signal }));
        await new Promise((r) => setTimeout(r, 5));
        ctl.abort();
        const err = await pending;
        expect(err).toMatchObject({ code: 'IMAGE_CANCELLED', message: 'Image generation was cancelled.' });
        expect(f.calls).toHaveLength(1);
    });

    it('says IMAGE_CANCELLED when aborted during a retry wait, without another attempt', async () => {
        const f = scriptedFetch(status(503));
        const ctl = new AbortController();
        const sleep = () => { setTimeout(() => ctl.abort(), 1); return new Promise<void>(() => undefined); };
        const err = await caught(generateImages(config(), 'p', { fetch: f.fetch, signal: ctl.signal, sleep }));
        expect(err.code).toBe('IMAGE_CANCELLED');
        expect(f.calls).toHaveLength(1);
    });

    it('does not call the API at all with an already aborted signal', async () => {
        const f = scriptedFetch(ok);
        const ctl = new AbortController();
        ctl.abort();
        expect((await caught(generateImages(config(), 'p', { fetch: f.fetch, signal: ctl.signal }))).code).toBe('IMAGE_CANCELLED');
        expect(f.calls).toHaveLength(0);
    });

    it('passes a signal to fetch even when the caller gives none (for the timeout)', async () => {
        const f = scriptedFetch(ok);
        await generateImages(config(), 'p', { fetch: f.fetch });
        expect(f.calls[0]?.init.signal).toBeInstanceOf(AbortSignal);
    });
});

describe('generateImages: the key never appears in a message', () => {
    const echo = `Incorrect API key provided: ${KEY}. You can find your key at https://platform.example/keys.`;
    const cases: [string, () => Response | Promise<Response>][] = [
        ['401 echoing the key', status(401, { error: { message: echo } })],
        ['400 echoing the key', status(400, { error: { message: echo } })],
        ['429 echoing the key', status(429, { error: { message: echo } })],
        ['500 echoing the key', status(500, { message: echo })],
        ['200 error body echoing the key', () => json({ error: echo })],
        ['stream error event echoing the key', () => new Response(`data: ${JSON.stringify({ type: 'error', error: { message: echo } })}\n\n`, { headers: { 'content-type': 'text/event-stream' } })],
        ['network failure mentioning the key', () => Promise.reject(new TypeError(`connect failed for Bearer ${KEY}`))],
    ];

    it.each(cases)('%s', async (_name, responder) => {
        const seen: ImageProgress[] = [];
        const err = await caught(generateImages(config({ retries: 1 }), 'p', { fetch: scriptedFetch(responder).fetch, sleep: fakeSleep().sleep, onProgress: (p) => seen.push(p) }));
        expect(err).toBeInstanceOf(EnsembleError);
        expect(err.message).not.toContain(KEY);
        expect((err as EnsembleError).userMessage).not.toContain(KEY);
        expect(err.stack ?? '').not.toContain(KEY);
        expect(JSON.stringify(seen)).not.toContain(KEY);
    });

    it('keeps the rest of the API’s message, with the key replaced', async () => {
        const err = await caught(generateImages(config(), 'p', { fetch: scriptedFetch(status(401, { error: { message: echo } })).fetch }));
        expect(err.message).toBe('The image API refused the key (HTTP 401): Incorrect API key provided: [key]. You can find your key at https://platform.example/keys.');
    });
});

describe('generateImages: in the user\'s language', () => {
    afterEach(() => resetLocale());

    it('after the last retry the user reads one sentence in their language; the message (logs) stays English', async () => {
        useLocale('de-de', { 'ensemble.images.apiServerError': 'Die Bild-API meldet HTTP {status}{detail}', 'ensemble.images.apiGaveUpMany': 'Nach {count} Versuchen aufgegeben.' });
        const f = scriptedFetch(status(503), status(503), status(503));
        const err = await caught(generateImages(config({ retries: 2 }), 'p', { fetch: f.fetch, sleep: fakeSleep().sleep })) as EnsembleError;
        expect(err.userMessage).toBe('Die Bild-API meldet HTTP 503: status 503. Nach 3 Versuchen aufgegeben.');
        expect(err.message).toBe('The image API failed with HTTP 503: status 503. Gave up after 3 attempts.');
    });

    it('a message scrubbed of the key keeps the user\'s language', async () => {
        useLocale('de-de', { 'ensemble.images.apiRefused': 'Die Bild-API lehnt ab (HTTP {status}){detail}' });
        const err = await caught(generateImages(config(), 'p', { fetch: scriptedFetch(status(400, { error: { message: `bad key ${KEY}` } })).fetch })) as EnsembleError;
        expect(err.userMessage).toBe('Die Bild-API lehnt ab (HTTP 400): bad key [key].');
        expect(err.message).toBe('The image API refused the request (HTTP 400): bad key [key].');
    });
});
