import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { CLOSE, PROTOCOL_VERSION, encode, parseExtensionFrame, type ServerFrame } from '../../src/protocol/index';
import { printable, type Logger } from './log';
import type { Relay, Tab } from './relay';

export type WelcomeApi = NonNullable<Extract<ServerFrame, { type: 'welcome' }>['api']>;

export interface LinkOptions {
    relay: Relay;
    checkToken: (token: string) => boolean;
    helloTimeoutMs: number;
    /** Bytes a socket may send before its hello is accepted (frame headers included); more drops it. */
    helloMaxBytes: number;
    serverName: string;
    /** The API's base URL and maybe a client key for `welcome`; a getter, as the port is known only once listening. */
    api: () => WelcomeApi;
    log: Logger;
}

/** Close reasons are limited to 123 bytes by RFC 6455. */
function reasonText(text: string): string {
    let s = text;
    while (Buffer.byteLength(s) > 123) s = s.slice(0, -2);
    return s;
}

/** A hello from another protocol version may not match today's schema; its `v` is still worth reading. */
function otherVersion(text: string): number | null {
    try {
        const json: unknown = JSON.parse(text);
        if (json && typeof json === 'object' && (json as { type?: unknown }).type === 'hello') {
            const v = (json as { v?: unknown }).v;
            if (typeof v === 'number' && v !== PROTOCOL_VERSION) return v;
        }
    } catch {
        // not JSON: the strict parse reports it
    }
    return null;
}

/**
 * One extension WebSocket (Host and Origin were checked before the upgrade): `hello` (first frame, within the time limit), then
 * frames for the relay. Any invalid frame closes this socket only.
 */
export class BridgeLink {
    alive = true;
    private tab: Tab | null = null;
    private ended = false;
    private readonly helloTimer: NodeJS.Timeout;
    private unlinkedBytes = 0;
    private readonly countUnlinked: (chunk: Buffer) => void;

    constructor(private readonly ws: WebSocket, private readonly req: IncomingMessage, private readonly opts: LinkOptions) {
        // ws buffers a whole message (up to maxPayload, 16 MiB) before it reaches us, and ws has no
        // per-socket limit to lower until the hello: so the raw bytes of an unlinked socket are counted
        // as they arrive, and a socket past the limit is dropped before ws has buffered much of it.
        this.countUnlinked = (chunk) => {
            if (this.tab || this.ended) return; // the chunk that carried the hello may carry more
            this.unlinkedBytes += chunk.length;
            if (this.unlinkedBytes <= opts.helloMaxBytes) return;
            opts.log.warn(`dropped a bridge socket that sent over ${opts.helloMaxBytes} bytes before its hello`);
            this.ended = true;
            clearTimeout(this.helloTimer);
            ws.terminate();
        };
        req.socket.on('data', this.countUnlinked);
        ws.on('pong', () => { this.alive = true; });
        ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
        ws.on('close', () => this.onClose());
        ws.on('error', (err) => opts.log.warn(`bridge socket error: ${err.message}`)); // ws closes it (e.g. 1009 too big)
        this.helloTimer = setTimeout(() => {
            this.refuse('hello', `No hello within ${opts.helloTimeoutMs / 1000} s.`, CLOSE.helloTimeout);
        }, opts.helloTimeoutMs);
    }

    get linked(): boolean {
        return this.tab !== null && !this.ended;
    }

    send(frame: ServerFrame): void {
        if (!this.ended) this.ws.send(encode(frame));
    }

    /** ws-level ping, as in ws's README: a peer that missed the previous pong is gone. */
    heartbeat(): void {
        if (!this.alive) {
            this.opts.log.warn(`tab ${printable(this.tab?.key ?? '(no hello)')} missed a heartbeat; dropping it`);
            this.ws.terminate();
            return;
        }
        this.alive = false;
        this.ws.ping();
        // The browser cannot see ws-level pings, so it gets a protocol ping to detect a dead server.
        if (this.linked) this.send({ type: 'ping', t: Date.now() });
    }

    end(code: number, reason: string): void {
        if (this.ended) return;
        this.ended = true;
        clearTimeout(this.helloTimer);
        this.ws.close(code, reasonText(reason));
    }

    private refuse(code: 'token' | 'version' | 'hello', message: string, close: number): void {
        this.send({ type: 'refused', code, message });
        this.end(close, message);
    }

    private onMessage(data: unknown, isBinary: boolean): void {
        if (this.ended) return;
        if (isBinary) return this.end(CLOSE.badFrame, 'binary frames are not part of the protocol');
        const text = Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8');
        if (!this.tab) return this.onHello(text);
        const parsed = parseExtensionFrame(text);
        if (!parsed.ok) return this.end(CLOSE.badFrame, `bad frame: ${parsed.error}`);
        if (parsed.frame.type === 'hello') return this.end(CLOSE.badFrame, 'bad frame: hello was already sent');
        this.opts.relay.onFrame(this.tab, parsed.frame);
    }

    private onHello(text: string): void {
        const v = otherVersion(text);
        if (v !== null) {
            const newer = v > PROTOCOL_VERSION ? 'update the bridge server' : 'update the Ensemble extension';
            return this.refuse('version', `The extension speaks bridge protocol v${v}, this server v${PROTOCOL_VERSION}: ${newer}.`, CLOSE.versionMismatch);
        }
        const parsed = parseExtensionFrame(text);
        if (!parsed.ok) return this.end(CLOSE.badFrame, `bad frame: ${parsed.error}`);
        const hello = parsed.frame;
        if (hello.type !== 'hello') return this.refuse('hello', 'The first frame must be hello.', CLOSE.badFrame);
        if (!this.opts.checkToken(hello.token)) {
            this.opts.log.warn('refused a bridge link: wrong link token');
            return this.refuse('token', "The link token does not match this bridge server's (see its secrets.json).", CLOSE.badToken);
        }
        clearTimeout(this.helloTimer);
        this.req.socket.off('data', this.countUnlinked); // linked: ws's maxPayload is the limit now
        this.send({ type: 'welcome', v: PROTOCOL_VERSION, server: this.opts.serverName, api: this.opts.api() });
        this.tab = this.opts.relay.addTab(hello.tab, {
            send: (frame) => this.send(frame),
            close: (code, reason) => this.end(code, reason),
        }, hello.session === true);
        this.opts.log.info(`${hello.session ? 'background session' : 'tab'} ${printable(hello.tab)} linked (extension ${printable(hello.version)})`);
    }

    private onClose(): void {
        this.ended = true;
        clearTimeout(this.helloTimer);
        if (this.tab) {
            this.opts.log.info(`tab ${printable(this.tab.key)} unlinked`);
            this.opts.relay.removeTab(this.tab);
        }
    }
}
