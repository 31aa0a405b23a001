import type { ChatTarget, Host, HostMessage } from '../../host/host';
import type { BridgeErrorCode, ChatMessage, ExtensionFrame, ServerFrame } from '../../protocol';
import { EnsembleError, type ErrorCode, englishMessage, errorMessage } from '../../shared/errors';
import { type Words, inEnglish, sameWords, t } from '../../shared/i18n';
import { log } from '../../shared/log';
import type { Catalog } from './catalog';
import { formatGroupReply, parseGroupReply, ReplyStream } from './reply-stream';
import type { BridgeJournal } from './journal';
import { isSideTask, sideTaskPrompt } from './side-tasks';

type Request = Extract<ServerFrame, { type: 'request' }>;

/**
 * The `fail` frame's code for each of the executor's own failures; anything else is ST's (`st_error`). Their messages
 * reach the API client through the server, so they stay English like the server's own answers.
 */
const FAIL_CODE: Partial<Record<ErrorCode, BridgeErrorCode>> = {
    BRIDGE_BAD_REQUEST: 'bad_request',
    BRIDGE_TARGET_NOT_FOUND: 'not_found',
    BRIDGE_UNAVAILABLE: 'unavailable',
    BRIDGE_CANCELLED: 'cancelled',
};

/** How a bridge request's target (a character or a group) keeps its chats. */
interface BridgeChat {
    target: ChatTarget;
    /** A group turn: several speakers, named in the reply; no rotation pool. */
    group: boolean;
    /** Whether `file` is the chat open now. */
    isOpen(file: string): boolean;
    /** Opens chat `file`, first writing it from `history` when given. */
    open(file: string, history: ChatMessage[] | null): Promise<void>;
    /** The reply as the client gets it, from the messages ST added. */
    reply(replies: HostMessage[]): string;
}

const stamp = (d: Date) => d.toISOString().replace(/[:.]/g, '-').replace('T', ' ').slice(0, 19);

/**
 * Carries out bridge requests inside ST, one at a time per tab: never while the user's own generation
 * runs, always in a dedicated bridge chat, and the user is put back where they were. The user's open
 * chat is only ever reopened, never written.
 */
export class BridgeExecutor {
    private readonly queue: Request[] = [];
    private running: { id: string; cancelled: boolean } | null = null;

    constructor(
        private readonly host: Host,
        private readonly catalog: () => Catalog,
        private readonly journal: BridgeJournal,
        private readonly send: (frame: ExtensionFrame) => void,
        private readonly rotation?: { begin(): unknown; end(): void },
        private readonly sideTasks: () => readonly RegExp[] = () => [],
        /**
         * `tab`: a user's ST tab, whose place and chat pointers are put back after each request. `session`: one of
         * the bridge server's own headless pages, with no user to put back: the conversation's bridge chat stays
         * open between its turns, and the server keeps ST's settings, cards and group files from being written.
         */
        private readonly mode: 'tab' | 'session' = 'tab',
    ) {
        host.on('streamToken', (text) => this.stream?.token(text));
        host.on('groupMemberDrafted', (chId) => {
            const name = host.characters()[chId]?.name;
            if (name) this.stream?.member(name);
        });
        host.on('messageReceived', (i) => {
            const m = host.chat()[i];
            if (m && !m.is_user && !m.is_system) this.stream?.message(m);
        });
    }

    /** The reply of the request in progress, as deltas; null between requests. */
    private stream: ReplyStream | null = null;
    /** Why this tab can't serve (its ST session refuses it); null while it can. */
    unavailable: Words | null = null;

    get busy(): boolean {
        return this.running !== null;
    }

    get queued(): number {
        return this.queue.length;
    }

    enqueue(request: Request): void {
        this.queue.push(request);
        this.reportStatus();
        if (!this.running) void this.drain();
    }

    /** The client went away: drop or stop the request, and say so at once so the server frees this tab. */
    cancel(id: string): void {
        const i = this.queue.findIndex((r) => r.id === id);
        if (i >= 0) {
            this.queue.splice(i, 1);
            this.send({ type: 'fail', id, code: 'cancelled', message: 'Cancelled by the client.' });
            this.reportStatus();
        } else if (this.running?.id === id && !this.running.cancelled) {
            this.running.cancelled = true;
            this.host.stopGeneration();
            this.send({ type: 'fail', id, code: 'cancelled', message: 'Cancelled by the client.' });
        }
    }

