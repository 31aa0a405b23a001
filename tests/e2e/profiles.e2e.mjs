// Per-character profiles in real SillyTavern 1.12.6: the "done when" of the profiles issue.
// Group "Alice & Bob & Carol" (list activation): Alice → Mock-A (gpt-a, key sk-a in its preset),
// Bob → Mock-B (gpt-b, sk-b), Carol unassigned with group default Mock-C (gpt-c, sk-c); the user's
// own profile is "Mine" (gpt-c, sk-mine). Every reply must come from its member's model and key.
import path from 'node:path';
import { createChecks, runSuite, installEnsemble, loadRig, outDir, setupConnection, waitForMock } from './lib.mjs';

const st = await loadRig();
const checks = createChecks('profiles');
const { check } = checks;
const GROUP = 'Alice & Bob & Carol';
const TURNS = Number(process.env.E2E_TURNS || 10);
const EXPECT = { Alice: ['gpt-a', 'sk-a'], Bob: ['gpt-b', 'sk-b'], Carol: ['gpt-c', 'sk-c'] };

/** Each chat request's speaker (the mock reads ST's group nudge) must match its model and key. */
function wrongRouted(reqs) {
    return reqs.filter((r) => !EXPECT[r.as] || EXPECT[r.as][0] !== r.model || EXPECT[r.as][1] !== r.key)
        .map((r) => `${r.as}:${r.model}:${r.key}`);
}

async function turns(page, label, n) {
    const since = Date.now();
    let dropped = 0;
    for (let i = 0; i < n; i++) {
        try {
            await st.sendAndWait(page, `${label} turn ${i + 1}: what do you all think?`, { expectReplies: 3, timeout: 60_000, settleMs: 300 });
        } catch (e) {
            dropped++;
            console.log(`  ${label} turn ${i + 1}: ${e.message.slice(0, 300)}`);
        }
    }
    const reqs = await waitForMock(st, { since, count: n * 3 });
    check(`${label}: ${n} turns, none dropped`, dropped === 0, `${dropped} dropped`);
    check(`${label}: ${n * 3} requests, each from its member's model and key`, reqs.length === n * 3 && wrongRouted(reqs).length === 0,
        `${reqs.length} requests; wrong: ${wrongRouted(reqs).slice(0, 6).join(', ') || 'none'}`);
}

async function userProfileIntact(page, label) {
    const s = await st.stState(page);
    check(`${label}: ST's selected profile is still the user's`, s.selectedProfile === 'Mine', s.selectedProfile);
    check(`${label}: ST's connection is still the user's (gpt-c, sk-mine)`, s.customModel === 'gpt-c' && /sk-mine/.test(s.customHeaders ?? ''), `${s.customModel} ${s.customHeaders}`);
}

/** Assign through the real UI: Alice's Advanced Definitions → Ensemble → profile dropdown. */
async function assignInAdvancedDefinitions(page, name, profile) {
    await page.evaluate(async (n) => {
        const ctx = SillyTavern.getContext();
        await ctx.selectCharacterById(String(ctx.characters.findIndex((c) => c.name === n)));
    }, name);
    await page.waitForFunction((n) => document.getElementById('character_name_pole')?.value === n, name, { timeout: 10_000 });
    await st.openCharactersDrawer(page);
    await page.locator('#advanced_div').click();
    const select = page.locator('#ensemble_card_section select');
    await select.waitFor({ state: 'visible', timeout: 10_000 });
    await select.selectOption({ label: profile });
    await page.waitForFunction((p) => {
        const ctx = SillyTavern.getContext();
        return ctx.characters[Number(ctx.characterId)]?.data?.extensions?.ensemble?.profileName === p;
    }, profile, { timeout: 10_000 });
}

