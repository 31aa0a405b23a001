import { randomBytes } from 'node:crypto';
import { CLOSE, type ExtensionFrame, type ModelInfo } from '../../src/protocol/index';
import { ChatIndexStore } from './chat-index';
import { EnsembleError } from '../../src/shared/errors';
import { type ApiError, clip, fromFail } from './errors';
import {
    pickTab, Tab, type Job, type RelayOptions, type RelayRequest, type RelayStats, type RequestSink, type TabLink, type Ticket,
} from './tab';

export type { RelayOptions, RelayRequest, RelayStats, RequestSink, TabLink, Ticket } from './tab';
export { Tab } from './tab';

/**
 * Routes chat requests to linked SillyTavern tabs: one request per tab at a time, the rest in one
 * FIFO queue. Frames from tabs are matched to requests by id and by the tab the id was given to,
 * so concurrent requests can never receive each other's text.
 */
export class Relay {
    private readonly tabs = new Map<string, Tab>();
    private readonly jobs = new Map<string, Job>();
    private queue: Job[] = [];
    private seq = 0;
    /** Ids are unique per process by the counter and across restarts by the random prefix. */
    private readonly idPrefix = randomBytes(6).toString('hex');
    private idSeq = 0;
    private closed = false;
    private ignoredFrames = 0;
    private lateFrames = 0;
    private readonly chats: ChatIndexStore;

    constructor(private readonly opts: RelayOptions) {
        this.chats = opts.chats ?? ChatIndexStore.memory(opts.log);
    }

    /** A tab finished its handshake. A newer link from the same tab id replaces the older one. */
    addTab(key: string, link: TabLink, session = false): Tab {
        const tab = new Tab(key, link, session);
        const old = this.tabs.get(key);
        this.tabs.set(key, tab); // before dropping `old`, so its queued work waits for this tab's catalog
        if (old) {
            this.opts.log.info(`tab ${key} reconnected; closing its older link`);
            old.link.close(CLOSE.replaced, 'replaced by a newer link from the same tab');
            this.removeTab(old);
        }
        if (session) this.announceSessions();
        else link.send({ type: 'standby', sessions: this.sessionCount() });
        return tab;
    }

    /** Linked background sessions; while there is one, users' tabs take no requests. */
    private sessionCount(): number {
        let n = 0;
        for (const t of this.tabs.values()) if (t.session) n++;
        return n;
    }

    private announced = 0;
    /** Tells users' tabs whether background sessions serve now (the panel says so), when that changes. */
    private announceSessions(): void {
        const n = this.sessionCount();
        if (n === this.announced) return;
        this.announced = n;
        for (const t of this.tabs.values()) if (!t.session) t.link.send({ type: 'standby', sessions: n });
    }

    /** The tabs that may take requests: the background sessions when any is linked, else the users' tabs. */
    private serving(tabs: Iterable<Tab>): Tab[] {
        const all = [...tabs];
        return this.sessionCount() > 0 ? all.filter((t) => t.session) : all;
    }

    removeTab(tab: Tab): void {
        if (tab.gone) return;
        tab.gone = true;
        if (this.tabs.get(tab.key) === tab) this.tabs.delete(tab.key);
        const job = tab.job;
        if (job) {
            this.finish(job);
            job.sink?.fail(new EnsembleError('tab_closed', 'The SillyTavern tab disconnected during the request.'));
            job.sink = null;
        }
        if (tab.session) this.announceSessions();
        this.failStranded();
        this.pump();
    }

    /** Every frame after the handshake (hello is the socket layer's). */
    onFrame(tab: Tab, frame: ExtensionFrame): void {
        switch (frame.type) {
            case 'catalog':
                tab.models = new Map(frame.models.map((m) => [m.id, m]));
                this.failStranded();
                this.pump();
                return;
            case 'status': {
                tab.reportedBusy = frame.busy;
                tab.reportedQueued = frame.queued;
                const was = tab.unavailable;
                tab.unavailable = frame.unavailable ?? null;
                if (was !== tab.unavailable) {
                    this.opts.log.info(`tab ${tab.key} is ${tab.unavailable === null ? 'usable again' : 'unavailable (its SillyTavern session refuses it)'}`);
                    this.failStranded();
                    this.pump();
                }
                return;
            }
            case 'import_chats': {
                const added = this.chats.index.merge(frame.chats);
                if (added) this.chats.changed();
                this.opts.log.info(`tab ${tab.key} handed over ${added} bridge chat(s) from SillyTavern's settings`);
                tab.link.send({ type: 'chats_imported', added });
                return;
            }
            case 'delta':
            case 'done':
            case 'fail':
                this.onReply(tab, frame);
                return;
            default:
                return; // pong: the socket layer's heartbeat already saw traffic
        }
    }

