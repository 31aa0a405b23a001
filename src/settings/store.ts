import * as z from '../shared/zod';
import type { Host } from '../host/host';
import { english, t } from '../shared/i18n';
import { MODULE_NAME, log } from '../shared/log';
import { type Settings, SettingsSchema, defaultSettings, migrate } from './schema';

export const BACKUP_KEY = `${MODULE_NAME}_invalid_backup`;

export interface LoadResult {
    settings: Settings;
    /** Set when the stored settings could not be used; the user sees it as a warning (in their language). */
    warning?: string;
    /** The same warning in English, for the console. */
    logWarning?: string;
}

/** Validates `extension_settings.ensemble` once, where it enters. */
export function loadSettings(raw: unknown): LoadResult {
    if (raw === undefined || raw === null) return { settings: defaultSettings() };
    const parsed = SettingsSchema.safeParse(migrate(raw));
    if (parsed.success) return { settings: parsed.data };
    // The validator's own report stays as it is: it names fields and values, not Ensemble's words.
    const vars = { backup: `extension_settings.${BACKUP_KEY}`, details: z.prettifyError(parsed.error) };
    return { settings: defaultSettings(), warning: t('ensemble.panel.settingsInvalid', vars), logWarning: english('ensemble.panel.settingsInvalid', vars) };
}

type Listener = (s: Settings) => void;

export class SettingsStore {
    private current: Settings;
    private readonly listeners = new Set<Listener>();
    /** Why the stored settings were replaced by defaults at load, if they were. */
    readonly warning: string | undefined;

    constructor(private readonly host: Host) {
        const raw = host.readSettings(MODULE_NAME);
        const { settings, warning, logWarning } = loadSettings(raw);
        this.current = settings;
        this.warning = warning;
        if (warning) {
            // Keep what was there: the user may want to repair it by hand.
            host.writeSettings(BACKUP_KEY, raw);
            host.writeSettings(MODULE_NAME, settings);
            log.warn(logWarning ?? warning);
            host.toast('warning', warning, 'Ensemble');
        } else if (raw === undefined) {
            host.writeSettings(MODULE_NAME, settings);
        }
    }

    get(): Settings {
        return this.current;
    }

    /** Applies `change` to a copy, validates the result and persists it; an invalid result is refused. */
    update(change: (draft: Settings) => void): Settings {
        const draft = structuredClone(this.current);
        change(draft);
        this.current = SettingsSchema.parse(draft);
        this.host.writeSettings(MODULE_NAME, this.current);
        for (const l of this.listeners) l(this.current);
        return this.current;
    }

    subscribe(l: Listener): () => void {
        this.listeners.add(l);
        return () => this.listeners.delete(l);
    }
}