    private reportStatus(): void {
        this.send({ type: 'status', busy: this.busy, queued: this.queue.length, ...(this.unavailable === null ? {} : { unavailable: inEnglish(this.unavailable) }) });
    }

    /** Asks ST whether this page's session still works; reports a change to the server. Returns the problem, if any. */
    async checkSession(): Promise<Words | null> {
        const problem = await this.host.sessionProblem();
        if (!sameWords(problem, this.unavailable)) {
            this.unavailable = problem;
            this.reportStatus();
        }
        return problem;
    }

    private async drain(): Promise<void> {
        for (let next = this.queue.shift(); next; next = this.queue.shift()) {
            this.running = { id: next.id, cancelled: false };
            this.reportStatus();
            try {
                const { text, chat } = await this.run(next);
                if (!this.running.cancelled) this.send({ type: 'done', id: next.id, text, finishReason: 'stop', ...(chat ? { chat } : {}) });
            } catch (err) {
                const code = (err instanceof EnsembleError && FAIL_CODE[(err as EnsembleError).code]) || 'st_error';
                if (!this.running.cancelled) this.send({ type: 'fail', id: next.id, code, message: englishMessage(err) });
                log.warn('bridge request failed:', englishMessage(err));
            } finally {
                this.stream = null;
                this.running = null;
            }
        }
        this.reportStatus();
    }

    private async run(request: Request): Promise<{ text: string; chat?: string }> {
        const target = this.catalog().targets.get(request.model);
        if (!target) throw new EnsembleError('BRIDGE_TARGET_NOT_FOUND', `No character or group "${request.model}" in this SillyTavern.`);
        // Before anything reaches ST: a tab whose session ST refuses hands the request back for another tab.
        const problem = await this.checkSession();
        if (problem) throw new EnsembleError('BRIDGE_UNAVAILABLE', `This SillyTavern tab can't serve: ${inEnglish(problem)}.`);
        if (isSideTask(request.messages, this.sideTasks())) return { text: await this.runSideTask(request) };
        const turns = request.messages.filter((m) => m.role === 'user' || m.role === 'assistant');
        const last = turns.at(-1);
        if (!last || last.role !== 'user') throw new EnsembleError('BRIDGE_BAD_REQUEST', 'The last message must be the user\'s.');
        return target.kind === 'group' ? this.runGroup(request, target.id, turns) : this.runCharacter(request, target.avatar, turns);
    }

    /** Title, summary and the like: answered by ST's generateRaw, no chat created, opened or written. */
    private async runSideTask(request: Request): Promise<string> {
        await this.waitForIdle(request.id);
        const { system, prompt } = sideTaskPrompt(request.messages);
        this.rotation?.begin();
        try {
            const text = await this.host.generateRaw(prompt, system, request.params.max_tokens ?? 400);
            if (this.running?.cancelled) throw new EnsembleError('BRIDGE_CANCELLED', 'Cancelled by the client.');
            this.send({ type: 'delta', id: request.id, text });
            return text;
        } finally {
            this.rotation?.end();
        }
    }

    private async runCharacter(request: Request, avatar: string, turns: ChatMessage[]): Promise<{ text: string; chat: string }> {
        const index = this.host.characters().findIndex((c) => c.avatar === avatar);
        const character = this.host.characters()[index];
        if (!character) throw new EnsembleError('BRIDGE_TARGET_NOT_FOUND', `The character behind "${request.model}" was deleted.`);
        return this.inBridgeChat(request, turns, {
            target: { kind: 'character', avatar },
            group: false,
            isOpen: (file) => { const at = this.host.currentChatRef(); return at.kind === 'character' && at.avatar === avatar && at.file === file; },
            open: (file, history) => this.host.openCharacterChatFile(index, file, history && history.map((m) => this.toStMessage(m, character.name))),
            reply: (replies) => replies.at(-1)?.mes ?? '',
        });
    }

