import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ALICE, BOB, CAROL, GROUP, MINE, O, T, assign, scenario, startController } from './scenario';

/** ProfilesController when a profile needs a full, verified switch of ST's connection (Switcher). */
beforeEach(() => {
    for (const level of ['info', 'debug', 'warn'] as const) vi.spyOn(console, level).mockImplementation(() => undefined);
});
afterEach(() => { vi.restoreAllMocks(); });

function aliceOn(profile: { id: string; name: string }, change?: Parameters<typeof scenario>[0]) {
    const s = scenario(change);
    assign(s.fake, s.alice, { profileId: profile.id, profileName: profile.name });
    startController(s);
    return s;
}

describe('ProfilesController full switch', () => {
    it('switches ST to a Text Completion profile for that member\'s turn', async () => {
        const s = aliceOn(T);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE] });
        expect(s.fake.profileSelections).toEqual([T.id]);
        expect(s.fake.requests).toEqual([expect.objectContaining({ avatar: ALICE, mainApi: 'textgenerationwebui', body: { api: 'ooba', url: 'http://t.local', model: 'llama' } })]);
        expect(s.fake.toastsOf('info')).toEqual(['Alice → T']);
    });

    it('sends a routed member after a switched one through its own profile', async () => {
        const s = aliceOn(T);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE, BOB] });
        expect(s.fake.requests[1]).toMatchObject({ avatar: BOB, mainApi: 'openai', body: { model: 'gpt-b', custom_url: 'http://b.local/v1', custom_include_headers: 'Authorization: Bearer sk-b' } });
    });

    it('puts the user\'s profile back for an unassigned member after a switched one', async () => {
        const s = aliceOn(T, (p) => { p.groupDefaults = {}; });
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE, CAROL] });
        expect(s.fake.profileSelections).toEqual([T.id, MINE.id]);
        expect(s.fake.requests[1]).toMatchObject({ avatar: CAROL, mainApi: 'openai', body: { model: 'user-model', custom_url: 'http://user.local/v1' } });
    });

    it('fixes a stale model after the switch with /model, and the request carries the right model', async () => {
        const s = aliceOn(O);
        s.fake.traps.staleModelAfterSwitch = true;
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE] });
        expect(s.fake.modelCalls).toEqual(['gpt-4o']);
        expect(s.fake.requests[0]?.body).toMatchObject({ chat_completion_source: 'openai', model: 'gpt-4o' });
        expect(s.fake.requests[0]?.body).not.toHaveProperty('custom_url');
        expect(s.fake.cm.selectedProfile).toBe(O.id);
    });

    it('stops the turn, says why and restores the user\'s profile when the model stays wrong', async () => {
        const s = aliceOn(O);
        Object.assign(s.fake.traps, { staleModelAfterSwitch: true, stickyModel: true });
        await s.fake.openGroup(GROUP);
        const result = await s.fake.runGroupTurn({ members: [ALICE, BOB] });
        await s.fake.idle();
        expect(result.stopped).toBe(true);
        expect(s.fake.requests).toEqual([]);
        expect(s.fake.counts.stops).toBe(1);
        const errors = s.fake.toastsOf('error');
        expect(errors).toHaveLength(1);
        expect(errors[0]).toContain('Alice\'s turn was stopped');
        expect(errors[0]).toContain('"gpt-4o"');
        expect(s.fake.profileSelections).toEqual([O.id, MINE.id]);
        expect(s.fake.cm.selectedProfile).toBe(MINE.id);
        expect(s.fake.st.connection.source).toBe('custom');
    });

    it('waits for ST to come back online after a switch before the member speaks', async () => {
        const s = aliceOn(O);
        s.fake.traps.offlineAfterSwitch = 2000;
        await s.fake.openGroup(GROUP);
        const start = s.fake.now();
        await s.fake.runGroupTurn({ members: [ALICE] });
        expect(s.fake.now() - start).toBeGreaterThanOrEqual(2000);
        expect(s.fake.dropped).toEqual([]);
        expect(s.fake.requests[0]?.body.model).toBe('gpt-4o');
    });

    it('stops with an error instead of letting ST drop the turn silently when it stays offline', async () => {
        const s = aliceOn(O);
        s.fake.traps.offlineAfterSwitch = true;
        await s.fake.openGroup(GROUP);
        const start = s.fake.now();
        await s.fake.runGroupTurn({ members: [ALICE, BOB] });
        await s.fake.idle();
        expect(s.fake.now() - start).toBeGreaterThanOrEqual(30_000);
        expect(s.fake.requests).toEqual([]);
        expect(s.fake.drafted).toEqual([s.alice]);
        expect(s.fake.counts.stops).toBe(1);
        expect(s.fake.toastsOf('error')[0]).toMatch(/Alice's turn was stopped: ST could not connect with profile "O"/);
        expect(s.fake.cm.selectedProfile).toBe(MINE.id);
    });

    it('stops with PROFILE_SWITCH_TIMEOUT when ST never reports the profile loaded', async () => {
        const s = aliceOn(O, (p) => { p.switchTimeoutMs = 5000; });
        s.fake.traps.switchNeverEmits = true;
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE] });
        await s.fake.idle();
        expect(s.fake.requests).toEqual([]);
        expect(s.fake.counts.stops).toBe(1);
        const errors = s.fake.toastsOf('error');
        expect(errors[0]).toContain('within 5 s');
        // Restoring waits on the same stuck ST and says so.
        expect(errors[1]).toContain('Could not restore your connection profile');
    });
});

describe('ProfilesController restores the user\'s profile', () => {
    it('when the user leaves the group for another chat', async () => {
        const s = aliceOn(T);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE] });
        expect(s.fake.cm.selectedProfile).toBe(T.id);
        await s.fake.openCharacter(s.bob);
        expect(s.fake.cm.selectedProfile).toBe(MINE.id);
        expect(s.fake.st.mainApi).toBe('openai');
        expect(s.fake.st.connection).toMatchObject({ model: 'user-model', url: 'http://user.local/v1' });
    });

    it('not when the same group chat reloads', async () => {
        const s = aliceOn(T);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE] });
        await s.fake.openGroup(GROUP);
        expect(s.fake.cm.selectedProfile).toBe(T.id);
    });

    it('not on leaving when restoreOnLeave is off', async () => {
        const s = aliceOn(T, (p) => { p.restoreOnLeave = false; });
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE] });
        await s.fake.openCharacter(s.bob);
        expect(s.fake.cm.selectedProfile).toBe(T.id);
    });

    it('when the user stops a generation after a switch', async () => {
        const s = aliceOn(T);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE] });
        s.fake.stopGeneration();
        await s.fake.idle();
        expect(s.fake.cm.selectedProfile).toBe(MINE.id);
    });

    it('applies a switch-only profile on entering a 1:1 chat with soloAuto, and restores on leaving', async () => {
        const s = aliceOn(T, (p) => { p.soloAuto = true; });
        await s.fake.openCharacter(s.alice);
        expect(s.fake.cm.selectedProfile).toBe(T.id);
        await s.fake.generate();
        expect(s.fake.requests[0]?.mainApi).toBe('textgenerationwebui');
        await s.fake.openCharacter(s.carol);
        expect(s.fake.cm.selectedProfile).toBe(MINE.id);
    });
});
