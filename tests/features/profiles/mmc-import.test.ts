import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cardRef } from '../../../src/core/profiles';
import { startProfiles } from '../../../src/features/profiles';
import { MMC_KEY, importMmc, offerMmcImport } from '../../../src/features/profiles/mmc-import';
import { A, B, C, GROUP, scenario } from './scenario';

/** Multi-Model Chat left its assignments in extension_settings.multi_model_chat. */
function withMmc(mmc: unknown) {
    const s = scenario((p) => { p.groupDefaults = {}; });
    s.fake.st.extensionSettings[MMC_KEY] = mmc;
    return s;
}

beforeEach(() => {
    for (const level of ['info', 'debug', 'warn'] as const) vi.spyOn(console, level).mockImplementation(() => undefined);
});
afterEach(() => { vi.restoreAllMocks(); });

describe('importMmc', () => {
    it('imports a character keyed by avatar and one keyed by name, in the card file too', async () => {
        const s = withMmc({ characterProfiles: { 'carol.png': 'B' } });
        s.fake.addCharacter('Dave', { avatar: 'dave.png' });
        (s.fake.st.extensionSettings[MMC_KEY] as { characterProfiles: Record<string, unknown> }).characterProfiles.Dave = { profileName: 'C' };
        const report = await importMmc(s.fake, s.store);
        expect(report).toEqual({ characters: 2, groups: 0, skipped: [] });
        expect(cardRef(s.fake.st.characters[s.carol])).toEqual({ id: B.id, name: B.name });
        expect(s.fake.cardFile('dave.png').data?.extensions?.ensemble).toMatchObject({ profileId: C.id, profileName: C.name });
    });

    it('imports group defaults keyed by group id or by group name', async () => {
        const byId = withMmc({ groupDefaults: { [GROUP]: 'A' } });
        expect((await importMmc(byId.fake, byId.store)).groups).toBe(1);
        expect(byId.store.get().profiles.groupDefaults[GROUP]).toEqual({ id: A.id, name: A.name });

        const byName = withMmc({ groupDefaults: { Trio: { profileId: B.id } } });
        expect((await importMmc(byName.fake, byName.store)).groups).toBe(1);
        expect(byName.store.get().profiles.groupDefaults[GROUP]).toEqual({ id: B.id, name: B.name });
    });

    it('never overwrites an assignment Ensemble already has', async () => {
        const s = withMmc({ characterProfiles: { 'alice.png': 'B' } });
        s.store.update((x) => { x.profiles.groupDefaults[GROUP] = { id: C.id, name: C.name }; });
        (s.fake.st.extensionSettings[MMC_KEY] as Record<string, unknown>).groupDefaults = { [GROUP]: 'A' };
        const report = await importMmc(s.fake, s.store);
        expect(report.characters + report.groups).toBe(0);
        expect(report.skipped).toEqual(['alice.png: already assigned in Ensemble', `group ${GROUP}: already has an Ensemble default`]);
        expect(cardRef(s.fake.st.characters[s.alice])).toEqual({ id: A.id, name: A.name });
        expect(s.store.get().profiles.groupDefaults[GROUP]?.id).toBe(C.id);
        expect(s.fake.cardWrites).toEqual([]);
    });

    it('skips and reports a deleted profile, a near name and an unknown character or group', async () => {
        const s = withMmc({ characterProfiles: { 'carol.png': 'Gone', 'Bob': 'b', 'Zed': 'A' }, groupDefaults: { nope: 'A' } });
        const report = await importMmc(s.fake, s.store);
        expect(report.characters).toBe(0);
        expect(report.skipped).toEqual([
            'carol.png: its profile no longer exists',
            'Bob: its profile no longer exists',
            'Zed: no such character (or the name is not unique)',
            'group nope: no such group',
        ]);
        expect(s.fake.cardWrites).toEqual([]);
    });

    it('reports unreadable Multi-Model Chat settings instead of throwing', async () => {
        const s = withMmc('broken');
        expect((await importMmc(s.fake, s.store)).skipped).toEqual(['Multi-Model Chat settings are not in the expected shape.']);
    });
});

describe('offerMmcImport', () => {
    it('asks once; after the answer it is never offered again unless forced', async () => {
        const s = withMmc({ characterProfiles: { 'carol.png': 'B' } });
        s.fake.confirmAnswers.push(false);
        expect(await offerMmcImport(s.fake, s.store)).toBeNull();
        expect(await offerMmcImport(s.fake, s.store)).toBeNull();
        expect(s.fake.confirms).toHaveLength(1);
        expect(s.store.get().profiles.mmcImportOffered).toBe(true);
        expect(cardRef(s.fake.st.characters[s.carol])).toBeNull();

        s.fake.confirmAnswers.push(true);
        expect(await offerMmcImport(s.fake, s.store, { force: true })).toEqual({ characters: 1, groups: 0, skipped: [] });
        expect(s.fake.confirms).toHaveLength(2);
    });

    it('imports on yes and reports success, or what was skipped, in a toast', async () => {
        const s = withMmc({ characterProfiles: { 'carol.png': 'B', 'bob.png': 'Gone' } });
        s.fake.confirmAnswers.push(true);
        await offerMmcImport(s.fake, s.store);
        expect(s.fake.confirms[0]?.text).toContain('2 profile assignment(s)');
        expect(s.fake.toasts).toEqual([{ level: 'warning', title: 'Ensemble', message: 'Imported 1 character and 0 group assignment(s).\nSkipped:\nbob.png: its profile no longer exists' }]);
        expect(s.store.get().profiles.mmcImportOffered).toBe(true);
    });

    it('does not ask when Multi-Model Chat left nothing, and says so only when forced', async () => {
        const s = withMmc(undefined);
        expect(await offerMmcImport(s.fake, s.store)).toBeNull();
        expect(s.fake.toasts).toEqual([]);
        await offerMmcImport(s.fake, s.store, { force: true });
        expect(s.fake.confirms).toEqual([]);
        expect(s.fake.toastsOf('info')).toEqual(['No Multi-Model Chat assignments were found.']);
    });

    it('is offered when ST reports the app ready', async () => {
        const s = withMmc({ characterProfiles: { 'carol.png': 'B' } });
        s.fake.confirmAnswers.push(true);
        await startProfiles(s.fake, s.store, s.router, null);
        expect(s.fake.confirms).toEqual([]);
        await s.fake.emit('appReady');
        expect(s.fake.confirms).toHaveLength(1);
        expect(cardRef(s.fake.st.characters[s.carol])).toEqual({ id: B.id, name: B.name });
    });
});
