import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { BridgeLink, type LinkOptions } from './bridge-socket';

export const BRIDGE_PATH = '/bridge';

export interface BridgeServerOptions extends LinkOptions {
    heartbeatMs: number;
    maxPayload: number;
}

/** Writes a bare HTTP answer on a socket that asked to upgrade (nothing else owns it yet). */
function rejectUpgrade(socket: Duplex, status: number, text: string): void {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * The extension's WebSocket endpoint on the HTTP server's port (`/bridge`), with a heartbeat:
 * ws-level pings find dead peers (ws README pattern); protocol pings let the browser find a dead server.
 */
export function attachBridge(server: Server, opts: BridgeServerOptions): { close(): void } {
    const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayload });
    const links = new Set<BridgeLink>();

    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        socket.on('error', () => socket.destroy()); // a peer resetting mid-handshake must not crash the server
        const path = new URL(req.url ?? '/', 'http://localhost').pathname;
        if (path !== BRIDGE_PATH) return rejectUpgrade(socket, 404, 'Not Found');
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
