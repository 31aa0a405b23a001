// ST's own Image Generation as Ensemble's picture source, in real SillyTavern 1.12.6.
// (1) Its OpenAI (DALL·E) source: ST posts to the fixed https://api.openai.com/v1/images/generations. ST is
// restarted with its request proxy's HTTPS traffic sent to a stand-in on loopback (this suite), which answers
// CONNECT api.openai.com:443 with a throwaway certificate ST trusts for this run only, and hands the request to
// the rig's mock. /genimage → preview (Regenerate, then Accept) → a hidden picture message after its source,
// whose path is the file ST stored. (2) Image Generation disabled in Manage Extensions: /genimage gives one toast
// saying what to do, and nothing is written (chat file, images folder, chat, no prompt LLM call).
/* global Event */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { RIG, configureImages, createChecks, installEnsemble, loadRig, openCharacter, openEnsembleSection, outDir, runSuite, setupConnection } from './lib.mjs';

const st = await loadRig();
const checks = createChecks('images-st');
const { check } = checks;
const MOCK_ORIGIN = new URL(st.MOCK_URL).origin;
const DALLE_KEY = 'sk-dalle-test';
const USER_DIR = path.join(st.ST_DATA, 'default-user');

/**
 * An HTTP proxy on 127.0.0.1 that lets through only CONNECT api.openai.com:443, ends the TLS itself with a
 * self-signed certificate for that name (made here with openssl), and forwards the image request to the mock.
 */
async function startOpenAiStandIn(dir) {
    fs.mkdirSync(dir, { recursive: true });
    const keyFile = path.join(dir, 'api-openai-test.key');
    const certFile = path.join(dir, 'api-openai-test.crt');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1',
        '-subj', '/CN=api.openai.com', '-addext', 'subjectAltName=DNS:api.openai.com', '-addext', 'basicConstraints=critical,CA:TRUE'], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
    const connects = [];
    const seen = [];
    const tlsServer = https.createServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) }, async (req, res) => {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const body = Buffer.concat(chunks).toString('utf8');
        seen.push({ method: req.method, host: req.headers.host, path: req.url, auth: req.headers.authorization, body: JSON.parse(body || '{}') });
        if (req.method !== 'POST' || req.url !== '/v1/images/generations') {
            res.writeHead(404, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ error: { message: `stand-in: no ${req.method} ${req.url}` } }));
            return;
        }
        const answer = await fetch(`${MOCK_ORIGIN}/v1/images/generations`, {
            method: 'POST', headers: { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' }, body,
        });
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
        res.end(Buffer.from(await answer.arrayBuffer()));
    });
    const proxy = http.createServer((req, res) => { res.writeHead(403); res.end(); });
    proxy.on('connect', (req, socket, head) => {
        connects.push(req.url);
        if (req.url !== 'api.openai.com:443') {
            socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
            return;
        }
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head?.length) socket.unshift(head);
        tlsServer.emit('connection', socket);
    });
    await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    return {
        url: `http://127.0.0.1:${proxy.address().port}`, certFile, connects, seen,
        stop: () => new Promise((resolve) => { proxy.closeAllConnections?.(); proxy.close(() => resolve()); }),
    };
}

const chatState = (page) => page.evaluate(() => {
    const ctx = SillyTavern.getContext();
    return {
        chatId: ctx.getCurrentChatId(),
        messages: ctx.chat.map((m) => ({ name: m.name, mes: m.mes, is_system: !!m.is_system, is_user: !!m.is_user, image: m.extra?.image ?? null, title: m.extra?.title ?? null })),
    };
});

const chatFile = (chatId) => {
    const file = path.join(USER_DIR, 'chats', 'Alice', `${chatId}.jsonl`);
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
};

function imageFiles() {
    const root = path.join(USER_DIR, 'user', 'images');
    if (!fs.existsSync(root)) return [];
    return fs.readdirSync(root, { recursive: true }).map(String).filter((f) => /\.(png|jpe?g|webp)$/.test(f)).sort();
}

