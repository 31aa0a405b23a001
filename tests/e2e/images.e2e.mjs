// Scene images in real SillyTavern 1.12.6: /genimage → preview → Accept → a hidden message with an
// image file in the user's images folder, surviving reload and /unhide; the message button inserts in
// the right place and later edits/deletes still hit the right messages; auto mode makes one picture per
// new reply and none for swipes; script payloads never run; every failure is a toast with the chat unchanged.
import fs from 'node:fs';
import path from 'node:path';
import { startImageServer } from './image-server.mjs';
import { configureImages, imageServerFields, createChecks, installEnsemble, loadRig, outDir, runSuite, setupConnection } from './lib.mjs';

const st = await loadRig();
const checks = createChecks('images');
const { check } = checks;
const MOCK_ORIGIN = new URL(st.MOCK_URL).origin;

const chatState = (page) => page.evaluate(() => {
    const ctx = SillyTavern.getContext();
    return {
        chatId: ctx.getCurrentChatId(),
        messages: ctx.chat.map((m) => ({ name: m.name, mes: m.mes, is_system: !!m.is_system, is_user: !!m.is_user, image: m.extra?.image ?? null, title: m.extra?.title ?? null })),
        dom: [...document.querySelectorAll('#chat .mes')].map((el) => ({ mesid: Number(el.getAttribute('mesid')), text: el.querySelector('.mes_text')?.textContent?.trim() ?? '', img: el.querySelector('.mes_img')?.getAttribute('src') ?? null })),
    };
});

function chatFile(chatId) {
    const dir = path.join(st.ST_DATA, 'default-user', 'chats', 'Alice');
    const file = path.join(dir, `${chatId}.jsonl`);
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
}

/** Waits for the preview popup and presses one of its buttons. */
async function answerPreview(page, button, { timeout = 30_000, screenshot } = {}) {
    const dlg = page.locator('dialog.popup[open]:has(.ensemble-preview)');
    await dlg.waitFor({ state: 'visible', timeout });
    if (screenshot) {
        await st.sleep(500);
        await st.screenshot(page, screenshot);
    }
    const preview = await dlg.evaluate((el) => ({
        images: [...el.querySelectorAll('.ensemble-preview-images img')].map((i) => i.getAttribute('src')?.slice(0, 30)),
        prompt: el.querySelector('textarea')?.value ?? '',
    }));
    await dlg.locator(`.popup-controls >> text="${button}"`).click();
    await dlg.waitFor({ state: 'detached', timeout }).catch(() => {});
    return preview;
}

async function lastToast(page, level, since) {
    const sel = `#toast-container .toast-${level}`;
    await page.locator(sel).last().waitFor({ state: 'visible', timeout: 20_000 });
    await st.sleep(200);
    return page.evaluate(({ sel }) => [...document.querySelectorAll(sel)].map((t) => t.textContent).pop(), { sel, since });
}

