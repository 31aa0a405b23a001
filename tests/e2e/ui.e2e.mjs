// Ensemble's UI in real SillyTavern 1.12.6: a new, unsaved character, the group editor's default,
// the settings panel, and the one-time Multi-Model Chat import offered at startup.
import path from 'node:path';
import { createChecks, runSuite, installEnsemble, loadRig, outDir, setupConnection } from './lib.mjs';

const st = await loadRig();
const checks = createChecks('ui');
const { check } = checks;

await runSuite(st, checks, 'ui', async (browser) => {
    let s = await st.openST(browser);
    let page = s.page;
    await setupConnection(st, page);
    await installEnsemble(st, page);

    // A new character: assign before it exists; ST posts our extension field on create.
    await st.openCharactersDrawer(page);
    await page.locator('#rm_button_create').click();
    await page.locator('#character_name_pole').fill('Dana');
    await page.locator('#advanced_div').click();
    await page.locator('#ensemble_card_section select').selectOption({ label: 'Mock-B' });
    await page.locator('#character_cross').click();
    await page.locator('#create_button_label').click();
    await page.waitForFunction(() => SillyTavern.getContext().characters.some((c) => c.name === 'Dana'), null, { timeout: 20_000 });
    const dana = await page.evaluate(() => SillyTavern.getContext().characters.find((c) => c.name === 'Dana').data?.extensions?.ensemble);
    check('a new, unsaved character keeps the profile picked before it was created', dana?.profileName === 'Mock-B' && !!dana?.profileId, dana);
    await st.closeCharactersDrawer(page);

    // Group editor default.
    const groupId = await st.createGroup(page, { name: 'Editors', members: ['Alice', 'Bob'], activation: 1 });
    await st.openGroup(page, groupId);
    await st.openCharactersDrawer(page);
    const groupSelect = page.locator('#ensemble_group_section select');
    await groupSelect.waitFor({ state: 'visible', timeout: 10_000 });
    await groupSelect.selectOption({ label: 'Mock-C' });
    const defaults = await page.evaluate(() => SillyTavern.getContext().extensionSettings.ensemble.profiles.groupDefaults);
    check('the group editor sets the group default', defaults[groupId]?.name === 'Mock-C', defaults);
    check('/ens-profile group=… reads it back', (await st.slash(page, '/ens-profile group=Editors')) === 'Mock-C');
    await st.closeCharactersDrawer(page);

    // Settings panel.
    await st.openExtensionsDrawer(page);
    await page.locator('#ensemble_settings .inline-drawer-toggle').click();
    await page.locator('#ensemble_settings [data-ens-setting="soloAuto"]').check();
    await page.locator('#ensemble_settings [data-ens="fallback"]').selectOption({ label: 'Mock-A' });
    const saved = await page.evaluate(() => SillyTavern.getContext().extensionSettings.ensemble.profiles);
    check('panel toggles and the global fallback are saved', saved.soloAuto === true && saved.fallback?.name === 'Mock-A', saved);

    // One sub-drawer per feature, open on first use; Ensemble's own header (ST's handler) leaves them as they are.
    const drawers = () => page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#ensemble_settings [data-ens-drawer]')].map((d) => {
        const content = d.querySelector('.ensemble-subdrawer-content');
        const expanded = d.querySelector('.ensemble-subdrawer-toggle')?.getAttribute('aria-expanded');
        return [d.dataset.ensDrawer, `${expanded === 'true' ? 'open' : 'closed'}${content?.getBoundingClientRect().height ? '' : ' hidden'}`];
    })));
    const toggle = (name) => page.locator(`#ensemble_settings [data-ens-drawer="${name}"] > .ensemble-subdrawer-toggle`);
    const ensembleHeader = page.locator('#ensemble_settings .inline-drawer-toggle');
    const ensembleContent = page.locator('#ensemble_settings .inline-drawer-content');
    let shown = await drawers();
    check('the panel has one sub-drawer per feature, all open on first use', JSON.stringify(shown) === JSON.stringify({ profiles: 'open', images: 'open', bridge: 'open', nextchat: 'open' }), shown);
    await toggle('images').click();
    await ensembleHeader.click();
    await ensembleContent.waitFor({ state: 'hidden' });
    await ensembleHeader.click();
    await ensembleContent.waitFor({ state: 'visible' });
    await st.sleep(500); // ST's slide
    shown = await drawers();
    check('closing and opening Ensemble\'s drawer keeps each sub-drawer as it was', JSON.stringify(shown) === JSON.stringify({ profiles: 'open', images: 'closed hidden', bridge: 'open', nextchat: 'open' }), shown);
    await toggle('nextchat').focus();
    await page.keyboard.press('Enter');
    // The README's picture: the first sub-drawer open, the others collapsed (so the panel fits ST's drawer).
    await toggle('bridge').click();
    await page.evaluate(() => { globalThis.toastr?.clear(); document.activeElement?.blur?.(); });
    await page.locator('#ensemble_settings').scrollIntoViewIfNeeded();
    await st.sleep(300);
    await page.locator('#ensemble_settings').screenshot({ path: path.join(outDir(), 'settings-panel.png') });
    await toggle('bridge').click();
    await st.flushSettings(page);
    await page.reload({ waitUntil: 'domcontentloaded' });
    await st.waitForReady(page);
    await page.waitForFunction(() => !!document.getElementById('ensemble_settings'), null, { timeout: 20_000 });
    await st.openExtensionsDrawer(page);
    await ensembleHeader.click();
    await ensembleContent.waitFor({ state: 'visible' });
    await st.sleep(500);
    shown = await drawers();
    check('after a reload the collapsed sub-drawers stay collapsed, the others open', JSON.stringify(shown) === JSON.stringify({ profiles: 'open', images: 'closed hidden', bridge: 'open', nextchat: 'closed hidden' }), shown);
    await toggle('images').focus();
    await page.keyboard.press('Enter');
    await toggle('nextchat').focus();
    await page.keyboard.press(' ');
    shown = await drawers();
    check('Enter and Space on a focused sub-drawer header open it (once: ST adds no second toggle)', JSON.stringify(shown) === JSON.stringify({ profiles: 'open', images: 'open', bridge: 'open', nextchat: 'open' }), shown);
    await st.closeExtensionsDrawer(page);

    // 1:1 chat with "Also in 1:1 chats" on: Alice has no profile of her own, so the fallback (Mock-A) applies.
    await page.evaluate(async () => {
        const ctx = SillyTavern.getContext();
        await ctx.selectCharacterById(String(ctx.characters.findIndex((c) => c.name === 'Alice')));
    });
    await page.waitForFunction(() => !SillyTavern.getContext().groupId, null, { timeout: 15_000 });
    const since = Date.now();
    await st.sendAndWait(page, 'hello Alice', { expectReplies: 1 });
    const solo = (await st.mockRequests({ since })).filter((r) => r.path?.includes('chat/completions'));
    check('a 1:1 chat uses the fallback profile when opted in', solo.length === 1 && solo[0].model === 'gpt-a' && solo[0].key === 'sk-a', solo.map((r) => `${r.model}:${r.key}`));
    check('and ST\'s own profile stays the user\'s', (await st.stState(page)).selectedProfile === 'Mine');

    // Multi-Model Chat's settings, then a reload: Ensemble offers the import once.
    await page.evaluate(async () => {
        SillyTavern.getContext().extensionSettings.multi_model_chat = { characterProfiles: { 'Carol.png': 'Mock-C', Bob: 'Mock-B', Ghost: 'Mock-A' }, groupDefaults: {} };
        const sc = await import('/script.js');
        await sc.saveSettings();
    });
    await st.closeSession(s, { flush: false });
    s = await st.openST(browser);
    page = s.page;
    await st.answerPopup(page, { contains: 'Multi-Model Chat', timeout: 20_000 });
    await page.waitForFunction(() => SillyTavern.getContext().characters.find((c) => c.name === 'Carol')?.data?.extensions?.ensemble?.profileName === 'Mock-C', null, { timeout: 15_000 });
    // The import writes the cards one after another and reports when all are written.
    await page.locator('#toast-container .toast:has-text("Imported")').waitFor({ timeout: 15_000 });
    const imported = await page.evaluate(() => Object.fromEntries(SillyTavern.getContext().characters.map((c) => [c.name, c.data?.extensions?.ensemble?.profileName ?? null])));
    check('Multi-Model Chat assignments are imported into cards (by avatar and by name)', imported.Carol === 'Mock-C' && imported.Bob === 'Mock-B', imported);
    await page.locator('#toast-container .toast:has-text("Imported")').waitFor({ timeout: 15_000 });
    const report = await page.evaluate(() => [...document.querySelectorAll('#toast-container .toast')].map((t) => t.textContent).join(' | '));
    check('the import reports what it skipped', /Ghost/.test(report), report);
    await st.closeSession(s);
    s = await st.openST(browser);
    page = s.page;
    await st.sleep(1500);
    const asked = await page.locator('dialog.popup[open]:has-text("Multi-Model Chat")').count();
    check('the import is offered only once', asked === 0);
    check('no uncaught page errors', s.pageErrors.length === 0, s.pageErrors.map((e) => e.message).slice(0, 3));
    await st.closeSession(s);
}, { timeoutMs: 600_000 });
