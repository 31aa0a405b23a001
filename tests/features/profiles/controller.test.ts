import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { A, ALICE, BOB, C, CAROL, GROUP, MINE, assign, scenario, startController } from './scenario';

/** ProfilesController on per-request routes, driven through ST's group turn (fake runGroupTurn). */
beforeEach(() => {
    for (const level of ['info', 'debug', 'warn'] as const) vi.spyOn(console, level).mockImplementation(() => undefined);
});
afterEach(() => { vi.restoreAllMocks(); });

const USER_BODY = { model: 'user-model', custom_url: 'http://user.local/v1', custom_include_headers: 'Authorization: Bearer sk-user' };

describe('ProfilesController routes each member\'s request', () => {
    it('sends Alice, Bob and Carol each through their own profile (Carol via the group default)', async () => {
        const s = scenario();
        startController(s);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE, BOB, CAROL] });
        const byAvatar = Object.fromEntries(s.fake.requests.map((r) => [r.avatar, r.body]));
        expect(byAvatar[ALICE]).toMatchObject({ model: 'gpt-a', custom_url: 'http://a.local/v1', custom_include_headers: 'Authorization: Bearer sk-a', temperature: 0.1 });
        expect(byAvatar[BOB]).toMatchObject({ model: 'gpt-b', custom_url: 'http://b.local/v1', custom_include_headers: 'Authorization: Bearer sk-b', temperature: 0.2 });
        expect(byAvatar[CAROL]).toMatchObject({ model: 'gpt-c', custom_url: 'http://c.local/v1', custom_include_headers: 'Authorization: Bearer sk-c', temperature: 0.3 });
        expect(s.fake.listenerErrors).toEqual([]);
    });

    it('resolves each drafted member\'s profile once per turn: at the draft, not again at the request', async () => {
        const s = scenario();
        startController(s);
        await s.fake.openGroup(GROUP);
        const reads = vi.spyOn(s.fake, 'connectionManager');
        await s.fake.runGroupTurn({ members: [ALICE, BOB, CAROL] });
        expect(s.fake.requests.map((r) => r.body.model)).toEqual(['gpt-a', 'gpt-b', 'gpt-c']);
        expect(reads).toHaveBeenCalledTimes(3);
    });

    it('changes nothing global: same connection, same selected profile, no switch', async () => {
        const s = scenario();
        startController(s);
        const before = structuredClone(s.fake.st.connection);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE, BOB, CAROL] });
        expect(s.fake.st.connection).toEqual(before);
        expect(s.fake.cm.selectedProfile).toBe(MINE.id);
        expect(s.fake.profileSelections).toEqual([]);
        expect(s.fake.modelCalls).toEqual([]);
    });

    it.each(['swipe', 'quiet', 'continue', 'impersonate'])('routes a %s generation to the drafted member', async (type) => {
        const s = scenario();
        startController(s);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [BOB], type });
        expect(s.fake.requests).toHaveLength(1);
        expect(s.fake.requests[0]).toMatchObject({ avatar: BOB, type, body: { model: 'gpt-b', custom_include_headers: 'Authorization: Bearer sk-b' } });
    });

    it('leaves a request alone when no member is drafted (characterId undefined in the group)', async () => {
        const s = scenario();
        startController(s);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE] });
        await s.fake.generate('quiet');
        expect(s.fake.requests[1]).toMatchObject({ avatar: null, body: USER_BODY });
    });

    it('leaves a request alone while a member is only viewed in the group (characterId set, never drafted)', async () => {
        // ST's group editor: the group's "view" button selects the member's index while groupId stays.
        const s = scenario();
        startController(s);
        await s.fake.openGroup(GROUP);
        s.fake.st.characterId = s.alice;
        await s.fake.generate('quiet');
        expect(s.fake.requests[0]).toMatchObject({ avatar: ALICE, body: USER_BODY });
    });

    it('announces member → profile once per chat, not on every turn', async () => {
        const s = scenario();
        startController(s);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE, BOB] });
        await s.fake.runGroupTurn({ members: [ALICE, BOB] });
        expect(s.fake.toastsOf('info')).toEqual(['Alice → A', 'Bob → B']);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE] });
        expect(s.fake.toastsOf('info')).toEqual(['Alice → A', 'Bob → B', 'Alice → A']);
    });

    it('announces nothing when notify is off', async () => {
        const s = scenario((p) => { p.notify = false; });
        startController(s);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE] });
        expect(s.fake.requests[0]?.body.model).toBe('gpt-a');
        expect(s.fake.toasts).toEqual([]);
    });

    it('does nothing while disabled', async () => {
        const s = scenario((p) => { p.enabled = false; });
        startController(s);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE, CAROL] });
        expect(s.fake.requests.map((r) => r.body)).toEqual([expect.objectContaining(USER_BODY), expect.objectContaining(USER_BODY)]);
    });

    it('uses the global fallback for an unassigned member of a group without a default', async () => {
        const s = scenario((p) => {
            p.groupDefaults = {};
            p.fallback = { id: A.id, name: A.name };
        });
        startController(s);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [CAROL] });
        expect(s.fake.requests[0]?.body.model).toBe('gpt-a');
    });

    it('sends an unassigned member of a group without a default through the user\'s connection', async () => {
        const s = scenario((p) => { p.groupDefaults = {}; });
        startController(s);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [CAROL] });
        expect(s.fake.requests[0]?.body).toMatchObject(USER_BODY);
    });
});

