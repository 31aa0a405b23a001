// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { generateImages, imageApiConfig, imageRequestBody, MAX_IMAGE_BYTES } from '../../../src/features/images/image-api';
import { ImagesSettingsSchema } from '../../../src/settings/schema';
import {
    HTML_PAGE, JPEG, KEY, PNG, SVG_WITH_SCRIPT, WEBP, b64, caught, config, imagesBody, json, scriptedFetch,
} from './fetch-fakes';

const ok = () => json(imagesBody({ b64_json: b64(PNG(100)) }));

describe('imageApiConfig', () => {
    it('takes every image* setting from ImagesSettings', () => {
        const settings = ImagesSettingsSchema.parse({
            imageUrl: 'http://u/v1', imageKey: 'k', imageModel: 'm', size: '512x512', aspectRatio: '16:9', resolution: '2K',
            n: 3, responseFormat: 'url', stream: true, timeoutMs: 9000, retries: 4,
        });
        expect(imageApiConfig(settings)).toEqual({
            url: 'http://u/v1', key: 'k', model: 'm', size: '512x512', aspectRatio: '16:9', resolution: '2K',
            n: 3, responseFormat: 'url', stream: true, timeoutMs: 9000, retries: 4,
        });
    });
});

describe('generateImages: the request', () => {
    it('POSTs JSON to {url}/images/generations with the key as a Bearer token', async () => {
        const f = scriptedFetch(ok);
        await generateImages(config({ url: 'https://img.example/v1/' }), 'a red fox', { fetch: f.fetch });
        expect(f.calls).toHaveLength(1);
        const call = f.calls[0]!;
        expect(call.url).toBe('https://img.example/v1/images/generations');
        expect(call.init.method).toBe('POST');
        expect(call.init.headers).toEqual({ 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` });
        expect(call.body).toEqual({ model: 'img-model', prompt: 'a red fox', n: 1, size: '1024x1024', response_format: 'b64_json' });
    });

    it('appends /images/generations as is to a URL that does not end in /v1', async () => {
        const f = scriptedFetch(ok);
        await generateImages(config({ url: 'http://127.0.0.1:7860' }), 'p', { fetch: f.fetch });
        expect(f.calls[0]?.url).toBe('http://127.0.0.1:7860/images/generations');
    });

    it('sends no Authorization header when no key is set', async () => {
        const f = scriptedFetch(ok);
        await generateImages(config({ key: '  ' }), 'p', { fetch: f.fetch });
        expect(f.calls[0]?.init.headers).toEqual({ 'Content-Type': 'application/json' });
    });

    it('leaves out an empty model and size, and adds aspect_ratio, resolution and stream only when set', async () => {
        expect(imageRequestBody(config({ model: '', size: '' }), 'p')).toEqual({ prompt: 'p', n: 1, response_format: 'b64_json' });
        expect(imageRequestBody(config({ aspectRatio: '16:9', resolution: '4K', stream: true, n: 2, responseFormat: 'url' }), 'p')).toEqual({
            model: 'img-model', prompt: 'p', n: 2, size: '1024x1024', response_format: 'url', aspect_ratio: '16:9', resolution: '4K', stream: true,
        });
        expect(imageRequestBody(config({ stream: false }), 'p')).not.toHaveProperty('stream');
    });

    it('sends the prompt exactly, non-ASCII included', async () => {
        const f = scriptedFetch(ok);
        await generateImages(config(), '桜の下の少女, Mädchen unter Kirschblüten 🌸', { fetch: f.fetch });
        expect(f.calls[0]?.body?.prompt).toBe('桜の下の少女, Mädchen unter Kirschblüten 🌸');
    });

    it('refuses to start without a URL (IMAGE_NOT_CONFIGURED) and calls nothing', async () => {
        const f = scriptedFetch(ok);
        const err = await caught(generateImages(config({ url: ' ' }), 'p', { fetch: f.fetch }));
        expect(err.code).toBe('IMAGE_NOT_CONFIGURED');
        expect(err.message).toMatch(/No image API URL is set/);
        expect(f.calls).toHaveLength(0);
    });

    it('refuses a URL that is not http(s) (IMAGE_NOT_CONFIGURED)', async () => {
        const f = scriptedFetch(ok);
        expect((await caught(generateImages(config({ url: 'localhost:5000/v1' }), 'p', { fetch: f.fetch }))).code).toBe('IMAGE_NOT_CONFIGURED');
        expect((await caught(generateImages(config({ url: 'file:///etc' }), 'p', { fetch: f.fetch }))).code).toBe('IMAGE_NOT_CONFIGURED');
        expect(f.calls).toHaveLength(0);
    });
});

describe('generateImages: the answer', () => {
    it('returns each b64 picture as a data URL of its sniffed type, with the revised prompt', async () => {
        const f = scriptedFetch(() => json(imagesBody(
            { b64_json: b64(PNG(100)), revised_prompt: 'a red fox in snow' },
            { b64_json: b64(JPEG(50)), url: null, revised_prompt: null },
        )));
        const images = await generateImages(config({ n: 2 }), 'p', { fetch: f.fetch });
        expect(images).toEqual([
            { kind: 'data', dataUrl: `data:image/png;base64,${b64(PNG(100))}`, mime: 'image/png', bytes: 100, revisedPrompt: 'a red fox in snow' },
            { kind: 'data', dataUrl: `data:image/jpeg;base64,${b64(JPEG(50))}`, mime: 'image/jpeg', bytes: 50 },
        ]);
    });

    it('ignores a declared data: type and uses the bytes: a WEBP labelled PNG is image/webp', async () => {
        const f = scriptedFetch(() => json(imagesBody({ b64_json: `data:image/png;base64,${b64(WEBP(80))}` })));
        const [img] = await generateImages(config(), 'p', { fetch: f.fetch });
        expect(img).toMatchObject({ kind: 'data', mime: 'image/webp' });
        expect(img?.kind === 'data' && img.dataUrl.startsWith('data:image/webp;base64,')).toBe(true);
    });

    it('returns an http(s) picture link as a url result, undownloaded', async () => {
        const f = scriptedFetch(() => json(imagesBody({ url: 'https://cdn.example/img/1.png?sig=abc', revised_prompt: 'r' })));
        expect(await generateImages(config({ responseFormat: 'url' }), 'p', { fetch: f.fetch })).toEqual([
            { kind: 'url', url: 'https://cdn.example/img/1.png?sig=abc', revisedPrompt: 'r' },
        ]);
        expect(f.calls).toHaveLength(1);
    });

    it.each([
        ['javascript:', 'javascript:alert(document.cookie)'],
        ['data:text/html', 'data:text/html,<script>alert(1)</script>'],
        ['data:image/svg+xml', 'data:image/svg+xml;base64,PHN2Zz48L3N2Zz4='],
        ['data:image/png', `data:image/png;base64,${b64(PNG(10))}`],
        ['file:', 'file:///etc/passwd'],
        ['relative', '/images/1.png'],
        ['blob:', 'blob:https://x.example/123'],
    ])('refuses a %s picture link as IMAGE_UNSAFE', async (_name, url) => {
        const f = scriptedFetch(() => json(imagesBody({ url })));
        const err = await caught(generateImages(config(), 'p', { fetch: f.fetch }));
        expect(err.code).toBe('IMAGE_UNSAFE');
        expect(err.message).toMatch(/not an http\(s\) address; it was refused/);
        expect(f.calls).toHaveLength(1); // never retried
    });

    it('refuses an SVG with script and an HTML page sent as b64_json (IMAGE_UNSAFE)', async () => {
        for (const data of [SVG_WITH_SCRIPT, HTML_PAGE]) {
            const f = scriptedFetch(() => json(imagesBody({ b64_json: b64(data) })));
            const err = await caught(generateImages(config(), 'p', { fetch: f.fetch }));
            expect(err.code).toBe('IMAGE_UNSAFE');
        }
    });

    it('says IMAGE_API_INVALID "answered with an HTML page" for an HTML error page, whatever its content type', async () => {
        for (const type of ['text/html; charset=utf-8', 'application/json', '']) {
            const f = scriptedFetch(() => new Response(new TextDecoder().decode(HTML_PAGE), { status: 200, headers: type ? { 'content-type': type } : {} }));
            const err = await caught(generateImages(config(), 'p', { fetch: f.fetch }));
            expect(err.code, type).toBe('IMAGE_API_INVALID');
            expect(err.message).toBe('The image API answered with an HTML page, not JSON. Check the URL: it usually ends in /v1.');
        }
    });

    it('says IMAGE_API_INVALID for an answer that is not JSON, or empty', async () => {
        const err = await caught(generateImages(config(), 'p', { fetch: scriptedFetch(() => new Response('Internal fox error')).fetch }));
        expect(err).toMatchObject({ code: 'IMAGE_API_INVALID', message: 'The image API answered with something that is not JSON.' });
        const empty = await caught(generateImages(config(), 'p', { fetch: scriptedFetch(() => new Response('')).fetch }));
        expect(empty).toMatchObject({ code: 'IMAGE_API_INVALID', message: 'The image API sent an empty answer.' });
    });

    it('says IMAGE_API_INVALID, naming the field, for JSON of another shape', async () => {
        const err = await caught(generateImages(config(), 'p', { fetch: scriptedFetch(() => json({ images: ['x'] })).fetch }));
        expect(err.code).toBe('IMAGE_API_INVALID');
        expect(err.message).toMatch(/^The image API's answer is not an image result \(data: .+\)\.$/);
        const wrongType = await caught(generateImages(config(), 'p', { fetch: scriptedFetch(() => json({ data: [{ b64_json: 42 }] })).fetch }));
        expect(wrongType.message).toMatch(/\(data\.0\.b64_json: /);
    });

    it('says IMAGE_API_INVALID for an entry with neither b64_json nor url', async () => {
        const err = await caught(generateImages(config(), 'p', { fetch: scriptedFetch(() => json(imagesBody({ revised_prompt: 'x' }))).fetch }));
        expect(err).toMatchObject({ code: 'IMAGE_API_INVALID', message: "The image API's picture 1 has neither b64_json nor url." });
    });

    it('says IMAGE_API_EMPTY when data is empty', async () => {
        const err = await caught(generateImages(config(), 'p', { fetch: scriptedFetch(() => json(imagesBody())).fetch }));
        expect(err).toMatchObject({ code: 'IMAGE_API_EMPTY', message: 'The image API returned no picture.' });
    });

    it('reports an OpenAI-shaped error sent with status 200 as IMAGE_API_HTTP with its message', async () => {
        const f = scriptedFetch(() => json({ error: { message: 'Your prompt was rejected by the safety system.', type: 'invalid_request_error' } }));
        const err = await caught(generateImages(config(), 'p', { fetch: f.fetch }));
        expect(err).toMatchObject({ code: 'IMAGE_API_HTTP', message: 'The image API reported an error: Your prompt was rejected by the safety system.' });
    });

    it('refuses a 50 MB picture in b64_json as IMAGE_TOO_LARGE', async () => {
        const huge = 'A'.repeat(Math.ceil((50 * 1024 * 1024 * 4) / 3));
        const err = await caught(generateImages(config(), 'p', { fetch: scriptedFetch(() => json(imagesBody({ b64_json: huge }))).fetch }));
        expect(err.code).toBe('IMAGE_TOO_LARGE');
        expect(err.message).toMatch(/limit\.$/);
    });

    it('refuses one picture just over 20 MB even when the whole answer fits (n = 2)', async () => {
        const over = PNG(MAX_IMAGE_BYTES + 3);
        const f = scriptedFetch(() => json(imagesBody({ b64_json: b64(PNG(10)) }, { b64_json: b64(over) })));
        const err = await caught(generateImages(config({ n: 2 }), 'p', { fetch: f.fetch }));
        expect(err).toMatchObject({ code: 'IMAGE_TOO_LARGE', message: "The image API's picture 2 is 20.0 MB, over the 20.0 MB limit." });
    });

    it('refuses an answer whose Content-Length is over the limit without reading it', async () => {
        let pulled = 0;
        const body = new ReadableStream<Uint8Array>({ pull(ctl) { pulled++; ctl.enqueue(new Uint8Array(10)); } }, { highWaterMark: 0 });
        const f = scriptedFetch(() => new Response(body, { headers: { 'content-type': 'application/json', 'content-length': String(200 * 1024 * 1024) } }));
        const err = await caught(generateImages(config(), 'p', { fetch: f.fetch }));
        expect(err).toMatchObject({ code: 'IMAGE_TOO_LARGE', message: "The image API's answer is 200.0 MB, over the 27.7 MB limit." });
        expect(pulled).toBe(0);
    });
});
