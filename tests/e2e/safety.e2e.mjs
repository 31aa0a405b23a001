// Bad input in real SillyTavern 1.12.6: names with HTML render inert, a deleted profile is reported
// (never fuzzy-matched), a group with a deleted member still works, malformed settings fall back
// to defaults with a visible warning and are kept.
import { createChecks, runSuite, installEnsemble, loadRig, setupConnection, waitForMock } from './lib.mjs';

const st = await loadRig();
const checks = createChecks('safety');
const { check } = checks;
const EVIL_CHAR = '<img src=x onerror="window.__xss=1">Eve';
const EVIL_PROFILE = '<img src=y onerror="window.__xss=2">Pro';

await runSuite(st, checks, 'safety', async (browser) => {
    let s = await st.openST(browser);
    let page = s.page;
    await setupConnection(st, page);
    const eve = await st.createCharacter(page, { name: EVIL_CHAR, description: 'test', color: '#555' });
    await st.setCustomModel(page, 'gpt-b');
    await st.createProfile(page, EVIL_PROFILE);
    await st.switchProfile(page, 'Mine');
    await installEnsemble(st, page);

    // Names with markup: assign through the UI, run a turn (notification toast), look for injected elements.
    await page.evaluate(async (avatar) => {
        const ctx = SillyTavern.getContext();
        await ctx.selectCharacterById(String(ctx.characters.findIndex((c) => c.avatar === avatar)));
    }, eve);
    await st.openCharactersDrawer(page);
    await page.locator('#advanced_div').click();
    const select = page.locator('#ensemble_card_section select');
    await select.selectOption({ label: EVIL_PROFILE });
    const optionTexts = await select.locator('option').allTextContents();
    check('a profile name with markup is listed as plain text', optionTexts.includes(EVIL_PROFILE), optionTexts);
    await page.locator('#character_cross').click();
    await st.closeCharactersDrawer(page);
    const groupId = await st.createGroup(page, { name: '<b>Bold</b> group', members: [eve, 'Bob', 'Carol'], activation: 1 });
    await st.slash(page, '/ens-profile char=Bob Mock-B');
    await st.openGroup(page, groupId);
    await st.sendAndWait(page, 'hello', { expectReplies: 3 });
    const toastTexts = await page.evaluate(() => [...document.querySelectorAll('#toast-container .toast')].map((t) => t.textContent));
    const xss = await page.evaluate(() => ({ flag: window.__xss ?? null, imgs: document.querySelectorAll('#toast-container img, #ensemble_card_section img, #ensemble_settings img').length }));
    // ST strips angle brackets from character names itself; the profile name keeps its markup.
    const eveName = await page.evaluate((a) => SillyTavern.getContext().characters.find((c) => c.avatar === a).name, eve);
    check('the notification names member and profile as text', toastTexts.some((t) => t.includes(`${eveName} → ${EVIL_PROFILE}`)), toastTexts);
    check('no markup from names ever ran or rendered', xss.flag === null && xss.imgs === 0, xss);

    // A deleted profile: Bob's Mock-B disappears (as if deleted in ST's profile manager).
    await page.evaluate(async () => {
        const cm = SillyTavern.getContext().extensionSettings.connectionManager;
        cm.profiles = cm.profiles.filter((p) => p.name !== 'Mock-B');
        const sc = await import('/script.js');
        await sc.saveSettings();
    });
    const since = Date.now();
    await st.sendAndWait(page, 'after deleting Mock-B', { expectReplies: 3 });
    const reqs = await waitForMock(st, { since, count: 3 });
    const bob = reqs.find((r) => r.as === 'Bob');
    const warned = await page.evaluate(() => [...document.querySelectorAll('#toast-container .toast-warning')].map((t) => t.textContent));
    check('a deleted profile gives a warning toast naming member and profile', warned.some((t) => t.includes('Bob') && t.includes('Mock-B') && t.includes('no longer exists')), warned);
    check('Bob then speaks through the user\'s connection, not a near-named profile', bob?.model === 'gpt-c' && bob?.key === 'sk-mine', bob);
    const bobIndex = await page.evaluate(() => SillyTavern.getContext().characters.findIndex((c) => c.name === 'Bob'));
    await page.evaluate(async (i) => SillyTavern.getContext().selectCharacterById(String(i)), bobIndex);
    await st.openCharactersDrawer(page);
    await page.locator('#advanced_div').click();
    const shown = await page.locator('#ensemble_card_section select option:checked').textContent();
    check('the card section shows the deleted profile as missing', shown === '⚠ missing: Mock-B', shown);
    await page.locator('#character_cross').click();
    await st.closeCharactersDrawer(page);

    // A group whose member was deleted.
    await st.openGroup(page, groupId);
    await page.evaluate(async () => {
        const ctx = SillyTavern.getContext();
        const carol = ctx.characters.find((c) => c.name === 'Carol');
        await fetch('/api/characters/delete', { method: 'POST', headers: ctx.getRequestHeaders(), body: JSON.stringify({ avatar_url: carol.avatar, delete_chats: false }) });
        const sc = await import('/script.js');
        await sc.getCharacters();
    });
    await st.openGroup(page, groupId);
    const r = await st.sendAndWait(page, 'with a deleted member', { expectReplies: 2 });
    check('a group with a deleted member still takes turns', r.replies >= 2, r);

    // Malformed settings: a hand-broken extension_settings.ensemble.
    await page.evaluate(async () => {
        SillyTavern.getContext().extensionSettings.ensemble = { version: 1, profiles: { enabled: 'yes please' } };
        const sc = await import('/script.js');
        await sc.saveSettings();
    });
    await st.closeSession(s, { flush: false });
    s = await st.openST(browser);
    page = s.page;
    const after = await page.evaluate(() => ({
        warning: document.querySelector('#ensemble_settings [data-ens="warning"]')?.textContent ?? '',
        hidden: document.querySelector('#ensemble_settings [data-ens="warning"]')?.hidden,
        backup: SillyTavern.getContext().extensionSettings.ensemble_invalid_backup,
        now: SillyTavern.getContext().extensionSettings.ensemble,
    }));
    check('malformed settings: a visible warning in the panel', !after.hidden && /invalid/.test(after.warning), after.warning.slice(0, 200));
    check('malformed settings: the broken value is kept, defaults are in use', after.backup?.profiles?.enabled === 'yes please' && after.now?.profiles?.enabled === true, after);
    check('no uncaught page errors', s.pageErrors.length === 0, s.pageErrors.map((e) => e.message).slice(0, 3));
    await st.closeSession(s);
}, { timeoutMs: 600_000 });
