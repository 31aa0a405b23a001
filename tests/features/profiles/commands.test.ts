import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cardRef } from '../../../src/core/profiles';
import { registerProfileCommands } from '../../../src/features/profiles/commands';
import { A, ALICE, B, C, GROUP, assign, scenario } from './scenario';

async function withCommands(change?: Parameters<typeof scenario>[0]) {
    const s = scenario(change);
    await registerProfileCommands(s.fake, s.store);
    return s;
}

beforeEach(() => { vi.spyOn(console, 'warn').mockImplementation(() => undefined); });
afterEach(() => { vi.restoreAllMocks(); });

describe('/ens-profile char=', () => {
    it('sets a character\'s profile by name, in the card and the card file, and returns the name', async () => {
        const s = await withCommands();
        expect(await s.fake.runSlash('ens-profile', { char: 'Carol' }, 'B')).toBe('B');
        expect(cardRef(s.fake.st.characters[s.carol])).toEqual({ id: B.id, name: B.name });
        expect(s.fake.cardFile('carol.png').data?.extensions?.ensemble).toMatchObject({ profileId: B.id, profileName: B.name });
        expect(s.fake.toasts).toEqual([]);
    });

    it('accepts a profile id as well as a name', async () => {
        const s = await withCommands();
        expect(await s.fake.runSlash('ens-profile', { char: 'Carol' }, C.id)).toBe('C');
    });

    it('gets the assigned profile name without changing anything', async () => {
        const s = await withCommands();
        expect(await s.fake.runSlash('ens-profile', { char: 'Alice' })).toBe('A');
        expect(await s.fake.runSlash('ens-profile', { char: 'Carol' })).toBe('');
        expect(s.fake.cardWrites).toEqual([]);
    });

    it('returns a renamed profile\'s current name, and /ens-profiles lists it too', async () => {
        const s = await withCommands();
        s.fake.cm.profiles = s.fake.cm.profiles.map((p) => (p.id === A.id ? { ...p, name: 'A renamed' } : p));
        expect(await s.fake.runSlash('ens-profile', { char: 'Alice' })).toBe('A renamed');
        expect(JSON.parse(await s.fake.runSlash('ens-profiles', {})).characters[ALICE].profile).toBe('A renamed');
    });

    it('clears an assignment with clear=true', async () => {
        const s = await withCommands();
        expect(await s.fake.runSlash('ens-profile', { char: 'Alice', clear: true })).toBe('');
        expect(cardRef(s.fake.st.characters[s.alice])).toBeNull();
        expect(s.fake.cardFile(ALICE).data?.extensions?.ensemble).toEqual({ profileId: null, profileName: null });
    });

    it('finds a character by avatar file, which also settles duplicate names', async () => {
        const s = await withCommands();
        const second = s.fake.addCharacter('Alice', { avatar: 'alice2.png' });
        expect(await s.fake.runSlash('ens-profile', { char: 'alice2.png' }, 'C')).toBe('C');
        expect(cardRef(s.fake.st.characters[second])).toEqual({ id: C.id, name: C.name });
        expect(cardRef(s.fake.st.characters[s.alice])).toEqual({ id: A.id, name: A.name });
    });

    it('refuses an ambiguous character name with an error listing the avatars', async () => {
        const s = await withCommands();
        s.fake.addCharacter('Alice', { avatar: 'alice2.png' });
        expect(await s.fake.runSlash('ens-profile', { char: 'Alice' }, 'C')).toBe('');
        expect(s.fake.toastsOf('error')[0]).toMatch(/Several characters are named "Alice".*alice\.png, alice2\.png/);
        expect(s.fake.cardWrites).toEqual([]);
    });

    it('reports an unknown character and changes nothing', async () => {
        const s = await withCommands();
        expect(await s.fake.runSlash('ens-profile', { char: 'Zed' }, 'A')).toBe('');
        expect(s.fake.toasts).toEqual([{ level: 'error', message: 'No character named "Zed".', title: '/ens-profile' }]);
        expect(s.fake.cardWrites).toEqual([]);
    });

    it('reports an unknown profile (no fuzzy match) and changes nothing', async () => {
        const s = await withCommands();
        expect(await s.fake.runSlash('ens-profile', { char: 'Carol' }, 'b')).toBe('');
        expect(s.fake.toastsOf('error')).toEqual(['No Connection Profile named "b".']);
        expect(s.fake.cardWrites).toEqual([]);
        expect(cardRef(s.fake.st.characters[s.carol])).toBeNull();
    });

    it('refuses char= and group= together, and neither', async () => {
        const s = await withCommands();
        const saves = s.fake.counts.settingsSaves;
        expect(await s.fake.runSlash('ens-profile', { char: 'Alice', group: 'Trio' }, 'A')).toBe('');
        expect(await s.fake.runSlash('ens-profile', {}, 'A')).toBe('');
        expect(s.fake.toastsOf('error')).toHaveLength(2);
        expect(s.fake.cardWrites).toEqual([]);
        expect(s.fake.counts.settingsSaves).toBe(saves);
    });
});