    submit(req: RelayRequest, sink: RequestSink): Ticket {
        if (this.closed) throw new EnsembleError('shutting_down', 'The bridge server is shutting down.');
        if (this.tabs.size === 0) throw new EnsembleError('no_tab', 'No SillyTavern tab is linked to the bridge: open SillyTavern with the Ensemble bridge enabled.');
        // A tab that just linked has not sent its catalog yet: the request waits for it (failStranded decides then).
        const catalogPending = [...this.tabs.values()].some((t) => t.models === null);
        if (!this.offered(req.model) && !catalogPending) {
            const refused = [...this.tabs.values()].find((t) => t.unavailable !== null && t.models?.has(req.model));
            if (refused) throw this.unavailableError(refused);
            throw new EnsembleError('model_not_found', `The model '${clip(req.model)}' does not exist; GET /v1/models lists what SillyTavern offers.`, { param: 'model' });
        }
        const job: Job = { id: `chatcmpl-${this.idPrefix}${(++this.idSeq).toString(36)}`, req, sink, tab: null, timer: null };
        const tab = pickTab(req.model, this.serving(this.tabs.values()));
        if (!tab && this.queue.length >= this.opts.queueLimit) {
            throw new EnsembleError('queue_full', `The bridge queue is full (${this.opts.queueLimit} requests waiting); retry later.`);
        }
        this.jobs.set(job.id, job);
        job.timer = setTimeout(() => this.timeout(job), this.opts.timeoutMs);
        if (tab) this.start(job, tab);
        else this.queue.push(job);
        return { id: job.id, cancel: () => this.abandon(job) };
    }

    /** The union of every tab's catalog, first tab first. */
    models(): ModelInfo[] {
        const out = new Map<string, ModelInfo>();
        for (const tab of this.tabs.values()) for (const m of tab.models?.values() ?? []) if (!out.has(m.id)) out.set(m.id, m);
        return [...out.values()];
    }

    /** Per-tab state, for diagnostics and tests. */
    tabInfo(): { key: string; models: string[] | null; running: string | null; unavailable: string | null }[] {
        return [...this.tabs.values()].map((t) => ({ key: t.key, models: t.models && [...t.models.keys()], running: t.job?.id ?? null, unavailable: t.unavailable }));
    }

    stats(): RelayStats {
        const running = [...this.tabs.values()].filter((t) => t.job?.sink).length;
        return { tabs: this.tabs.size, queued: this.queue.length, running, ignoredFrames: this.ignoredFrames, lateFrames: this.lateFrames };
    }

    /** Fails everything still open; later submits are refused. */
    shutdown(): void {
        this.closed = true;
        this.queue = [];
        for (const job of [...this.jobs.values()]) {
            const sink = job.sink;
            this.finish(job);
            sink?.fail(new EnsembleError('shutting_down', 'The bridge server is shutting down.'));
            job.sink = null;
        }
    }

    private onReply(tab: Tab, frame: Extract<ExtensionFrame, { type: 'delta' | 'done' | 'fail' }>): void {
        const job = this.jobs.get(frame.id);
        if (!job || job.tab !== tab) {
            this.ignoredFrames++;
            return;
        }
        const sink = job.sink;
        if (!sink) {
            // Cancelled by us: the tab confirms it stopped, so it may take the next request.
            this.lateFrames++;
            if (frame.type !== 'delta') this.release(job);
            return;
        }
        if (frame.type === 'delta') {
            job.timer?.refresh();
            sink.delta(frame.text);
            return;
        }
        if (frame.type === 'fail' && frame.code === 'unavailable') {
            this.retryElsewhere(job, tab, frame.message);
            return;
        }
        job.sink = null;
        this.release(job);
        if (frame.type === 'done') {
            if (frame.chat) {
                this.chats.index.remember(job.req.model, frame.chat, [...job.req.messages, { role: 'assistant', content: frame.text }]);
                this.chats.changed();
            }
            sink.done(frame.text, frame.finishReason);
        } else sink.fail(fromFail(frame.code, frame.message));
    }

