// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { generateImages, type ImageProgress } from '../../../src/features/images/image-api';
import {
    GIF, JPEG, PNG, SVG_WITH_SCRIPT, b64, caught, chunked, config, imagesBody, json, scriptedFetch, seeded, splitBytes,
} from './fetch-fakes';

const SSE = { 'content-type': 'text/event-stream' };
const event = (type: string, body: Record<string, unknown>, crlf = false) => {
    const nl = crlf ? '\r\n' : '\n';
    return `event: ${type}${nl}data: ${JSON.stringify({ type, ...body })}${nl}${nl}`;
};
const partial = (i: number, crlf = false) => event('image_generation.partial_image', { b64_json: b64(JPEG(40 + i)), partial_image_index: i }, crlf);
const completed = (bytes: Uint8Array, extra: Record<string, unknown> = {}, crlf = false) =>
    event('image_generation.completed', { b64_json: b64(bytes), ...extra }, crlf);

/** An OpenAI-style stream: a comment, two partial pictures, the final picture, [DONE]; CRLF line ends. */
const OPENAI_STREAM = `: stream open\r\n\r\n${partial(0, true)}${partial(1, true)}${completed(PNG(500), { revised_prompt: 'a fox, watercolour' }, true)}data: [DONE]\r\n\r\n`;

function streamResponse(chunks: (string | Uint8Array)[], headers: Record<string, string> = SSE) {
    const body = chunked(chunks);
    return { body, respond: () => new Response(body.stream, { headers }) };
}

async function run(chunks: (string | Uint8Array)[], cfg = config({ stream: true }), headers = SSE) {
    const seen: ImageProgress[] = [];
    const { respond } = streamResponse(chunks, headers);
    const f = scriptedFetch(respond);
    const images = await generateImages(cfg, 'p', { fetch: f.fetch, onProgress: (p) => seen.push(p) });
    return { images, seen, calls: f.calls };
}

const EXPECTED_FINAL = { kind: 'data', dataUrl: `data:image/png;base64,${b64(PNG(500))}`, mime: 'image/png', bytes: 500, revisedPrompt: 'a fox, watercolour' };

