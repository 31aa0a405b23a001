// @vitest-environment node
import type OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { ALICE, BOB, echoText, type FakeExtension } from './peer';
import { ask as askFor, eventually, sseLines, startTestServer, type TestServer } from './harness';

let t: TestServer;
afterEach(async () => { await t?.close(); });

const ask = (content: string, model = ALICE.id) => askFor(content, model);
const post = (body: unknown, init: RequestInit = {}) => t.fetch('/v1/chat/completions', { method: 'POST', body: JSON.stringify(body), ...init });

/** Reads a response body piece by piece, so a test can look at it before the answer is complete. */
function bodyReader(res: Response) {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    return {
        /** Reads until `ok(text so far)` holds; returns the text so far. */
        async until(ok: (text: string) => boolean): Promise<string> {
            while (!ok(text)) {
                const { done, value } = await reader.read();
                if (done) throw new Error(`the body ended before the condition held: ${JSON.stringify(text)}`);
                text += decoder.decode(value, { stream: true });
            }
            return text;
        },
        async rest(): Promise<string> {
            for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true });
            return text;
        },
    };
}

/** The tab's reply to its only request, once the test has seen what it wanted to see first. */
const answerNow = async (peer: FakeExtension) => {
    const req = await peer.next('request');
    peer.reply(req.id, [echoText(req)]);
};


describe('GET /v1/models', () => {
    it('lists the union of every tab catalog as OpenAI models', async () => {
        t = await startTestServer();
        await t.link({ models: [ALICE] });
        await t.link({ models: [ALICE, BOB, { id: 'st-group-Party', name: 'Party', kind: 'group', members: ['Alice', 'Bob'] }] });
        const list = await t.client().models.list();
        expect(list.data.map((m) => m.id).sort()).toEqual(['st-char-Alice', 'st-char-Bob', 'st-group-Party']);
        expect(list.data.find((m) => m.id === 'st-char-Bob')).toMatchObject({ object: 'model', owned_by: 'sillytavern', name: 'Bob' });
        expect(typeof list.data[0]?.created).toBe('number');
    });
});

