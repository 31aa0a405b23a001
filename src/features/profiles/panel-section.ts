import type { Host } from '../../host/host';
import type { ProfilesSettings } from '../../settings/schema';
import type { SettingsStore } from '../../settings/store';
import { errorMessage } from '../../shared/errors';
import { t } from '../../shared/i18n';
import { listProfiles, refOf } from '../../core/profiles';
import { offerMmcImport } from './mmc-import';
import { fillProfileSelect, pickedProfile } from '../../core/profile-select';

type Toggle = 'enabled' | 'notify' | 'restoreOnLeave' | 'soloAuto';
const TOGGLES: readonly Toggle[] = ['enabled', 'notify', 'restoreOnLeave', 'soloAuto'];

/** Wires the "Per-character models" section of the settings panel. */
export function wireProfilesSection(host: Host, store: SettingsStore, root: HTMLElement): { refresh(): void } {
    const section = root.querySelector<HTMLElement>('[data-ens-section="profiles"]');
    const fallback = root.querySelector<HTMLSelectElement>('[data-ens="fallback"]');
    if (!section || !fallback) return { refresh: () => undefined };

    const checkbox = (key: Toggle) => section.querySelector<HTMLInputElement>(`[data-ens-setting="${key}"]`);
    const render = (s: ProfilesSettings) => {
        for (const key of TOGGLES) {
            const box = checkbox(key);
            if (box) box.checked = s[key];
        }
        fillProfileSelect(fallback, listProfiles(host), s.fallback);
    };

    for (const key of TOGGLES) {
        checkbox(key)?.addEventListener('change', (e) => {
            const checked = (e.target as HTMLInputElement).checked;
            store.update((s) => { s.profiles[key] = checked; });
        });
    }
    fallback.addEventListener('change', () => {
        const picked = pickedProfile(fallback, listProfiles(host));
        if (picked === undefined) return;
        store.update((s) => { s.profiles.fallback = picked ? refOf(picked) : null; });
    });
    section.querySelector('[data-ens="import-mmc"]')?.addEventListener('click', () => {
        offerMmcImport(host, store, { force: true }).catch((err) => host.toast('error', t('ensemble.profiles.mmcImportFailed', { error: errorMessage(err) }), 'Ensemble'));
    });

    store.subscribe((s) => render(s.profiles));
    host.on('connectionProfileLoaded', () => render(store.get().profiles));
    render(store.get().profiles);
    return { refresh: () => render(store.get().profiles) };
}
