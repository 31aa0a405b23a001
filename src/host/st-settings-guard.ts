import { log } from '../shared/log';
import { importStModule, importStRoot } from './st-modules';

interface ScriptModule { saveSettings(): Promise<unknown>; saveSettingsDebounced(): void }
interface UtilsModule { cancelDebounce(fn: unknown): void }
interface Transport { send(headers: unknown, complete: (status: number, text: string, responses: { text: string }) => void): void; abort(): void }
declare const jQuery: { ajaxTransport(dataType: string, factory: (options: { url?: string; data?: unknown }) => Transport | undefined): void };

/** What ST's own chat navigation changes in its settings: where the user is. Not a setting of theirs. */
const NAVIGATION_KEYS = ['active_character', 'active_group'];

function withoutNavigation(body: string): string {
    try {
        const parsed = JSON.parse(body) as Record<string, unknown>;
        for (const key of NAVIGATION_KEYS) delete parsed[key];
        return JSON.stringify(parsed);
    } catch {
        return body;
    }
}

/** Top-level settings that differ, for the log (names only, never values). */
function changedKeys(a: string, b: string): string[] {
    try {
        const x = JSON.parse(a) as Record<string, unknown>;
        const y = JSON.parse(b) as Record<string, unknown>;
        return [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => JSON.stringify(x[k]) !== JSON.stringify(y[k]));
    } catch {
        return ['?'];
    }
}

/**
 * ST saves its whole settings object from the page, so a save from a page that loaded before the user changed
 * something in another browser undoes that change. While a bridge request moves through chats, ST's settings
 * saves from this page are held: its /api/settings/save calls are answered here (jQuery's transport hook,
 * ST posts them with $.ajax) and never reach the server. On release, the settings as they are now are compared
 * with a snapshot taken when the hold began; only if something other than ST's own navigation changed (the
 * user changed a setting in this tab meanwhile) is one real save made, as the user's action would.
 */
export function createSettingsGuard() {
    let holds = 0;
    let mode: 'pass' | 'capture' | 'hold' = 'pass';
    let captured: string | null = null;
    let baseline: string | null = null;
    let installed = false;
    const script = () => importStRoot<ScriptModule>('script.js');

    const install = () => {
        if (installed) return;
        installed = true;
        // '+json': consulted before jQuery's own transport for ST's `dataType: 'json'` settings save.
        jQuery.ajaxTransport('+json', (options) => {
            if (mode === 'pass' || !options.url?.endsWith('/api/settings/save')) return undefined;
            return {
                send: (_headers, complete) => {
                    if (mode === 'capture') captured = typeof options.data === 'string' ? options.data : null;
                    complete(200, 'success', { text: '{}' });
                },
                abort: () => undefined,
            };
        });
    };

    /** ST's settings body as a save would send it now, without sending it. */
    const snapshot = async (): Promise<string | null> => {
        mode = 'capture';
        captured = null;
        try {
            await (await script()).saveSettings();
        } finally {
            mode = 'hold';
        }
        return captured;
    };

    return {
        async hold(): Promise<() => Promise<void>> {
            install();
            if (holds++ === 0) {
                mode = 'hold';
                baseline = await snapshot().catch(() => null);
            }
            let released = false;
            return async () => {
                if (released) return;
                released = true;
                if (--holds > 0) return;
                // A save ST scheduled during the request would otherwise go out a second later, from this copy.
                (await importStModule<UtilsModule>('utils.js')).cancelDebounce((await script()).saveSettingsDebounced);
                const now = await snapshot().catch(() => null);
                mode = 'pass';
                if (baseline === null || now === null || withoutNavigation(now) === withoutNavigation(baseline)) return;
                log.info('bridge: settings changed in this tab during a bridge request; saving them:', changedKeys(baseline, now).join(', '));
                await (await script()).saveSettings();
            };
        },
    };
}
