// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { MAX_IMAGE_BYTES, resolveImageUrl } from '../../../src/features/images/image-api';
import {
    HTML_PAGE, JPEG, PNG, SVG_WITH_SCRIPT, b64, bigBody, caught, chunked, hangUntilAborted, scriptedFetch,
} from './fetch-fakes';

const URL_OK = 'https://cdn.example/out/fox.png?sig=123';
const served = (body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>, headers: Record<string, string> = {}, status = 200) =>
    () => new Response(body, { status, headers });

describe('resolveImageUrl', () => {
    it('downloads the picture into a data URL of its sniffed type, without cookies', async () => {
        const f = scriptedFetch(served(JPEG(321), { 'content-type': 'image/png' }));
        const got = await resolveImageUrl(URL_OK, { fetch: f.fetch });
        expect(got).toEqual({ kind: 'data', dataUrl: `data:image/jpeg;base64,${b64(JPEG(321))}`, mime: 'image/jpeg', bytes: 321 });
        expect(f.calls[0]?.url).toBe(URL_OK);
        expect(f.calls[0]?.init).toMatchObject({ mode: 'cors', credentials: 'omit' });
    });

    it('reads a body that arrives in many chunks', async () => {
        const png = PNG(10_000);
        const parts = Array.from({ length: 10 }, (_, i) => png.slice(i * 1000, (i + 1) * 1000));
        const got = await resolveImageUrl(URL_OK, { fetch: scriptedFetch(served(chunked(parts).stream)).fetch });
        expect(got).toMatchObject({ kind: 'data', mime: 'image/png', bytes: 10_000 });
    });

    it('keeps the link with corsBlocked when fetch fails with a TypeError (a CORS refusal)', async () => {
        const f = scriptedFetch(() => Promise.reject(new TypeError('Failed to fetch')));
        expect(await resolveImageUrl(URL_OK, { fetch: f.fetch })).toEqual({ kind: 'url', url: URL_OK, corsBlocked: true });
    });

    it('says IMAGE_API_UNREACHABLE for another kind of fetch failure', async () => {
        const f = scriptedFetch(() => Promise.reject(new RangeError('weird')));
        expect(await caught(resolveImageUrl(URL_OK, { fetch: f.fetch }))).toMatchObject({ code: 'IMAGE_API_UNREACHABLE', message: 'Could not download the picture from cdn.example.' });
    });

    it('says IMAGE_API_HTTP for a non-2xx answer, naming the status', async () => {
        const f = scriptedFetch(served(new TextEncoder().encode('AccessDenied'), {}, 403));
        expect(await caught(resolveImageUrl(URL_OK, { fetch: f.fetch }))).toMatchObject({
            code: 'IMAGE_API_HTTP', message: 'Downloading the picture from cdn.example failed with HTTP 403.',
        });
    });

    it.each([
        ['javascript:', 'javascript:alert(1)'],
        ['data:text/html', 'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='],
        ['data:image/png', `data:image/png;base64,${b64(PNG(10))}`],
        ['file:', 'file:///C:/secret.png'],
        ['relative', 'img/fox.png'],
    ])('refuses a %s link as IMAGE_UNSAFE without fetching it', async (_name, url) => {
        const f = scriptedFetch(served(PNG()));
        expect((await caught(resolveImageUrl(url, { fetch: f.fetch }))).code).toBe('IMAGE_UNSAFE');
        expect(f.calls).toHaveLength(0);
    });

    it('refuses a served SVG with script, even labelled image/png (IMAGE_UNSAFE)', async () => {
        for (const type of ['image/svg+xml', 'image/png']) {
            const err = await caught(resolveImageUrl(URL_OK, { fetch: scriptedFetch(served(SVG_WITH_SCRIPT, { 'content-type': type })).fetch }));
            expect(err).toMatchObject({ code: 'IMAGE_UNSAFE', message: 'The picture at cdn.example is an SVG document, not a picture; it was refused.' });
        }
    });

    it('refuses a served HTML page (IMAGE_UNSAFE)', async () => {
        const err = await caught(resolveImageUrl(URL_OK, { fetch: scriptedFetch(served(HTML_PAGE, { 'content-type': 'image/jpeg' })).fetch }));
        expect(err.code).toBe('IMAGE_UNSAFE');
    });

    it('refuses a 50 MB picture from its Content-Length before reading any of it (IMAGE_TOO_LARGE)', async () => {
        const body = bigBody(50, 1024 * 1024);
        const f = scriptedFetch(served(body.stream, { 'content-length': String(50 * 1024 * 1024) }));
        const err = await caught(resolveImageUrl(URL_OK, { fetch: f.fetch }));
        expect(err).toMatchObject({ code: 'IMAGE_TOO_LARGE', message: 'The picture at cdn.example is 50.0 MB, over the 20.0 MB limit.' });
        expect(body.stats.pulled).toBe(0);
    });

    it('refuses a 50 MB picture without Content-Length as soon as the count passes the cap, and stops the download', async () => {
        const body = bigBody(50, 1024 * 1024);
        const err = await caught(resolveImageUrl(URL_OK, { fetch: scriptedFetch(served(body.stream)).fetch }));
        expect(err).toMatchObject({ code: 'IMAGE_TOO_LARGE', message: 'The picture at cdn.example is larger than the 20.0 MB limit.' });
        expect(body.stats.pulled).toBe(MAX_IMAGE_BYTES / (1024 * 1024) + 1);
        expect(body.stats.cancelled).toBe(true);
    });

    it('refuses a body longer than its Content-Length claimed', async () => {
        const body = bigBody(30, 1024 * 1024);
        const err = await caught(resolveImageUrl(URL_OK, { fetch: scriptedFetch(served(body.stream, { 'content-length': '1000' })).fetch }));
        expect(err.code).toBe('IMAGE_TOO_LARGE');
    });

    it('applies a smaller maxBytes when given', async () => {
        const f = scriptedFetch(served(PNG(2000)));
        expect((await caught(resolveImageUrl(URL_OK, { fetch: f.fetch, maxBytes: 1000 }))).code).toBe('IMAGE_TOO_LARGE');
        expect(await resolveImageUrl(URL_OK, { fetch: scriptedFetch(served(PNG(2000))).fetch, maxBytes: 2000 })).toMatchObject({ bytes: 2000 });
    });

    it('says IMAGE_CANCELLED when the caller aborts, during the request or the download', async () => {
        const ctl = new AbortController();
        const pending = caught(resolveImageUrl(URL_OK, { fetch: scriptedFetch(hangUntilAborted).fetch, signal: ctl.signal }));
        ctl.abort();
        expect((await pending).code).toBe('IMAGE_CANCELLED');

        const ctl2 = new AbortController();
        const stalled = chunked([PNG(100)], { stall: true });
        const pending2 = caught(resolveImageUrl(URL_OK, { fetch: scriptedFetch(served(stalled.stream)).fetch, signal: ctl2.signal }));
        setTimeout(() => ctl2.abort(), 5);
        expect((await pending2).code).toBe('IMAGE_CANCELLED');
        expect(stalled.stats.cancelled).toBe(true);
    });
});