    /** An ST group turn in the group's bridge chat: each drafted member speaks through its own profile (no rotation). */
    private async runGroup(request: Request, groupId: string, turns: ChatMessage[]): Promise<{ text: string; chat: string }> {
        const group = this.host.groups().find((g) => g.id === groupId);
        if (!group) throw new EnsembleError('BRIDGE_TARGET_NOT_FOUND', `The group behind "${request.model}" was deleted.`);
        const names = group.members.map((a) => this.host.characters().find((c) => c.avatar === a)?.name).filter((n): n is string => !!n);
        const first = names[0];
        if (!first) throw new EnsembleError('BRIDGE_TARGET_NOT_FOUND', `The group behind "${request.model}" has no members left.`);
        return this.inBridgeChat(request, turns, {
            target: { kind: 'group', id: groupId },
            group: true,
            isOpen: (file) => { const at = this.host.currentChatRef(); return at.kind === 'group' && at.id === groupId && at.chatId === file; },
            open: (file, history) => this.host.openGroupChatFile(groupId, file, history && history.flatMap((m) => (m.role === 'user'
                ? [this.toStMessage(m, '')]
                : parseGroupReply(m.content, names, first).map((p) => this.toStMessage({ role: 'assistant', content: p.mes }, p.name))))),
            reply: formatGroupReply,
        });
    }

    /**
     * The request's turn in the target's bridge chat: the one the server found this conversation in, else a new
     * one seeded from its history. Before the first switch a journal entry records the target's own "current
     * chat" and the user's place; afterwards both are put back (the target's pointer in memory, and on disk for
     * a group, whose file ST saved with each message) and the entry is removed. The user's chat is only ever
     * reopened, never written.
     */
    private async inBridgeChat(request: Request, turns: ChatMessage[], chat: BridgeChat): Promise<{ text: string; chat: string }> {
        const history = turns.slice(0, -1);
        await this.waitForIdle(request.id);
        if (this.mode === 'session') {
            const file = request.chat ?? this.newChatName(request.id);
            if (!(request.chat && chat.isOpen(request.chat))) await chat.open(file, request.chat ? null : history);
            return { text: await this.generate(request, turns, chat), chat: file };
        }
        const back = this.host.currentChatRef();
        const own = this.host.chatPointer(chat.target) ?? '';
        const file = request.chat ?? this.newChatName(request.id);
        this.journal.begin(chat.target, own, back);
        const releaseSettings = await this.host.holdSettingsSaves();
        try {
            await chat.open(file, request.chat ? null : history);
            return { text: await this.generate(request, turns, chat), chat: file };
        } finally {
            this.stream = null;
            try {
                if (own) {
                    if (chat.group) await this.host.saveChatPointer(chat.target, own);
                    else this.host.setChatPointer(chat.target, own);
                }
                await this.host.openChatRef(back);
                this.journal.end();
            } catch (err) {
                this.host.toast('warning', t('ensemble.bridge.reopenFailed', { error: errorMessage(err) }), t('ensemble.bridge.toastTitle'));
            } finally {
                await releaseSettings();
            }
        }
    }

    /** The user turn sent in the open bridge chat, ST's reply streamed as deltas. */
    private async generate(request: Request, turns: ChatMessage[], chat: BridgeChat): Promise<string> {
        const stream = new ReplyStream(chat.group, (text) => this.send({ type: 'delta', id: request.id, text }));
        this.stream = stream;
        try {
            if (!chat.group) this.rotation?.begin();
            const replies = await this.host.sendAndGenerate(turns.at(-1)?.content ?? '').finally(() => this.rotation?.end());
            if (this.running?.cancelled) throw new EnsembleError('BRIDGE_CANCELLED', 'Cancelled by the client.');
            const reply = chat.reply(replies);
            // ST may not have streamed (its own setting is off): the rest of the reply goes as one last delta.
            stream.finish(reply);
            return reply;
        } finally {
            this.stream = null;
        }
    }

    private newChatName(id: string): string {
        return `Ensemble bridge ${stamp(new Date(this.host.now()))} ${id.slice(-6)}`;
    }

    private async waitForIdle(id: string): Promise<void> {
        let lastSign = this.host.now();
        while (this.host.isGenerating()) {
            if (this.running?.id === id && this.running.cancelled) throw new EnsembleError('BRIDGE_CANCELLED', 'Cancelled by the client.');
            // An empty delta is progress to the server: waiting behind the user's turn must not time out.
            if (this.host.now() - lastSign >= 10_000) {
                this.send({ type: 'delta', id, text: '' });
                lastSign = this.host.now();
            }
            // A real timer, not host.sleep: this waits on ST, so it must let ST's own work run.
            await new Promise((r) => setTimeout(r, 50));
        }
    }

    private toStMessage(m: ChatMessage, characterName: string): HostMessage {
        const user = m.role === 'user';
        return { name: user ? 'User' : characterName, is_user: user, is_system: false, mes: m.content, send_date: this.host.now() };
    }
}