    /**
     * The tab could not use its ST session, so the request never reached ST: the tab is set aside until it
     * reports otherwise, and the request goes back to the front of the queue for another tab.
     */
    private retryElsewhere(job: Job, tab: Tab, reason: string): void {
        tab.unavailable = reason || 'its SillyTavern session refused it';
        this.opts.log.info(`tab ${tab.key} is unavailable; request ${job.id} goes to another tab`);
        tab.job = null;
        job.tab = null;
        this.queue.unshift(job);
        this.failStranded();
        this.pump();
    }

    private timeout(job: Job): void {
        const sink = job.sink;
        if (!sink) return;
        const where = job.tab ? 'SillyTavern sent nothing' : 'the request waited in the queue';
        this.abandon(job);
        sink.fail(new EnsembleError('timeout', `Timed out: ${where} for ${Math.round(this.opts.timeoutMs / 1000)} s.`));
    }

    /** The client is gone (abort or timeout): drop a queued job, or cancel it in its tab. */
    private abandon(job: Job): void {
        if (!job.sink) return;
        job.sink = null;
        if (job.timer) clearTimeout(job.timer);
        const tab = job.tab;
        if (!tab) {
            this.queue = this.queue.filter((j) => j !== job);
            this.jobs.delete(job.id);
            return;
        }
        tab.link.send({ type: 'cancel', id: job.id });
        // Keep the tab reserved until it confirms, so the next request does not meet a still-running generation.
        tab.graceTimer = setTimeout(() => { if (tab.job === job) this.release(job); }, this.opts.cancelGraceMs);
    }

    /** The tab is done with `job`: free it and hand out queued work. */
    private release(job: Job): void {
        this.finish(job);
        this.pump();
    }

    private finish(job: Job): void {
        if (job.timer) clearTimeout(job.timer);
        this.jobs.delete(job.id);
        this.queue = this.queue.length && job.tab === null ? this.queue.filter((j) => j !== job) : this.queue;
        const tab = job.tab;
        if (tab && tab.job === job) {
            tab.job = null;
            if (tab.graceTimer) clearTimeout(tab.graceTimer);
            tab.graceTimer = null;
        }
    }

    private start(job: Job, tab: Tab): void {
        tab.job = job;
        job.tab = tab;
        tab.lastAssigned = ++this.seq;
        const chat = this.chats.index.findFor(job.req.model, job.req.messages)?.file;
        tab.link.send({ type: 'request', id: job.id, ...job.req, ...(chat ? { chat } : {}) });
    }

    /** Hands queued jobs, oldest first, to idle tabs that offer their model. */
    private pump(): void {
        if (this.queue.length === 0) return;
        const idle = this.serving(this.tabs.values()).filter((t) => !t.job && t.unavailable === null);
        if (idle.length === 0) return;
        const waiting: Job[] = [];
        for (const job of this.queue) {
            const tab = idle.length ? pickTab(job.req.model, idle) : undefined;
            if (!tab) {
                waiting.push(job);
                continue;
            }
            idle.splice(idle.indexOf(tab), 1);
            this.start(job, tab);
        }
        this.queue = waiting;
    }

    /** Whether a usable tab offers `model` (or, with `anyTab`, any tab at all). */
    private offered(model: string, anyTab = false): boolean {
        for (const t of this.tabs.values()) if (t.models?.has(model) && (anyTab || t.unavailable === null)) return true;
        return false;
    }

    private unavailableError(tab: Tab): ApiError {
        return new EnsembleError('tab_unavailable', `No SillyTavern tab can serve this now: ${clip(tab.unavailable ?? '', 300)}`);
    }

    /** Resolves once the index of bridge chats is on disk (shutdown). */
    flushChats(): Promise<void> {
        return this.chats.flush();
    }

    /** Queued jobs no tab can serve any more fail now instead of at their timeout. */
    private failStranded(): void {
        // A tab without a catalog yet (just linked or reconnected) may still offer the model.
        const pending = [...this.tabs.values()].some((t) => t.models === null);
        if (pending) return;
        for (const job of this.queue.filter((j) => !this.offered(j.req.model))) {
            const sink = job.sink;
            this.finish(job);
            const refused = [...this.tabs.values()].find((t) => t.unavailable !== null && t.models?.has(job.req.model));
            sink?.fail(this.tabs.size === 0
                ? new EnsembleError('no_tab', 'The last SillyTavern tab disconnected before the request started.')
                : refused ? this.unavailableError(refused)
                    : new EnsembleError('model_not_found', `SillyTavern no longer offers the model '${clip(job.req.model)}'.`, { param: 'model' }));
            job.sink = null;
        }
    }
}
