// @vitest-environment node
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE, PROTOCOL_VERSION } from '../../src/protocol/index';
import { ALICE, FakeExtension } from './peer';
import { startTestServer, TOKEN, type TestServer } from './harness';

/** mulberry32: a tiny seeded PRNG, so a failing case can be replayed from its seed and index. */
function prng(seed: number) {
    let a = seed >>> 0;
    const next = () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let x = Math.imul(a ^ (a >>> 15), 1 | a);
        x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
        return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
    const int = (n: number) => Math.floor(next() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
    const text = (n: number) => Array.from({ length: n }, () => String.fromCharCode(int(0x2fff))).join('');
    return { next, int, pick, bytes, text };
}

const SEED = 20240611;
const valid = { model: ALICE.id, messages: [{ role: 'user', content: 'hi' }], stream: false, temperature: 0.7, max_tokens: 10 };

/** Bodies that are wrong by construction: none can be a valid request for an offered model. */
function badBody(r: ReturnType<typeof prng>): { body: string | Uint8Array<ArrayBuffer>; note: string } {
    const wrong: Record<string, unknown[]> = {
        model: [5, {}, [], true, null, ''],
        messages: ['hi', 3, {}, [], null, [null], [{}]],
        stream: [1, 'true', {}, []],
        temperature: ['hot', {}, [], true],
        max_tokens: [-1, 0, 0.5, 'ten', {}],
        role: ['tool', 'robot', 1, null, ''],
        content: [1, {}, null, [{ type: 'image_url', image_url: { url: 'x' } }], [{ type: 'text' }], [{ text: 'x' }]],
    };
    switch (r.int(6)) {
        case 0: return { body: Uint8Array.from(r.bytes(r.int(300))), note: 'random bytes' };
        case 1: {
            const s = JSON.stringify({ ...valid, messages: [{ role: 'user', content: r.text(r.int(50)) }] });
            return { body: s.slice(0, r.int(s.length)), note: 'truncated JSON' };
        }
        case 2: {
            const field = r.pick(Object.keys(wrong));
            const value = r.pick(wrong[field] as unknown[]);
            const body: Record<string, unknown> = { ...valid, messages: [{ role: 'user', content: 'hi' }] };
            if (field === 'role' || field === 'content') (body.messages as Record<string, unknown>[])[0]![field] = value;
            else body[field] = value;
            return { body: JSON.stringify(body), note: `${field}=${JSON.stringify(value)}` };
        }
        case 3: {
            const depth = 1 + r.int(3000);
            return { body: '['.repeat(depth) + ']'.repeat(depth), note: `nested ${depth}` };
        }
        case 4: return { body: JSON.stringify({ ...valid, model: r.text(1 + r.int(40)) }), note: 'unknown model' };
        default: {
            const body: Record<string, unknown> = { ...valid };
            delete body[r.pick(['model', 'messages'])];
            return { body: JSON.stringify(body), note: 'missing field' };
        }
    }
}

/** Frames that are invalid by construction after the handshake. */
function badFrame(r: ReturnType<typeof prng>): string | Buffer {
    const good = [
        { type: 'delta', id: 'a', text: 'x' },
        { type: 'done', id: 'a', text: 'x', finishReason: 'stop' },
        { type: 'status', busy: false, queued: 0 },
        { type: 'catalog', models: [ALICE] },
    ];
    switch (r.int(7)) {
        case 0: return r.bytes(1 + r.int(200));
        case 1: return r.text(1 + r.int(200));
        case 2: { const s = JSON.stringify(r.pick(good)); return s.slice(0, r.int(s.length)); }
        case 3: return JSON.stringify({ ...r.pick(good), type: r.text(1 + r.int(8)) });
        case 4: return JSON.stringify({ ...r.pick(good.slice(0, 3)), id: r.pick([1, null, '', {}, 'x'.repeat(101)]), busy: 'no', text: 7 });
        case 5: return JSON.stringify({ type: 'fail', id: 'a', code: 'st_error', message: 'm'.repeat(2001 + r.int(100)) });
        default: return JSON.stringify({ type: 'catalog', models: [{ ...ALICE, id: `st-char-${r.pick(['a b', 'é', '/', '', 'x'.repeat(130)])}` }] });
    }
}

/** First frames that must never be welcomed, with the close code each must get. */
function badHello(r: ReturnType<typeof prng>): { frame: string | Buffer; codes: number[] } {
    const base = { type: 'hello', v: PROTOCOL_VERSION, token: TOKEN, tab: 'fz', version: '0' };
    switch (r.int(4)) {
        case 0: return { frame: JSON.stringify({ ...base, token: r.text(r.int(40)) }), codes: [CLOSE.badToken] };
        case 1: return { frame: JSON.stringify({ ...base, v: r.pick([0, 2, 3, 99, -1]) }), codes: [CLOSE.versionMismatch] };
        case 2: return { frame: badFrame(r), codes: [CLOSE.badFrame] };
        default: return { frame: JSON.stringify({ ...base, tab: r.pick(['', 'x'.repeat(101), 7]) }), codes: [CLOSE.badFrame] };
    }
}

describe('fuzz (seeded)', () => {
    let t: TestServer;
    let good: FakeExtension;
    beforeAll(async () => {
        t = await startTestServer();
        good = await t.link();
    });
    afterAll(async () => { await t.close(); });

    it('answers ~100 malformed HTTP bodies with a 4xx and an OpenAI error body', async () => {
        const r = prng(SEED);
        for (let i = 0; i < 100; i++) {
            const { body, note } = badBody(r);
            const res = await t.fetch('/v1/chat/completions', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
            const label = `case ${i} (${note})`;
            expect(res.status, label).toBeGreaterThanOrEqual(400);
            expect(res.status, label).toBeLessThan(500);
            expect((await res.json()).error.code, label).toEqual(expect.any(String));
        }
        expect(good.requests).toHaveLength(0);
    });

    it('closes ~100 sockets sending malformed frames (before or after hello) with the right code', async () => {
        const r = prng(SEED + 1);
        for (let i = 0; i < 100; i++) {
            const peer = await FakeExtension.open(t.server.bridgeUrl);
            let codes: number[] = [CLOSE.badFrame];
            if (r.int(2)) {
                const h = badHello(r);
                peer.send(h.frame);
                codes = h.codes;
            } else {
                peer.send(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, token: TOKEN, tab: `fz-${i}`, version: '0' }));
                await peer.next('welcome');
                peer.send(badFrame(r));
            }
            expect(codes, `case ${i}`).toContain((await peer.closed).code);
        }
    });

    it('is still healthy afterwards and serves the good tab', async () => {
        expect(await (await fetch(`${t.server.url}/health`)).json()).toEqual({ ok: true, tabs: 1, queued: 0 });
        const res = await t.client().chat.completions.create({ model: ALICE.id, messages: [{ role: 'user', content: 'ok?' }] });
        expect(res.choices[0]?.message.content).toBe('echo:ok?');
    });
});
