import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { createApp } from './app';
import { ChatIndexStore } from './chat-index';
import { attachBridge, BRIDGE_PATH } from './bridge-server';
import { consoleLogger, type Logger } from './log';
import { isLoopbackHost, normalizeHostName, normalizeOrigin } from './origins';
import { Relay } from './relay';
import { fullAccess, toApiKey, type ApiKeyEntry } from './key-scope';
import { keyFinder, secretMatcher } from './secrets';
import { type SessionOptions, StSessions } from './st-sessions';
import { EnsembleError } from '../../src/shared/errors';
import { VERSION } from '../../src/shared/version';

export const SERVER_NAME = `ensemble-bridge/${VERSION}`;

export const DEFAULTS = {
    host: '127.0.0.1',
    port: 5181,
    bodyLimit: 4 * 1024 * 1024,
    requestTimeoutMs: 120_000,
    queueLimit: 100,
    heartbeatMs: 15_000,
    helloTimeoutMs: 5_000,
    keepAliveMs: 10_000,
    earlyHeadersMs: 20_000,
    cancelGraceMs: 10_000,
    maxPayload: 16 * 1024 * 1024,
    /** Before the hello (a few hundred bytes) only this much: unauthenticated sockets cannot hold 16 MiB each. */
    helloMaxBytes: 8 * 1024,
    shareApiKey: true,
    /**
     * How long an idle HTTP connection stays open. Node's 5 s default races clients that reuse a
     * pooled connection just as the server closes it ("other side closed" in the openai SDK under
     * load); 65 s outlasts the usual client and proxy pools (60 s).
     */
    httpKeepAliveMs: 65_000,
} as const;

export interface StartOptions {
    /** Client API keys (`Authorization: Bearer <key>`), each with full access or a scope; at least one. */
    apiKeys: ApiKeyEntry[];
    /** The token the extension sends in `hello`. */
    linkToken: string;
    host?: string;
    /** 0 picks a free port (tests). */
    port?: number;
    /** Required for a host other than loopback. */
    allowRemote?: boolean;
    corsOrigins?: string[];
    /**
     * `Host` names the server answers besides loopback ones (any port); the listening host is added
     * when it is not loopback. Others get 403 (DNS rebinding).
     */
    allowedHosts?: string[];
    /** WebSocket Origin allowlist; unset: any http(s) origin on loopback. */
    stOrigins?: string[] | null;
    bodyLimit?: number;
    requestTimeoutMs?: number;
    queueLimit?: number;
    heartbeatMs?: number;
    helloTimeoutMs?: number;
    keepAliveMs?: number;
    /** A non-stream answer not ready by then gets `200` and its headers at once, then spaces until the JSON. */
    earlyHeadersMs?: number;
    cancelGraceMs?: number;
    maxPayload?: number;
    helloMaxBytes?: number;
    /** false: `welcome` carries only the API's URL, not the first API key. Default true. */
    shareApiKey?: boolean;
    /** Start the server's own SillyTavern sessions (headless pages of that ST) once listening. */
    sessions?: Omit<SessionOptions, 'bridgeUrl' | 'linkToken' | 'relay' | 'log'>;
    /** Where the index of bridge chats is kept (the data folder's bridge-chats.json); unset: in memory only. */
    chatIndexFile?: string;
    log?: Logger;
}

export interface RunningServer {
    /** `http://host:port` */
    url: string;
    /** `ws://host:port/bridge`, for the extension. */
    bridgeUrl: string;
    host: string;
    port: number;
    relay: Relay;
    server: Server;
    sessions: StSessions | null;
    close(): Promise<void>;
}

const urlHost = (host: string) => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);

