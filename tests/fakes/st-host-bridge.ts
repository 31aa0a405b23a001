import type { ChatRef, HostMessage, HostSocket } from '../../src/host/host';
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
 * The bridge side of the fake ST (ST-API.md §11): chats opened by file, seeded files, the user's place
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
    isGenerating = () => this.generating;
    currentChatRef = () => this.place;

    async openChatRef(ref: ChatRef): Promise<void> {
        this.opened.push(ref);
        this.place = ref;
    }

    async openCharacterChatFile(index: number, file: string, seed: HostMessage[] | null): Promise<void> {
        const ch = this.st.characters[index];
        if (!ch) throw new Error(`no character ${index}`);
        const files = this.chatFiles.get(ch.avatar) ?? new Map<string, HostMessage[]>();
        this.chatFiles.set(ch.avatar, files);
        if (seed) files.set(file, [...seed]);
        if (!files.has(file)) throw new Error(`no chat file ${file} for ${ch.avatar}`);
        this.place = { kind: 'character', avatar: ch.avatar, file };
        this.opened.push(this.place);
        this.chatState.messages = files.get(file) as HostMessage[];
    }

    async sendAndGenerate(text: string): Promise<string> {
        this.sentTexts.push(text);
        this.chatState.messages.push({ name: 'User', is_user: true, is_system: false, mes: text });
        const answer = this.replies.shift();
        if (answer === undefined) throw new Error('fake ST: no reply queued');
        const pieces = Array.isArray(answer) ? answer : [answer];
        let sofar = '';
        this.generating = true;
        try {
            for (const p of pieces) {
                sofar += p;
                if (Array.isArray(answer)) await this.emit('streamToken', sofar);
            }
        } finally {
            this.generating = false;
        }
        this.chatState.messages.push({ name: 'Char', is_user: false, is_system: false, mes: sofar });
        return sofar;
    }
}