await runSuite(st, checks, 'images', async (browser) => {
    const images = await startImageServer({ mockBase: MOCK_ORIGIN });
    try {
        let s = await st.openST(browser);
        let page = s.page;
        await setupConnection(st, page);
        await installEnsemble(st, page);
        await configureImages(st, page, imageServerFields(images));

        // A 5-message chat with Alice: user, Alice, user, Alice, user.
        await page.evaluate(async () => {
            const ctx = SillyTavern.getContext();
            await ctx.selectCharacterById(String(ctx.characters.findIndex((c) => c.name === 'Alice')));
        });
        await page.waitForFunction(() => SillyTavern.getContext().characterId !== undefined && !SillyTavern.getContext().groupId);
        await st.sendAndWait(page, 'Show me your ferns.', { expectReplies: 1 });
        await st.sendAndWait(page, 'And the greenhouse?', { expectReplies: 1 });
        await st.slash(page, '/send One more question later.');
        let state = await chatState(page);
        check('a 5-message chat to start from', state.messages.length === 5 && !state.messages[1].is_user && !state.messages[3].is_user, state.messages.map((m) => m.name));

        // /genimage on the last character message → preview → Accept.
        const run = st.slash(page, '/genimage', { timeout: 60_000 });
        const preview = await answerPreview(page, 'Accept', { screenshot: path.join(outDir(), 'image-preview.png') });
        const saved = await run;
        check('the preview shows our data: image and the prompt the LLM wrote', preview.images.length === 1 && preview.images[0].startsWith('data:image/png') && /hello from gpt-c/.test(preview.prompt), preview);
        state = await chatState(page);
        const inserted = state.messages[4];
        check('/genimage returns the stored path in the user\'s images folder', /^\/?user\/images\/Alice\/ensemble_\d+\.png$/.test(saved), saved);
        check('the picture is a hidden message right after the last character message', state.messages.length === 6 && inserted.image === saved && inserted.is_system && inserted.title === preview.prompt, inserted);
        check('its file exists on disk', fs.existsSync(path.join(st.ST_DATA, 'default-user', saved)), saved);
        const imgReq = images.seen.filter((r) => r.path.endsWith('/images/generations')).pop();
        check('the image API got its own key, the prompt LLM its own', imgReq?.auth === 'Bearer sk-image' && images.seen.some((r) => r.path.endsWith('/chat/completions') && r.auth === 'Bearer sk-prompt'), images.seen.slice(-2));
        await page.locator('#chat .mes[mesid="4"] .mes_img').waitFor({ timeout: 10_000 }).catch(() => {});
        await st.screenshot(page, path.join(outDir(), 'image-message.png'));

        // The message button on message 1 inserts after message 1; later edits and deletes hit the right messages.
        await page.locator('#chat .mes[mesid="1"] .extraMesButtonsHint').click();
        const clicked = page.locator('#chat .mes[mesid="1"] .ensemble_genimage');
        await clicked.click();
        await answerPreview(page, 'Accept');
        await page.waitForFunction(() => SillyTavern.getContext().chat.length === 7, null, { timeout: 20_000 });
        state = await chatState(page);
        check('the message button on #1 inserts the picture at #2', state.messages[2].image && state.messages[2].is_system && state.messages[1].name === 'Alice' && !state.messages[1].image, state.messages.map((m) => `${m.name}:${m.image ? 'img' : m.mes.slice(0, 12)}`));
        check('every shown message\'s mesid matches its place in the chat', state.dom.every((d, i) => d.mesid === i), state.dom.map((d) => d.mesid));
        const secondReply = state.messages[4].mes;
        await page.locator('#chat .mes[mesid="4"] .mes_edit').click();
        await page.locator('#chat .mes[mesid="4"] .edit_textarea').fill('Edited reply about ferns.');
        await page.locator('#chat .mes[mesid="4"] .mes_edit_done').click();
        await st.sleep(500);
        state = await chatState(page);
        check('editing message #4 after the insert edits Alice\'s second reply', state.messages[4].mes === 'Edited reply about ferns.' && state.messages[4].name === 'Alice' && secondReply.includes('hello from'), state.messages[4]);
        await page.locator('#chat .mes[mesid="6"] .mes_edit').click();
        await page.locator('#chat .mes[mesid="6"] .mes_edit_delete').click();
        await st.answerPopup(page, { timeout: 10_000 }).catch(() => {});
        await page.waitForFunction(() => SillyTavern.getContext().chat.length === 6, null, { timeout: 10_000 });
        state = await chatState(page);
        check('deleting message #6 deletes the last user message, nothing else', state.messages.length === 6 && state.messages.every((m) => m.mes !== 'One more question later.') && state.messages[5].image, state.messages.map((m) => m.name));

        // Reload: the pictures are still there, then /unhide shows one to the model.
        const chatId = state.chatId;
        await st.closeSession(s);
        s = await st.openST(browser);
        page = s.page;
        await page.evaluate(async () => {
            const ctx = SillyTavern.getContext();
            await ctx.selectCharacterById(String(ctx.characters.findIndex((c) => c.name === 'Alice')));
        });
        await page.waitForFunction((id) => SillyTavern.getContext().getCurrentChatId() === id, chatId, { timeout: 20_000 });
        state = await chatState(page);
        check('after reload both pictures are in the chat file and shown', state.messages.filter((m) => m.image).length === 2 && state.dom.filter((d) => d.img).length === 2, state.dom);
        await st.slash(page, '/unhide 5');
        await st.sleep(1500);
        state = await chatState(page);
        check('/unhide makes the picture message visible to the model', state.messages[5].image && !state.messages[5].is_system);

        // Script payloads: the prompt LLM answers with markup and script; the picture is accepted.
        await images.setMode('evilprompt');
        const evil = st.slash(page, '/genimage', { timeout: 60_000 });
        const evilPreview = await answerPreview(page, 'Accept');
        await evil;
        await images.setMode('proxy');
        state = await chatState(page);
        // ST renders message text through its own DOMPurify; what matters is that nothing can run.
        const xss = await page.evaluate(() => ({ flag: window.__xss ?? null, injected: document.querySelectorAll('#chat script, #chat [onerror], #chat [onload]').length }));
        const evilMessage = state.messages.find((m) => m.title?.includes('日本の庭'));
        check('an LLM prompt with script is shown and stored as text, non-ASCII kept', /<script>/.test(evilPreview.prompt) && evilMessage?.title === evilPreview.prompt && /日本の庭, Grüße/.test(evilMessage.title), evilMessage);
        check('no script from the LLM reply ever ran, and no element carries a handler', xss.flag === null && xss.injected === 0, xss);

        // URL results: read and stored in ST when the server allows it; kept as a URL (with a note) when CORS forbids it.
        await configureImages(st, page, { responseFormat: 'url' });
        let urlRun = st.slash(page, '/genimage prompt="a fern by url"', { timeout: 60_000 });
        await answerPreview(page, 'Accept');
        const storedFromUrl = await urlRun;
        check('a url result is fetched and stored in ST like a b64 one', /^\/?user\/images\/Alice\/ensemble_\d+\.png$/.test(storedFromUrl), storedFromUrl);
        await images.setMode('corsurl');
        urlRun = st.slash(page, '/genimage prompt="a fern behind CORS"', { timeout: 60_000 });
        const corsPreview = await page.locator('dialog.popup[open]:has(.ensemble-preview) [data-ens="note"]').textContent({ timeout: 30_000 });
        await answerPreview(page, 'Accept');
        const keptUrl = await urlRun;
        check('a url the browser may not read: the preview says so and the URL is kept', keptUrl.startsWith(MOCK_ORIGIN) && /CORS/.test(corsPreview ?? ''), `${keptUrl} | ${corsPreview}`);
        await images.setMode('proxy');
        await configureImages(st, page, { responseFormat: 'b64_json' });

        // The keyboard alone: focus starts in the prompt, Tab reaches every button, Escape discards.
        const kbLength = (await chatState(page)).messages.length;
        const kbRun = st.slash(page, '/genimage prompt="a fern by keyboard"', { timeout: 60_000 });
        const kbDialog = page.locator('dialog.popup[open]:has(.ensemble-preview)');
        await kbDialog.waitFor({ state: 'visible', timeout: 30_000 });
        await st.sleep(500);
        const focused = () => page.evaluate(() => {
            const el = document.activeElement;
            return el?.getAttribute('data-ens') ?? el?.textContent?.trim() ?? el?.tagName ?? '';
        });
        const firstFocus = await focused();
        const reached = [];
        for (let i = 0; i < 5; i++) {
            await page.keyboard.press('Tab');
            reached.push(await focused());
        }
        await page.keyboard.press('Escape');
        const kbOut = await kbRun;
        await kbDialog.waitFor({ state: 'detached', timeout: 10_000 }).catch(() => {});
        check('keyboard: the preview opens with focus in the prompt, Tab reaches Regenerate, New prompt, Accept and Discard, Escape discards',
            firstFocus === 'prompt' && ['Regenerate', 'New prompt', 'Accept', 'Discard'].every((b) => reached.includes(b)) && kbOut === ''
            && (await chatState(page)).messages.length === kbLength && (await kbDialog.count()) === 0, { firstFocus, reached, kbOut });

        // Auto mode: one picture per new reply, none for a swipe.
        await configureImages(st, page, { auto: true });
        let before = (await chatState(page)).messages.length;
        await page.locator('#send_textarea').fill('Tell me about moss.');
        await page.locator('#send_but').click();
        await answerPreview(page, 'Accept', { timeout: 60_000 });
        await page.waitForFunction((n) => SillyTavern.getContext().chat.length === n + 3, before, { timeout: 20_000 });
        state = await chatState(page);
        check('auto mode: one picture for the new reply, right after it', state.messages.at(-1).image && !state.messages.at(-2).image && state.messages.at(-2).name === 'Alice', state.messages.slice(-3).map((m) => m.name + (m.image ? ':img' : '')));
        // Swipe the last reply (it must be the last message: remove the picture first, as ST only swipes the last).
        await st.slash(page, '/del 1');
        before = (await chatState(page)).messages.length;
        await page.locator('#chat .last_mes .swipe_right').click();
        await st.waitForReplies(page, { fromIndex: 0, expectReplies: 1 });
        await st.sleep(3000);
        const popupAfterSwipe = await page.locator('dialog.popup[open]:has(.ensemble-preview)').count();
        check('auto mode makes no picture for a swipe', popupAfterSwipe === 0 && (await chatState(page)).messages.length === before);
        await configureImages(st, page, { auto: false });

        // Failures: each a toast, the chat file byte-identical.
        const failures = [
            ['API down', { imageUrl: 'http://127.0.0.1:9/v1' }, 'proxy'],
            ['401', {}, 'unauthorized'],
            ['429', {}, 'ratelimited'],
            ['HTML error page', {}, 'html'],
            ['non-JSON', {}, 'notjson'],
            ['empty result', {}, 'empty'],
            ['javascript: URL', { responseFormat: 'url' }, 'javascript'],
            ['data:text/html URL', {}, 'datahtml'],
            ['SVG with script', {}, 'svg'],
            ['50 MB image', {}, 'huge'],
            ['CORS refusal', { imageUrl: `${MOCK_ORIGIN}/v1`, responseFormat: 'b64_json' }, 'proxy'],
        ];
        await configureImages(st, page, { 'promptEndpoint.url': `${images.base}/v1` });
        for (const [label, fields, mode] of failures) {
            await configureImages(st, page, { imageUrl: `${images.base}/v1`, ...fields });
            await images.setMode(mode);
            const file = chatFile(state.chatId);
            const length = (await chatState(page)).messages.length;
            const t = Date.now();
            const out = await st.slash(page, '/genimage prompt="a fern"', { timeout: 60_000 });
            const toast = await lastToast(page, 'error', t).catch(() => null);
            const after = await chatState(page);
            check(`${label}: an error toast, nothing inserted, the chat file unchanged`, out === '' && !!toast && after.messages.length === length && chatFile(state.chatId) === file, toast);
            await page.evaluate(() => window.toastr?.clear());
        }
        await images.setMode('proxy');
        check('no script from any payload ever ran', (await page.evaluate(() => window.__xss ?? null)) === null);
        check('no uncaught page errors', s.pageErrors.length === 0, s.pageErrors.map((e) => e.message).slice(0, 3));
        await st.closeSession(s);
    } finally {
        await images.stop();
    }
}, { timeoutMs: 900_000 });
