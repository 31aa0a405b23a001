import type { ChatRef, Host, HostMessage } from '../../host/host';
import type { BridgeErrorCode, ChatMessage, ExtensionFrame, ServerFrame } from '../../protocol';
import { errorMessage } from '../../shared/errors';
import { log } from '../../shared/log';
import type { Catalog } from './catalog';
import type { SessionIndex } from './sessions';

type Request = Extract<ServerFrame, { type: 'request' }>;

class Failure extends Error {
    constructor(readonly code: BridgeErrorCode, message: string) {
        super(message);
    }
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
        private readonly sessions: SessionIndex,
        private readonly send: (frame: ExtensionFrame) => void,
        private readonly rotation?: { begin(): unknown; end(): void },
    ) {
        host.on('streamToken', (text) => this.onToken(text));
    }

    private streaming: { id: string; sent: string } | null = null;

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
        this.send({ type: 'status', busy: this.busy, queued: this.queue.length });
    }

    private async drain(): Promise<void> {
        for (let next = this.queue.shift(); next; next = this.queue.shift()) {
            this.running = { id: next.id, cancelled: false };
            this.reportStatus();
            try {
                const text = await this.run(next);
                if (!this.running.cancelled) this.send({ type: 'done', id: next.id, text, finishReason: 'stop' });
            } catch (err) {
                const code = err instanceof Failure ? err.code : 'st_error';
                if (!this.running.cancelled) this.send({ type: 'fail', id: next.id, code, message: errorMessage(err) });
                log.warn('bridge request failed:', errorMessage(err));
            } finally {
                this.streaming = null;
                this.running = null;
            }
        }
        this.reportStatus();
    }

    private async run(request: Request): Promise<string> {
        const target = this.catalog().targets.get(request.model);
        if (!target) throw new Failure('not_found', `No character or group "${request.model}" in this SillyTavern.`);
        if (target.kind === 'group') throw new Failure('bad_request', 'Group models are not supported by this version of the bridge yet.');
        const index = this.host.characters().findIndex((c) => c.avatar === target.avatar);
        const character = this.host.characters()[index];
        if (!character) throw new Failure('not_found', `The character behind "${request.model}" was deleted.`);
        const turns = request.messages.filter((m) => m.role === 'user' || m.role === 'assistant');
        const last = turns.at(-1);
        if (!last || last.role !== 'user') throw new Failure('bad_request', 'The last message must be the user\'s.');
        const history = turns.slice(0, -1);

        await this.waitForIdle(request.id);
        const back = this.host.currentChatRef();
        const ownChat = character.chat ?? '';
        const session = this.sessions.find(request.model, history);
        const file = session?.file ?? `Ensemble bridge ${stamp(new Date(this.host.now()))} ${request.id.slice(-6)}`;
        try {
            await this.host.openCharacterChatFile(index, file, session ? null : history.map((m) => this.toStMessage(m, character.name)));
            this.streaming = { id: request.id, sent: '' };
            this.rotation?.begin();
            const reply = await this.host.sendAndGenerate(last.content).finally(() => this.rotation?.end());
            if (this.running?.cancelled) throw new Failure('cancelled', 'Cancelled by the client.');
            // ST may not have streamed (its own setting is off): the rest of the reply goes as one last delta.
            const s = this.streaming;
            if (s && reply.startsWith(s.sent) && reply.length > s.sent.length) this.send({ type: 'delta', id: s.id, text: reply.slice(s.sent.length) });
            this.sessions.remember(request.model, file, [...turns, { role: 'assistant', content: reply }]);
            return reply;
        } finally {
            this.streaming = null;
            await this.putBack(back, index, ownChat, file);
        }
    }

    /** Back to the user's chat; the borrowed character's own "current chat" is pointed back at its file too. */
    private async putBack(back: ChatRef, index: number, ownChat: string, bridgeFile: string): Promise<void> {
        try {
            const avatar = this.host.characters()[index]?.avatar;
            const sameCharacter = back.kind === 'character' && back.avatar === avatar;
            if (!sameCharacter && ownChat && ownChat !== bridgeFile) await this.host.openCharacterChatFile(index, ownChat, null);
            await this.host.openChatRef(back);
        } catch (err) {
            this.host.toast('warning', `The bridge could not reopen your chat: ${errorMessage(err)}`, 'Ensemble bridge');
        }
    }

    private async waitForIdle(id: string): Promise<void> {
        let lastSign = this.host.now();
        while (this.host.isGenerating()) {
            if (this.running?.id === id && this.running.cancelled) throw new Failure('cancelled', 'Cancelled by the client.');
            // An empty delta is progress to the server: waiting behind the user's turn must not time out.
            if (this.host.now() - lastSign >= 10_000) {
                this.send({ type: 'delta', id, text: '' });
                lastSign = this.host.now();
            }
            // A real timer, not host.sleep: this waits on ST, so it must let ST's own work run.
            await new Promise((r) => setTimeout(r, 200));
        }
    }

    private toStMessage(m: ChatMessage, characterName: string): HostMessage {
        const user = m.role === 'user';
        return { name: user ? 'User' : characterName, is_user: user, is_system: false, mes: m.content, send_date: this.host.now() };
    }

    /**
     * ST's STREAM_TOKEN_RECEIVED carries the whole reply so far; the protocol wants what is new. Sent for
     * non-streaming requests too: the server counts deltas as progress (its timeout is on silence).
     */
    private onToken(text: string): void {
        const s = this.streaming;
        if (!s || !text.startsWith(s.sent) || text.length === s.sent.length) return;
        const delta = text.slice(s.sent.length);
        s.sent = text;
        this.send({ type: 'delta', id: s.id, text: delta });
    }
}
