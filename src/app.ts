import { RequestRouter } from './core/route';
import { startBridge } from './features/bridge';
import { startImages } from './features/images';
import { startProfiles } from './features/profiles';
import type { Host } from './host/host';
import { mountPanel } from './settings/panel';
import { SettingsStore } from './settings/store';

/** Lifecycle only: load settings, mount the panel, start the connection core, then each feature on it. */
export async function startEnsemble(host: Host): Promise<void> {
    // One of the bridge server's own background sessions: it serves the bridge, and asks the user nothing.
    const session = await host.sessionLink();
    const store = new SettingsStore(host);
    const panel = mountPanel(host, store.warning);
    const router = new RequestRouter(host);
    router.start();
    await startProfiles(host, store, router, panel, { offerImport: !session });
    await startImages(host, store, router.presets, panel);
    startBridge(host, store, panel, router, session);
}