describe('POST /v1/chat/completions', () => {
    it('answers a non-stream request with one chat.completion built from the tab reply', async () => {
        t = await startTestServer();
        const peer = await t.link();
        const res = await t.client().chat.completions.create({
            model: ALICE.id,
            messages: [
                { role: 'system', content: 'Be brief.' },
                { role: 'user', content: [{ type: 'text', text: 'hello' }, { type: 'text', text: 'there' }] },
            ],
            temperature: 0.5,
            max_completion_tokens: 64,
        });
        expect(res.object).toBe('chat.completion');
        expect(res.model).toBe(ALICE.id);
        expect(res.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'echo:hello\nthere' });
        expect(res.choices[0]?.finish_reason).toBe('stop');
        expect(res.usage?.completion_tokens).toBeGreaterThan(0);
        const req = peer.requests[0];
        expect(req).toMatchObject({ model: ALICE.id, stream: false, params: { temperature: 0.5, max_tokens: 64 } });
        expect(req?.messages).toEqual([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello\nthere' }]);
        expect(res.id).toBe(req?.id);
    });

    it('streams chat.completion.chunk events: role first, the deltas, a finish chunk, then [DONE]', async () => {
        t = await startTestServer();
        await t.link();
        const stream = await t.client().chat.completions.create({ ...ask('stream me'), stream: true });
        const chunks: OpenAI.ChatCompletionChunk[] = [];
        for await (const c of stream) chunks.push(c);
        expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant' });
        expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('echo:stream me');
        expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBe(3);
        expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
        expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]?.id)).toBe(true);

        const raw = await t.fetch('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ ...ask('raw'), stream: true }) });
        expect(raw.headers.get('content-type')).toContain('text/event-stream');
        expect((await sseLines(raw)).at(-1)).toBe('data: [DONE]');
    });

    it('sends the text of done that the deltas did not carry', async () => {
        t = await startTestServer();
        await t.link({ answer: (req, p) => { p.send({ type: 'delta', id: req.id, text: 'Hel' }); p.send({ type: 'done', id: req.id, text: 'Hello.', finishReason: 'length' }); } });
        const stream = await t.client().chat.completions.create({ ...ask('x'), stream: true });
        const parts: string[] = [];
        let finish: string | null | undefined;
        for await (const c of stream) { parts.push(c.choices[0]?.delta.content ?? ''); finish = c.choices[0]?.finish_reason ?? finish; }
        expect(parts.join('')).toBe('Hello.');
        expect(finish).toBe('length');
    });

    it('gives each of 20 concurrent requests its own answer across 4 tabs', async () => {
        t = await startTestServer();
        for (let i = 0; i < 4; i++) await t.link({ jitterMs: 5 });
        const client = t.client();
        const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
            const content = `question ${i} ${Math.random()}`;
            if (i % 2) {
                const r = await client.chat.completions.create(ask(content));
                return { want: `echo:${content}`, got: r.choices[0]?.message.content };
            }
            let got = '';
            for await (const c of await client.chat.completions.create({ ...ask(content), stream: true })) got += c.choices[0]?.delta.content ?? '';
            return { want: `echo:${content}`, got };
        }));
        for (const r of results) expect(r.got).toBe(r.want);
        expect(t.server.relay.stats()).toMatchObject({ queued: 0, running: 0, ignoredFrames: 0 });
    });

    it('gives two tabs one request each at the same time, and queues a third until one is free', async () => {
        t = await startTestServer();
        const a = await t.link({ answer: 'manual' });
        const b = await t.link({ answer: 'manual' });
        const client = t.client();
        const first = client.chat.completions.create(ask('one'));
        const second = client.chat.completions.create(ask('two'));
        await eventually(() => a.requests.length === 1 && b.requests.length === 1, 2000, 'both tabs busy');
        const third = client.chat.completions.create(ask('three'));
        await eventually(() => t.server.relay.stats().queued === 1, 2000, 'the third queued');
        const [ra, rb] = [a.requests[0], b.requests[0]];
        if (!ra || !rb) throw new Error('no requests');
        b.reply(rb.id, [echoText(rb)]);
        await eventually(() => b.requests.length === 2, 2000, 'the queued request on the free tab');
        expect(a.requests.length).toBe(1);
        a.reply(ra.id, [echoText(ra)]);
        const rb2 = b.requests[1];
        if (rb2) b.reply(rb2.id, [echoText(rb2)]);
        const texts = (await Promise.all([first, second, third])).map((r) => r.choices[0]?.message.content);
        expect(texts).toEqual(['echo:one', 'echo:two', 'echo:three']);
    });

    it('ignores and counts reply frames for another tab\'s request or an unknown id', async () => {
        t = await startTestServer();
        const a = await t.link({ answer: 'manual' });
        const intruder = await t.link({ answer: 'manual', models: [BOB] });
        const pending = t.client().chat.completions.create(ask('mine'));
        const req = await a.next('request');
        intruder.send({ type: 'delta', id: req.id, text: 'STOLEN ' });
        intruder.send({ type: 'done', id: req.id, text: 'STOLEN', finishReason: 'stop' });
        a.send({ type: 'delta', id: 'chatcmpl-nope', text: 'lost' });
        await eventually(() => t.server.relay.stats().ignoredFrames === 3, 2000, 'three ignored frames');
        a.reply(req.id, ['echo:', 'mine']);
        expect((await pending).choices[0]?.message.content).toBe('echo:mine');
    });
});

