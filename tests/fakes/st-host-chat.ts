import type { HostMessage, PopupOptions, Progress } from '../../src/host/host';
import { EnsembleError } from '../../src/shared/errors';
import { FakeStBase } from './st-host-base';

type Answer<T> = T | ((arg: never) => T | Promise<T>);

/**
 * The chat and UI side of the fake ST (script.js, popup.js, extensions.js): the live `chat` array, inserts the way
 * ST's copy-message flow does them (splice, then one save), /api/images/upload, ST's Chat Completion
 * endpoint and generateRaw answered from queues, popups answered from a queue, the message menu.
 */
export class FakeStChat extends FakeStBase {
    readonly chatState = { messages: [] as HostMessage[], id: undefined as string | undefined, saves: 0 };
    readonly inserts: { index: number; message: HostMessage }[] = [];
    readonly uploads: { dataUrl: string; folder: string; filename: string }[] = [];
    readonly completions: Record<string, unknown>[] = [];
    readonly completionAnswers: Answer<unknown>[] = [];
    readonly rawCalls: { prompt: string; systemPrompt: string; maxTokens: number }[] = [];
    readonly rawAnswers: Answer<string>[] = [];
    readonly popups: { content: HTMLElement; options: PopupOptions }[] = [];
    /** Each answer may be a result or a function of the popup's content (to edit a prompt, pick an image). */
    readonly popupAnswers: Answer<number | null>[] = [];
    readonly progressLog: { message: string; closed: boolean; cancel: () => void }[] = [];
    readonly messageButtons = new Map<string, (id: number) => void>();
    uploadFails = false;
    /** `fetch` for Ensemble's own calls; tests replace it. */
    fetchImpl: typeof fetch = async () => { throw new TypeError('no fetch configured in this test'); };

    chat = () => this.chatState.messages;
    chatId = () => this.chatState.id;
    readonly fetch: typeof fetch = (input, init) => this.fetchImpl(input, init);

    async insertMessageAfter(index: number, message: HostMessage): Promise<number> {
        if (!Number.isInteger(index) || index < 0 || index >= this.chatState.messages.length) {
            throw new EnsembleError('MESSAGE_NOT_FOUND', `There is no message #${index} in this chat.`);
        }
        this.chatState.messages.splice(index + 1, 0, message);
        this.inserts.push({ index, message });
        this.chatState.saves++;
        return index + 1;
    }

    async uploadImage(dataUrl: string, folder: string, filename: string): Promise<string> {
        if (this.uploadFails) throw new EnsembleError('IMAGE_SAVE_FAILED', 'ST could not store the image (HTTP 500).');
        this.uploads.push({ dataUrl, folder, filename });
        const ext = /^data:image\/(\w+);/.exec(dataUrl)?.[1] ?? 'png';
        return `user/images/${folder}/${filename}.${ext}`;
    }

    async chatCompletion(body: Record<string, unknown>): Promise<unknown> {
        this.completions.push(structuredClone(body));
        return this.answer(this.completionAnswers, body, 'chatCompletion');
    }

    async generateRaw(prompt: string, systemPrompt: string, maxTokens: number): Promise<string> {
        this.rawCalls.push({ prompt, systemPrompt, maxTokens });
        return this.answer(this.rawAnswers, prompt, 'generateRaw');
    }

    async popup(content: HTMLElement, options: PopupOptions): Promise<number | null> {
        this.popups.push({ content, options });
        return this.answer(this.popupAnswers, content, 'popup');
    }

    progress(message: string, onCancel: () => void): Progress {
        const entry = { message, closed: false, cancel: onCancel };
        this.progressLog.push(entry);
        return { update: (m) => { entry.message = m; }, close: () => { entry.closed = true; } };
    }

    addMessageButton(options: { className: string }, onClick: (messageId: number) => void): void {
        this.messageButtons.set(options.className, onClick);
    }

    /** The user clicks a message-menu button on message `id`. */
    clickMessageButton(className: string, id: number): void {
        const click = this.messageButtons.get(className);
        if (!click) throw new Error(`no message button .${className}`);
        click(id);
    }

    private async answer<T>(queue: Answer<T>[], arg: unknown, what: string): Promise<T> {
        if (queue.length === 0) throw new Error(`fake ST: no answer queued for ${what}`);
        const next = queue.shift() as Answer<T>;
        return typeof next === 'function' ? (next as (a: unknown) => T | Promise<T>)(arg) : next;
    }
}
