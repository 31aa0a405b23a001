import type { RequestRouter } from '../../core/route';
import type { Host } from '../../host/host';
import type { SettingsStore } from '../../settings/store';
import { errorMessage } from '../../shared/errors';
import { t } from '../../shared/i18n';
import { log } from '../../shared/log';
import { mountCardSection } from './card-ui';
import { registerProfileCommands } from './commands';
import { ProfilesController } from './controller';
import { mountGroupSection } from './group-ui';
import { offerMmcImport } from './mmc-import';
import { wireProfilesSection } from './panel-section';

/** Per-character models: routing, UI in the card and group editors, the panel section and slash commands. */
export async function startProfiles(host: Host, store: SettingsStore, router: RequestRouter, panel: HTMLElement | null, { offerImport = true } = {}): Promise<ProfilesController> {
    const controller = new ProfilesController(host, store, router);
    controller.start();
    if (panel) wireProfilesSection(host, store, panel);
    if (!mountCardSection(host)) log.warn('Advanced Definitions (#character_popup) not found; the card section is not shown');
    if (!mountGroupSection(host, store)) log.warn('group editor not found; the group default is not shown');
    await registerProfileCommands(host, store);
    host.on('appReady', async () => {
        void controller.presets.refresh();
        try {
            if (offerImport) await offerMmcImport(host, store);
        } catch (err) {
            host.toast('error', t('ensemble.profiles.mmcImportFailed', { error: errorMessage(err) }), 'Ensemble');
        }
    });
    return controller;
}
