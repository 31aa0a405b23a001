/* global URLSearchParams, navigator */
// NextChat against the bridge in real SillyTavern 1.12.6, with NextChat's own request shapes replayed:
// browser mode (a real CORS preflight from another origin) and server mode (no Origin); a six-turn
// conversation sent with NextChat's 4-message window continues one ST chat; title and summary requests
// leave every chat file unchanged; a group model answers with each member through its own profile;
// a mask exported from a card imports back with the same name, greeting and data.extensions.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { API_KEY, connectBridge, startBridgeServer } from './bridge-server.mjs';
import { createChecks, installEnsemble, loadRig, openCharacter, openEnsembleSection, outDir, runSuite, setupConnection } from './lib.mjs';

const st = await loadRig();
const checks = createChecks('nextchat');
const { check } = checks;

/** Every chat file ST has (characters' and groups'), with a hash of its bytes. */
function chatFiles() {
    const out = {};
    const walk = (dir) => {
        if (!fs.existsSync(dir)) return;
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const p = path.join(dir, e.name);
            if (e.isDirectory()) walk(p);
            else out[path.relative(st.ST_DATA, p)] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
        }
    };
    walk(path.join(st.ST_DATA, 'default-user', 'chats'));
    walk(path.join(st.ST_DATA, 'default-user', 'group chats'));
    return out;
}

/** NextChat's chat request body (app/client/platforms/openai.ts): always these fields, no max_tokens. */
const nextchatBody = (model, messages, stream = true) => ({ messages, stream, model, temperature: 0.5, presence_penalty: 0, frequency_penalty: 0, top_p: 1 });

/** POST as NextChat does; an SSE answer is read into its text and chunk count. */
async function ask(base, body, headers = {}) {
    const res = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
    });
    const raw = await res.text();
    if (!body.stream) return { status: res.status, text: JSON.parse(raw).choices?.[0]?.message?.content ?? raw, chunks: 1, headers: res.headers };
    return { status: res.status, headers: res.headers, ...sseText(raw) };
}

/** The content of an OpenAI-shaped SSE body, and how many chunks carried some. */
function sseText(raw) {
    let text = '';
    let chunks = 0;
    for (const line of raw.split('\n')) {
        if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
        const delta = JSON.parse(line.slice(6)).choices?.[0]?.delta?.content;
        if (delta) { text += delta; chunks++; }
    }
    return { text, chunks, done: raw.includes('data: [DONE]') };
}

