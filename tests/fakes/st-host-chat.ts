import type { HostMessage, PopupOptions, Progress, StImageGeneration, StImageStatus } from '../../src/host/host';
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
    /**
     * ST's Image Generation extension (stable-diffusion/index.js, 1.12.6): loaded unless disabled in Manage
     * Extensions or absent; `source` and what ST's isValidState checks for it (keys set, URLs). `outcomes` decide
     * the next draws: `ok` stores a picture, `fail` is ST's own error toast and an empty result, `hang` runs until
     * the caller aborts (then ST's abort ends in the same empty result). Pictures ST stored stay in `files`.
     */
    readonly sd = {
        present: true,
        disabled: false,
        source: 'pollinations',
        keys: {} as Record<string, boolean>,
        urls: {} as Record<string, string>,
        outcomes: [] as ('ok' | 'fail' | 'hang')[],
        prompts: [] as string[],
        files: [] as string[],
        ownToasts: [] as string[],
    };
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

    readonly stImageGeneration: StImageGeneration = {
        status: async () => this.sdStatus(),
        draw: (prompt, signal) => this.sdDraw(prompt, signal),
    };

    private sdStatus(): StImageStatus {
        const { sd } = this;
        if (sd.disabled) return { state: 'disabled' };
        if (!sd.present) return { state: 'missing' };
        const key = ({ novel: 'api_key_novel', openai: 'api_key_openai', togetherai: 'api_key_togetherai', stability: 'api_key_stability', blockentropy: 'api_key_blockentropy', huggingface: 'api_key_huggingface' } as Record<string, string>)[sd.source];
        const url = ({ auto: 'auto_url', vlad: 'vlad_url', drawthings: 'drawthings_url' } as Record<string, string>)[sd.source];
        if (key && !sd.keys[key]) return { state: 'unconfigured', source: sd.source, needs: 'key' };
        if (url && !sd.urls[url]?.trim()) return { state: 'unconfigured', source: sd.source, needs: 'url' };
        if (sd.source === 'extras') return { state: 'unconfigured', source: sd.source, needs: 'extras' };
        return { state: 'ready', source: sd.source };
    }

    /** generatePicture(quiet): ST toasts its own failures and returns nothing; a stored picture's path otherwise. */
    private async sdDraw(prompt: string, signal?: AbortSignal): Promise<string> {
        const { sd } = this;
        if (sd.disabled) throw new EnsembleError('ST_IMAGE_DISABLED', 'disabled');
        if (!sd.present) throw new EnsembleError('ST_IMAGE_MISSING', 'missing');
        if (signal?.aborted) throw new EnsembleError('IMAGE_CANCELLED', 'cancelled');
        sd.prompts.push(prompt);
        if (this.sdStatus().state !== 'ready') {
            sd.ownToasts.push('Image generation is not available. Check your settings and try again.');
            throw new EnsembleError('ST_IMAGE_FAILED', 'no picture');
        }
        const outcome = sd.outcomes.shift() ?? 'ok';
        if (outcome === 'hang') {
            await new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
            sd.ownToasts.push('Image generation failed. Please try again.');
            throw new EnsembleError('IMAGE_CANCELLED', 'cancelled');
        }
        if (outcome === 'fail') {
            sd.ownToasts.push('Image generation failed. Please try again.');
            throw new EnsembleError('ST_IMAGE_FAILED', 'no picture');
        }
        // saveBase64AsFile(data, characterName, `${characterName}_${humanizedDateTime()}`): the group's id in a group.
        const folder = this.st.groupId ?? this.st.characters[this.st.characterId ?? -1]?.name ?? 'undefined';
        const path = `/user/images/${folder}/${folder}_${sd.files.length + 1}.png`; // clientRelativePath: a leading slash
        sd.files.push(path);
        return path;
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
