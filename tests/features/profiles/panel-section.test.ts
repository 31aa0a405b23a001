import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { wireProfilesSection } from '../../../src/features/profiles/panel-section';
import { mountPanel } from '../../../src/settings/panel';
import { A, scenario } from './scenario';

function panel(warning?: string) {
    const s = scenario();
    const root = mountPanel(s.fake, warning);
    if (!root) throw new Error('panel not mounted');
    wireProfilesSection(s.fake, s.store, root);
    const box = (key: string) => root.querySelector<HTMLInputElement>(`[data-ens-setting="${key}"]`)!;
    const fallback = root.querySelector<HTMLSelectElement>('[data-ens="fallback"]')!;
    return { ...s, root, box, fallback };
}

beforeEach(() => { vi.spyOn(console, 'warn').mockImplementation(() => undefined); });
afterEach(() => { vi.restoreAllMocks(); });

describe('settings panel', () => {
    it('mounts in #extensions_settings2 with the warning box hidden', () => {
        const { fake, root } = panel();
        expect(root.parentElement?.id).toBe('extensions_settings2');
        expect(fake.document.querySelector<HTMLElement>('[data-ens="warning"]')?.hidden).toBe(true);
    });

    it('shows a load warning as text', () => {
        const { root } = panel('<b>broken</b> settings');
        const box = root.querySelector<HTMLElement>('[data-ens="warning"]')!;
        expect(box.hidden).toBe(false);
        expect(box.textContent).toBe('<b>broken</b> settings');
        expect(box.querySelector('b')).toBeNull();
    });

    it('shows the stored toggles', () => {
        const { box } = panel();
        expect([box('enabled').checked, box('notify').checked, box('restoreOnLeave').checked, box('soloAuto').checked]).toEqual([true, true, true, false]);
    });

    it('saves a toggle the user clicks', () => {
        const { fake, store, box } = panel();
        const saves = fake.counts.settingsSaves;
        box('soloAuto').click();
        expect(store.get().profiles.soloAuto).toBe(true);
        box('enabled').click();
        expect(store.get().profiles.enabled).toBe(false);
        expect(fake.counts.settingsSaves).toBe(saves + 2);
    });

    it('follows changes made elsewhere (e.g. a slash command)', () => {
        const { store, box } = panel();
        store.update((s) => { s.profiles.notify = false; });
        expect(box('notify').checked).toBe(false);
    });

    it('saves the global fallback picked in the dropdown', () => {
        const { store, fallback } = panel();
        fallback.value = A.id;
        fallback.dispatchEvent(new Event('change'));
        expect(store.get().profiles.fallback).toEqual({ id: A.id, name: A.name });
    });

    it('runs the Multi-Model Chat import on demand', async () => {
        const { fake, root } = panel();
        root.querySelector<HTMLElement>('[data-ens="import-mmc"]')?.click();
        await fake.idle();
        expect(fake.toastsOf('info')).toEqual(['No Multi-Model Chat assignments were found.']);
    });
});
