// The bridge in real SillyTavern 1.12.6: the bridge server (npm start's build) on loopback, Ensemble
// connected from ST, and the official openai SDK as the client. A character answers (stream and not),
// the user's open chat file stays byte-identical, and 20 concurrent requests each get their own answer.
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { API_KEY, connectBridge, startBridgeServer } from './bridge-server.mjs';
import { createChecks, installEnsemble, loadRig, openCharacter, openEnsembleSection, runSuite, setupConnection } from './lib.mjs';

const st = await loadRig();
const checks = createChecks('bridge');
const { check } = checks;

function chatFileOf(avatarBase, chatId) {
    const file = path.join(st.ST_DATA, 'default-user', 'chats', avatarBase, `${chatId}.jsonl`);
    return fs.existsSync(file) ? fs.readFileSync(file) : null;
}

await runSuite(st, checks, 'bridge', async (browser) => {
    let server = await startBridgeServer(st);
    try {
        const s = await st.openST(browser);
        const page = s.page;
        await setupConnection(st, page);
        // The user's own chat with Bob, open while the bridge works.
        await openCharacter(page, 'Bob');
        await st.sendAndWait(page, 'Bob, tell me about the sea.', { expectReplies: 1 });
        await st.sleep(1500);
        const userChatId = await page.evaluate(() => SillyTavern.getContext().getCurrentChatId());
        const before = chatFileOf('Bob', userChatId);
        check('the user\'s own chat exists before the bridge runs', !!before && before.length > 0, userChatId);

        await installEnsemble(st, page);
        await connectBridge(st, page, server.port);
        check('the panel shows the bridge connected', true);
        await st.closeExtensionsDrawer(page);

        const client = new OpenAI({ apiKey: API_KEY, baseURL: `${server.base}/v1`, maxRetries: 0, timeout: 120_000 });
        const models = await client.models.list();
        const ids = models.data.map((m) => m.id);
        check('/v1/models lists ST\'s characters as models', ids.includes('st-char-Alice') && ids.includes('st-char-Bob'), ids);

        const since = Date.now();
        const plain = await client.chat.completions.create({ model: 'st-char-Alice', messages: [{ role: 'user', content: 'Alice, what do you grow?' }] });
        check('a character answers through the bridge (stream: false)', /hello from/.test(plain.choices[0]?.message?.content ?? ''), plain.choices[0]?.message);
        const reqs = (await st.mockRequests({ since })).filter((r) => r.path?.includes('chat/completions'));
        check('ST built the request with its own pipeline (Alice\'s card in the prompt)', reqs.length === 1 && reqs[0].messages > 1, reqs.map((r) => r.last));

        let streamed = '';
        let finish = null;
        const stream = await client.chat.completions.create({ model: 'st-char-Alice', stream: true, messages: [{ role: 'user', content: 'Alice, what do you grow?' }, { role: 'assistant', content: plain.choices[0].message.content }, { role: 'user', content: 'And in winter?' }] });
        for await (const chunk of stream) {
            streamed += chunk.choices[0]?.delta?.content ?? '';
            finish = chunk.choices[0]?.finish_reason ?? finish;
        }
        check('a character answers through the bridge (stream: true), with a finish_reason', /hello from/.test(streamed) && finish === 'stop', `${streamed} / ${finish}`);

        const bridgeChats = await page.evaluate(async () => {
            const ctx = SillyTavern.getContext();
            const alice = ctx.characters.find((c) => c.name === 'Alice');
            const res = await fetch('/api/characters/chats', { method: 'POST', headers: ctx.getRequestHeaders(), body: JSON.stringify({ avatar_url: alice.avatar }) });
            return Object.values(await res.json()).map((c) => c.file_name).filter((f) => f.startsWith('Ensemble bridge'));
        });
        check('the continued conversation stayed in one bridge chat', bridgeChats.length === 1, bridgeChats);

        // 20 concurrent requests, each with its own content; each answer must be the one ST generated for it.
        const since20 = Date.now();
        const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => client.chat.completions.create({
            model: i % 2 ? 'st-char-Alice' : 'st-char-Carol', messages: [{ role: 'user', content: `Question number ${i} (token q${i}x)` }],
        }).then((r) => r.choices[0]?.message?.content ?? '', (e) => `ERROR ${e.message}`)));
        const log20 = (await st.mockRequests({ since: since20 })).filter((r) => r.path?.includes('chat/completions'));
        const crossed = answers.filter((a, i) => {
            const n = Number(/ n=(\d+)\]/.exec(a)?.[1]);
            const entry = log20.find((r) => r.n === n);
            return !entry || !entry.last.includes(`q${i}x`);
        });
        check('20 concurrent requests: each got the answer ST generated for its own content', crossed.length === 0 && answers.length === 20, crossed.slice(0, 3));

        const after = await page.evaluate(() => SillyTavern.getContext().getCurrentChatId());
        check('the user is back in their own chat', after === userChatId, after);
        check('the user\'s open chat file is byte-identical before and after', Buffer.compare(before, chatFileOf('Bob', userChatId)) === 0);
        // Rotation: bridge requests take turns on the chosen profiles, routed per request.
        await openEnsembleSection(st, page, 'bridge');
        await page.locator('[data-ens="bridge-rotation"]').selectOption([{ label: 'Mock-A' }, { label: 'Mock-B' }]);
        await st.closeExtensionsDrawer(page);
        const sinceRot = Date.now();
        for (const q of ['rot one', 'rot two', 'rot three']) await client.chat.completions.create({ model: 'st-char-Carol', messages: [{ role: 'user', content: q }] });
        const rot = (await st.mockRequests({ since: sinceRot })).filter((r) => r.path?.includes('chat/completions')).map((r) => `${r.model}:${r.key}`);
        check('rotation: requests take turns on the pool\'s profiles', JSON.stringify(rot) === JSON.stringify(['gpt-a:sk-a', 'gpt-b:sk-b', 'gpt-a:sk-a']), rot);
        check('rotation never switches ST\'s own profile', (await st.stState(page)).selectedProfile === 'Mine');
        await openEnsembleSection(st, page, 'bridge');
        await page.locator('[data-ens="bridge-rotation"]').selectOption([]);
        await st.closeExtensionsDrawer(page);

        // The server restarts: the extension reconnects by itself and requests work again.
        await server.stop();
        await page.waitForFunction(() => !/^connected/.test(document.querySelector('[data-ens="bridge-status"]')?.textContent ?? ''), null, { timeout: 15_000 });
        server = await startBridgeServer(st, server.port);
        await page.waitForFunction(() => /^connected/.test(document.querySelector('[data-ens="bridge-status"]')?.textContent ?? ''), null, { timeout: 45_000 });
        const again = await client.chat.completions.create({ model: 'st-char-Carol', messages: [{ role: 'user', content: 'Still there?' }] });
        check('after a server restart the extension reconnects and requests work again', /hello from/.test(again.choices[0]?.message?.content ?? ''));

        check('no uncaught page errors', s.pageErrors.length === 0, s.pageErrors.map((e) => e.message).slice(0, 3));
        await st.closeSession(s);
    } finally {
        await server.stop();
        if (!checks.results.every((r) => r.ok)) console.log(server.output().slice(-2000));
    }
}, { timeoutMs: 900_000 });