/** Waits for the preview popup, reads it, and presses one of its buttons. */
async function answerPreview(page, button, { timeout = 60_000, screenshot } = {}) {
    const dlg = page.locator('dialog.popup[open]:has(.ensemble-preview)');
    await dlg.waitFor({ state: 'visible', timeout });
    await page.waitForFunction(() => [...document.querySelectorAll('dialog.popup[open] .ensemble-preview-images img')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 10_000 }).catch(() => {});
    if (screenshot) await st.screenshot(page, screenshot);
    const preview = await dlg.evaluate((el) => ({
        images: [...el.querySelectorAll('.ensemble-preview-images img')].map((i) => ({ src: i.getAttribute('src'), loaded: i.complete && i.naturalWidth > 0 })),
        prompt: el.querySelector('textarea')?.value ?? '',
        note: el.querySelector('[data-ens="note"]')?.hidden ? '' : el.querySelector('[data-ens="note"]')?.textContent ?? '',
    }));
    await dlg.locator(`.popup-controls >> text="${button}"`).click();
    await dlg.waitFor({ state: 'detached', timeout }).catch(() => {});
    return preview;
}

async function errorToasts(page) {
    return page.evaluate(() => [...document.querySelectorAll('#toast-container .toast-error')].map((t) => t.textContent ?? ''));
}

