import type { ChatRef, ChatTarget, HostMessage, HostSocket } from '../../src/host/host';
import type { Words } from '../../src/shared/i18n';
import { FakeStChat } from './st-host-chat';

/** A WebSocket the test drives: `frames` is what the extension sent; `receive`/`open`/`drop` play the server. */
export class FakeSocket implements HostSocket {
    readonly frames: unknown[] = [];
    closed: { code?: number; reason?: string } | null = null;
    onopen: (() => void) | null = null;
    onmessage: ((data: unknown) => void) | null = null;
    onclose: ((code: number, reason: string) => void) | null = null;

    constructor(readonly url: string) {}

    send(text: string): void {
        this.frames.push(JSON.parse(text));
    }
    close(code?: number, reason?: string): void {
        this.closed = { code, reason };
        this.onclose?.(code ?? 1000, reason ?? '');
    }
    open(): void {
        this.onopen?.();
    }
    receive(frame: unknown): void {
        this.onmessage?.(typeof frame === 'string' ? frame : JSON.stringify(frame));
    }
    drop(code = 1006, reason = ''): void {
        this.onclose?.(code, reason);
    }
    sent(type: string): Record<string, unknown>[] {
        return this.frames.filter((f) => (f as { type?: string }).type === type) as Record<string, unknown>[];
    }
}

/**
 * The bridge side of the fake ST (script.js, group-chats.js): chats opened by file, seeded files, the user's place
 * restored, and a generation answered from a queue, optionally streamed as cumulative tokens like
 * STREAM_TOKEN_RECEIVED.
 */
export class FakeStBridge extends FakeStChat {
    readonly sockets: FakeSocket[] = [];
    generating = false;
    place: ChatRef = { kind: 'none' };
    /** Chat files per avatar: name → messages. */
    readonly chatFiles = new Map<string, Map<string, HostMessage[]>>();
    readonly opened: ChatRef[] = [];
    readonly sentTexts: string[] = [];
    /** Each answer: the reply text, or its streamed pieces. */
    readonly replies: (string | string[])[] = [];

    openSocket(url: string): HostSocket {
        const s = new FakeSocket(url);
        this.sockets.push(s);
        return s;
    }
    /** script.js is_send_press (`generating`, set by a test or a turn) or group-chats.js is_group_generating. */
    isGenerating = () => this.generating || this.groupGenerating;
    currentChatRef = () => this.place;

    async openChatRef(ref: ChatRef): Promise<void> {
        this.opened.push(ref);
        this.place = ref;
    }

    /** What ST's server answers this page's POSTs with: null while its session works (sessionProblem). */
    sessionRefusal: Words | null = null;
    sessionChecks = 0;
    async sessionProblem(): Promise<Words | null> {
        this.sessionChecks++;
        return this.sessionRefusal;
    }

    /** "Current chat" pointers written to disk (card files, group files): target key → file. */
    readonly diskPointers = new Map<string, string>();
    private pointerKey = (t: ChatTarget) => (t.kind === 'group' ? `group:${t.id}` : t.avatar);

    chatPointer(target: ChatTarget): string | undefined {
        return target.kind === 'group' ? this.st.groups.find((g) => g.id === target.id)?.chat_id : this.st.characters.find((c) => c.avatar === target.avatar)?.chat;
    }

    setChatPointer(target: ChatTarget, file: string): void {
        if (target.kind === 'group') {
            const g = this.st.groups.find((x) => x.id === target.id);
            if (g) g.chat_id = file;
        } else {
            const c = this.st.characters.find((x) => x.avatar === target.avatar);
            if (c) c.chat = file;
        }
    }

    async saveChatPointer(target: ChatTarget, file: string): Promise<void> {
        this.setChatPointer(target, file);
        this.diskPointers.set(this.pointerKey(target), file);
    }

    async openCharacterChatFile(index: number, file: string, seed: HostMessage[] | null): Promise<void> {
        const ch = this.st.characters[index];
        if (!ch) throw new Error(`no character ${index}`);
        const files = this.chatFiles.get(ch.avatar) ?? new Map<string, HostMessage[]>();
        this.chatFiles.set(ch.avatar, files);
        if (seed) files.set(file, [...seed]);
        if (!files.has(file)) throw new Error(`no chat file ${file} for ${ch.avatar}`);
        ch.chat = file;
        this.place = { kind: 'character', avatar: ch.avatar, file };
        this.opened.push(this.place);
        this.chatState.messages = files.get(file) as HostMessage[];
    }

