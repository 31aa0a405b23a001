// @vitest-environment node
import type OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { ALICE, BOB, echoText } from './peer';
import { ask as askFor, eventually, sseLines, startTestServer, type TestServer } from './harness';

let t: TestServer;
afterEach(async () => { await t?.close(); });

const ask = (content: string, model = ALICE.id) => askFor(content, model);


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