describe('/ens-profile group=', () => {
    it('sets, gets and clears a group default by group name', async () => {
        const s = await withCommands();
        expect(await s.fake.runSlash('ens-profile', { group: 'Trio' })).toBe('C');
        expect(await s.fake.runSlash('ens-profile', { group: 'Trio' }, 'A')).toBe('A');
        expect(s.store.get().profiles.groupDefaults[GROUP]).toEqual({ id: A.id, name: A.name });
        expect(await s.fake.runSlash('ens-profile', { group: 'Trio', clear: 'true' })).toBe('');
        expect(s.store.get().profiles.groupDefaults[GROUP]).toBeUndefined();
        expect(await s.fake.runSlash('ens-profile', { group: 'Trio' })).toBe('');
    });

    it('accepts the group id too', async () => {
        const s = await withCommands();
        expect(await s.fake.runSlash('ens-profile', { group: GROUP }, 'B')).toBe('B');
        expect(s.store.get().profiles.groupDefaults[GROUP]?.id).toBe(B.id);
    });

    it('reports an unknown group and saves nothing', async () => {
        const s = await withCommands();
        const saves = s.fake.counts.settingsSaves;
        expect(await s.fake.runSlash('ens-profile', { group: 'Nope' }, 'A')).toBe('');
        expect(s.fake.toastsOf('error')).toEqual(['No group named "Nope".']);
        expect(s.fake.counts.settingsSaves).toBe(saves);
    });
});

describe('/ens-profiles', () => {
    it('lists character assignments by avatar, group defaults by id and the fallback as JSON', async () => {
        const s = await withCommands((p) => { p.fallback = { id: B.id, name: B.name }; });
        assign(s.fake, s.carol, { profileId: 'gone-id', profileName: 'Gone' });
        const json = JSON.parse(await s.fake.runSlash('ens-profiles'));
        expect(json).toEqual({
            characters: {
                'alice.png': { name: 'Alice', profile: 'A' },
                'bob.png': { name: 'Bob', profile: 'B' },
                'carol.png': { name: 'Carol', profile: 'Gone' },
            },
            groups: { [GROUP]: { name: 'Trio', profile: 'C' } },
            fallback: 'B',
        });
    });

    it('offers character, group and profile names to ST\'s autocomplete', async () => {
        const s = await withCommands();
        const spec = s.fake.slashCommands.get('ens-profile');
        expect(spec?.namedArgs?.find((a) => a.name === 'char')?.enumValues?.()).toEqual(['Alice', 'Bob', 'Carol']);
        expect(spec?.namedArgs?.find((a) => a.name === 'group')?.enumValues?.()).toEqual(['Trio']);
        expect(spec?.unnamedArg?.enumValues?.()).toEqual(['Mine', 'A', 'B', 'C', 'T', 'O']);
    });
});
