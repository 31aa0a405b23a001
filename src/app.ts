import { RequestRouter } from './core/route';
import { startBridge } from './features/bridge';
import { startImages } from './features/images';
import { startProfiles } from './features/profiles';
import type { Host } from './host/host';
import { mountPanel } from './settings/panel';
import { SettingsStore } from './settings/store';
import { isShippedLocale, useLocale } from './shared/i18n';
import { log } from './shared/log';

/**
 * Follows ST's language: its file is read before anything is shown or registered (panel, slash-command help).
 * A language Ensemble has no file for, or a file that cannot be read, leaves English.
 */
export async function loadLanguage(host: Host): Promise<void> {
    const locale = host.uiLocale();
    if (!isShippedLocale(locale)) return;
    try {
        const data = await host.readLocaleFile(locale);
        if (data !== null) useLocale(locale, data);
    } catch (err) {
        log.warn(`translation ${locale} could not be read; using English`, err);
    }
}

/** Lifecycle only: load settings, mount the panel, start the connection core, then each feature on it. */
export async function startEnsemble(host: Host): Promise<void> {
    // One of the bridge server's own background sessions: it serves the bridge, and asks the user nothing.
    const session = await host.sessionLink();
    await loadLanguage(host);
    const store = new SettingsStore(host);
    const panel = mountPanel(host, store.warning);
    const router = new RequestRouter(host);
    router.start();
    await startProfiles(host, store, router, panel, { offerImport: !session });
    await startImages(host, store, router.presets, panel);
    startBridge(host, store, panel, router, session);
}
