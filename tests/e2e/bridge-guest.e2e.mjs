// rig-env: MOCK_LATENCY_MS=1200
// The bridge is a guest in the user's SillyTavern 1.12.6: nothing the user owns is lost or misplaced.
// - two browsers: a request served by the tab that loaded earlier never reverts what the user saved in the
//   other one (a new Connection Profile, a setting), and one conversation stays in one bridge chat whichever
//   tab serves each turn (the index lives in the bridge server's data folder);
// - two tabs in one browser: the older one, whose CSRF cookie the newer one replaced, says so and stops
//   serving, and a request is served by another tab instead;
// - a reload mid-request: the character's current chat is her own again and the user is back where they were;
//   a user on ST's welcome screen is put back there;
// - a character never opened gets no chat file but the bridge chat;
// - ST's settings.json does not grow with bridge traffic; an index kept there by an older version moves to
//   the server once and is removed from ST's settings.
// Each mock answer takes 1.2 s, so a request can be caught in flight.
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { API_KEY, connectBridge, startBridgeServer } from './bridge-server.mjs';
import { createChecks, installEnsemble, loadRig, openCharacter, openEnsembleSection, runSuite, setupConnection } from './lib.mjs';

const st = await loadRig();
const checks = createChecks('bridge guest');
const { check } = checks;

const userDir = () => path.join(st.ST_DATA, 'default-user');
const settingsOnDisk = () => JSON.parse(fs.readFileSync(path.join(userDir(), 'settings.json'), 'utf8'));
const chatFiles = (folder) => {
    const dir = path.join(userDir(), 'chats', folder);
    return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
};
const profileNames = (settings) => (settings.extension_settings?.connectionManager?.profiles ?? []).map((p) => p.name);
const statusText = (page) => page.evaluate(() => document.querySelector('[data-ens="bridge-status"]')?.textContent ?? '');

/** A character's "current chat" as her card on disk has it (ST reads the card file for /api/characters/get). */
async function cardChat(page, avatar) {
    const r = await st.stApi(page, '/api/characters/get', { avatar_url: avatar });
    return r.json?.chat;
}

/** Every settings save a page makes, from now on. */
function watchSettingsSaves(page) {
    const saves = [];
    page.on('request', (r) => { if (r.url().includes('/api/settings/save')) saves.push(Date.now()); });
    return saves;
}

async function waitUntil(fn, timeout = 20_000) {
    const end = Date.now() + timeout;
    let v;
    while (Date.now() < end) {
        v = await fn();
        if (v) return v;
        await st.sleep(200);
    }
    return v;
}

