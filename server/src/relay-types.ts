import type { ExtensionFrame, ModelInfo, ServerFrame } from '../../src/protocol/index';
import type { ApiError } from './errors';

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

/** One linked SillyTavern tab (browser tab), keyed by the tab id from its hello. */
export class Tab {
    /** null until its first catalog frame. */
    models: Map<string, ModelInfo> | null = null;
    reportedBusy = false;
    reportedQueued = 0;
    /** At most one request per tab: ST generates one reply at a time. */
    job: Job | null = null;
    lastAssigned = 0;
    graceTimer: NodeJS.Timeout | null = null;
    gone = false;

    constructor(readonly key: string, readonly link: TabLink) {}
}
