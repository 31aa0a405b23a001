import OpenAI from 'openai';
import { startServer, type RunningServer, type StartOptions } from '../../server/src/server';
import { FakeExtension, type PeerOptions } from './peer';

export const KEY = 'test-key-0123456789abcdef';
export const TOKEN = 'test-link-token-0123456789';

let tabSeq = 0;

/** Polls until `ok()` holds. */
export async function eventually(ok: () => boolean | Promise<boolean>, timeoutMs = 2000, what = 'a condition'): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await ok())) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 5));
    }
}

export interface TestServer {
    server: RunningServer;
    /** Every log line the server wrote. */
    logs: string[];
    client(apiKey?: string): OpenAI;
    /** A linked fake extension whose catalog the server has already taken in. */
    link(opts?: Partial<PeerOptions>): Promise<FakeExtension>;
    /** fetch against the server with the test key, unless headers say otherwise. */
    fetch(path: string, init?: RequestInit): Promise<Response>;
    close(): Promise<void>;
}

/** The real server on port 0 with a collecting logger. */
export async function startTestServer(options: Partial<StartOptions> = {}): Promise<TestServer> {
    const logs: string[] = [];
    const log = { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m) };
    const server = await startServer({ apiKeys: [KEY], linkToken: TOKEN, port: 0, log, ...options });
    const peers: FakeExtension[] = [];
    return {
        server,
        logs,
        client: (apiKey = KEY) => new OpenAI({ apiKey, baseURL: `${server.url}/v1`, maxRetries: 0, timeout: 10_000 }),
        async link(opts = {}) {
            const tab = opts.tab ?? `tab-${++tabSeq}`;
            const peer = await FakeExtension.link({ url: server.bridgeUrl, token: TOKEN, ...opts, tab });
            peers.push(peer);
            await eventually(() => server.relay.tabInfo().some((t) => t.key === tab && t.models !== null), 2000, 'the catalog');
            return peer;
        },
        fetch: (path, init = {}) => {
            const headers = new Headers(init.headers);
            if (!headers.has('authorization')) headers.set('authorization', `Bearer ${KEY}`);
            return fetch(`${server.url}${path}`, { ...init, headers });
        },
        async close() {
            for (const p of peers) p.ws.terminate();
            await server.close();
        },
    };
}

/** A chat request body with one user message. */
export const ask = (content: string, model: string) => ({ model, messages: [{ role: 'user' as const, content }] });

/** Reads a whole SSE body as its non-empty lines (`data:`/`event:` lines and comments). */
export async function sseLines(res: Response): Promise<string[]> {
    return (await res.text()).split('\n').filter((l) => l !== '');
}
