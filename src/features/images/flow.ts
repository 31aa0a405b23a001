import type { Host, HostMessage, Progress } from '../../host/host';
import type { SettingsStore } from '../../settings/store';
import { EnsembleError, englishMessage, errorMessage } from '../../shared/errors';
import { t, translatedError } from '../../shared/i18n';
import { log } from '../../shared/log';
import { waitUntil } from '../../shared/wait';
import type { PresetCache } from '../../core/route';
import { generateImages, imageApiConfig, resolveImageUrl } from './image-api';
import { type PreviewImage, showPreview } from './preview';
import { writePrompt } from './prompt-step';
import { type Target, targetOf } from './subject';

export interface ImageRequest {
    /** Message index; default: the last character reply. */
    messageId?: number;
    /** Skip the LLM step with this prompt. */
    prompt?: string;
    /** Accept the first image without a preview. */
    quiet?: boolean;
}

/**
 * The picture message's text: chat content the model reads once the message is unhidden, so it stays in one
 * language whatever the user's screen shows (as ST's own Image Generation writes it).
 */
export const pictureMessage = (name: string, prompt: string): string => `[${name} sends a picture that contains: ${prompt}]`;

/** The progress notice while an accepted picture waits for ST. */
export const waitingForSt = (): string => t('ensemble.images.waitingForSt');

/**
 * Message → prompt (text LLM) → image(s) (the image API, or ST's own Image Generation) → preview → stored in ST → hidden message right
 * after its source. Every failure is a toast and leaves the chat as it was: nothing is written
 * before the user accepts, and the insert checks the source message is still where it was.
 *
 * An accepted picture never goes in while ST generates: a running stream holds the index it fixed when
 * it began, so a message spliced in before it would take the stream's text (ST 1.12.6 StreamingProcessor).
 * The picture waits, cancellable from its notice, until ST is idle, then finds its source by identity.
 */
export class ImageFlow {
    private running: AbortController | null = null;

    constructor(private readonly host: Host, private readonly store: SettingsStore, private readonly presets: PresetCache) {}

    get busy(): boolean {
        return this.running !== null;
    }

    /** Returns the stored image's path (or URL), '' when nothing was kept. */
    async run(request: ImageRequest = {}): Promise<string> {
        if (this.running) {
            this.host.toast('warning', t('ensemble.images.busyAlready'), 'Ensemble');
            return '';
        }
        const abort = new AbortController();
        this.running = abort;
        // A cancellable notice while Ensemble works; none while the preview waits (it has Discard).
        let notice: Progress | null = null;
        const working = (message: string) => {
            if (notice) notice.update(message);
            else notice = this.host.progress(message, () => abort.abort());
        };
        const waiting = () => {
            notice?.close();
            notice = null;
        };
        try {
            const chatId = this.host.chatId();
            const target = targetOf(this.host, request.messageId);
            // ST's Image Generation is checked before the prompt LLM is paid for.
            if (this.store.get().images.imageSource === 'st') await this.stReady();
            working(t('ensemble.images.writingPrompt'));
            let prompt = request.prompt?.trim() || await this.prompt(target, abort.signal);
            for (;;) {
                working(t('ensemble.images.making'));
                const images = await this.images(prompt, abort.signal, working);
                waiting();
                const choice = request.quiet ? { action: 'accept' as const, index: 0, prompt } : await showPreview(this.host, images, prompt);
                if (choice.action === 'discard') return '';
                if (choice.action === 'newPrompt') {
                    working(t('ensemble.images.writingNewPrompt'));
                    prompt = await this.prompt(target, abort.signal);
                    continue;
                }
                if (choice.action === 'regenerate') {
                    prompt = choice.prompt;
                    continue;
                }
                const chosen = images[choice.index] ?? images[0];
                if (!chosen) throw translatedError('IMAGE_API_EMPTY', 'ensemble.images.nothingToKeep');
                working(t('ensemble.images.saving'));
                return await this.keep(target, chatId, chosen, choice.prompt, abort.signal, working);
            }
        } catch (err) {
            const cancelled = err instanceof EnsembleError && err.code === 'IMAGE_CANCELLED';
            if (cancelled) this.host.toast('info', t('ensemble.images.cancelled'), 'Ensemble');
            else {
                log.warn('image flow failed:', englishMessage(err));
                this.host.toast('error', errorMessage(err), t('ensemble.images.failedTitle'));
            }
            return '';
        } finally {
            waiting();
            this.running = null;
        }
    }

    cancel(): void {
        this.running?.abort();
    }

    private prompt(target: Target, signal: AbortSignal): Promise<string> {
        return writePrompt(this.host, this.store.get().images, this.presets, target.subject, signal);
    }

