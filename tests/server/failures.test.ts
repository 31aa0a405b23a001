// @vitest-environment node
import { APIError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { ALICE, echoText } from './peer';
import { ask as askFor, eventually, sseLines, startTestServer, type TestServer } from './harness';

let t: TestServer;
afterEach(async () => { await t?.close(); });

const ask = (content: string, model = ALICE.id) => askFor(content, model);


describe('failures reach the client', () => {
    it('sends cancel to the tab when the client aborts, and frees the tab when the tab confirms', async () => {
        t = await startTestServer();
        const peer = await t.link({ answer: 'manual' });
        const client = t.client();
        const ac = new AbortController();
        const aborted = client.chat.completions.create(ask('leave'), { signal: ac.signal });
        const req = await peer.next('request');
        ac.abort();
        await expect(aborted).rejects.toThrow(/abort/i);
        await eventually(() => peer.cancels.includes(req.id), 2000, 'cancel');
        const next = client.chat.completions.create(ask('after'));
        await new Promise((r) => setTimeout(r, 50));
        expect(peer.requests.length).toBe(1); // still reserved: ST may still be stopping
        peer.send({ type: 'fail', id: req.id, code: 'cancelled', message: 'stopped' });
        const req2 = await peer.next('request');
        peer.reply(req2.id, [echoText(req2)]);
        expect((await next).choices[0]?.message.content).toBe('echo:after');
    });

    it('frees a cancelled tab after the grace period when the tab never confirms', async () => {
        t = await startTestServer({ cancelGraceMs: 150 });
        const peer = await t.link({ answer: 'manual' });
        const client = t.client();
        const ac = new AbortController();
        void client.chat.completions.create(ask('leave'), { signal: ac.signal }).catch(() => undefined);
        await peer.next('request');
        ac.abort();
        await eventually(() => peer.cancels.length === 1, 2000, 'cancel');
        const since = Date.now();
        const next = client.chat.completions.create(ask('after'));
        const req2 = await peer.next('request', 2000);
        expect(Date.now() - since).toBeGreaterThanOrEqual(100);
        peer.reply(req2.id, [echoText(req2)]);
        expect((await next).choices[0]?.message.content).toBe('echo:after');
    });

    it('sends cancel when a streaming client stops reading', async () => {
        t = await startTestServer();
        const peer = await t.link({ answer: 'manual' });
        const stream = await t.client().chat.completions.create({ ...ask('stream then leave'), stream: true });
        const req = await peer.next('request');
        peer.send({ type: 'delta', id: req.id, text: 'first' });
        for await (const c of stream) if (c.choices[0]?.delta.content) break; // leaves the stream
        await eventually(() => peer.cancels.includes(req.id), 2000, 'cancel');
    });

    it('answers 502 (JSON) and an SSE error event plus [DONE] when the tab disconnects mid-request', async () => {
        t = await startTestServer();
        const peer = await t.link({ answer: 'manual' });
        const pending = t.client().chat.completions.create(ask('x'));
        await peer.next('request');
        const streamed = t.fetch('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ ...ask('y'), stream: true }) });
        await eventually(() => t.server.relay.stats().queued === 1, 2000, 'queued stream');
        peer.ws.terminate();
        const err = await pending.catch((e: unknown) => e);
        expect(err).toBeInstanceOf(APIError);
        expect((err as APIError).status).toBe(502);
        expect((err as APIError).code).toBe('tab_closed');
        // The queued stream had its headers already; with no tab left it ends with an error event.
        const lines = await sseLines(await streamed);
        expect(lines.at(-3)).toBe('event: error');
        expect(JSON.parse(lines.at(-2)?.slice(6) ?? '')).toMatchObject({ error: { code: 'no_tab' } });
        expect(lines.at(-1)).toBe('data: [DONE]');
    });

    it('throws an APIError from the SDK stream when the tab disconnects mid-stream', async () => {
        t = await startTestServer();
        const peer = await t.link({ answer: (req, p) => { p.send({ type: 'delta', id: req.id, text: 'partial' }); setTimeout(() => p.ws.terminate(), 20); } });
        const stream = await t.client().chat.completions.create({ ...ask('x'), stream: true });
        let text = '';
        const err = await (async () => { for await (const c of stream) text += c.choices[0]?.delta.content ?? ''; })().catch((e: unknown) => e);
        expect(text).toBe('partial');
        expect(err).toBeInstanceOf(APIError);
        expect(String((err as APIError).message)).toMatch(/disconnected/);
        await peer.closed;
    });

    it('maps a fail frame to its status: st_error → 502 with the message', async () => {
        t = await startTestServer();
        await t.link({ answer: (req, p) => p.send({ type: 'fail', id: req.id, code: 'st_error', message: 'backend down' }) });
        const err = await t.client().chat.completions.create(ask('x')).catch((e: unknown) => e);
        expect((err as APIError).status).toBe(502);
        expect((err as APIError).message).toMatch(/backend down/);
    });

    it('answers 504 when the tab sends nothing within the timeout, and cancels it in the tab', async () => {
        t = await startTestServer({ requestTimeoutMs: 150 });
        const peer = await t.link({ answer: 'manual' });
        const started = Date.now();
        const err = await t.client().chat.completions.create(ask('slow')).catch((e: unknown) => e);
        expect((err as APIError).status).toBe(504);
        expect(Date.now() - started).toBeLessThan(2000);
        expect(peer.cancels).toEqual([peer.requests[0]?.id]);
    });

    it('answers 429 when the queue is full', async () => {
        t = await startTestServer({ queueLimit: 1 });
        await t.link({ answer: 'manual' });
        const client = t.client();
        void client.chat.completions.create(ask('running')).catch(() => undefined);
        await eventually(() => t.server.relay.stats().running === 1, 2000, 'running');
        void client.chat.completions.create(ask('queued')).catch(() => undefined);
        await eventually(() => t.server.relay.stats().queued === 1, 2000, 'queued');
        const err = await client.chat.completions.create(ask('refused')).catch((e: unknown) => e);
        expect((err as APIError).status).toBe(429);
        expect((err as APIError).code).toBe('queue_full');
    });

    it('answers 503 with no tab linked and 404 for a model no tab offers, also for stream requests', async () => {
        t = await startTestServer();
        const client = t.client();
        const none = await client.chat.completions.create(ask('x')).catch((e: unknown) => e);
        expect((none as APIError).status).toBe(503);
        expect((none as APIError).code).toBe('no_tab');
        await t.link();
        const unknown = await client.chat.completions.create({ ...ask('x', 'gpt-4o'), stream: true }).catch((e: unknown) => e);
        expect((unknown as APIError).status).toBe(404);
        expect((unknown as APIError).code).toBe('model_not_found');
        expect((unknown as APIError).param).toBe('model');
    });

    it('opens the stream at once and sends SSE comments while the request waits', async () => {
        t = await startTestServer({ keepAliveMs: 40 });
        const peer = await t.link({ answer: 'manual' });
        void t.client().chat.completions.create(ask('hold the tab')).catch(() => undefined);
        await peer.next('request');
        const res = await t.fetch('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ ...ask('wait'), stream: true }) });
        expect(res.status).toBe(200); // headers arrived while the request is still queued
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        let seen = '';
        while (!seen.includes(': keep-alive')) seen += new TextDecoder().decode((await reader.read()).value);
        expect(t.server.relay.stats().queued).toBe(1);
        await reader.cancel();
    });
});