describe('answers that take long (NextChat gives up without headers within 60 s)', () => {
    it('sends the stream headers and the role chunk before the tab answers', async () => {
        t = await startTestServer();
        const peer = await t.link({ answer: 'manual' });
        const res = await post({ ...ask('soon'), stream: true });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toContain('text/event-stream');
        const body = bodyReader(res);
        const first = await body.until((text) => text.includes('\n\n'));
        expect(JSON.parse(first.split('\n')[0]?.slice(6) ?? '')).toMatchObject({ object: 'chat.completion.chunk', choices: [{ delta: { role: 'assistant' } }] });
        expect(t.server.relay.stats().running).toBe(1); // the tab has not answered
        await answerNow(peer);
        const lines = (await body.rest()).split('\n').filter(Boolean);
        expect(lines.filter((l) => l.includes('"role"'))).toHaveLength(1);
        expect(lines.at(-1)).toBe('data: [DONE]');
        expect(lines.join('\n')).toContain('echo:soon');
    });

    it('commits 200 JSON headers for a slow non-stream answer, sends spaces, then the completion', async () => {
        t = await startTestServer({ earlyHeadersMs: 30, keepAliveMs: 20 });
        const peer = await t.link({ answer: 'manual' });
        const res = await post(ask('slow'));
        expect(res.status).toBe(200); // before the tab answered
        expect(res.headers.get('content-type')).toMatch(/^application\/json/);
        const body = bodyReader(res);
        await body.until((text) => text.length >= 2); // the first space and at least one keep-alive space
        await answerNow(peer);
        const text = await body.rest();
        expect(text).toMatch(/^ {2,}\{/);
        expect(JSON.parse(text)).toMatchObject({ object: 'chat.completion', model: ALICE.id, choices: [{ message: { role: 'assistant', content: 'echo:slow' }, finish_reason: 'stop' }] });
    });

    it('answers a non-stream request that is ready in time exactly as before', async () => {
        t = await startTestServer({ earlyHeadersMs: 1000, keepAliveMs: 20 });
        await t.link();
        const res = await post(ask('fast'));
        expect(res.status).toBe(200);
        expect(res.headers.get('content-length')).not.toBeNull();
        const text = await res.text();
        expect(text.startsWith('{')).toBe(true);
        expect(JSON.parse(text)).toMatchObject({ choices: [{ message: { content: 'echo:fast' } }] });
    });

    it('writes the OpenAI error body under the 200 when the request fails after the headers went out', async () => {
        t = await startTestServer({ earlyHeadersMs: 30, keepAliveMs: 20 });
        const peer = await t.link({ answer: 'manual' });
        const res = await post(ask('doomed'));
        expect(res.status).toBe(200);
        const req = await peer.next('request');
        peer.send({ type: 'fail', id: req.id, code: 'st_error', message: 'backend down' });
        expect(JSON.parse(await res.text())).toEqual({ error: { message: 'SillyTavern: backend down', type: 'server_error', param: null, code: 'st_error' } });
    });

    it('keeps the proper status code for a failure before earlyHeadersMs', async () => {
        t = await startTestServer({ earlyHeadersMs: 1000 });
        expect((await post(ask('no tab'))).status).toBe(503);
        await t.link({ answer: (req, p) => p.send({ type: 'fail', id: req.id, code: 'st_error', message: 'backend down' }) });
        const res = await post(ask('x'));
        expect(res.status).toBe(502);
        expect(await res.json()).toMatchObject({ error: { code: 'st_error' } });
    });

    it('cancels the request in the tab when the client leaves after the headers went out', async () => {
        t = await startTestServer({ earlyHeadersMs: 20, keepAliveMs: 20 });
        const peer = await t.link({ answer: 'manual' });
        const ac = new AbortController();
        const res = await post(ask('leave'), { signal: ac.signal });
        expect(res.status).toBe(200);
        const req = await peer.next('request');
        ac.abort();
        await eventually(() => peer.cancels.includes(req.id), 2000, 'cancel');
    });

    it('lets the openai SDK parse the space-prefixed answer', async () => {
        t = await startTestServer({ earlyHeadersMs: 20, keepAliveMs: 10 });
        await t.link({ answer: (req, p) => setTimeout(() => p.reply(req.id, ['echo:', 'patient']), 120) });
        const res = await t.client().chat.completions.create(ask('patient'));
        expect(res.choices[0]?.message.content).toBe('echo:patient');
        expect(res.object).toBe('chat.completion');
    });
});
