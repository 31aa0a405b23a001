import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
    type ConnectionProfile, cardRef, readCard, readNewCardRef, resolveProfile, writeCardRef, writeNewCardRef,
} from '../../src/core/profiles';
import type { HostCharacter } from '../../src/host/host';
import { type ProfilesSettings, defaultSettings } from '../../src/settings/schema';
import { FakeStHost } from '../fakes/st-host';

const A: ConnectionProfile = { id: 'pa', name: 'A', mode: 'cc' };
const B: ConnectionProfile = { id: 'pb', name: 'Mock-B', mode: 'cc' };
const C: ConnectionProfile = { id: 'pc', name: 'C', mode: 'cc' };
const PROFILES = [A, B, C];

const char = (ensemble?: unknown): HostCharacter => ({ avatar: 'alice.png', name: 'Alice', data: { extensions: ensemble === undefined ? {} : { ensemble } } });

function settings(change: (s: ProfilesSettings) => void = () => undefined): ProfilesSettings {
    const s = defaultSettings().profiles;
    change(s);
    return s;
}
const withGroupAndFallback = settings((s) => {
    s.groupDefaults.g1 = { id: 'pb', name: 'Mock-B' };
    s.fallback = { id: 'pc', name: 'C' };
});

beforeEach(() => { vi.spyOn(console, 'warn').mockImplementation(() => undefined); });
afterEach(() => { vi.restoreAllMocks(); });

describe('resolveProfile order', () => {
    it('uses the character\'s own profile first', () => {
        expect(resolveProfile(PROFILES, withGroupAndFallback, char({ profileId: 'pa', profileName: 'A' }), 'g1')).toEqual({ source: 'character', profile: A, missing: [] });
    });

    it('falls to the group default for a member without its own', () => {
        expect(resolveProfile(PROFILES, withGroupAndFallback, char(), 'g1')).toMatchObject({ source: 'group', profile: B });
    });

    it('falls to the global fallback outside a group or in a group without a default', () => {
        expect(resolveProfile(PROFILES, withGroupAndFallback, char(), null)).toMatchObject({ source: 'fallback', profile: C });
        expect(resolveProfile(PROFILES, withGroupAndFallback, char(), 'other-group')).toMatchObject({ source: 'fallback', profile: C });
    });

    it('resolves to none when nothing is assigned', () => {
        expect(resolveProfile(PROFILES, settings(), char(), 'g1')).toEqual({ source: 'none', missing: [] });
        expect(resolveProfile(PROFILES, settings(), undefined, null)).toEqual({ source: 'none', missing: [] });
    });
});

describe('resolveProfile with deleted profiles', () => {
    it('reports a deleted character profile as missing and uses the next level', () => {
        const res = resolveProfile(PROFILES, withGroupAndFallback, char({ profileId: 'gone', profileName: 'Gone' }), 'g1');
        expect(res.source).toBe('group');
        expect(res.profile).toBe(B);
        expect(res.missing).toEqual([{ source: 'character', ref: { id: 'gone', name: 'Gone' } }]);
    });

    it('reports every missing level in order and ends at none', () => {
        const s = settings((x) => {
            x.groupDefaults.g1 = { id: 'gone-g', name: 'GoneG' };
            x.fallback = { id: null, name: 'GoneF' };
        });
        const res = resolveProfile(PROFILES, s, char({ profileName: 'GoneC' }), 'g1');
        expect(res.source).toBe('none');
        expect(res.missing.map((m) => m.source)).toEqual(['character', 'group', 'fallback']);
    });

    it('never fuzzy-matches: a ref named "mock-b" does not find profile "Mock-B"', () => {
        const res = resolveProfile(PROFILES, settings(), char({ profileId: null, profileName: 'mock-b' }), null);
        expect(res.profile).toBeUndefined();
        expect(res.missing).toEqual([{ source: 'character', ref: { id: null, name: 'mock-b' } }]);
    });

    it('does not match a name with extra spaces either', () => {
        expect(resolveProfile(PROFILES, settings(), char({ profileName: 'A ' }), null).profile).toBeUndefined();
    });
});

describe('resolveProfile matching', () => {
    it('matches by id before name (a renamed profile is still found)', () => {
        const res = resolveProfile(PROFILES, settings(), char({ profileId: 'pa', profileName: 'C' }), null);
        expect(res.profile).toBe(A);
    });

    it('falls back to the exact name when the id is foreign (card from another install)', () => {
        const res = resolveProfile(PROFILES, settings(), char({ profileId: 'foreign-id', profileName: 'C' }), null);
        expect(res.profile).toBe(C);
        expect(res.missing).toEqual([]);
    });

    it('reads a malformed card field as empty', () => {
        for (const bad of ['A', 42, { profileId: 7 }, ['pa']]) {
            expect(readCard(char(bad))).toEqual({});
            expect(cardRef(char(bad))).toBeNull();
            expect(resolveProfile(PROFILES, withGroupAndFallback, char(bad), 'g1').source).toBe('group');
        }
    });

    it('treats a card with only nulls as unassigned (not missing)', () => {
        const res = resolveProfile(PROFILES, settings(), char({ profileId: null, profileName: null }), null);
        expect(res).toEqual({ source: 'none', missing: [] });
    });
});

describe('writing assignments', () => {
    it('writeCardRef stores id and name and keeps other Ensemble fields of the card', async () => {
        const fake = new FakeStHost();
        const i = fake.addCharacter('Alice', { extensions: { ensemble: { imagePrefix: 'red hair' } } });
        await writeCardRef(fake, i, { id: 'pa', name: 'A' });
        expect(fake.st.characters[i]?.data?.extensions?.ensemble).toEqual({ imagePrefix: 'red hair', profileId: 'pa', profileName: 'A' });
        expect(cardRef(fake.st.characters[i])).toEqual({ id: 'pa', name: 'A' });
    });

    it('clearing writes explicit nulls so the server\'s deep merge drops the old profile too', async () => {
        const fake = new FakeStHost();
        const i = fake.addCharacter('Alice');
        await writeCardRef(fake, i, { id: 'pa', name: 'A' });
        await writeCardRef(fake, i, null);
        expect(cardRef(fake.st.characters[i])).toBeNull();
        expect(fake.cardFile('Alice.png').data?.extensions?.ensemble).toEqual({ profileId: null, profileName: null });
    });

    it('writeCardRef rejects an index with no character', async () => {
        const fake = new FakeStHost();
        await expect(writeCardRef(fake, 3, { id: 'pa', name: 'A' })).rejects.toThrow(/no character/);
        expect(fake.cardWrites).toEqual([]);
    });

    it('the unsaved "Create character" form keeps the assignment in createCharacterData.extensions', () => {
        const fake = new FakeStHost();
        fake.st.createCharacterData.extensions.ensemble = { imagePrefix: 'x' };
        writeNewCardRef(fake, { id: 'pb', name: 'Mock-B' });
        expect(fake.st.createCharacterData.extensions.ensemble).toEqual({ imagePrefix: 'x', profileId: 'pb', profileName: 'Mock-B' });
        expect(readNewCardRef(fake)).toEqual({ id: 'pb', name: 'Mock-B' });
        writeNewCardRef(fake, null);
        expect(readNewCardRef(fake)).toBeNull();
    });
});
