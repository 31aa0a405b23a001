import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { BridgeLink, type LinkOptions } from './bridge-socket';
import { EnsembleError } from '../../src/shared/errors';
import { type ApiError, httpStatus, openAiBody } from './errors';
import { hostRefused } from './host-guard';
import { printable } from './log';
import { hostAllowed, originAllowed } from './origins';

export const BRIDGE_PATH = '/bridge';

export interface BridgeServerOptions extends LinkOptions {
    heartbeatMs: number;
    maxPayload: number;
    /** `Host` names served besides loopback ones (normalized, see origins.ts). */
    allowedHosts: readonly string[];
    /** WebSocket Origin allowlist; null: any http(s) origin on loopback. */
    stOrigins: readonly string[] | null;
}

/** Answers an upgrade request with an OpenAI-shaped error instead of 101 (nothing else owns the socket yet). */
function refuseUpgrade(socket: Duplex, err: ApiError): void {
    const body = JSON.stringify(openAiBody(err));
    socket.end(`HTTP/1.1 ${httpStatus(err)} ${STATUS_CODES[httpStatus(err)] ?? 'Error'}\r\nConnection: close\r\n`
        + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

/**
 * The extension's WebSocket endpoint on the HTTP server's port (`/bridge`), with a heartbeat:
 * ws-level pings find dead peers (ws README pattern); protocol pings let the browser find a dead server.
 * Host and Origin are checked before the upgrade, so a refused page never gets a 101.
 */
export function attachBridge(server: Server, opts: BridgeServerOptions): { close(): void } {
    const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayload });
    const links = new Set<BridgeLink>();

    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        socket.on('error', () => socket.destroy()); // a peer resetting mid-handshake must not crash the server
        if (!hostAllowed(req.headers.host, opts.allowedHosts)) return refuseUpgrade(socket, hostRefused(req.headers.host));
        const path = new URL(req.url ?? '/', 'http://localhost').pathname;
        if (path !== BRIDGE_PATH) return refuseUpgrade(socket, new EnsembleError('not_found', `There is no WebSocket at ${printable(path)}; the bridge is at ${BRIDGE_PATH}.`));
        const origin = req.headers.origin;
        if (!originAllowed(origin, opts.stOrigins)) {
            opts.log.warn(`refused a bridge link from origin ${printable(origin ?? '')}; start the bridge with --st-origin ${printable(origin ?? '')} if that is SillyTavern`);
            return refuseUpgrade(socket, new EnsembleError('origin_not_allowed', `Origin ${printable(origin ?? '')} may not link to this bridge; start the bridge with --st-origin ${printable(origin ?? '')} if that is SillyTavern.`));
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
            const link = new BridgeLink(ws, req, opts);
            links.add(link);
            ws.once('close', () => links.delete(link));
        });
    };
    server.on('upgrade', onUpgrade);

    const timer = setInterval(() => { for (const link of links) link.heartbeat(); }, opts.heartbeatMs);
    timer.unref();

    return {
        close() {
            clearInterval(timer);
            server.off('upgrade', onUpgrade);
            for (const link of links) link.end(1001, 'the bridge server is shutting down');
            // Peers get a moment to answer the close frame; then their sockets go, so the port frees now.
            setTimeout(() => { for (const ws of wss.clients) ws.terminate(); }, 100).unref();
            wss.close();
        },
    };
}
