// @vitest-environment node
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CLOSE, PROTOCOL_VERSION } from '../../src/protocol/index';
import { ALICE, FakeExtension } from './peer';
import { eventually, KEY, startTestServer, TOKEN, type TestServer } from './harness';

let t: TestServer;
afterEach(async () => { await t?.close(); });

const hello = (over: Record<string, unknown> = {}) => JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, token: TOKEN, tab: 'raw', version: 'test', ...over });
const open = (origin?: string | null) => FakeExtension.open(t.server.bridgeUrl, origin);

/** A raw upgrade request to /bridge: 101, or the status and JSON body of the refusal. */
function upgrade(server: TestServer, headers: Record<string, string>): Promise<{ status: number; body?: unknown }> {
    return new Promise((resolve, reject) => {
        const req = http.get(`${server.server.url}/bridge`, {
            headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers },
        });
        req.on('upgrade', (res, socket) => { socket.destroy(); resolve({ status: res.statusCode ?? 0 }); });
        req.on('response', (res) => {
            let text = '';
            res.on('data', (d) => { text += String(d); });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        });
        req.on('error', reject);
    });
}

describe('handshake', () => {
    it('welcomes a hello with the right token and version', async () => {
        t = await startTestServer();
        const peer = await open();
        peer.send(hello());
        expect(await peer.next('welcome')).toEqual({
            type: 'welcome', v: PROTOCOL_VERSION, server: expect.stringMatching(/^ensemble-bridge\//), api: { url: t.server.url, key: KEY },
        });
    });

    it('shares the API URL (with the port picked at listen time) and the first API key in welcome', async () => {
        t = await startTestServer({ apiKeys: ['first-key-0123456789', KEY] });
        const peer = await open();
        peer.send(hello());
        const { api } = await peer.next('welcome');
        expect(api).toEqual({ url: `http://127.0.0.1:${t.server.port}`, key: 'first-key-0123456789' });
        expect(t.server.port).not.toBe(0);
    });

    it('keeps the API key to itself with shareApiKey: false', async () => {
        t = await startTestServer({ shareApiKey: false });
        const peer = await open();
        peer.send(hello());
        expect((await peer.next('welcome')).api).toEqual({ url: t.server.url });
    });

    it('refuses a wrong token with refused{token} and close 4001, without logging the token', async () => {
        t = await startTestServer();
        const peer = await open();
        peer.send(hello({ token: 'guess-123' }));
        expect(await peer.next('refused')).toMatchObject({ code: 'token' });
        expect((await peer.closed).code).toBe(CLOSE.badToken);
        expect(t.server.relay.stats().tabs).toBe(0);
        expect(t.logs.join('\n')).not.toMatch(/guess-123|test-link-token/);
    });

    it('refuses another protocol version with a message naming both, close 4002', async () => {
        t = await startTestServer();
        for (const v of [PROTOCOL_VERSION + 1, 0]) {
            const peer = await open();
            // A future hello may carry fields today's schema does not know; the version is still read.
            peer.send(JSON.stringify({ type: 'hello', v, token: TOKEN, tab: 'x', version: '9', extra: { nested: true } }));
            const refused = await peer.next('refused');
            expect(refused.code).toBe('version');
            expect(refused.message).toContain(`v${v}`);
            expect(refused.message).toContain(`v${PROTOCOL_VERSION}`);
            const closed = await peer.closed;
            expect(closed.code).toBe(CLOSE.versionMismatch);
            expect(closed.reason).toContain(`v${v}`);
        }
    });

    it('closes 4003 when no hello arrives in time', async () => {
        t = await startTestServer({ helloTimeoutMs: 100 });
        const peer = await open();
        expect(await peer.next('refused', 1000)).toMatchObject({ code: 'hello' });
        expect((await peer.closed).code).toBe(CLOSE.helloTimeout);
    });

    it('refuses a first frame that is valid but not hello (4000)', async () => {
        t = await startTestServer();
        const peer = await open();
        peer.send({ type: 'status', busy: false, queued: 0 });
        expect(await peer.next('refused')).toMatchObject({ code: 'hello' });
        expect((await peer.closed).code).toBe(CLOSE.badFrame);
    });

    it('refuses an Origin outside the allowlist with 403 before upgrading (no 101), naming the flag', async () => {
        t = await startTestServer();
        const evil = await upgrade(t, { origin: 'http://evil.example' });
        expect(evil.status).toBe(403);
        expect(evil.body).toEqual({ error: { message: expect.stringContaining('--st-origin http://evil.example'), type: 'invalid_request_error', param: null, code: 'origin_not_allowed' } });
        expect(t.logs.join('\n')).toContain('refused a bridge link from origin http://evil.example');
        for (const ok of ['http://localhost:8000', 'https://127.0.0.1', 'http://[::1]:9', null]) {
            const peer = await open(ok);
            peer.send(hello({ tab: `ok-${ok}` }));
            await peer.next('welcome');
        }
        expect((await upgrade(t, { origin: 'null' })).status).toBe(403);
        await expect(open('http://evil.example')).rejects.toThrow('HTTP 403');
    });

    it('uses an explicit --st-origin list instead of the loopback default', async () => {
        t = await startTestServer({ stOrigins: ['http://192.168.1.5:8000'] });
        expect((await upgrade(t, { origin: 'http://127.0.0.1:8000' })).status).toBe(403);
        const peer = await open('http://192.168.1.5:8000');
        peer.send(hello());
        await peer.next('welcome');
    });

    it('refuses a Host outside loopback and --allowed-host with 403 before upgrading (DNS rebinding)', async () => {
        t = await startTestServer({ allowedHosts: ['bridge.lan'] });
        const rebound = await upgrade(t, { host: `evil.example:${t.server.port}`, origin: `http://evil.example:${t.server.port}` });
        expect(rebound.status).toBe(403);
        expect(rebound.body).toMatchObject({ error: { code: 'host_not_allowed' } });
        expect((await upgrade(t, { host: `localhost:${t.server.port}` })).status).toBe(101);
        expect((await upgrade(t, { host: `bridge.lan:${t.server.port}` })).status).toBe(101);
    });

    it('answers 404 to an upgrade on another path', async () => {
        t = await startTestServer();
        await expect(FakeExtension.open(`${t.server.url.replace('http', 'ws')}/other`)).rejects.toThrow('HTTP 404');
    });

    it('replaces an older link from the same tab id (4009) and serves through the new one', async () => {
        t = await startTestServer();
        const old = await t.link({ tab: 'same' });
        const fresh = await t.link({ tab: 'same' });
        expect((await old.closed).code).toBe(CLOSE.replaced);
        expect(t.server.relay.stats().tabs).toBe(1);
        const res = await t.client().chat.completions.create({ model: ALICE.id, messages: [{ role: 'user', content: 'hi' }] });
        expect(res.choices[0]?.message.content).toBe('echo:hi');
        expect(fresh.requests).toHaveLength(1);
    });
});

describe('bad frames', () => {
    const garbage: [string, string | Buffer][] = [
        ['non-JSON', 'not json {'],
        ['an unknown type', JSON.stringify({ type: 'shout' })],
        ['wrong field types', JSON.stringify({ type: 'delta', id: 5, text: ['a'] })],
        ['a missing field', JSON.stringify({ type: 'done', id: 'x', text: 'y' })],
        ['1 MB of junk', 'x'.repeat(1024 * 1024)],
        ['a binary frame', Buffer.from([0, 1, 2, 255])],
        ['a second hello', hello()],
    ];
    for (const [what, frame] of garbage) {
        it(`closes 4000 on ${what} after the handshake and keeps serving other tabs`, async () => {
            t = await startTestServer();
            const good = await t.link({ models: [ALICE] });
            const bad = await t.link({ models: [ALICE] });
            bad.send(frame);
            expect((await bad.closed).code).toBe(CLOSE.badFrame);
            await eventually(() => t.server.relay.stats().tabs === 1, 2000, 'the bad tab removed');
            const res = await t.client().chat.completions.create({ model: ALICE.id, messages: [{ role: 'user', content: 'still there?' }] });
            expect(res.choices[0]?.message.content).toBe('echo:still there?');
            expect(good.requests).toHaveLength(1);
        });
    }

    it('drops a socket that sends more than 8 KiB before its hello, without reading the rest', async () => {
        t = await startTestServer();
        const early = await open();
        early.send('x'.repeat(4 * 1024 * 1024));
        // Dropped (no close frame), not read to the end and refused as a bad hello (4000).
        expect((await early.closed).code).toBe(1006);
        expect(t.logs.join('\n')).toMatch(/over 8192 bytes before its hello/);
        // A hello of ordinary size still links, and then big frames are read (the 1 MB cases above).
        const peer = await open();
        peer.send(hello({ version: 'x'.repeat(4000) }));
        await peer.next('welcome');
    });

    it('closes a tab that sends garbage mid-request, and its client gets 502', async () => {
        t = await startTestServer();
        const peer = await t.link({ answer: (req, p) => { p.send({ type: 'delta', id: req.id, text: 'a' }); p.send('{oops'); } });
        const err = await t.client().chat.completions.create({ model: ALICE.id, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
        expect((err as { status?: number }).status).toBe(502);
        expect((await peer.closed).code).toBe(CLOSE.badFrame);
    });
});

describe('heartbeat', () => {
    it('sends protocol pings the extension can answer', async () => {
        t = await startTestServer({ heartbeatMs: 30 });
        const peer = await t.link();
        const ping = await peer.next('ping', 1000);
        expect(typeof ping.t).toBe('number');
        await new Promise((r) => setTimeout(r, 100));
        expect(peer.ws.readyState).toBe(WebSocket.OPEN); // ws answers ws-level pings itself
    });

    it('terminates a peer that stops answering ws-level pings and unlinks its tab', async () => {
        t = await startTestServer({ heartbeatMs: 30 });
        const ws = new WebSocket(t.server.bridgeUrl, { autoPong: false });
        await new Promise((r) => ws.once('open', r));
        const peer = new FakeExtension(ws);
        peer.send(hello({ tab: 'deaf' }));
        await peer.next('welcome');
        expect(t.server.relay.stats().tabs).toBe(1);
        expect((await peer.closed).code).toBe(1006);
        await eventually(() => t.server.relay.stats().tabs === 0, 1000, 'the tab unlinked');
    });
});