await runSuite(st, checks, 'bridge guest', async (browser) => {
    const server = await startBridgeServer(st);
    try {
        const client = new OpenAI({ apiKey: API_KEY, baseURL: `${server.base}/v1`, maxRetries: 0, timeout: 90_000 });
        const ask = (model, messages) => client.chat.completions.create({ model, messages }).then((r) => r.choices[0]?.message?.content ?? '');

        // ---- setup in browser B, which will serve the bridge; an old index seeded where older versions kept it ----
        const b = await st.openST(browser);
        await setupConnection(st, b.page);
        await openCharacter(b.page, 'Alice'); // Alice has her own chat; Carol is never opened
        const aliceAvatar = await b.page.evaluate(() => SillyTavern.getContext().characters.find((c) => c.name === 'Alice').avatar);
        const carolAvatar = await b.page.evaluate(() => SillyTavern.getContext().characters.find((c) => c.name === 'Carol').avatar);
        const aliceOwn = await b.page.evaluate(() => SillyTavern.getContext().getCurrentChatId());
        await b.page.evaluate(() => {
            SillyTavern.getContext().extensionSettings.ensemble_bridge_sessions = { 'st-char-Alice': [{ file: 'Ensemble bridge from an older version', hash: 'abc', at: 1, tails: [] }] };
        });
        await st.flushSettings(b.page);
        await installEnsemble(st, b.page);
        await connectBridge(st, b.page, server.port);
        await st.flushSettings(b.page);

        // ---- 6a. the old index moves to the server once, then leaves ST's settings ----
        const migrated = await waitUntil(() => !('ensemble_bridge_sessions' in (settingsOnDisk().extension_settings ?? {})));
        const serverIndex = () => {
            const f = path.join(server.dataDir, 'bridge-chats.json');
            return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
        };
        check('an index kept in ST\'s settings by an older version is removed from settings.json', migrated);
        check('…after the bridge server stored it in its own data folder', (await waitUntil(() => serverIndex().includes('Ensemble bridge from an older version'))) === true, serverIndex().slice(0, 200));

        // ---- 2. browser A loads after B and saves a new profile and a setting; B (stale) serves a request ----
        const a = await st.openST(browser);
        await st.slash(a.page, '/profile-create Made-In-A');
        await a.page.evaluate(() => { document.getElementById('fast_ui_mode')?.click(); });
        await st.flushSettings(a.page);
        const fastUiInA = await a.page.evaluate(async () => (await import('/scripts/power-user.js')).power_user.fast_ui_mode);
        const saved = settingsOnDisk();
        check('browser A\'s new profile and setting are on disk', profileNames(saved).includes('Made-In-A') && saved.power_user.fast_ui_mode === fastUiInA, { profiles: profileNames(saved), fastUi: saved.power_user.fast_ui_mode });
        const savesInB = watchSettingsSaves(b.page);
        const settingsSize0 = fs.statSync(path.join(userDir(), 'settings.json')).size;
        const reply1 = await ask('st-char-Alice', [{ role: 'user', content: 'Alice, hello from a bot.' }]);
        await st.sleep(2500); // past ST's 1 s settings debounce
        const after = settingsOnDisk();
        check('a bridge request served by the other browser keeps the profile made in A', /hello from/.test(reply1) && profileNames(after).includes('Made-In-A'), profileNames(after));
        check('…and the setting changed in A', after.power_user.fast_ui_mode === fastUiInA);
        check('the serving tab saved no ST settings for the bridge request', savesInB.length === 0, savesInB.length);
        await a.page.reload({ waitUntil: 'domcontentloaded' });
        await st.waitForReady(a.page);
        const inA = await a.page.evaluate(() => [...document.querySelectorAll('#connection_profiles option')].map((o) => o.textContent));
        check('after reloading A, its profile is still there', inA.includes('Made-In-A'), inA);

        // ---- 2b. both browsers linked: one 3-turn conversation stays in one bridge chat ----
        await connectBridge(st, a.page, server.port);
        const before = chatFiles('Alice').filter((f) => f.startsWith('Ensemble bridge'));
        const turns = [{ role: 'user', content: 'Turn one, Alice.' }];
        for (let i = 2; i <= 4; i++) {
            turns.push({ role: 'assistant', content: await ask('st-char-Alice', turns) });
            turns.push({ role: 'user', content: `Turn ${i === 4 ? 'four' : i === 3 ? 'three' : 'two'}, Alice.` });
        }
        const lastReply = await ask('st-char-Alice', turns);
        const created = chatFiles('Alice').filter((f) => f.startsWith('Ensemble bridge') && !before.includes(f));
        const log = (await st.mockRequests({})).filter((r) => r.path?.includes('chat/completions')).slice(-4);
        check('both browsers linked: a 4-turn conversation stays in one bridge chat', created.length === 1 && /hello from/.test(lastReply), created);
        check('…and ST\'s last prompt held every earlier turn', (log.at(-1)?.messages ?? 0) >= 7, log.map((r) => r.messages));
        const settingsGrowth = fs.statSync(path.join(userDir(), 'settings.json')).size - settingsSize0;
        check('settings.json did not grow with bridge traffic (5 requests)', Math.abs(settingsGrowth) < 200, `${settingsGrowth} bytes`);

        // ---- 3. a newer tab in browser B's own context takes over its session ----
        // (a failure here is a failed check, and the suite goes on to the next cases)
        try {
            const b2 = await b.context.newPage();
            await b2.goto(st.ST_URL, { waitUntil: 'domcontentloaded' });
            // (the rig's waitForReady needs its probe, which only openST's own pages carry)
            await b2.waitForFunction(() => (window.SillyTavern?.getContext?.().characters?.length ?? 0) > 0 && !!document.getElementById('ensemble_settings'), null, { timeout: 90_000 });
            const took = await waitUntil(async () => /took over the session/.test(await statusText(b.page)), 30_000);
            check('the older tab in the same browser says another tab took over its session', took, await statusText(b.page));
            const health = await (await fetch(`${server.base}/health`)).json();
            const servedBy = [];
            for (let i = 0; i < 3; i++) servedBy.push(await ask('st-char-Bob', [{ role: 'user', content: `Bob, question ${i}?` }]));
            check('requests are served by the tab that can (none fails with "could not create the bridge chat")', servedBy.every((r) => /hello from/.test(r)), { servedBy, health });
            // Only the dead tab linked: a clear 503 with the reason, at once.
            await a.page.locator('[data-ens="bridge-disconnect"]').click({ force: true }).catch(() => undefined);
            await a.page.evaluate(() => document.querySelector('[data-ens="bridge-disconnect"]')?.click());
            await st.sleep(500);
            const t503 = Date.now();
            const refused = await client.chat.completions.create({ model: 'st-char-Bob', messages: [{ role: 'user', content: 'Anyone?' }] }).then(() => 'answered', (e) => `${e.status} ${e.message}`);
            check('with only that tab linked, a request gets a 503 naming the reason, without waiting', /^503 .*took over the session/.test(refused) && Date.now() - t503 < 5_000, refused);
            await b2.close();
            await b.context.close();
        } catch (e) {
            check('requests with a tab whose session was taken over are served or refused clearly', false, String(e?.message ?? e).slice(0, 300));
            await b.context.close().catch(() => undefined);
        }

        // ---- 4. reload mid-request in browser A: Alice's current chat is hers again, the user is back ----
        const page = a.page;
        await openCharacter(page, 'Bob');
        await st.sendAndWait(page, 'Bob, my own chat.', { expectReplies: 1 });
        const bobOwn = await page.evaluate(() => SillyTavern.getContext().getCurrentChatId());
        await openEnsembleSection(st, page, 'bridge');
        await page.locator('[data-ens-bridge="autoConnect"]').check();
        await st.closeExtensionsDrawer(page);
        await connectBridge(st, page, server.port);
        await st.flushSettings(page);
        const since = Date.now();
        const pending = ask('st-char-Alice', [{ role: 'user', content: 'Alice, about to be interrupted.' }]).then((r) => r, (e) => `error ${e.status}`);
        await waitUntil(async () => (await st.mockRequests({ since })).some((r) => r.path?.includes('chat/completions')), 20_000);
        await page.reload({ waitUntil: 'domcontentloaded' });
        check('the client of the interrupted request gets an error', /^error 50\d/.test(await pending));
        await st.waitForReady(page);
        await page.waitForFunction(() => /^connected/.test(document.querySelector('[data-ens="bridge-status"]')?.textContent ?? ''), null, { timeout: 30_000 });
        const repaired = await waitUntil(() => page.evaluate(() => !window.localStorage.getItem('ensemble_bridge_journal')), 15_000);
        const place = await page.evaluate(() => ({ chat: SillyTavern.getContext().getCurrentChatId(), group: SillyTavern.getContext().groupId }));
        check('after the reload the user is back in their own chat', repaired && place.chat === bobOwn, place);
        check('Alice\'s card still points at her own chat', (await cardChat(page, aliceAvatar)) === aliceOwn, await cardChat(page, aliceAvatar));
        await openCharacter(page, 'Alice');
        const clicked = await page.evaluate(() => SillyTavern.getContext().getCurrentChatId());
        check('clicking Alice opens her own chat, not a bridge chat', clicked === aliceOwn, clicked);
        const next = await ask('st-char-Alice', [{ role: 'user', content: 'Alice, a later request.' }]);
        check('a later request leaves her pointer alone too', /hello from/.test(next) && (await cardChat(page, aliceAvatar)) === aliceOwn
            && (await page.evaluate(() => SillyTavern.getContext().characters.find((c) => c.name === 'Alice').chat)) === aliceOwn);

        // ---- 4b. a user on ST's welcome screen stays there ----
        await page.evaluate(() => document.getElementById('option_close_chat')?.click());
        await page.waitForFunction(() => SillyTavern.getContext().characterId === undefined && !SillyTavern.getContext().groupId);
        await ask('st-char-Alice', [{ role: 'user', content: 'Alice, while nobody is in a chat.' }]);
        const welcome = await page.evaluate(() => ({ ch: SillyTavern.getContext().characterId, chat: SillyTavern.getContext().getCurrentChatId(), group: SillyTavern.getContext().groupId }));
        check('a user on the welcome screen is put back on the welcome screen', welcome.ch === undefined && !welcome.chat && !welcome.group, welcome);

        // ---- 5. a character never opened gets no chat file but the bridge chat ----
        const carolBefore = chatFiles('Carol');
        const carolPointer = await cardChat(page, carolAvatar);
        await ask('st-char-Carol', [{ role: 'user', content: 'Carol, first contact.' }]);
        await ask('st-char-Carol', [{ role: 'user', content: 'Carol, another conversation.' }]);
        const carolAfter = chatFiles('Carol');
        const stray = carolAfter.filter((f) => !carolBefore.includes(f) && !f.startsWith('Ensemble bridge'));
        check('a character never opened: no chat file except the bridge chats', carolBefore.length === 0 && stray.length === 0 && carolAfter.length === 2, { carolBefore, carolAfter });
        check('…and her card\'s current chat is unchanged', (await cardChat(page, carolAvatar)) === carolPointer, carolPointer);

        check('no uncaught page errors', a.pageErrors.length === 0, a.pageErrors.slice(0, 3));
        await st.closeSession(a);
    } finally {
        await server.stop();
    }
}, { timeoutMs: 900_000 });
