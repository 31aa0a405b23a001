import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ALICE, B, BOB, CAROL, GROUP, MINE, T, assign, scenario, startController } from './scenario';

/** Regressions for behaviours found in review: switching without a profile to return to, warning once, fewer switches. */
beforeEach(() => {
    for (const level of ['info', 'debug', 'warn'] as const) vi.spyOn(console, level).mockImplementation(() => undefined);
});
afterEach(() => { vi.restoreAllMocks(); });

describe('ProfilesController after review', () => {
    it('refuses a full switch when the user has no profile of their own to return to, and says so', async () => {
        const s = scenario();
        assign(s.fake, s.alice, { profileId: T.id, profileName: T.name });
        s.fake.cm.selectedProfile = null;
        startController(s);
        await s.fake.openGroup(GROUP);
        const result = await s.fake.runGroupTurn({ members: [ALICE, BOB] });
        await s.fake.idle();
        expect(result.stopped).toBe(true);
        expect(s.fake.profileSelections).toEqual([]);
        expect(s.fake.requests).toEqual([]);
        expect(s.fake.toastsOf('error')).toEqual([expect.stringMatching(/^Alice's turn was stopped: .*select a Connection Profile of your own first/)]);
    });

    it('goes back to the user\'s connection once and routes the Chat Completion members after a switched one', async () => {
        const s = scenario((p) => { p.groupDefaults = {}; });
        assign(s.fake, s.alice, { profileId: T.id, profileName: T.name });
        assign(s.fake, s.carol, { profileId: B.id, profileName: B.name });
        startController(s);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE, BOB, CAROL] });
        // T for Alice, then one switch back to Mine; Bob and Carol are routed from there.
        expect(s.fake.profileSelections).toEqual([T.id, MINE.id]);
        expect(s.fake.requests.map((r) => [r.avatar, r.mainApi, r.body.model])).toEqual([
            [ALICE, 'textgenerationwebui', 'llama'], [BOB, 'openai', 'gpt-b'], [CAROL, 'openai', 'gpt-b'],
        ]);
    });

    it('warns about a deleted profile once per chat, not once per turn', async () => {
        const s = scenario();
        assign(s.fake, s.bob, { profileId: 'gone', profileName: 'Gone' });
        startController(s);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [BOB] });
        await s.fake.runGroupTurn({ members: [BOB] });
        expect(s.fake.toastsOf('warning').filter((m) => m.includes('"Gone"'))).toHaveLength(1);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [BOB] });
        expect(s.fake.toastsOf('warning').filter((m) => m.includes('"Gone"'))).toHaveLength(2);
    });

    it('reads the preset list once for a preset that no longer exists, and warns once', async () => {
        const s = scenario();
        delete s.fake.st.presets.PB;
        startController(s);
        await s.fake.openGroup(GROUP);
        await s.fake.idle();
        const reads = s.fake.counts.presetReads;
        for (let i = 0; i < 3; i++) await s.fake.runGroupTurn({ members: [BOB] });
        expect(s.fake.counts.presetReads - reads).toBe(1);
        expect(s.fake.toastsOf('warning').filter((m) => m.includes('Preset "PB"'))).toHaveLength(1);
        expect(s.fake.requests.at(-1)?.body).toMatchObject({ model: 'gpt-b', custom_url: 'http://b.local/v1' });
    });

    it('waits for ST to come back online after restoring the user\'s profile before the next member speaks', async () => {
        const s = scenario((p) => { p.groupDefaults = {}; });
        assign(s.fake, s.alice, { profileId: T.id, profileName: T.name });
        startController(s);
        await s.fake.openGroup(GROUP);
        s.fake.traps.offlineAfterSwitch = 3000;
        await s.fake.runGroupTurn({ members: [ALICE, CAROL] });
        expect(s.fake.dropped).toEqual([]);
        expect(s.fake.requests.map((r) => [r.avatar, r.mainApi])).toEqual([[ALICE, 'textgenerationwebui'], [CAROL, 'openai']]);
    });

    it('stops the turn with a toast, not a silent drop, when the user\'s profile does not come back online', async () => {
        const s = scenario((p) => { p.groupDefaults = {}; });
        assign(s.fake, s.alice, { profileId: T.id, profileName: T.name });
        startController(s);
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE] });
        s.fake.traps.offlineAfterSwitch = true;
        const result = await s.fake.runGroupTurn({ members: [CAROL, BOB] });
        await s.fake.idle();
        expect(result.stopped).toBe(true);
        expect(s.fake.requests.filter((r) => r.avatar !== ALICE)).toEqual([]);
        expect(s.fake.toastsOf('error')).toEqual(expect.arrayContaining([expect.stringMatching(/^Carol's turn was stopped: your own connection could not be restored/)]));
    });
});
