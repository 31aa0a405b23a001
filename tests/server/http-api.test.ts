// @vitest-environment node
import http from 'node:http';
import net from 'node:net';
import { APIError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { ALICE } from './peer';
import { eventually, KEY, startTestServer, type TestServer } from './harness';

let t: TestServer;
afterEach(async () => { await t?.close(); });

const post = (body: string, headers: Record<string, string> = {}) =>
    t.fetch('/v1/chat/completions', { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
const valid = { model: ALICE.id, messages: [{ role: 'user', content: 'hi' }] };

describe('API keys', () => {
    it('answers 401 to a wrong key without running the handler', async () => {
        t = await startTestServer();
        const peer = await t.link();
        const err = await t.client('wrong-key').chat.completions.create({ model: ALICE.id, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(APIError);
        expect((err as APIError).status).toBe(401);
        expect((err as APIError).code).toBe('invalid_api_key');
        expect(peer.requests).toEqual([]);
        // A key that only shares a prefix with the real one is no key.
        expect((await post(JSON.stringify(valid), { authorization: `Bearer ${KEY.slice(0, -1)}` })).status).toBe(401);
        expect((await t.fetch('/v1/models', { headers: { authorization: `Bearer ${KEY}x` } })).status).toBe(401);
        expect(peer.requests).toEqual([]);
    });

    it('answers 401 with an OpenAI error body and WWW-Authenticate when the key is missing', async () => {
        t = await startTestServer();
        const res = await fetch(`${t.server.url}/v1/models`);
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        const body = await res.json();
        expect(body).toEqual({ error: { message: expect.stringContaining('Authorization: Bearer'), type: 'authentication_error', param: null, code: 'invalid_api_key' } });
        expect((await fetch(`${t.server.url}/v1/models`, { headers: { authorization: 'Basic abc' } })).status).toBe(401);
    });

    it('accepts any of several keys, and never writes a key to the log', async () => {
        t = await startTestServer({ apiKeys: [KEY, 'second-key-abcdefghijkl'] });
        await t.link();
        expect((await t.client('second-key-abcdefghijkl').models.list()).data).toHaveLength(1);
        await t.client('nope').models.list().catch(() => undefined);
        expect(t.logs.join('\n')).not.toMatch(/test-key|second-key|nope/);
    });

    it('serves /health without a key', async () => {
        t = await startTestServer();
        await t.link();
        const res = await fetch(`${t.server.url}/health`);
        expect(await res.json()).toEqual({ ok: true, tabs: 1, queued: 0 });
    });
});

describe('request validation', () => {
    it('answers 400 to malformed JSON, wrong types and missing fields, naming the field', async () => {
        t = await startTestServer();
        await t.link();
        const cases: [string, number, string | null][] = [
            ['{"model": "st-char-Alice", "messages": [', 400, null],
            ['[]', 400, null],
            ['"text"', 400, null],
            [JSON.stringify({ messages: valid.messages }), 400, 'model'],
            [JSON.stringify({ model: ALICE.id }), 400, 'messages'],
            [JSON.stringify({ ...valid, messages: [] }), 400, 'messages'],
            [JSON.stringify({ ...valid, messages: [{ role: 'user', content: 5 }] }), 400, 'messages.0.content'],
            [JSON.stringify({ ...valid, messages: [{ role: 'tool', content: 'x' }] }), 400, 'messages.0.role'],
            [JSON.stringify({ ...valid, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }), 400, 'messages.0.content'],
            [JSON.stringify({ ...valid, temperature: 'hot' }), 400, 'temperature'],
            [JSON.stringify({ ...valid, stream: 'yes' }), 400, 'stream'],
            [JSON.stringify({ ...valid, max_tokens: 1.5 }), 400, 'max_tokens'],
        ];
        for (const [body, status, param] of cases) {
            const res = await post(body);
            expect(res.status, body).toBe(status);
            const json = await res.json();
            expect(json.error.type, body).toBe('invalid_request_error');
            expect(json.error.param, body).toBe(param);
        }
    });

    it('ignores unknown fields and accepts null for unset parameters', async () => {
        t = await startTestServer();
        const peer = await t.link();
        const res = await post(JSON.stringify({ ...valid, n: 1, user: 'u', logit_bias: {}, temperature: null, stream: null }));
        expect(res.status).toBe(200);
        expect(peer.requests[0]?.params).toEqual({});
    });

    it('answers 413 to a 10 MB body', async () => {
        t = await startTestServer();
        await t.link();
        const big = JSON.stringify({ ...valid, messages: [{ role: 'user', content: 'x'.repeat(10 * 1024 * 1024) }] });
        const res = await post(big);
        expect(res.status).toBe(413);
        expect((await res.json()).error.code).toBe('payload_too_large');
        expect((await fetch(`${t.server.url}/health`)).status).toBe(200);
    });

    it('applies the limit to the declared length and, without one, to the bytes of a chunked body', async () => {
        t = await startTestServer({ bodyLimit: 4096 });
        await t.link();
        const sized = (n: number) => JSON.stringify({ ...valid, messages: [{ role: 'user', content: 'x'.repeat(n) }] });
        expect((await post(sized(3900))).status).toBe(200);
        expect((await post(sized(4100))).status).toBe(413);
        const chunked = (text: string) => t.fetch('/v1/chat/completions', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: new ReadableStream({ start(c) { for (let i = 0; i < text.length; i += 1000) c.enqueue(new TextEncoder().encode(text.slice(i, i + 1000))); c.close(); } }),
            duplex: 'half',
        } as RequestInit);
        const small = await chunked(sized(3000));
        expect(small.status).toBe(200);
        expect((await small.json()).choices[0].message.content).toBe(`echo:${'x'.repeat(3000)}`);
        const big = await chunked(sized(6000));
        expect(big.status).toBe(413);
        expect((await big.json()).error.code).toBe('payload_too_large');
    });

    it('does not log a chunked upload the client aborted as an internal error', async () => {
        t = await startTestServer();
        await t.link();
        const answered: http.ServerResponse[] = [];
        t.server.server.on('request', (_req, res: http.ServerResponse) => answered.push(res));
        const socket = net.connect(t.server.port, '127.0.0.1');
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY}\r\n`
            + 'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"model": "st-ch');
        await eventually(() => answered.length === 1, 2000, 'the request to reach the server');
        socket.destroy();
        // The server has handled the failed read once it has ended its (undeliverable) answer.
        await eventually(() => answered[0]?.writableEnded === true, 2000, 'the answer');
        expect(answered[0]?.statusCode).toBe(400);
        expect(t.logs.filter((l) => !/linked/.test(l))).toEqual([]);
    });

    it('answers 404 as JSON for unknown routes', async () => {
        t = await startTestServer();
        const res = await t.fetch('/v1/embeddings', { method: 'POST', body: '{}' });
        expect(res.status).toBe(404);
        expect((await res.json()).error.code).toBe('not_found');
    });
});

/** A GET with a chosen Host header (fetch does not let one be set): status and JSON body. */
function getWithHost(path: string, host: string): Promise<{ status: number; body: { error?: { code: string } } | null }> {
    return new Promise((resolve, reject) => {
        http.get(`${t.server.url}${path}`, { headers: { host, authorization: `Bearer ${KEY}` } }, (res) => {
            let text = '';
            res.on('data', (d) => { text += String(d); });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
        }).on('error', reject);
    });
}

describe('Host header (DNS rebinding)', () => {
    it('answers loopback names on any port, and refuses other names with 403 before auth and routes', async () => {
        t = await startTestServer();
        const port = t.server.port;
        for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'LocalHost', '127.0.0.1:1']) {
            expect((await getWithHost('/health', host)).status, host).toBe(200);
        }
        for (const host of [`evil.example:${port}`, 'localhost.evil.example', '127.0.0.1.nip.io', 'bridge.lan']) {
            for (const path of ['/health', '/v1/models', '/nowhere']) {
                const res = await getWithHost(path, host);
                expect(res.status, `${host} ${path}`).toBe(403);
                expect(res.body?.error).toMatchObject({ code: 'host_not_allowed', type: 'invalid_request_error', message: expect.stringContaining('--allowed-host') });
            }
        }
        // Not a host name at all: @hono/node-server cannot build the request's URL and answers 400 itself.
        expect((await getWithHost('/health', 'evil@127.0.0.1')).status).toBe(400);
    });

    it('answers the names given with allowedHosts, and the address it listens on', async () => {
        t = await startTestServer({ allowedHosts: ['Bridge.LAN', '[fd00::5]'] });
        expect((await getWithHost('/v1/models', `bridge.lan:${t.server.port}`)).status).toBe(200);
        expect((await getWithHost('/v1/models', '[FD00::5]')).status).toBe(200);
        expect((await getWithHost('/v1/models', 'other.lan')).status).toBe(403);
        await t.close();
        t = await startTestServer({ host: '0.0.0.0', allowRemote: true });
        expect((await getWithHost('/health', `0.0.0.0:${t.server.port}`)).status).toBe(200);
        expect((await getWithHost('/health', `localhost:${t.server.port}`)).status).toBe(200);
        expect((await getWithHost('/health', 'bridge.lan')).status).toBe(403);
    });
});

describe('connections', () => {
    it('keeps idle connections for 65 s and says so in Keep-Alive, so pooled clients do not race a 5 s close', async () => {
        t = await startTestServer();
        const res = await fetch(`${t.server.url}/health`);
        expect(res.headers.get('keep-alive')).toBe('timeout=65');
        const json = await t.fetch('/v1/models');
        expect(json.headers.get('keep-alive')).toBe('timeout=65');
        // Headers of a reused connection's next request must not time out before the connection does.
        expect(t.server.server.headersTimeout).toBeGreaterThan(t.server.server.keepAliveTimeout);
    });
});

describe('CORS', () => {
    const preflight = (origin: string) => fetch(`${t.server.url}/v1/chat/completions`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });

    it('allows a listed origin (preflight and request) and refuses others', async () => {
        t = await startTestServer({ corsOrigins: ['http://app.example:3000'] });
        const ok = await preflight('http://app.example:3000');
        expect(ok.status).toBe(204);
        expect(ok.headers.get('access-control-allow-origin')).toBe('http://app.example:3000');
        expect(ok.headers.get('access-control-allow-headers')?.split(',').sort()).toEqual(['authorization', 'content-type']);
        expect(ok.headers.get('access-control-allow-methods')).toContain('POST');

        const refused = await preflight('http://evil.example');
        expect(refused.headers.get('access-control-allow-origin')).toBeNull();

        const get = await t.fetch('/v1/models', { headers: { origin: 'http://app.example:3000' } });
        expect(get.headers.get('access-control-allow-origin')).toBe('http://app.example:3000');
        const getEvil = await t.fetch('/v1/models', { headers: { origin: 'http://evil.example' } });
        expect(getEvil.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('sends the CORS headers on streamed answers too (written outside hono)', async () => {
        t = await startTestServer({ corsOrigins: ['http://app.example:3000'] });
        await t.link();
        const body = JSON.stringify({ ...valid, stream: true });
        const ok = await post(body, { origin: 'http://app.example:3000' });
        expect(ok.headers.get('access-control-allow-origin')).toBe('http://app.example:3000');
        expect(ok.headers.get('vary')).toBe('Origin');
        expect(ok.headers.get('content-type')).toBe('text/event-stream');
        expect(await ok.text()).toContain('data: [DONE]');
        const evil = await post(body, { origin: 'http://evil.example' });
        expect(evil.headers.get('access-control-allow-origin')).toBeNull();
        expect(await evil.text()).toContain('data: [DONE]');
    });

    it('allows no origin by default, not even loopback ones', async () => {
        t = await startTestServer();
        expect((await preflight('http://127.0.0.1:8000')).headers.get('access-control-allow-origin')).toBeNull();
    });
});
