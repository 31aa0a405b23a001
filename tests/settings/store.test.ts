import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SETTINGS_VERSION, defaultSettings } from '../../src/settings/schema';
import { BACKUP_KEY, SettingsStore, loadSettings } from '../../src/settings/store';
import { FakeStHost } from '../fakes/st-host';

function storeWith(raw: unknown): { fake: FakeStHost; store: SettingsStore } {
    const fake = new FakeStHost();
    if (raw !== undefined) fake.st.extensionSettings.ensemble = raw;
    return { fake, store: new SettingsStore(fake) };
}

beforeEach(() => { vi.spyOn(console, 'warn').mockImplementation(() => undefined); });
afterEach(() => { vi.restoreAllMocks(); });

describe('SettingsStore loading', () => {
    it('starts from defaults on a fresh install and saves them once', () => {
        const { fake, store } = storeWith(undefined);
        expect(store.get()).toEqual(defaultSettings());
        expect(store.get().profiles).toMatchObject({ enabled: true, notify: true, restoreOnLeave: true, soloAuto: false, fallback: null, groupDefaults: {}, switchTimeoutMs: 30_000 });
        expect(fake.readSettings('ensemble')).toEqual(defaultSettings());
        expect(fake.counts.settingsSaves).toBe(1);
        expect(fake.toasts).toEqual([]);
        expect(store.warning).toBeUndefined();
    });

    it('keeps valid stored settings without rewriting them', () => {
        const stored = { version: 1, profiles: { soloAuto: true, groupDefaults: { g1: { id: 'p1', name: 'A' } } } };
        const { fake, store } = storeWith(stored);
        expect(store.get().profiles.soloAuto).toBe(true);
        expect(store.get().profiles.groupDefaults.g1).toEqual({ id: 'p1', name: 'A' });
        expect(store.get().profiles.notify).toBe(true);
        expect(fake.counts.settingsSaves).toBe(0);
    });

    it('v1 → v2: the old NextChat default stored by every v1 save becomes "not entered"; an address the user typed stays', () => {
        const old = storeWith({ version: 1, bridge: { nextchatUrl: 'http://localhost:3000', autoConnect: true } }).store.get();
        expect(old.version).toBe(2);
        expect(old.bridge.nextchatUrl).toBe('');
        expect(storeWith({ version: 1, bridge: { nextchatUrl: 'http://192.168.1.5:3000' } }).store.get().bridge.nextchatUrl).toBe('http://192.168.1.5:3000');
        // Entered again under v2, the same address is the user's choice.
        expect(storeWith({ version: 2, bridge: { nextchatUrl: 'http://localhost:3000' } }).store.get().bridge.nextchatUrl).toBe('http://localhost:3000');
    });

    it('migrates the pre-release shape without a version field (v0) to the current version', () => {
        const { fake, store } = storeWith({ profiles: { notify: false } });
        expect(store.get().version).toBe(SETTINGS_VERSION);
        expect(store.get().profiles.notify).toBe(false);
        expect(store.warning).toBeUndefined();
        expect(fake.readSettings(BACKUP_KEY)).toBeUndefined();
    });

    it.each([
        ['a field of the wrong type', { version: 1, profiles: { enabled: 'yes' } }, 'profiles.enabled'],
        ['a string instead of an object', 'garbage', 'expected object'],
        ['an unknown future version', { version: 3, profiles: {} }, 'version'],
        ['an out-of-range timeout', { version: 1, profiles: { switchTimeoutMs: 5 } }, 'switchTimeoutMs'],
    ])('falls back to defaults on %s, warns, and keeps the broken value as a backup', (_what, raw, mentioned) => {
        let result: ReturnType<typeof storeWith> | undefined;
        expect(() => { result = storeWith(raw); }).not.toThrow();
        const { fake, store } = result!;
        expect(store.get()).toEqual(defaultSettings());
        expect(fake.readSettings('ensemble')).toEqual(defaultSettings());
        expect(fake.readSettings(BACKUP_KEY)).toEqual(raw);
        expect(fake.toasts).toHaveLength(1);
        expect(fake.toasts[0]).toMatchObject({ level: 'warning', title: 'Ensemble' });
        expect(fake.toasts[0]?.message).toContain(BACKUP_KEY);
        expect(fake.toasts[0]?.message).toContain(mentioned);
        expect(store.warning).toBe(fake.toasts[0]?.message);
        expect(console.warn).toHaveBeenCalled();
    });

    it('loadSettings treats null like a fresh install (no warning)', () => {
        expect(loadSettings(null)).toEqual({ settings: defaultSettings() });
    });
});

describe('SettingsStore.update', () => {
    it('validates, persists and notifies subscribers', () => {
        const { fake, store } = storeWith(undefined);
        const seen: boolean[] = [];
        store.subscribe((s) => seen.push(s.profiles.soloAuto));
        const next = store.update((s) => { s.profiles.soloAuto = true; });
        expect(next.profiles.soloAuto).toBe(true);
        expect(store.get().profiles.soloAuto).toBe(true);
        expect((fake.readSettings('ensemble') as { profiles: { soloAuto: boolean } }).profiles.soloAuto).toBe(true);
        expect(fake.counts.settingsSaves).toBe(2);
        expect(seen).toEqual([true]);
    });

    it('refuses an invalid result: throws, keeps the old settings, saves nothing, notifies nobody', () => {
        const { fake, store } = storeWith(undefined);
        const listener = vi.fn();
        store.subscribe(listener);
        const before = structuredClone(store.get());
        expect(() => store.update((s) => { s.profiles.switchTimeoutMs = 10; })).toThrow();
        expect(() => store.update((s) => { (s.profiles as Record<string, unknown>).enabled = 'yes'; })).toThrow();
        expect(store.get()).toEqual(before);
        expect(fake.counts.settingsSaves).toBe(1);
        expect(listener).not.toHaveBeenCalled();
    });

    it('works on a copy: a change that throws midway leaves the settings untouched', () => {
        const { store } = storeWith(undefined);
        expect(() => store.update((s) => {
            s.profiles.soloAuto = true;
            throw new Error('midway');
        })).toThrow('midway');
        expect(store.get().profiles.soloAuto).toBe(false);
    });

    it('an unsubscribed listener is no longer called', () => {
        const { store } = storeWith(undefined);
        const listener = vi.fn();
        const off = store.subscribe(listener);
        off();
        store.update((s) => { s.profiles.notify = false; });
        expect(listener).not.toHaveBeenCalled();
    });
});