await runSuite(st, checks, 'images-st', async (browser) => {
    const standIn = await startOpenAiStandIn(path.join(st.RUN_DIR, 'openai-stand-in'));
    try {
        // ST again, its HTTPS traffic through the stand-in (https_proxy outranks the rig's all_proxy in ST's
        // proxy-agent), trusting the stand-in's certificate for this process only. Data kept.
        const up = spawnSync(path.join(RIG, 'st-up.sh'), ['--restart', '--with-mock'], {
            env: { ...process.env, https_proxy: standIn.url, NODE_EXTRA_CA_CERTS: standIn.certFile }, encoding: 'utf8',
        });
        if (up.status !== 0) throw new Error(`st-up.sh --restart failed: ${up.stderr}`);

        let s = await st.openST(browser);
        let page = s.page;
        await setupConnection(st, page);
        await installEnsemble(st, page);
        await configureImages(st, page, { promptSource: 'current', imageSource: 'st' });
        // Only the chosen sources' fields show: with ST drawing, none of the image API's; with ST's connection, no prompt URL.
        await openEnsembleSection(st, page, 'images');
        const shown = await page.evaluate(() => Object.fromEntries(['imageUrl', 'imageKey', 'imageModel', 'size', 'timeoutMs', 'promptEndpoint.url', 'imageSource']
            .map((f) => [f, document.querySelector(`#ensemble_settings [data-ens-image="${f}"]`)?.checkVisibility() ?? null])));
        check('the panel shows the picture source, and hides the image API\'s and the prompt endpoint\'s fields',
            shown.imageSource === true && ['imageUrl', 'imageKey', 'imageModel', 'size', 'timeoutMs', 'promptEndpoint.url'].every((f) => shown[f] === false), shown);
        await st.closeExtensionsDrawer(page);

        // ST's Image Generation on its OpenAI source, with ST's OpenAI key, as the user sets them up.
        await st.stApi(page, '/api/secrets/write', { key: 'api_key_openai', value: DALLE_KEY });
        await page.evaluate(async () => {
            const secrets = await import('/scripts/secrets.js');
            await secrets.readSecretState();
            const select = document.getElementById('sd_source');
            select.value = 'openai';
            select.dispatchEvent(new Event('change', { bubbles: true }));
        });
        await page.waitForFunction(() => SillyTavern.getContext().extensionSettings.sd?.source === 'openai' && document.querySelectorAll('#sd_model option').length > 0, null, { timeout: 20_000 });
        await st.flushSettings(page);

        // Alice: user, Alice, user.
        await openCharacter(page, 'Alice');
        await st.sendAndWait(page, 'Show me your ferns.', { expectReplies: 1 });
        await st.slash(page, '/send A question for later.');
        let state = await chatState(page);
        check('a 3-message chat to start from', state.messages.length === 3 && !state.messages[1].is_user, state.messages.map((m) => m.name));
        const filesBefore = imageFiles();
        const mockSince = (await st.mockRequests()).length;

        // /genimage: Ensemble's prompt LLM writes, ST's Image Generation draws; Regenerate once, then Accept.
        const run = st.slash(page, '/genimage', { timeout: 120_000 });
        const first = await answerPreview(page, 'Regenerate');
        const second = await answerPreview(page, 'Accept', { screenshot: path.join(outDir(), 'image-st-preview.png') });
        const saved = await run;
        const imageRequests = (await st.mockRequests()).slice(mockSince).filter((r) => r.path?.includes('images/generations'));
        check('the preview shows the picture ST stored (its path, loaded from ST), with the prompt Ensemble\'s LLM wrote',
            first.images.length === 1 && /^\/user\/images\/Alice\/Alice_.+\.png$/.test(first.images[0].src) && first.images[0].loaded && /hello from gpt-c/.test(first.prompt), first);
        check('the preview says ST stored it already and a discarded one stays', /stored this picture already/.test(first.note), first.note);
        check('Regenerate drew a second, different file', second.images[0]?.src && second.images[0].src !== first.images[0].src && second.images[0].loaded, [first.images, second.images]);
        check('ST went to api.openai.com through its request proxy (the stand-in), with its OpenAI key',
            standIn.connects.includes('api.openai.com:443') && standIn.seen.filter((r) => r.path === '/v1/images/generations').length === 2
            && standIn.seen.every((r) => r.auth === `Bearer ${DALLE_KEY}`), { connects: standIn.connects, seen: standIn.seen.map((r) => [r.path, r.auth]) });
        const drawn = standIn.seen.at(-1)?.body ?? {};
        check('ST drew Ensemble\'s prompt as written (free mode: its prefix added, not rewritten by an LLM), quietly, as DALL·E b64_json',
            typeof drawn.prompt === 'string' && drawn.prompt.endsWith(second.prompt) && drawn.response_format === 'b64_json' && /^dall-e/.test(drawn.model ?? ''), drawn);
        check('the mock saw both image requests, with ST\'s key', imageRequests.length === 2 && imageRequests.every((r) => r.key === DALLE_KEY), imageRequests);

        state = await chatState(page);
        const inserted = state.messages[2];
        check('/genimage returns the path ST stored for the accepted picture', saved === second.images[0]?.src, saved);
        check('the picture is a hidden message right after its source, before the later user message',
            state.messages.length === 4 && state.messages[1].name === 'Alice' && !state.messages[1].image
            && inserted.image === saved && inserted.is_system && inserted.title === second.prompt && state.messages[3].mes === 'A question for later.',
            state.messages.map((m) => `${m.name}:${m.image ?? m.mes.slice(0, 20)}`));
        check('its file exists on disk under the user\'s images', fs.existsSync(path.join(USER_DIR, saved)), saved);
        const filesAfter = imageFiles();
        check('ST stored one file per drawing; the regenerated-away one stays (ST 1.12.6 cannot delete it), nothing uploaded twice',
            filesAfter.length === filesBefore.length + 2 && fs.existsSync(path.join(USER_DIR, first.images[0].src)), filesAfter);
        await st.sleep(500);
        check('the chat file holds the picture message', (chatFile(state.chatId) ?? '').includes(saved), state.chatId);
        await page.locator('#chat .mes[mesid="2"] .mes_img').waitFor({ timeout: 10_000 }).catch(() => {});
        await st.screenshot(page, path.join(outDir(), 'image-st-message.png'));

        // The message button, with ST's Image Generation: on Alice's reply #1 → the picture right after it.
        await page.locator('#chat .mes[mesid="1"] .extraMesButtonsHint').click();
        await page.locator('#chat .mes[mesid="1"] .ensemble_genimage').click();
        const byButton = await answerPreview(page, 'Accept');
        await page.waitForFunction(() => SillyTavern.getContext().chat.length === 5, null, { timeout: 30_000 });
        state = await chatState(page);
        check('the message button draws through ST too: its picture lands right after message #1',
            state.messages[2].image === byButton.images[0]?.src && /^\/user\/images\/Alice\//.test(state.messages[2].image ?? '') && state.messages[2].is_system && state.messages[3].image === saved,
            state.messages.map((m) => `${m.name}:${m.image ?? m.mes.slice(0, 20)}`));

        // Auto mode, with ST's Image Generation: a new reply gets its picture right after it.
        await configureImages(st, page, { auto: true });
        const beforeAuto = state.messages.length;
        await page.locator('#send_textarea').fill('Tell me about moss.');
        await page.locator('#send_but').click();
        const byAuto = await answerPreview(page, 'Accept', { timeout: 90_000 });
        await page.waitForFunction((n) => SillyTavern.getContext().chat.length === n + 3, beforeAuto, { timeout: 30_000 });
        state = await chatState(page);
        check('auto mode draws through ST too: one picture right after the new reply',
            state.messages.at(-1).image === byAuto.images[0]?.src && /^\/user\/images\/Alice\//.test(state.messages.at(-1).image ?? '') && state.messages.at(-2).name === 'Alice' && !state.messages.at(-2).image,
            state.messages.slice(-3).map((m) => `${m.name}:${m.image ?? m.mes.slice(0, 20)}`));
        await configureImages(st, page, { auto: false });
        await st.sleep(500);
        check('the chat file holds all three pictures', [saved, byButton.images[0]?.src, byAuto.images[0]?.src].every((p) => p && (chatFile(state.chatId) ?? '').includes(p)), state.chatId);

        // (2) Image Generation disabled in Manage Extensions (ST reloads the page).
        await page.evaluate(async () => {
            const ext = await import('/scripts/extensions.js');
            ext.extension_settings.disabledExtensions.push('stable-diffusion');
            const script = await import('/script.js');
            await script.saveSettings();
        });
        const chatId = state.chatId;
        await st.closeSession(s);
        s = await st.openST(browser);
        page = s.page;
        await openCharacter(page, 'Alice');
        await page.waitForFunction((id) => SillyTavern.getContext().getCurrentChatId() === id, chatId, { timeout: 20_000 });
        const gone = await page.evaluate(() => !SillyTavern.getContext().SlashCommandParser.commands.imagine);
        check('with Image Generation disabled, ST has no /imagine', gone);
        await st.sleep(1500);
        const before = { chat: chatFile(chatId), files: imageFiles(), length: (await chatState(page)).messages.length, mock: (await st.mockRequests()).length };
        const result = await st.slash(page, '/genimage', { timeout: 30_000 });
        await page.locator('#toast-container .toast-error').last().waitFor({ state: 'visible', timeout: 10_000 }).catch(() => {});
        const toasts = await errorToasts(page);
        await st.sleep(1500);
        const after = { chat: chatFile(chatId), files: imageFiles(), length: (await chatState(page)).messages.length, mock: (await st.mockRequests()).length };
        check('/genimage says what to do: enable Image Generation in Manage extensions',
            toasts.length === 1 && toasts[0].includes('Enable Image Generation in Extensions → Manage extensions'), toasts);
        check('/genimage returns nothing', result === '' || result === null, result);
        check('nothing written: chat file, images folder and chat unchanged', after.chat === before.chat && JSON.stringify(after.files) === JSON.stringify(before.files) && after.length === before.length,
            { files: [before.files.length, after.files.length], length: [before.length, after.length], chatSame: after.chat === before.chat });
        check('no prompt LLM call was spent', after.mock === before.mock, [before.mock, after.mock]);
        await st.screenshot(page, path.join(outDir(), 'image-st-disabled.png'));
    } finally {
        await standIn.stop();
    }
});