/** Starts the HTTP API and the extension's WebSocket on one port; resolves once it listens. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
    const o = { ...DEFAULTS, ...options, log: options.log ?? consoleLogger() };
    const apiKeys = o.apiKeys.map(toApiKey);
    if (!apiKeys.length || apiKeys.some((k) => !k.key)) throw new EnsembleError('CONFIG_INVALID', 'startServer: at least one non-empty API key is required.');
    if (!o.linkToken) throw new EnsembleError('CONFIG_INVALID', 'startServer: a link token is required.');
    if (!isLoopbackHost(o.host)) {
        if (!o.allowRemote) {
            throw new EnsembleError('CONFIG_INVALID', `Refusing to listen on ${o.host}: it is reachable from other machines. Pass --allow-remote to do so anyway (then anyone who can reach it and has a key can use SillyTavern).`);
        }
        o.log.warn(`listening on ${o.host}, reachable from other machines: keep the API keys secret, and prefer a TLS proxy in front.`);
    }
    const corsOrigins = (o.corsOrigins ?? []).map(normalizeOrigin);
    const stOrigins = o.stOrigins ? o.stOrigins.map(normalizeOrigin) : null;
    const allowedHosts = [...(o.allowedHosts ?? []), ...(isLoopbackHost(o.host) ? [] : [o.host])].map(normalizeHostName);

    const chats = o.chatIndexFile ? ChatIndexStore.open(o.chatIndexFile, o.log) : undefined;
    const relay = new Relay({ queueLimit: o.queueLimit, timeoutMs: o.requestTimeoutMs, cancelGraceMs: o.cancelGraceMs, log: o.log, chats });
    let sessions: StSessions | null = null;
    const app = createApp({
        sessions: () => sessions?.info() ?? null,
        relay, identifyKey: keyFinder(apiKeys), corsOrigins, allowedHosts, bodyLimit: o.bodyLimit, keepAliveMs: o.keepAliveMs, earlyHeadersMs: o.earlyHeadersMs, log: o.log,
    });
    const server = createAdaptorServer({ fetch: app.fetch, hostname: o.host }) as Server;
    server.keepAliveTimeout = DEFAULTS.httpKeepAliveMs;
    // Above the keep-alive time, or a reused connection could time out waiting for its next headers.
    server.headersTimeout = DEFAULTS.httpKeepAliveMs + 1000;
    let url = ''; // known once listening (port 0 picks one); no tab can link before that
    // The link-token holder is the trusted ST tab (it sees every prompt anyway); its panel shows clients how to connect.
    // Only a key with full access: the panel offers it as "the" key for any character.
    const shared = o.shareApiKey ? apiKeys.find(fullAccess)?.key : undefined;
    const api = () => ({ url, ...(shared ? { key: shared } : {}) });
    const bridge = attachBridge(server, {
        relay, checkToken: secretMatcher([o.linkToken]), stOrigins, allowedHosts, helloTimeoutMs: o.helloTimeoutMs, helloMaxBytes: o.helloMaxBytes,
        serverName: SERVER_NAME, api, log: o.log, heartbeatMs: o.heartbeatMs, maxPayload: o.maxPayload,
    });

    await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(o.port, o.host, () => {
            server.off('error', reject);
            resolve();
        });
    });
    const port = (server.address() as AddressInfo).port;
    const base = `${urlHost(o.host)}:${port}`;
    url = `http://${base}`;
    if (o.sessions) {
        sessions = new StSessions({ ...o.sessions, bridgeUrl: `ws://${base}${BRIDGE_PATH}`, linkToken: o.linkToken, relay, log: o.log });
        sessions.start();
    }

    let closing: Promise<void> | null = null;
    return {
        url,
        bridgeUrl: `ws://${base}${BRIDGE_PATH}`,
        host: o.host,
        port,
        relay,
        server,
        sessions,
        close: () => (closing ??= Promise.all([
            sessions?.close(), // the sessions' browser goes too: no orphaned Chromium
            new Promise<void>((resolve) => {
                relay.shutdown(); // open requests get a 503 rather than a reset
                bridge.close();
                server.close(() => void relay.flushChats().then(resolve));
                // Let the 503s and close frames go out, then drop idle keep-alive connections.
                setTimeout(() => server.closeAllConnections(), 100).unref();
            }),
        ]).then(() => undefined)),
    };
}
