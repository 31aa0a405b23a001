// Ensemble in SillyTavern's language, in real SillyTavern 1.12.6: ST switched to Simplified Chinese (its
// "UI Language", kept in the browser) and reloaded shows Ensemble's panel headings, its toasts, the image
// preview's buttons and its slash-command help in Chinese, while names and prompts stay as they are.
// Expected texts are read from i18n/zh-cn.json and must differ from English, so an untranslated string fails.
import fs from 'node:fs';
import path from 'node:path';
import { startImageServer } from './image-server.mjs';
import { ROOT, configureImages, imageServerFields, createChecks, installEnsemble, loadRig, openEnsembleSection, outDir, runSuite, setupConnection } from './lib.mjs';

const st = await loadRig();
const checks = createChecks('i18n');
const { check } = checks;
const MOCK_ORIGIN = new URL(st.MOCK_URL).origin;
const en = JSON.parse(fs.readFileSync(path.join(ROOT, 'i18n', 'en.json'), 'utf8'));
const zh = JSON.parse(fs.readFileSync(path.join(ROOT, 'i18n', 'zh-cn.json'), 'utf8'));
/** The Chinese text of `key`, with placeholders filled; throws if it is missing or still English. */
function zhText(key, vars = {}) {
    const text = zh[key];
    if (!text || text === en[key]) throw new Error(`zh-cn has no translation of ${key}`);
    return text.replace(/\{(\w+)\}/g, (m, n) => (n in vars ? String(vars[n]) : m));
}
const HAN = /[\u4e00-\u9fff]/;

await runSuite(st, checks, 'i18n', async (browser) => {
    const images = await startImageServer({ mockBase: MOCK_ORIGIN });
    try {
        const s = await st.openST(browser);
        const page = s.page;
        await setupConnection(st, page);
        await installEnsemble(st, page);
        await configureImages(st, page, imageServerFields(images));
        const english = await page.locator('#ensemble_settings [data-ens-drawer="images"] > .ensemble-subdrawer-toggle b').textContent();
        check('in English first, the Scene images heading is English', english?.trim() === en['ensemble.panel.drawerImages'], english);

        // Switch ST's UI language the way its own selector does (localStorage 'language'), then reload
        // (ST's settings saved first: they are written through a 1 s debounce).
        await st.flushSettings(page);
        await page.evaluate(() => localStorage.setItem('language', 'zh-cn'));
        await page.reload({ waitUntil: 'domcontentloaded' });
        await st.waitForReady(page);
        const stItself = await page.locator('#ui_language_select').inputValue().catch(() => '');
        check('ST itself now runs in zh-cn', stItself === 'zh-cn', stItself);

        // Panel headings.
        await openEnsembleSection(st, page, 'profiles');
        const headings = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#ensemble_settings [data-ens-drawer]')]
            .map((d) => [d.getAttribute('data-ens-drawer'), d.querySelector(':scope > .ensemble-subdrawer-toggle b')?.textContent?.trim() ?? ''])));
        const want = {
            profiles: zhText('ensemble.panel.drawerProfiles'), images: zhText('ensemble.panel.drawerImages'),
            bridge: zhText('ensemble.panel.drawerBridge'), nextchat: zh['ensemble.panel.drawerNextchat'], // a product name: may stay as it is
        };
        check('the panel\'s sub-drawer headings are in Chinese', JSON.stringify(headings) === JSON.stringify(want), { headings, want });
        const label = await page.locator('#ensemble_settings [data-ens-setting="enabled"] + span').textContent();
        check('a panel label is in Chinese', label?.trim() === zhText('ensemble.profiles.enabled') && HAN.test(label), label);
        await st.screenshot(page, path.join(outDir(), 'i18n-panel-zh-cn.png'));
        await st.closeExtensionsDrawer(page);

        // Slash-command help.
        const help = await page.evaluate(() => SillyTavern.getContext().SlashCommandParser.commands.genimage?.helpString ?? '');
        check('/genimage\'s help is in Chinese', help.includes(zhText('ensemble.images.commandHelp').slice(0, 12)), help.slice(0, 80));

        // A toast, with the user's own value left as typed.
        await page.evaluate(() => window.toastr?.clear());
        await st.slash(page, '/genimage mesid=abc').catch(() => {});
        const toast = page.locator('#toast-container .toast-error').last();
        await toast.waitFor({ state: 'visible', timeout: 15_000 });
        const toastText = (await toast.textContent()) ?? '';
        check('an error toast is in Chinese, with the value the user typed untouched', toastText.includes(zhText('ensemble.images.commandBadMesid', { value: 'abc' })), toastText);

        // The preview's buttons: a reply from Alice, then /genimage.
        await page.evaluate(async () => {
            const ctx = SillyTavern.getContext();
            await ctx.selectCharacterById(String(ctx.characters.findIndex((c) => c.name === 'Alice')));
        });
        await page.waitForFunction(() => SillyTavern.getContext().characterId !== undefined && !SillyTavern.getContext().groupId);
        await st.sendAndWait(page, '给我看看你的蕨类植物。', { expectReplies: 1 });
        const run = st.slash(page, '/genimage', { timeout: 60_000 });
        const dlg = page.locator('dialog.popup[open]:has(.ensemble-preview)');
        await dlg.waitFor({ state: 'visible', timeout: 45_000 }).catch(async (e) => {
            const toasts = await page.evaluate(() => [...document.querySelectorAll('#toast-container .toast')].map((t) => t.textContent));
            const chat = await page.evaluate(() => SillyTavern.getContext().chat.map((m) => `${m.name}:${String(m.mes).slice(0, 40)}`));
            throw new Error(`no preview: ${e.message.split('\n')[0]}; toasts: ${JSON.stringify(toasts)}; chat: ${JSON.stringify(chat)}; console: ${JSON.stringify(s.console.slice(-12).map((c) => c.text.slice(0, 200)))}`);
        });
        await dlg.locator('.ensemble-preview-images img').first().waitFor({ timeout: 30_000 }).catch(() => {});
        await st.sleep(400);
        await st.screenshot(page, path.join(outDir(), 'i18n-preview-zh-cn.png'));
        const buttons = await dlg.evaluate((el) => [...el.querySelectorAll('.popup-controls .popup-button-ok, .popup-controls .popup-button-cancel, .popup-controls .popup-button-custom')]
            .filter((b) => b.offsetParent !== null).map((b) => b.textContent.trim()));
        const promptText = await dlg.evaluate((el) => el.querySelector('textarea')?.value ?? '');
        for (const key of ['ensemble.images.previewAccept', 'ensemble.images.previewRegenerate', 'ensemble.images.previewDiscard']) {
            check(`the preview has the button ${key} in Chinese`, buttons.includes(zhText(key)), buttons);
        }
        check('the prompt the LLM wrote is shown as written (not translated)', /hello from gpt-c/.test(promptText), promptText.slice(0, 80));
        await dlg.locator('.popup-controls').getByText(zhText('ensemble.images.previewAccept'), { exact: true }).click();
        await run;
        const added = page.locator('#toast-container .toast-success').last();
        await added.waitFor({ state: 'visible', timeout: 20_000 });
        const addedText = (await added.textContent()) ?? '';
        check('the success toast after Accept is in Chinese', addedText.includes(zhText('ensemble.images.added')), addedText);
        const names = await page.evaluate(() => SillyTavern.getContext().chat.map((m) => m.name));
        check('names are never translated', names.includes('Alice'), names);
        check('no page errors', s.pageErrors.length === 0, s.pageErrors.slice(0, 3));
    } finally {
        await images.stop();
    }
});
