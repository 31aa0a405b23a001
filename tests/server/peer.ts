/**
 * An in-process stand-in for the extension: a real `ws` client speaking the real protocol
 * (frames built and checked with src/protocol). Used by the server tests and bench/bridge.mjs.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import {
    PROTOCOL_VERSION, encode, parseServerFrame,
    type ExtensionFrame, type ModelInfo, type ServerFrame,
} from '../../src/protocol/index';

export type RequestFrame = Extract<ServerFrame, { type: 'request' }>;
/** How the peer answers a request: 'echo' replies `echo:<last user message>` in deltas; 'manual' leaves it to the test. */
export type Answer = 'echo' | 'manual' | ((req: RequestFrame, peer: FakeExtension) => void);

export interface PeerOptions {
    url: string;
    token: string;
    tab?: string;
    /** The Origin header (ST's page); default http://127.0.0.1:8000. null sends none. */
    origin?: string | null;
    models?: ModelInfo[];
    answer?: Answer;
    /** For 'echo': wait a random 0..jitterMs before each frame, so several peers' frames interleave. */
    jitterMs?: number;
}

export const ALICE: ModelInfo = { id: 'st-char-Alice', name: 'Alice', kind: 'character' };
export const BOB: ModelInfo = { id: 'st-char-Bob', name: 'Bob', kind: 'character' };

export const echoText = (req: RequestFrame) => `echo:${[...req.messages].reverse().find((m) => m.role === 'user')?.content ?? ''}`;

let tabSeq = 0;

export class FakeExtension {
    readonly received: ServerFrame[] = [];
    readonly requests: RequestFrame[] = [];
    readonly cancels: string[] = [];
    /** Peer-side handling time per request id (receipt → done sent), for the benchmark. */
    readonly ownMs = new Map<string, number>();
    readonly closed: Promise<{ code: number; reason: string }>;
    private readonly waiters = new Set<() => void>();
    private readonly consumed = new WeakSet<ServerFrame>();

    constructor(readonly ws: WebSocket, private readonly opts: Partial<PeerOptions> = {}) {
        this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
        ws.on('error', () => undefined); // a refused handshake surfaces through `closed`
        ws.on('message', (data) => this.onFrame(String(data)));
    }

    /** Opens a socket without any handshake (for tests of the handshake itself). */
    static open(url: string, origin: string | null = 'http://127.0.0.1:8000', opts: Partial<PeerOptions> = {}): Promise<FakeExtension> {
        const ws = new WebSocket(url, origin === null ? {} : { origin });
        const peer = new FakeExtension(ws, opts);
        return new Promise((resolve, reject) => {
            ws.once('open', () => resolve(peer));
            ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
            ws.once('error', reject);
        });
    }

    /** Opens, says hello, waits for welcome and sends the catalog: a linked tab. */
    static async link(opts: PeerOptions): Promise<FakeExtension> {
        const peer = await FakeExtension.open(opts.url, opts.origin === undefined ? 'http://127.0.0.1:8000' : opts.origin, opts);
        peer.send({ type: 'hello', v: PROTOCOL_VERSION, token: opts.token, tab: opts.tab ?? `tab-${++tabSeq}`, version: 'test' });
        await peer.next('welcome');
        peer.send({ type: 'catalog', models: opts.models ?? [ALICE] });
        return peer;
    }

    send(frame: ExtensionFrame | string | Buffer): void {
        this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : encode(frame));
    }

    /** Resolves with the oldest frame of `type` not yet returned by next(), waiting for one if needed. */
    async next<T extends ServerFrame['type']>(type: T, timeoutMs = 2000): Promise<Extract<ServerFrame, { type: T }>> {
        const found = () => this.received.find((f) => f.type === type && !this.consumed.has(f));
        await this.until(() => found() !== undefined, timeoutMs, `a ${type} frame`);
        const frame = found() as Extract<ServerFrame, { type: T }>;
        this.consumed.add(frame);
        return frame;
    }

    /** Waits until `ok()` holds (checked on every frame and every 10 ms). */
    async until(ok: () => boolean, timeoutMs = 2000, what = 'a condition'): Promise<void> {
        const end = Date.now() + timeoutMs;
        while (!ok()) {
            if (Date.now() > end) throw new Error(`peer: timed out waiting for ${what}`);
            await new Promise<void>((resolve) => {
                const wake = () => { this.waiters.delete(wake); clearTimeout(t); resolve(); };
                const t = setTimeout(wake, 10);
                this.waiters.add(wake);
            });
        }
    }

    reply(id: string, pieces: string[], finishReason: 'stop' | 'length' = 'stop'): void {
        for (const text of pieces) this.send({ type: 'delta', id, text });
        this.send({ type: 'done', id, text: pieces.join(''), finishReason });
    }

    close(): void {
        this.ws.close();
    }

    private onFrame(text: string): void {
        const parsed = parseServerFrame(text);
        if (!parsed.ok) throw new Error(`peer: the server sent an invalid frame: ${parsed.error}`);
        const frame = parsed.frame;
        this.received.push(frame);
        if (frame.type === 'request') {
            this.requests.push(frame);
            this.answer(frame);
        } else if (frame.type === 'cancel') {
            this.cancels.push(frame.id);
        } else if (frame.type === 'ping') {
            this.send({ type: 'pong', t: frame.t });
        }
        for (const wake of [...this.waiters]) wake();
    }

    private answer(req: RequestFrame): void {
        const answer = this.opts.answer ?? 'echo';
        if (answer === 'manual') return;
        if (typeof answer === 'function') return answer(req, this);
        const start = performance.now();
        const text = echoText(req);
        const pieces = [text.slice(0, 5), text.slice(5, 5 + ((text.length - 5) >> 1)), text.slice(5 + ((text.length - 5) >> 1))];
        const jitter = this.opts.jitterMs ?? 0;
        if (!jitter) {
            this.reply(req.id, pieces);
            this.ownMs.set(req.id, performance.now() - start);
            return;
        }
        let i = 0;
        const step = () => {
            if (i < pieces.length) this.send({ type: 'delta', id: req.id, text: pieces[i++] as string });
            else return this.send({ type: 'done', id: req.id, text, finishReason: 'stop' });
            setTimeout(step, Math.random() * jitter);
        };
        setTimeout(step, Math.random() * jitter);
    }
}
