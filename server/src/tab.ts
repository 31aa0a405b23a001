/** A linked tab as the relay sees it (`Tab`, `pickTab`), and the types the relay and its tabs share. */
import type { ExtensionFrame, ModelInfo, ServerFrame } from '../../src/protocol/index';
import type { ApiError } from './errors';
import type { ChatIndexStore } from './chat-index';
import type { Logger } from './log';

export type RequestFrame = Extract<ServerFrame, { type: 'request' }>;
/** What the HTTP side asks for; the relay adds the id. */
export type RelayRequest = Omit<RequestFrame, 'type' | 'id'>;
export type FinishReason = Extract<ExtensionFrame, { type: 'done' }>['finishReason'];

/** Where a request's outcome goes: any number of deltas, then exactly one of done or fail. */
export interface RequestSink {
    delta(text: string): void;
    done(text: string, finishReason: FinishReason): void;
    fail(error: ApiError): void;
}

/** The relay's way to reach one tab's socket. */
export interface TabLink {
    send(frame: ServerFrame): void;
    close(code: number, reason: string): void;
}

export interface Job {
    readonly id: string;
    readonly req: RelayRequest;
    /** null once the client has its answer or has left: nothing more reaches it. */
    sink: RequestSink | null;
    /** The tab it was given to; null while queued. */
    tab: Tab | null;
    timer: NodeJS.Timeout | null;
}

/** The HTTP side's handle on a submitted request. */
export interface Ticket {
    readonly id: string;
    /** The client went away: drop the request (and tell the tab). No sink call follows. */
    cancel(): void;
}

export interface RelayOptions {
    queueLimit: number;
    /** Time without progress (queued, or no delta from the tab) before the client gets a 504. */
    timeoutMs: number;
    /** How long a tab stays reserved after `cancel` when it does not confirm with done/fail. */
    cancelGraceMs: number;
    log: Logger;
    /** The index of bridge chats shared by every tab (default: in memory only). */
    chats?: ChatIndexStore;
}

export interface RelayStats {
    tabs: number;
    queued: number;
    running: number;
    /** delta/done/fail frames for an unknown id, or from a tab that was not given that id. */
    ignoredFrames: number;
    /** Frames for a request the client already left (expected after a cancel). */
    lateFrames: number;
}

/** One linked SillyTavern tab (browser tab), keyed by the tab id from its hello. */
export class Tab {
    /** null until its first catalog frame. */
    models: Map<string, ModelInfo> | null = null;
    reportedBusy = false;
    reportedQueued = 0;
    /** Why the tab can't serve (its ST session refuses it), as it reported; null while it can. */
    unavailable: string | null = null;
    /** At most one request per tab: ST generates one reply at a time. */
    job: Job | null = null;
    lastAssigned = 0;
    graceTimer: NodeJS.Timeout | null = null;
    gone = false;

    /** A background session the server started (its own headless ST page), not a user's tab. */
    constructor(readonly key: string, readonly link: TabLink, readonly session = false) {}
}

/** An idle, usable tab with the model; tabs reporting ST busy come last, then the least recently used (load sharing). */
export function pickTab(model: string, candidates: Iterable<Tab>): Tab | undefined {
    let best: Tab | undefined;
    for (const t of candidates) {
        if (t.job || t.unavailable !== null || !t.models?.has(model)) continue;
        if (!best || Number(t.reportedBusy) < Number(best.reportedBusy)
            || (t.reportedBusy === best.reportedBusy && t.lastAssigned < best.lastAssigned)) best = t;
    }
    return best;
}