await runSuite(st, checks, 'nextchat', async (browser) => {
    // A stand-in for NextChat's page: another loopback origin, for browser mode's CORS.
    const pageServer = http.createServer((_req, res) => { res.setHeader('content-type', 'text/html'); res.end('<!doctype html><title>NextChat stand-in</title>'); });
    await new Promise((r) => pageServer.listen(0, '127.0.0.1', r));
    const nextchatOrigin = `http://127.0.0.1:${pageServer.address().port}`;
    const server = await startBridgeServer(st, undefined, ['--cors-origin', nextchatOrigin]);
    try {
        const s = await st.openST(browser);
        const page = s.page;
        await s.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: st.ST_URL });
        await setupConnection(st, page);
        await st.createCharacter(page, { name: 'Dana', description: 'Dana keeps bees.', first_mes: 'Bzz. Welcome to the apiary, {{user}}.', personality: 'calm' });
        // The user's own chat with Bob, open the whole time.
        await openCharacter(page, 'Bob');
        await st.sendAndWait(page, 'Bob, tell me about the sea.', { expectReplies: 1 });
        await st.sleep(1500);
        const userChatId = await page.evaluate(() => SillyTavern.getContext().getCurrentChatId());

        await installEnsemble(st, page);
        await st.slash(page, '/ens-profile char=Alice Mock-A');
        await st.slash(page, '/ens-profile char=Bob Mock-B');
        await st.slash(page, '/ens-profile char=Dana Mock-C');
        await st.createGroup(page, { name: 'Tea Party', members: ['Alice', 'Bob'], activation: 1 });
        // Back to the user's own chat before the bridge works.
        await openCharacter(page, 'Bob');
        await page.waitForFunction((id) => SillyTavern.getContext().getCurrentChatId() === id, userChatId);
        await connectBridge(st, page, server.port);

        // Setup help: what NextChat needs, from the connected bridge.
        await openEnsembleSection(st, page, 'nextchat');
        const help = await page.evaluate(() => Object.fromEntries(['endpoint', 'key', 'models', 'link'].map((n) => [n, document.querySelector(`[data-ens-nc="${n}"]`)?.value ?? ''])));
        check('setup help: the endpoint is the server\'s base URL (no /v1)', help.endpoint === server.base, help.endpoint);
        check('setup help: the key is the one the server shared', help.key === API_KEY);
        check('setup help: CUSTOM_MODELS lists the characters and the group in NextChat\'s syntax',
            help.models.startsWith('-all,') && help.models.includes('+st-char-Alice@OpenAI=Alice') && help.models.includes('+st-group-Tea_Party@OpenAI=Tea Party'), help.models);
        const linkSettings = JSON.parse(new URLSearchParams(help.link.split('#/?')[1] ?? '').get('settings') ?? '{}');
        check('setup help: the fast link carries the endpoint and key', linkSettings.url === server.base && linkSettings.key === API_KEY, help.link.replace(API_KEY, '<key>'));
        await page.locator('[data-ens-copy="models"]').click();
        const copied = await page.evaluate(() => navigator.clipboard.readText());
        check('the copy button puts the CUSTOM_MODELS value on the clipboard', copied === help.models, copied.slice(0, 80));
        // The README's picture: the setup values (toasts cleared; the side-task patterns left out).
        await page.evaluate(() => globalThis.toastr?.clear());
        await page.locator('[data-ens-section="nextchat"]').scrollIntoViewIfNeeded();
        await st.sleep(700);
        const top = await page.locator('[data-ens-section="nextchat"]').boundingBox();
        const bottom = await page.locator('[data-ens-copy="env"]').boundingBox();
        if (top && bottom) await page.screenshot({ path: path.join(outDir(), 'nextchat-setup.png'), clip: { x: top.x, y: top.y, width: top.width, height: bottom.y + bottom.height + 6 - top.y } });
        // The NextChat address: never entered, it follows the name ST was opened at; another loopback name is warned about.
        const ncAddress = () => page.evaluate(() => ({
            url: document.querySelector('[data-ens-nc="nextchatUrl"]')?.value ?? '',
            cors: document.querySelector('[data-ens-nc="cors"]')?.textContent ?? '',
            link: document.querySelector('[data-ens-nc="link"]')?.value ?? '',
            warning: document.querySelector('[data-ens-nc="origin-warning"]')?.hidden === false ? document.querySelector('[data-ens-nc="origin-warning"]')?.textContent ?? '' : null,
        }));
        const stName = new URL(st.ST_URL).hostname;
        const otherName = stName === 'localhost' ? '127.0.0.1' : 'localhost';
        const defaultAddress = await ncAddress();
        check('NextChat address: by default port 3000 on the name ST was opened at, in the field, the fast link and --cors-origin',
            defaultAddress.url === `http://${stName}:3000` && defaultAddress.cors === `--cors-origin http://${stName}:3000` && defaultAddress.link.startsWith(`http://${stName}:3000/#/?settings=`) && defaultAddress.warning === null,
            { ...defaultAddress, link: defaultAddress.link.slice(0, 30) });
        const enterAddress = async (value) => {
            const input = page.locator('[data-ens-nc="nextchatUrl"]');
            await input.fill(value);
            await input.dispatchEvent('change');
        };
        await enterAddress(`http://${otherName}:3000`);
        const entered = await ncAddress();
        check('NextChat address: one the user enters is kept and used; another loopback name than ST\'s is warned about, with the flag to use',
            entered.cors === `--cors-origin http://${otherName}:3000` && (entered.warning ?? '').includes(`--cors-origin http://${stName}:3000`),
            { cors: entered.cors, warning: entered.warning });
        await enterAddress('');
        const cleared = await ncAddress();
        check('NextChat address: emptying the field goes back to the default, and the warning goes', cleared.url === `http://${stName}:3000` && cleared.warning === null, cleared);
        await st.closeExtensionsDrawer(page);

        // Browser mode: NextChat's page calls the bridge itself; Chromium makes the preflight.
        const other = await s.context.newPage();
        await other.goto(nextchatOrigin);
        const browserMode = await other.evaluate(async ({ url, key, body }) => {
            const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
            return { status: res.status, text: await res.text() };
        }, { url: server.base, key: API_KEY, body: nextchatBody('st-char-Carol', [{ role: 'user', content: 'Carol, browser mode here.' }]) });
        const browserAnswer = sseText(browserMode.text);
        check('browser mode: a cross-origin NextChat page gets past the preflight and streams an answer', browserMode.status === 200 && /hello from/.test(browserAnswer.text) && browserAnswer.done, `${browserMode.status} ${browserAnswer.text}`);
        const preflight = await fetch(`${server.base}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'http://evil.localhost:3000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
        check('an origin not in --cors-origin gets no CORS permission', !preflight.headers.get('access-control-allow-origin'));
        await other.close();

        // Server mode: NextChat's server calls without an Origin.
        const serverMode = await ask(server.base, nextchatBody('st-char-Carol', [{ role: 'user', content: 'Carol, server mode here.' }]));
        check('server mode: no Origin, a streamed answer', serverMode.status === 200 && /hello from/.test(serverMode.text), serverMode.text.slice(0, 120));

        // Six turns through NextChat's 4-message window (+ the recap system message once a summary exists).
        const stored = [];
        const since6 = Date.now();
        for (let i = 1; i <= 6; i++) {
            const recap = i > 3 ? [{ role: 'system', content: 'This is a summary of the chat history as a recap: they talked about ferns.' }] : [];
            const messages = [...recap, ...stored.slice(-4), { role: 'user', content: `Turn ${i}: tell me about fern number ${i}.` }];
            const r = await ask(server.base, nextchatBody('st-char-Alice', messages));
            stored.push({ role: 'user', content: `Turn ${i}: tell me about fern number ${i}.` }, { role: 'assistant', content: r.text });
        }
        const aliceChats = await page.evaluate(async () => {
            const ctx = SillyTavern.getContext();
            const alice = ctx.characters.find((c) => c.name === 'Alice');
            const list = await (await fetch('/api/characters/chats', { method: 'POST', headers: ctx.getRequestHeaders(), body: JSON.stringify({ avatar_url: alice.avatar }) })).json();
            const files = Object.values(list).map((c) => c.file_name.replace(/\.jsonl$/, '')).filter((f) => f.startsWith('Ensemble bridge'));
            const chats = [];
            for (const f of files) {
                const chat = await (await fetch('/api/chats/get', { method: 'POST', headers: ctx.getRequestHeaders(), body: JSON.stringify({ ch_name: alice.name, file_name: f, avatar_url: alice.avatar }) })).json();
                chats.push(chat.filter((m) => typeof m.mes === 'string').map((m) => m.mes));
            }
            return chats;
        });
        check('six turns with a 4-message window continue ONE bridge chat', aliceChats.length === 1, aliceChats.length);
        const held = aliceChats[0] ?? [];
        check('that chat holds all six turns and replies, in order', JSON.stringify(held) === JSON.stringify(stored.map((m) => m.content)), held.slice(0, 4));
        check('NextChat\'s recap never became a chat message', !held.some((m) => m.includes('recap')));
        const turn6 = (await st.mockRequests({ since: since6 })).filter((r) => r.path?.includes('chat/completions')).at(-1);
        check('ST\'s prompt for turn 6 carried the whole conversation (more than the 5 messages NextChat sent)', turn6 && turn6.messages >= 12, turn6?.messages);

        // Title and summary side requests: answered, and no chat file created or changed.
        const filesBefore = chatFiles();
        const sinceSide = Date.now();
        const title = await ask(server.base, nextchatBody('st-char-Alice', [...stored.slice(-4), { role: 'user', content: 'Please generate a four to five word title summarizing our conversation without any lead-in, punctuation, quotation marks, periods, symbols, bold text, or additional text. Remove enclosing quotation marks.' }], false));
        const summary = await ask(server.base, nextchatBody('st-char-Alice', [...stored, { role: 'system', content: 'Summarize the discussion briefly in 200 words or less to use as a prompt for future context.' }]));
        check('the title request (stream: false) is answered', title.status === 200 && /hello from/.test(title.text), title.text);
        check('the summary request (stream: true) is answered', summary.status === 200 && /hello from/.test(summary.text), summary.text);
        const sideLog = (await st.mockRequests({ since: sinceSide })).filter((r) => r.path?.includes('chat/completions'));
        check('each side request was one LLM call', sideLog.length === 2, sideLog.length);
        await st.sleep(1000);
        check('title and summary requests leave every chat file unchanged (none created, none written)', JSON.stringify(chatFiles()) === JSON.stringify(filesBefore));

        // The group as a model: an ST group turn, each member through its own profile, speakers named.
        const sinceGroup = Date.now();
        const group = await ask(server.base, nextchatBody('st-group-Tea_Party', [{ role: 'user', content: 'Hello both of you!' }]));
        const groupLog = (await st.mockRequests({ since: sinceGroup })).filter((r) => r.path?.includes('chat/completions')).map((r) => `${r.model}:${r.key}`);
        check('group model: each member\'s request went through its own profile\'s model (mock log)', JSON.stringify(groupLog) === JSON.stringify(['gpt-a:sk-a', 'gpt-b:sk-b']), groupLog);
        check('group model: the reply names each speaker, in order', /^\*\*Alice:\*\* \[model=gpt-a[^]*\n\n\*\*Bob:\*\* \[model=gpt-b/.test(group.text), group.text);
        check('group model: streamed as generated (a chunk per member at least)', group.chunks >= 2, group.chunks);
        const group2 = await ask(server.base, nextchatBody('st-group-Tea_Party', [{ role: 'user', content: 'Hello both of you!' }, { role: 'assistant', content: group.text }, { role: 'user', content: 'And again?' }]));
        const groupChats = await page.evaluate(() => SillyTavern.getContext().groups.find((g) => g.name === 'Tea Party').chats.filter((c) => c.startsWith('Ensemble bridge')));
        check('group model: the conversation continues in one bridge group chat', groupChats.length === 1 && /\*\*Bob:\*\*/.test(group2.text), groupChats);

        // Masks: Dana out as a NextChat mask, and back in as a character.
        await openEnsembleSection(st, page, 'nextchat');
        const dana = await page.evaluate(() => SillyTavern.getContext().characters.find((c) => c.name === 'Dana'));
        await page.locator('[data-ens-nc="character"]').selectOption(dana.avatar);
        const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-ens-nc-action="export"]').click()]);
        const maskText = fs.readFileSync(await download.path(), 'utf8');
        const mask = JSON.parse(maskText);
        check('the exported mask\'s model is Dana\'s bridge model id', mask.modelConfig?.model === 'st-char-Dana', mask.modelConfig);
        check('the mask\'s context starts with Dana\'s greeting', mask.context?.[0]?.role === 'assistant' && mask.context[0].content === dana.first_mes.replace('{{user}}', 'User'), mask.context);
        const maskFile = path.join(outDir(), 'Dana.nextchat-mask.json');
        fs.writeFileSync(maskFile, maskText);
        const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.locator('[data-ens-nc-action="import"]').click()]);
        await chooser.setFiles(maskFile);
        await page.waitForFunction(() => SillyTavern.getContext().characters.filter((c) => c.name === 'Dana').length === 2, null, { timeout: 20_000 });
        const twins = await page.evaluate(() => SillyTavern.getContext().characters.filter((c) => c.name === 'Dana').map((c) => ({ avatar: c.avatar, first_mes: c.first_mes, description: c.description, extensions: c.data?.extensions })));
        const [orig, copy] = [twins.find((t) => t.avatar === dana.avatar), twins.find((t) => t.avatar !== dana.avatar)];
        const stable = (v) => JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));
        check('the imported character has the same name, greeting and description', copy && copy.first_mes === orig.first_mes && copy.description === orig.description, copy);
        check('the card\'s data.extensions survived export → import (Ensemble\'s profile included)', copy && stable(copy.extensions) === stable(orig.extensions) && copy.extensions?.ensemble?.profileName === 'Mock-C', { orig: orig?.extensions, copy: copy?.extensions });
        const countBefore = await page.evaluate(() => SillyTavern.getContext().characters.length);
        fs.writeFileSync(maskFile, '{"name": 42}');
        const [chooser2] = await Promise.all([page.waitForEvent('filechooser'), page.locator('[data-ens-nc-action="import"]').click()]);
        await chooser2.setFiles(maskFile);
        await page.waitForSelector('#toast-container .toast-error', { timeout: 10_000 });
        const count = await page.evaluate(() => SillyTavern.getContext().characters.length);
        check('a bad mask file gives a clear error and creates nothing', count === countBefore, `${countBefore} → ${count}`);
        await st.closeExtensionsDrawer(page);

        const after = await page.evaluate(() => SillyTavern.getContext().getCurrentChatId());
        check('the user is back in their own chat', after === userChatId, after);
        check('no uncaught page errors', s.pageErrors.length === 0, s.pageErrors.map((e) => e.message).slice(0, 3));
        await st.closeSession(s);
    } finally {
        await server.stop();
        pageServer.close();
        if (!checks.results.every((r) => r.ok)) console.log(server.output().slice(-2000));
    }
}, { timeoutMs: 900_000 });
