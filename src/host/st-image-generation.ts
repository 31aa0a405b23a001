import { EnsembleError } from '../shared/errors';
import { log } from '../shared/log';
import type { StImageGeneration, StImageStatus } from './host';
import { ctx } from './st-context';
import { importStModule } from './st-modules';

/** The extension's folder name, which is also its name in `extension_settings.disabledExtensions`. */
export const ST_IMAGE_EXTENSION = 'stable-diffusion';

/**
 * What ST 1.12.6's `isValidState()` (stable-diffusion/index.js, module-private) requires per source before it
 * draws; sources not listed (horde, comfy, pollinations, and any newer one) need nothing there.
 */
const NEEDS: Record<string, { key: string } | { url: string } | { module: string }> = {
    extras: { module: 'sd' },
    auto: { url: 'auto_url' },
    drawthings: { url: 'drawthings_url' },
    vlad: { url: 'vlad_url' },
    novel: { key: 'api_key_novel' },
    openai: { key: 'api_key_openai' },
    togetherai: { key: 'api_key_togetherai' },
    stability: { key: 'api_key_stability' },
    blockentropy: { key: 'api_key_blockentropy' },
    huggingface: { key: 'api_key_huggingface' },
};

/** The words `/imagine` reads as a mode ("you", "me", "scene", …) when they are the whole prompt (1.12.6 `triggerWords`). */
const TRIGGER_WORDS = ['you', 'me', 'scene', 'raw_last', 'last', 'face', 'background'];

interface SdSettings { source?: unknown; free_extend?: unknown; [key: string]: unknown }
interface SecretsModule { secret_state: Record<string, boolean | undefined> }
interface ExtensionsModule { modules: string[] }
type ImagineCallback = (named: Record<string, unknown>, unnamed: string) => unknown;

const sd = (): SdSettings | undefined => {
    const v = ctx().extensionSettings.sd;
    return typeof v === 'object' && v !== null ? v as SdSettings : undefined;
};

function disabled(): boolean {
    const list = ctx().extensionSettings.disabledExtensions;
    return Array.isArray(list) && list.includes(ST_IMAGE_EXTENSION);
}

function imagine(): ImagineCallback | undefined {
    const cb = ctx().SlashCommandParser.commands.imagine?.callback;
    return typeof cb === 'function' ? cb as ImagineCallback : undefined;
}

/**
 * The prompt as ST must draw it: as written. A prompt that is exactly a mode word gets a full stop (else ST switches
 * mode). ST also runs the text through its macro engine before drawing, where `{{setvar::…}}` writes the chat's
 * metadata, `{{setglobalvar::…}}` ST's settings, and `{{random}}`, `{{char}}` or `<USER>` change the words; a prompt
 * (an LLM's, or one edited in the preview) reaches it with those openings broken, so nothing is run or written.
 */
export function asFreePrompt(prompt: string): string {
    const text = prompt.trim()
        .replace(/\{\{/g, '{ {')
        .replace(/\}\}/g, '} }')
        .replace(/<(user|bot|char|charifnotgroup|group)>/gi, '<$1 >');
    return TRIGGER_WORDS.includes(text.toLowerCase()) ? `${text}.` : text;
}

/**
 * ST's Image Generation through its registered `/imagine` callback, called directly (as ST's parser would, with
 * `quiet`), so the prompt text never goes through slash-command parsing (pipes, macros in braces, quotes).
 */
export function createStImageGeneration(): StImageGeneration {
    async function status(): Promise<StImageStatus> {
        if (disabled()) return { state: 'disabled' };
        const settings = sd();
        if (!imagine() || !settings) return { state: 'missing' };
        const source = typeof settings.source === 'string' ? settings.source : '';
        const need = NEEDS[source];
        if (!need) return { state: 'ready', source };
        if ('url' in need) {
            const url = settings[need.url];
            return typeof url === 'string' && url.trim() ? { state: 'ready', source } : { state: 'unconfigured', source, needs: 'url' };
        }
        try {
            if ('key' in need) {
                const secrets = await importStModule<SecretsModule>('secrets.js');
                return secrets.secret_state[need.key] ? { state: 'ready', source } : { state: 'unconfigured', source, needs: 'key' };
            }
            const extensions = await importStModule<ExtensionsModule>('extensions.js');
            return extensions.modules.includes(need.module) ? { state: 'ready', source } : { state: 'unconfigured', source, needs: 'extras' };
        } catch (err) {
            // Without ST's module the check can't be made here; ST checks again itself when asked to draw.
            log.warn('could not read ST\'s key state for Image Generation', err);
            return { state: 'ready', source };
        }
    }

    async function draw(prompt: string, signal?: AbortSignal): Promise<string> {
        if (disabled()) throw new EnsembleError('ST_IMAGE_DISABLED', 'ST\'s Image Generation is disabled.');
        const callback = imagine();
        const settings = sd();
        if (!callback || !settings) throw new EnsembleError('ST_IMAGE_MISSING', 'ST\'s Image Generation is not loaded.');
        if (signal?.aborted) throw new EnsembleError('IMAGE_CANCELLED', 'Image generation was cancelled.');
        // ST passes a slash command's abort controller as `_abortController`; generatePicture listens to its 'abort'.
        const abortController = signal ? {
            addEventListener: (type: string, fn: () => void) => signal.addEventListener(type, fn, { once: true }),
        } : undefined;
        // "Extend free mode prompts" would send Ensemble's finished prompt to ST's LLM again (which also strips
        // every non-ASCII letter). generatePicture reads the flag synchronously, before its first await, so it is
        // off for this call only and back before anything else runs (nothing is saved in between).
        const extend = settings.free_extend;
        let pending: unknown;
        try {
            settings.free_extend = false;
            pending = callback({ quiet: 'true', ...(abortController ? { _abortController: abortController } : {}) }, asFreePrompt(prompt));
        } finally {
            settings.free_extend = extend;
        }
        let path: unknown;
        try {
            path = await pending;
        } catch (err) {
            if (signal?.aborted) throw new EnsembleError('IMAGE_CANCELLED', 'Image generation was cancelled.');
            throw new EnsembleError('ST_IMAGE_FAILED', `ST's Image Generation failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        }
        if (signal?.aborted) throw new EnsembleError('IMAGE_CANCELLED', 'Image generation was cancelled.');
        if (typeof path !== 'string' || !path) throw new EnsembleError('ST_IMAGE_FAILED', 'ST\'s Image Generation returned no picture.');
        // ST names the file after the character and the time to the second (humanizedDateTime): a second drawing
        // stored within the same second would overwrite this one. Returning only once that second is over keeps
        // every picture Ensemble was given (a regenerate, a quick next /genimage) in its own file.
        await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));
        return path;
    }

    return { status, draw };
}
