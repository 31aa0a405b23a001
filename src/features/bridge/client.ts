import type { Host, HostSocket } from '../../host/host';
import { CLOSE, type ExtensionFrame, PROTOCOL_VERSION, type ServerFrame, encode, parseServerFrame } from '../../protocol';
import { t } from '../../shared/i18n';
import { log } from '../../shared/log';

export type BridgeState = 'off' | 'connecting' | 'connected' | 'refused' | 'waiting';

export interface BridgeStatus {
    state: BridgeState;
    lastError: string;
    /** Seconds until the next reconnect attempt, while waiting. */
    retryIn?: number;
}

export interface BridgeClientOptions {
    url: string;
    token: string;
    version: string;
    /** This page's tab id (a background session's own id); default: a random one per page. */
    tab?: string;
    /** This page is one of the bridge server's background sessions. */
    session?: boolean;
    /** Called once per welcome (with what the server shares for client setup): send the catalog and status. */
    onWelcome: (api?: { url: string; key?: string }) => void;
    onFrame: (frame: Extract<ServerFrame, { type: 'request' | 'cancel' | 'chats_imported' | 'standby' }>) => void;
    onStatus: (status: BridgeStatus) => void;
}

/** A server that said nothing (not even a ping) for this long is taken for dead. */
export const SILENCE_MS = 45_000;
const FINAL_CLOSES = new Set<number>([CLOSE.badToken, CLOSE.versionMismatch, CLOSE.originRefused]);
export const BACKOFF = { baseMs: 1_000, maxMs: 30_000 };

/** Exponential backoff with full jitter between half and the whole step. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
    const step = Math.min(BACKOFF.maxMs, BACKOFF.baseMs * 2 ** attempt);
    return Math.round(step / 2 + random() * (step / 2));
}

/**
 * The extension's outbound WebSocket to the bridge server: hello with the link token as the first
 * frame (never in the URL), reconnect with backoff and jitter, a silence watchdog fed by the server's
 * pings, and every frame validated with the shared protocol schemas.
 */
export class BridgeClient {
    private socket: HostSocket | null = null;
    private attempt = 0;
    private retryTimer: ReturnType<typeof setTimeout> | null = null;
    private watchdog: ReturnType<typeof setTimeout> | null = null;
    private wanted = false;
    private readonly tab: string;
    status: BridgeStatus = { state: 'off', lastError: '' };

    constructor(private readonly host: Host, private readonly options: BridgeClientOptions) {
        this.tab = options.tab ?? Math.random().toString(36).slice(2, 12);
    }

    connect(): void {
        this.wanted = true;
        this.clearTimers();
        this.socket?.close(1000, 'reconnecting');
        this.open();
    }

    disconnect(): void {
        this.wanted = false;
        this.clearTimers();
        const s = this.socket;
        this.socket = null;
        s?.close(1000, 'disconnected by the user');
        this.setStatus({ state: 'off', lastError: this.status.lastError });
    }

    /** Sends when connected; frames sent while disconnected are dropped (the server fails those requests). */
    send(frame: ExtensionFrame): boolean {
        if (this.status.state !== 'connected' || !this.socket) return false;
        this.socket.send(encode(frame));
        return true;
    }

    private open(): void {
        this.setStatus({ state: 'connecting', lastError: this.status.lastError });
        let socket: HostSocket;
        try {
            socket = this.host.openSocket(this.options.url);
        } catch (err) {
            this.fail(t('ensemble.bridge.errorBadAddress', { error: err instanceof Error ? err.message : String(err) }));
            return;
        }
        this.socket = socket;
        socket.onopen = () => {
            socket.send(encode({
                type: 'hello', v: PROTOCOL_VERSION, token: this.options.token, tab: this.tab, version: this.options.version, ...(this.options.session ? { session: true } : {}),
            }));
            this.feedWatchdog();
        };
        socket.onmessage = (data) => this.onMessage(socket, data);
        socket.onclose = (code, reason) => {
            if (this.socket !== socket) return;
            this.socket = null;
            this.clearTimers();
            if (this.status.state === 'refused') return;
            if (FINAL_CLOSES.has(code)) {
                // Refusals that retrying can't fix: a wrong token or version, or this page's origin not allowed.
                const message = reason || t('ensemble.bridge.errorServerClosed', { code });
                this.setStatus({ state: 'refused', lastError: message });
                this.host.toast('error', t('ensemble.bridge.refused', { reason: message }), t('ensemble.bridge.toastTitle'));
                return;
            }
            this.fail(reason ? t('ensemble.bridge.errorClosedReason', { code, reason }) : t('ensemble.bridge.errorClosed', { code }));
        };
    }

    private onMessage(socket: HostSocket, data: unknown): void {
        if (this.socket !== socket) return;
        this.feedWatchdog();
        const parsed = parseServerFrame(data);
        if (!parsed.ok) {
            log.warn('bridge: ignoring a malformed frame from the server:', parsed.error);
            return;
        }
        const frame = parsed.frame;
        switch (frame.type) {
            case 'welcome':
                if (frame.v !== PROTOCOL_VERSION) {
                    const message = t('ensemble.bridge.errorProtocol', { server: frame.v, own: PROTOCOL_VERSION });
                    this.setStatus({ state: 'refused', lastError: message });
                    this.host.toast('error', message, t('ensemble.bridge.toastTitle'));
                    socket.close(1000, 'version mismatch');
                    return;
                }
                this.attempt = 0;
                this.setStatus({ state: 'connected', lastError: '' });
                this.options.onWelcome(frame.api);
                return;
            case 'refused':
                // A wrong token or version will not fix itself: stop retrying until the user acts.
                this.setStatus({ state: 'refused', lastError: frame.message });
                this.host.toast('error', t('ensemble.bridge.refused', { reason: frame.message }), t('ensemble.bridge.toastTitle'));
                socket.close(1000, 'refused');
                return;
            case 'ping':
                socket.send(encode({ type: 'pong', t: frame.t }));
                return;
            case 'request':
            case 'cancel':
            case 'chats_imported':
            case 'standby':
                this.options.onFrame(frame);
        }
    }

    private fail(message: string): void {
        if (!this.wanted) {
            this.setStatus({ state: 'off', lastError: message });
            return;
        }
        const wait = backoffMs(this.attempt++);
        this.setStatus({ state: 'waiting', lastError: message, retryIn: Math.round(wait / 1000) });
        this.retryTimer = setTimeout(() => this.open(), wait);
    }

    private feedWatchdog(): void {
        if (this.watchdog) clearTimeout(this.watchdog);
        this.watchdog = setTimeout(() => {
            log.warn('bridge: the server went silent; reconnecting');
            const s = this.socket;
            this.socket = null;
            s?.close(4000, 'silent server');
            this.fail(t('ensemble.bridge.errorSilent'));
        }, SILENCE_MS);
    }

    private clearTimers(): void {
        if (this.retryTimer) clearTimeout(this.retryTimer);
        if (this.watchdog) clearTimeout(this.watchdog);
        this.retryTimer = null;
        this.watchdog = null;
    }

    private setStatus(status: BridgeStatus): void {
        this.status = status;
        this.options.onStatus(status);
    }
}