describe('generateImages: streamed answers', () => {
    it('asks for a stream and returns only the completed picture, reporting the partial ones', async () => {
        const { images, seen, calls } = await run([OPENAI_STREAM]);
        expect(calls[0]?.body?.stream).toBe(true);
        expect(images).toEqual([EXPECTED_FINAL]);
        expect(seen).toEqual([
            { attempt: 1, phase: 'request' },
            { attempt: 1, phase: 'waiting', detail: 'streaming' },
            { attempt: 1, phase: 'partial', detail: 'partial picture 1' },
            { attempt: 1, phase: 'partial', detail: 'partial picture 2' },
        ]);
    });

    it('gives the same result with the stream cut mid-line, mid-CRLF and mid-character, at pseudo-random places', async () => {
        const total = new TextEncoder().encode(OPENAI_STREAM).length;
        const crlfSplits = [...OPENAI_STREAM.matchAll(/\r\n/g)].map((m) => m.index + 1); // between CR and LF
        const random = seeded(7);
        for (let round = 0; round < 30; round++) {
            const cuts = [...crlfSplits.filter(() => random() < 0.5), ...Array.from({ length: 1 + Math.floor(random() * 60) }, () => Math.floor(random() * total))];
            const { images, seen } = await run(splitBytes(OPENAI_STREAM, cuts));
            expect(images, `round ${round}`).toEqual([EXPECTED_FINAL]);
            expect(seen.filter((p) => p.phase === 'partial')).toHaveLength(2);
        }
    });

    it('gives the same result when every CRLF is cut between its CR and LF', async () => {
        const crlfSplits = [...OPENAI_STREAM.matchAll(/\r\n/g)].map((m) => m.index + 1);
        const { images } = await run(splitBytes(OPENAI_STREAM, crlfSplits));
        expect(images).toEqual([EXPECTED_FINAL]);
    });

    it('reads an event stream even when streaming was not asked for (by its content type)', async () => {
        const { images } = await run([OPENAI_STREAM], config({ stream: false }));
        expect(images).toEqual([EXPECTED_FINAL]);
    });

    it('reads a plain JSON answer when streaming was asked for but the server ignored it', async () => {
        const f = scriptedFetch(() => json(imagesBody({ b64_json: b64(GIF(30)) })));
        const images = await generateImages(config({ stream: true }), 'p', { fetch: f.fetch });
        expect(images).toMatchObject([{ kind: 'data', mime: 'image/gif', bytes: 30 }]);
    });

    it('accepts {data:[…]} events and several completed pictures', async () => {
        const body = `data: ${JSON.stringify(imagesBody({ b64_json: b64(JPEG(70)) }))}\n\n${completed(PNG(80))}data: [DONE]\n\n`;
        const { images } = await run([body], config({ stream: true, n: 2 }));
        expect(images.map((i) => i.kind === 'data' && i.mime)).toEqual(['image/jpeg', 'image/png']);
    });

    it('takes the type from the event name when the data has none', async () => {
        const body = `event: image_generation.completed\ndata: ${JSON.stringify({ b64_json: b64(PNG(20)) })}\n\n`;
        const { images } = await run([body]);
        expect(images).toMatchObject([{ mime: 'image/png', bytes: 20 }]);
    });

    it('keeps the event name of a typeless event when its CRLF is cut between CR and LF', async () => {
        const body = `event: image_generation.completed\r\ndata: ${JSON.stringify({ b64_json: b64(PNG(20)) })}\r\n\r\n`;
        const cuts = [...body.matchAll(/\r\n/g)].map((m) => m.index + 1);
        const { images } = await run(splitBytes(body, cuts));
        expect(images).toMatchObject([{ mime: 'image/png', bytes: 20 }]);
    });

    it('ignores events of unknown types', async () => {
        const { images } = await run([event('image_generation.queued', { position: 3 }), completed(PNG(20))]);
        expect(images).toHaveLength(1);
    });

    it('says IMAGE_API_EMPTY when the stream ends with partial pictures only', async () => {
        const { respond } = streamResponse([partial(0), 'data: [DONE]\n\n']);
        const err = await caught(generateImages(config({ stream: true }), 'p', { fetch: scriptedFetch(respond).fetch }));
        expect(err).toMatchObject({ code: 'IMAGE_API_EMPTY', message: "The image API's stream ended without a picture." });
    });

    it('says IMAGE_API_INVALID for an event that is not JSON', async () => {
        const { respond } = streamResponse(['data: <html>oops</html>\n\n']);
        const err = await caught(generateImages(config({ stream: true }), 'p', { fetch: scriptedFetch(respond).fetch }));
        expect(err).toMatchObject({ code: 'IMAGE_API_INVALID', message: "The image API's stream carried an event that is not JSON." });
    });

    it('says IMAGE_API_INVALID for a completed event without its picture, or a typeless event', async () => {
        for (const data of [{ type: 'image_generation.completed' }, { hello: 'world' }, { type: 'image_generation.partial_image', partial_image_index: 'one' }]) {
            const { respond } = streamResponse([`data: ${JSON.stringify(data)}\n\n`]);
            const err = await caught(generateImages(config({ stream: true }), 'p', { fetch: scriptedFetch(respond).fetch }));
            expect(err.code, JSON.stringify(data)).toBe('IMAGE_API_INVALID');
        }
    });

    it('reports an error event as IMAGE_API_HTTP with its message', async () => {
        const { respond } = streamResponse([partial(0), `event: error\ndata: ${JSON.stringify({ error: { message: 'Generation failed: content policy' } })}\n\n`]);
        const err = await caught(generateImages(config({ stream: true }), 'p', { fetch: scriptedFetch(respond).fetch }));
        expect(err).toMatchObject({ code: 'IMAGE_API_HTTP', message: 'The image API reported an error while streaming: Generation failed: content policy.' });
    });

    it('refuses an SVG with script in a completed event (IMAGE_UNSAFE)', async () => {
        const { respond } = streamResponse([completed(SVG_WITH_SCRIPT)]);
        expect((await caught(generateImages(config({ stream: true }), 'p', { fetch: scriptedFetch(respond).fetch }))).code).toBe('IMAGE_UNSAFE');
    });

    it('refuses a javascript: link in a streamed {data:[…]} event (IMAGE_UNSAFE)', async () => {
        const { respond } = streamResponse([`data: ${JSON.stringify(imagesBody({ url: 'javascript:alert(1)' }))}\n\n`]);
        expect((await caught(generateImages(config({ stream: true }), 'p', { fetch: scriptedFetch(respond).fetch }))).code).toBe('IMAGE_UNSAFE');
    });

    it('refuses an endless event past the size cap (IMAGE_TOO_LARGE) and stops reading', async () => {
        const MB = 'A'.repeat(1024 * 1024);
        let pulled = 0;
        let cancelled = false;
        const body = new ReadableStream<Uint8Array>({
            pull(ctl) { ctl.enqueue(new TextEncoder().encode(pulled++ === 0 ? `data: {"type":"image_generation.completed","b64_json":"${MB}` : MB)); },
            cancel() { cancelled = true; },
        }, { highWaterMark: 0 });
        const f = scriptedFetch(() => new Response(body, { headers: SSE }));
        const err = await caught(generateImages(config({ stream: true }), 'p', { fetch: f.fetch }));
        expect(err.code).toBe('IMAGE_TOO_LARGE');
        expect(pulled).toBeLessThan(40);
        expect(cancelled).toBe(true);
    });

    it('says IMAGE_TIMEOUT when the stream goes quiet after a partial picture', async () => {
        const body = chunked([partial(0)], { stall: true });
        const f = scriptedFetch(() => new Response(body.stream, { headers: SSE }));
        const err = await caught(generateImages(config({ stream: true, timeoutMs: 40 }), 'p', { fetch: f.fetch }));
        expect(err.code).toBe('IMAGE_TIMEOUT');
        expect(body.stats.cancelled).toBe(true);
    });

    it('says IMAGE_CANCELLED when the caller aborts mid-stream', async () => {
        const body = chunked([partial(0)], { stall: true });
        const ctl = new AbortController();
        const f = scriptedFetch(() => new Response(body.stream, { headers: SSE }));
        const err = await caught(generateImages(config({ stream: true }), 'p', {
            fetch: f.fetch, signal: ctl.signal, onProgress: (p) => { if (p.phase === 'partial') setTimeout(() => ctl.abort(), 1); },
        }));
        expect(err.code).toBe('IMAGE_CANCELLED');
    });

    it('says IMAGE_API_INVALID for an HTML page even when a stream was asked for', async () => {
        const f = scriptedFetch(() => new Response('<html><body>Login</body></html>', { headers: { 'content-type': 'text/html' } }));
        const err = await caught(generateImages(config({ stream: true }), 'p', { fetch: f.fetch }));
        expect(err).toMatchObject({ code: 'IMAGE_API_INVALID', message: expect.stringMatching(/HTML page, not JSON/) as unknown });
    });
});