    /** Throws, in the user's words, why ST's Image Generation can't draw now; resolves when it can. */
    private async stReady(): Promise<void> {
        const status = await this.host.stImageGeneration.status();
        switch (status.state) {
            case 'ready': return;
            case 'disabled': throw translatedError('ST_IMAGE_DISABLED', 'ensemble.images.stDisabled');
            case 'missing': throw translatedError('ST_IMAGE_MISSING', 'ensemble.images.stMissing');
            case 'unconfigured': {
                const key = status.needs === 'key' ? 'ensemble.images.stNeedsKey' : status.needs === 'url' ? 'ensemble.images.stNeedsUrl' : 'ensemble.images.stNeedsExtras';
                throw translatedError('ST_IMAGE_UNCONFIGURED', key, { source: status.source });
            }
        }
    }

    /** ST draws and stores the picture; its path is what the preview shows and the message keeps. */
    private async drawWithSt(prompt: string, signal: AbortSignal): Promise<PreviewImage[]> {
        try {
            return [{ kind: 'stored', path: await this.host.stImageGeneration.draw(prompt, signal) }];
        } catch (err) {
            if (!(err instanceof EnsembleError)) throw err;
            switch (err.code) {
                case 'ST_IMAGE_DISABLED': throw translatedError(err.code, 'ensemble.images.stDisabled');
                case 'ST_IMAGE_MISSING': throw translatedError(err.code, 'ensemble.images.stMissing');
                case 'ST_IMAGE_FAILED': throw translatedError(err.code, 'ensemble.images.stFailed', undefined, { cause: err });
                case 'IMAGE_CANCELLED': throw translatedError(err.code, 'ensemble.images.cancelled');
                default: throw err;
            }
        }
    }

    private async images(prompt: string, signal: AbortSignal, say: (m: string) => void): Promise<PreviewImage[]> {
        if (this.store.get().images.imageSource === 'st') return this.drawWithSt(prompt, signal);
        const generated = await generateImages(imageApiConfig(this.store.get().images), prompt, {
            fetch: this.host.fetch,
            signal,
            onProgress: (p) => {
                if (p.phase === 'retry') say(t('ensemble.images.apiRetry', { attempt: p.attempt + 1 }));
            },
        });
        // URL results are read into data URLs now, so the preview shows our own bytes and ST can store them.
        return Promise.all(generated.map((g) => (g.kind === 'data' ? g : resolveImageUrl(g.url, { fetch: this.host.fetch, signal }))));
    }

    private async keep(target: Target, chatId: string | undefined, image: PreviewImage, prompt: string, signal: AbortSignal, say: (m: string) => void): Promise<string> {
        const name = target.character?.name ?? target.message.name;
        await this.untilIdle(chatId, signal, say);
        // ST's Image Generation stored its picture already: the message keeps that path, nothing is uploaded again.
        const path = image.kind === 'data'
            ? await this.host.uploadImage(image.dataUrl, name, `ensemble_${Date.now()}`)
            : image.kind === 'stored' ? image.path : image.url;
        // ST may have started again during the upload. After this wait nothing is awaited until the splice.
        await this.untilIdle(chatId, signal, say);
        // The source may have moved (messages above it deleted or added): find it by identity, never by a stale index.
        const index = this.host.chat().indexOf(target.message);
        if (index < 0) throw translatedError('MESSAGE_NOT_FOUND', 'ensemble.images.messageDeleted');
        const message: HostMessage = {
            name,
            is_user: false,
            is_system: true,
            mes: pictureMessage(name, prompt),
            send_date: Date.now(),
            original_avatar: target.character?.avatar,
            extra: { image: path, title: prompt, inline_image: false, ensemble: true, ...(image.kind === 'url' ? { image_source: 'remote' } : {}) },
        };
        if (target.message.force_avatar) message.force_avatar = target.message.force_avatar;
        await this.host.insertMessageAfter(index, message);
        this.host.toast('success', image.kind === 'url' ? t('ensemble.images.addedRemote') : t('ensemble.images.added'), 'Ensemble');
        return path;
    }

    /** Resolves once ST is idle in the chat the picture belongs to; rejects if that chat was left or the user cancelled. */
    private async untilIdle(chatId: string | undefined, signal: AbortSignal, say: (m: string) => void): Promise<void> {
        const left = () => this.host.chatId() !== chatId;
        if (this.host.isGenerating() && !left()) {
            say(waitingForSt());
            await waitUntil(() => left() || !this.host.isGenerating(), {
                signal, cancelled: () => translatedError('IMAGE_CANCELLED', 'ensemble.images.cancelled'),
            });
            say(t('ensemble.images.saving'));
        }
        if (left()) throw translatedError('MESSAGE_NOT_FOUND', 'ensemble.images.chatChanged');
    }
}