    /** Group chat files per group id: chat id → messages. */
    readonly groupChatFiles = new Map<string, Map<string, HostMessage[]>>();

    /**
     * ST's openGroupById + openGroupChat: the group's chat_id becomes `chatId`. An empty seed gets the
     * members' greetings (getGroupChat on an empty chat), as in ST.
     */
    async openGroupChatFile(groupId: string, chatId: string, seed: HostMessage[] | null): Promise<void> {
        const group = this.st.groups.find((g) => g.id === groupId);
        if (!group) throw new Error(`no group ${groupId}`);
        const files = this.groupChatFiles.get(groupId) ?? new Map<string, HostMessage[]>();
        this.groupChatFiles.set(groupId, files);
        if (seed) files.set(chatId, [...seed]);
        const messages = files.get(chatId);
        if (!messages) throw new Error(`no chat ${chatId} in group ${groupId}`);
        if (!messages.length) {
            for (const m of group.members) {
                const ch = this.st.characters.find((c) => c.avatar === m);
                if (ch) messages.push({ name: ch.name, is_user: false, is_system: false, mes: `Greetings from ${ch.name}` });
            }
        }
        group.chat_id = chatId;
        // ST saves the group with each message it saves, so the bridge chat becomes its current chat on disk too.
        this.diskPointers.set(`group:${groupId}`, chatId);
        Object.assign(this.st, { groupId, characterId: undefined });
        this.place = { kind: 'group', id: groupId, chatId };
        this.opened.push(this.place);
        this.chatState.messages = messages;
    }

    /** What a drafted member's Generate does before its reply (FakeStHost: the request with its events). */
    protected async memberRequest(_chId: number): Promise<void> {}

    async sendAndGenerate(text: string): Promise<HostMessage[]> {
        this.sentTexts.push(text);
        const messages = this.chatState.messages;
        messages.push({ name: 'User', is_user: true, is_system: false, mes: text });
        const from = messages.length;
        const group = this.place.kind === 'group' ? this.st.groups.find((g) => g.id === (this.place as { id: string }).id) : undefined;
        this.generating = true;
        try {
            // Generate emits GENERATION_STARTED on every call: the user's ('normal'), then each member's ('group_chat').
            await this.emit('generationStarted', 'normal');
            if (!group) {
                await this.reply('Char');
            } else {
                // group-chats.js generateGroupWrapper: each enabled member drafted, then its reply.
                this.groupGenerating = true;
                for (const avatar of group.members.filter((m) => !group.disabled_members?.includes(m))) {
                    const chId = this.st.characters.findIndex((c) => c.avatar === avatar);
                    if (chId < 0) continue;
                    this.st.characterId = chId;
                    this.drafted.push(chId);
                    await this.emit('groupMemberDrafted', chId);
                    await this.emit('generationStarted', 'group_chat');
                    await this.memberRequest(chId);
                    await this.reply(this.st.characters[chId]!.name);
                }
            }
        } finally {
            this.generating = false;
            this.groupGenerating = false;
            if (group) this.st.characterId = undefined;
        }
        return messages.slice(from);
    }

    /**
     * One reply from the queue, then MESSAGE_RECEIVED. Queued as pieces, it streams like ST's
     * StreamingProcessor: the message goes in when the stream begins, each cumulative token is emitted
     * (STREAM_TOKEN_RECEIVED) and written to the index fixed then, whatever happened to the chat meanwhile,
     * and MESSAGE_RECEIVED carries that index. Queued as one string, it is added at the end (saveReply).
     */
    private async reply(name: string): Promise<void> {
        const answer = this.replies.shift();
        if (answer === undefined) throw new Error('fake ST: no reply queued');
        const messages = this.chatState.messages;
        if (!Array.isArray(answer)) {
            messages.push({ name, is_user: false, is_system: false, mes: answer });
            await this.emit('messageReceived', messages.length - 1);
            return;
        }
        messages.push({ name, is_user: false, is_system: false, mes: '...' });
        const messageId = messages.length - 1;
        let sofar = '';
        for (const p of answer) {
            sofar += p;
            await this.emit('streamToken', sofar);
            const target = messages[messageId];
            if (target) target.mes = sofar;
        }
        await this.emit('messageReceived', messageId);
    }
}