describe('ProfilesController in 1:1 chats', () => {
    it('leaves a solo request alone while soloAuto is off', async () => {
        const s = scenario();
        startController(s);
        await s.fake.openCharacter(s.alice);
        await s.fake.generate();
        expect(s.fake.requests[0]).toMatchObject({ avatar: ALICE, body: USER_BODY });
    });

    it('routes a solo request through the character\'s profile when soloAuto is on', async () => {
        const s = scenario((p) => { p.soloAuto = true; });
        startController(s);
        await s.fake.openCharacter(s.alice);
        await s.fake.generate();
        expect(s.fake.requests[0]?.body).toMatchObject({ model: 'gpt-a', custom_url: 'http://a.local/v1', custom_include_headers: 'Authorization: Bearer sk-a' });
        expect(s.fake.cm.selectedProfile).toBe(MINE.id);
    });

    it('ignores the group default in a 1:1 chat with soloAuto', async () => {
        const s = scenario((p) => { p.soloAuto = true; });
        startController(s);
        await s.fake.openCharacter(s.carol);
        await s.fake.generate();
        expect(s.fake.requests[0]?.body).toMatchObject(USER_BODY);
    });
});

describe('ProfilesController with deleted profiles and presets', () => {
    it('warns naming the character and the missing profile, then uses the group default', async () => {
        const s = scenario();
        assign(s.fake, s.alice, { profileId: 'gone-id', profileName: 'Gone' });
        startController(s);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE] });
        const [warning] = s.fake.toastsOf('warning');
        expect(warning).toContain('Alice');
        expect(warning).toContain('"Gone"');
        expect(warning).toContain(`the group default "${C.name}"`);
        expect(s.fake.requests[0]?.body.model).toBe('gpt-c');
    });

    it('never fuzzy-matches a reference to a near name', async () => {
        const s = scenario();
        assign(s.fake, s.alice, { profileId: null, profileName: 'a' });
        startController(s);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE] });
        expect(s.fake.requests[0]?.body.model).toBe('gpt-c');
        expect(s.fake.toastsOf('warning')[0]).toContain('"a"');
    });

    it('routes URL and model but warns when the profile\'s preset is gone', async () => {
        const s = scenario();
        delete s.fake.st.presets.PA;
        startController(s);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE] });
        expect(s.fake.requests[0]?.body).toMatchObject({ model: 'gpt-a', custom_url: 'http://a.local/v1', custom_include_headers: 'Authorization: Bearer sk-user' });
        expect(s.fake.toastsOf('warning').join('\n')).toContain('Preset "PA"');
    });

    it('reads the presets once for a whole turn, not per request', async () => {
        const s = scenario();
        startController(s);
        await s.fake.openGroup(GROUP);
        await s.fake.idle();
        const reads = s.fake.counts.presetReads;
        await s.fake.runGroupTurn({ members: [ALICE, BOB, CAROL] });
        expect(s.fake.counts.presetReads).toBe(reads);
    });
});

describe('ProfilesController with untrusted names', () => {
    it('puts names with HTML into toasts as plain text, for the host to escape', async () => {
        const evil = '<img src=x onerror=alert(1)>';
        const s = scenario();
        s.fake.st.characters[s.alice]!.name = evil;
        s.fake.cm.profiles.find((p) => p.id === A.id)!.name = `<b>${evil}</b>`;
        startController(s);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE] });
        expect(s.fake.toastsOf('info')).toEqual([`${evil} → <b>${evil}</b>`]);
        expect(s.fake.requests[0]?.body.model).toBe('gpt-a');
    });
});
