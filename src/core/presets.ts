import type { Host } from '../host/host';
import { errorMessage } from '../shared/errors';
import { log } from '../shared/log';
import { type ChatPreset, ChatPresetSchema } from './schema';

/**
 * Chat Completion presets by name. ST 1.12.6 keeps them module-private, so they are read from the
 * server once and again whenever a chat opens or a profile loads; a route never waits on the
 * network unless its preset is not yet known.
 */
export class PresetCache {
    private presets = new Map<string, ChatPreset>();
    private loading: Promise<void> | null = null;
    private loaded = false;
    /** Names looked up after a refresh and not found: not fetched again until the next refresh. */
    private readonly missing = new Set<string>();

    constructor(private readonly host: Host) {}

    refresh(): Promise<void> {
        this.loading ??= this.host.chatCompletionPresets()
            .then((raw) => {
                const next = new Map<string, ChatPreset>();
                for (const [name, value] of Object.entries(raw)) {
                    const p = ChatPresetSchema.safeParse(value);
                    if (p.success) next.set(name, p.data);
                    else log.warn(`preset "${name}" is not in the expected shape; ignored`);
                }
                this.presets = next;
                this.loaded = true;
                this.missing.clear();
            })
            .catch((err) => log.warn('could not read Chat Completion presets:', errorMessage(err)))
            .finally(() => { this.loading = null; });
        return this.loading;
    }

    /** The preset, fetching the list first if it was never read or does not have this name yet. */
    async get(name: string | undefined): Promise<ChatPreset | undefined> {
        if (!name) return undefined;
        if (this.presets.has(name)) return this.presets.get(name);
        if (this.loaded && this.missing.has(name)) return undefined;
        await this.refresh();
        if (!this.presets.has(name)) this.missing.add(name);
        return this.presets.get(name);
    }
}
