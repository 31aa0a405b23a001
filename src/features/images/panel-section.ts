import type { Host } from '../../host/host';
import type { ImagesSettings } from '../../settings/schema';
import type { SettingsStore } from '../../settings/store';
import { errorMessage } from '../../shared/errors';
import { t } from '../../shared/i18n';
import { fillProfileSelect, pickedProfile } from '../../core/profile-select';
import { listProfiles, refOf } from '../../core/profiles';

type Field = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/** Reads `a.b` paths of the images settings. */
function get(settings: ImagesSettings, path: string): unknown {
    return path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], settings);
}

function set(settings: ImagesSettings, path: string, value: unknown): void {
    const keys = path.split('.');
    const last = keys.pop() as string;
    const parent = keys.reduce<Record<string, unknown>>((v, k) => v[k] as Record<string, unknown>, settings as unknown as Record<string, unknown>);
    parent[last] = value;
}

function valueOf(field: Field): unknown {
    if (field instanceof HTMLInputElement && field.type === 'checkbox') return field.checked;
    if (field instanceof HTMLInputElement && field.type === 'number') return field.value === '' ? NaN : Number(field.value);
    return field.value;
}

/** Wires the "Scene images" section: every `[data-ens-image]` field is a setting, validated by the schema on change. */
export function wireImagesSection(host: Host, store: SettingsStore, root: HTMLElement): void {
    const section = root.querySelector<HTMLElement>('[data-ens-section="images"]');
    const profileSelect = root.querySelector<HTMLSelectElement>('[data-ens="prompt-profile"]');
    if (!section || !profileSelect) return;
    const fields = [...section.querySelectorAll<Field>('[data-ens-image]')];
    const stStatus = section.querySelector<HTMLElement>('[data-ens="st-image-status"]');
    let statusAsked = 0;
    // Tells, while ST's Image Generation is the source, whether it can draw now and, if not, what to do.
    const showStStatus = async () => {
        if (!stStatus || store.get().images.imageSource !== 'st') return;
        const asked = ++statusAsked;
        const status = await host.stImageGeneration.status();
        if (asked !== statusAsked) return;
        stStatus.textContent = status.state === 'ready' ? t('ensemble.images.stReady', { source: status.source })
            : status.state === 'disabled' ? t('ensemble.images.stDisabled')
                : status.state === 'missing' ? t('ensemble.images.stMissing')
                    : t(status.needs === 'key' ? 'ensemble.images.stNeedsKey' : status.needs === 'url' ? 'ensemble.images.stNeedsUrl' : 'ensemble.images.stNeedsExtras', { source: status.source });
    };

    const render = () => {
        const s = store.get().images;
        for (const field of fields) {
            const v = get(s, field.dataset.ensImage ?? '');
            if (field instanceof HTMLInputElement && field.type === 'checkbox') field.checked = v === true;
            else if (field.ownerDocument.activeElement !== field) field.value = v === undefined || v === null ? '' : String(v);
        }
        fillProfileSelect(profileSelect, listProfiles(host), s.promptProfile);
        for (const row of section.querySelectorAll<HTMLElement>('[data-ens-when]')) row.hidden = row.dataset.ensWhen !== s.promptSource;
        for (const row of section.querySelectorAll<HTMLElement>('[data-ens-image-when]')) row.hidden = row.dataset.ensImageWhen !== s.imageSource;
        void showStStatus();
    };

    for (const field of fields) {
        field.addEventListener('change', () => {
            try {
                store.update((s) => set(s.images, field.dataset.ensImage ?? '', valueOf(field)));
            } catch (err) {
                host.toast('error', t('ensemble.images.notSaved', { error: errorMessage(err) }), 'Ensemble');
                render();
            }
        });
    }
    profileSelect.addEventListener('change', () => {
        const picked = pickedProfile(profileSelect, listProfiles(host));
        if (picked !== undefined) store.update((s) => { s.images.promptProfile = picked ? refOf(picked) : null; });
    });
    store.subscribe(render);
    host.on('connectionProfileLoaded', render);
    // ST's Image Generation is set up in its own drawer (and may load after this panel): its state is asked again
    // whenever the user comes back to this section, so the line follows what they just changed there.
    for (const type of ['pointerenter', 'focusin']) section.addEventListener(type, () => void showStStatus());
    render();
}