await runSuite(st, checks, 'profiles', async (browser) => {
    let s = await st.openST(browser);
    let page = s.page;
    await setupConnection(st, page);
    const install = await installEnsemble(st, page);
    check('installed through ST\'s own installer from a loopback git URL', true, install.toast);

    await assignInAdvancedDefinitions(page, 'Alice', 'Mock-A');
    const card = await page.evaluate(() => SillyTavern.getContext().characters.find((c) => c.name === 'Alice').data.extensions.ensemble);
    check('Advanced Definitions stores the assignment in the card by id and name', card.profileName === 'Mock-A' && !!card.profileId, card);
    await page.locator('#toast-container .toast').first().waitFor({ state: 'detached', timeout: 15_000 }).catch(() => {});
    await page.locator('#ensemble_card_section').scrollIntoViewIfNeeded();
    await st.screenshot(page, path.join(outDir(), 'advanced-definitions.png'));
    await page.locator('#character_cross').click();
    await st.closeCharactersDrawer(page);

    check('/ens-profile char=Bob Mock-B sets and returns the name', (await st.slash(page, '/ens-profile char=Bob Mock-B')) === 'Mock-B');
    check('/ens-profile char=Bob returns the assigned name', (await st.slash(page, '/ens-profile char=Bob')) === 'Mock-B');
    check('/ens-profile char=Carol returns empty when unassigned', (await st.slash(page, '/ens-profile char=Carol')) === '');
    check('/ens-profile with an unknown profile returns empty and changes nothing',
        (await st.slash(page, '/ens-profile char=Carol Nope')) === '' && (await st.slash(page, '/ens-profile char=Carol')) === '');

    const groupId = await st.createGroup(page, { name: GROUP, members: ['Alice', 'Bob', 'Carol'], activation: 1 });
    check('/ens-profile group=… sets the group default', (await st.slash(page, `/ens-profile group="${GROUP}" Mock-C`)) === 'Mock-C');
    const all = JSON.parse(await st.slash(page, '/ens-profiles'));
    check('/ens-profiles lists the assignments', all.characters['Alice.png']?.profile === 'Mock-A' && all.characters['Bob.png']?.profile === 'Mock-B'
        && all.groups[groupId]?.profile === 'Mock-C', all);
    await st.flushSettings(page);

    await st.openGroup(page, groupId);
    await st.mockReset();
    await turns(page, 'fresh page', TURNS);
    await userProfileIntact(page, 'after the turns');

    // /trigger Bob (force_chid) makes Bob's reply the last one; then swipe it.
    let since = Date.now();
    await st.slash(page, '/trigger await=true Bob', { timeout: 60_000 });
    let reqs = await waitForMock(st, { since, count: 1 });
    check('/trigger Bob goes through Mock-B', reqs.length === 1 && reqs[0].model === 'gpt-b' && reqs[0].key === 'sk-b', reqs.map((r) => `${r.as}:${r.model}:${r.key}`));
    await st.sleep(500);
    since = Date.now();
    await page.locator('#chat .last_mes .swipe_right').click();
    reqs = await waitForMock(st, { since, count: 1 });
    await st.waitForReplies(page, { fromIndex: 0, expectReplies: 1 });
    check('a swipe on Bob\'s reply uses gpt-b / sk-b', reqs.length === 1 && reqs[0].model === 'gpt-b' && reqs[0].key === 'sk-b', reqs.map((r) => `${r.model}:${r.key}`));

    // A quiet generation in a group drafts the last speaker (Bob).
    since = Date.now();
    const quiet = await st.slash(page, '/gen Say one word.', { timeout: 60_000 });
    reqs = await waitForMock(st, { since, count: 1 });
    check('a quiet generation (/gen) uses the drafted member\'s profile', reqs.length >= 1 && reqs[0].model === 'gpt-b' && reqs[0].key === 'sk-b' && /gpt-b/.test(quiet),
        `${reqs.map((r) => `${r.model}:${r.key}:stream=${r.stream}`)} → ${quiet}`);

    // Reload: ST 1.12.6's /profile keeps the wrong model here; routing does not depend on it.
    await st.closeSession(s);
    s = await st.openST(browser);
    page = s.page;
    await page.waitForFunction(() => SillyTavern.getContext().onlineStatus !== 'no_connection', null, { timeout: 30_000 });
    await st.openGroup(page, groupId);
    await turns(page, 'after reload', TURNS);
    await userProfileIntact(page, 'after reload');

    // Leave the group.
    await page.evaluate(async () => {
        const ctx = SillyTavern.getContext();
        await ctx.selectCharacterById(String(ctx.characters.findIndex((c) => c.name === 'Carol')));
    });
    await page.waitForFunction(() => !SillyTavern.getContext().groupId, null, { timeout: 15_000 });
    await userProfileIntact(page, 'after leaving the group');

    // Export Alice as PNG and import it back as a new character.
    const imported = await page.evaluate(async () => {
        const ctx = SillyTavern.getContext();
        const headers = ctx.getRequestHeaders();
        const exp = await fetch('/api/characters/export', { method: 'POST', headers, body: JSON.stringify({ format: 'png', avatar_url: 'Alice.png' }) });
        const blob = await exp.blob();
        const fd = new FormData();
        fd.append('avatar', new File([blob], 'Alice-copy.png', { type: 'image/png' }));
        fd.append('file_type', 'png');
        const res = await fetch('/api/characters/import', { method: 'POST', headers: { 'X-CSRF-Token': headers['X-CSRF-Token'] }, body: fd });
        const { file_name: fileName } = await res.json();
        const script = await import('/script.js');
        await script.getCharacters();
        const c = SillyTavern.getContext().characters.find((x) => x.avatar === `${fileName}.png`);
        return { fileName, ensemble: c?.data?.extensions?.ensemble };
    });
    const alice = await page.evaluate(() => SillyTavern.getContext().characters.find((c) => c.avatar === 'Alice.png').data.extensions.ensemble);
    check('Alice\'s card exported as PNG and re-imported keeps the assignment', imported.fileName !== 'Alice' && imported.ensemble?.profileId === alice.profileId && imported.ensemble?.profileName === 'Mock-A', imported);

    check('no uncaught page errors', s.pageErrors.length === 0, s.pageErrors.map((e) => e.message).slice(0, 3));
    await st.closeSession(s);
}, { timeoutMs: 900_000 });
