import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startEnsemble } from '../../src/app';
import { DRAWERS_KEY, mountPanel } from '../../src/settings/panel';
import { buildStFixtures } from '../fakes/st-dom';
import { FakeStHost } from '../fakes/st-host';

const FEATURES = ['profiles', 'images', 'bridge', 'nextchat'];

beforeEach(() => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] }); // the bridge's catalog and session timers
});
afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
});

/** The whole extension started on a fake ST, as app.ts does it: every feature fills its part of the panel. */
async function started(fake = new FakeStHost()) {
    await startEnsemble(fake);
    const root = fake.document.querySelector<HTMLElement>('#ensemble_settings');
    if (!root) throw new Error('panel not mounted');
    return { fake, root, ...parts(root) };
}

function parts(root: HTMLElement) {
    const drawer = (name: string) => root.querySelector<HTMLElement>(`[data-ens-drawer="${name}"]`)!;
    const toggle = (name: string) => drawer(name).querySelector<HTMLElement>('.ensemble-subdrawer-toggle')!;
    const content = (name: string) => drawer(name).querySelector<HTMLElement>('.ensemble-subdrawer-content')!;
    const open = (name: string) => !content(name).hidden;
    return { drawer, toggle, content, open };
}

/** ST's page is rebuilt (a reload) and the panel mounted again on the same browser storage. */
function remount(fake: FakeStHost) {
    buildStFixtures(fake.document);
    const root = mountPanel(fake);
    if (!root) throw new Error('panel not mounted');
    return parts(root);
}

const key = (el: HTMLElement, k: string) => el.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true }));

describe('settings panel: one sub-drawer per feature', () => {
    it('has a sub-drawer for each feature, holding that feature\'s section and nothing outside them', async () => {
        const { root } = await started();
        const drawers = [...root.querySelectorAll<HTMLElement>('[data-ens-drawer]')];
        expect(drawers.map((d) => d.dataset.ensDrawer)).toEqual(FEATURES);
        for (const d of drawers) {
            const sections = [...d.querySelectorAll<HTMLElement>('[data-ens-section]')].map((s) => s.dataset.ensSection);
            expect(sections).toEqual([d.dataset.ensDrawer]);
        }
        const loose = [...root.querySelectorAll('[data-ens-section]')].filter((s) => !s.closest('[data-ens-drawer]'));
        expect(loose).toEqual([]);
    });

    it('names each sub-drawer\'s header after its feature, a button that controls its content', async () => {
        const { root, toggle, content } = await started();
        expect(FEATURES.map((f) => toggle(f).textContent?.trim())).toEqual(['Per-character models', 'Scene images', 'Bridge', 'NextChat']);
        for (const f of FEATURES) {
            expect(toggle(f).getAttribute('role')).toBe('button');
            expect(toggle(f).tabIndex).toBe(0);
            expect(root.ownerDocument.getElementById(toggle(f).getAttribute('aria-controls') ?? '')).toBe(content(f));
        }
    });

    it('leaves ST one toggle and one content in the whole panel: ST\'s handler (script.js) slides every .inline-drawer-content under the header clicked', async () => {
        const { root } = await started();
        expect(root.querySelectorAll('.inline-drawer-toggle')).toHaveLength(1);
        expect(root.querySelectorAll('.inline-drawer-content')).toHaveLength(1);
        expect(root.querySelector('.inline-drawer-content')?.parentElement?.parentElement).toBe(root);
    });

    it('opens every sub-drawer on first use', async () => {
        const { toggle, open } = await started();
        expect(FEATURES.map(open)).toEqual([true, true, true, true]);
        expect(FEATURES.map((f) => toggle(f).getAttribute('aria-expanded'))).toEqual(['true', 'true', 'true', 'true']);
    });
});

describe('settings panel: collapsed sub-drawers are remembered', () => {
    it('a click collapses one sub-drawer, stores it in this browser, and a re-mount restores it', async () => {
        const { fake, toggle, open } = await started();
        const saves = fake.counts.settingsSaves;
        toggle('images').click();
        expect(FEATURES.map(open)).toEqual([true, false, true, true]);
        expect(toggle('images').getAttribute('aria-expanded')).toBe('false');
        expect([...toggle('images').querySelector('.inline-drawer-icon')!.classList]).toEqual(expect.arrayContaining(['fa-circle-chevron-down', 'down']));
        expect(fake.localStore.get(DRAWERS_KEY)).toEqual({ images: true });
        expect(fake.counts.settingsSaves).toBe(saves);

        const again = remount(fake);
        expect(FEATURES.map(again.open)).toEqual([true, false, true, true]);
        expect(again.toggle('images').getAttribute('aria-expanded')).toBe('false');
        expect([...again.toggle('images').querySelector('.inline-drawer-icon')!.classList]).toEqual(expect.arrayContaining(['fa-circle-chevron-down', 'down']));
    });

    it('a second click opens it again, and the re-mount shows it open', async () => {
        const { fake, toggle } = await started();
        toggle('bridge').click();
        toggle('nextchat').click();
        toggle('bridge').click();
        expect(fake.localStore.get(DRAWERS_KEY)).toEqual({ bridge: false, nextchat: true });
        expect(FEATURES.map(remount(fake).open)).toEqual([true, true, true, false]);
    });

    it('Enter and Space on a focused header toggle it', async () => {
        const { fake, toggle, open } = await started();
        key(toggle('profiles'), 'Enter');
        expect(open('profiles')).toBe(false);
        key(toggle('profiles'), ' ');
        expect(open('profiles')).toBe(true);
        key(toggle('profiles'), 'a');
        expect(open('profiles')).toBe(true);
        expect(fake.localStore.get(DRAWERS_KEY)).toEqual({ profiles: false });
    });

    it('ignores a stored state that is not a map of booleans (everything open), and replaces it on the next click', async () => {
        const fake = new FakeStHost();
        fake.localStore.set(DRAWERS_KEY, { images: 'yes' });
        const { toggle, open } = await started(fake);
        expect(FEATURES.map(open)).toEqual([true, true, true, true]);
        toggle('profiles').click();
        expect(fake.localStore.get(DRAWERS_KEY)).toEqual({ profiles: true });
    });
});
