// rig-env: MOCK_LATENCY_MS=400
// Always on: the bridge server runs SillyTavern itself, in a headless session of its own (`--st`), so clients
// talk to ST's characters with no ST tab serving. The user's own tab is open in a chat meanwhile: it sees no
// chat or screen change, takes no requests (its panel says the sessions serve), and what the user saves survives.
// The session never writes ST's settings, a card, or a character's current chat. Faults: the session's browser
// killed mid-request (an error at once, then it serves again), ST restarted (the session comes back), and an ST
// behind basic auth (right and wrong password).
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import OpenAI from 'openai';
import { API_KEY, connectBridge, startBridgeServer } from './bridge-server.mjs';
import { createChecks, installEnsemble, loadRig, openCharacter, openEnsembleSection, runSuite, setupConnection } from './lib.mjs';

const st = await loadRig();
const checks = createChecks('always on');
const { check } = checks;

const userDir = () => path.join(st.ST_DATA, 'default-user');
const settingsOnDisk = () => JSON.parse(fs.readFileSync(path.join(userDir(), 'settings.json'), 'utf8'));
const sha = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const cards = () => Object.fromEntries(fs.readdirSync(path.join(userDir(), 'characters')).filter((f) => f.endsWith('.png')).map((f) => [f, sha(path.join(userDir(), 'characters', f))]));
const groupFiles = () => {
    const dir = path.join(userDir(), 'groups');
    return fs.existsSync(dir) ? Object.fromEntries(fs.readdirSync(dir).map((f) => [f, sha(path.join(dir, f))])) : {};
};
const bridgeChats = (folder) => {
    const dir = path.join(userDir(), 'chats', folder);
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith('Ensemble bridge')) : [];
};
const health = async (server) => (await fetch(`${server.base}/health`)).json();
const sessionState = async (server) => (await health(server)).sessions?.[0] ?? {};

async function waitFor(what, fn, timeout = 90_000) {
    const end = Date.now() + timeout;
    let v;
    while (Date.now() < end) {
        v = await fn().catch(() => undefined);
        if (v) return v;
        await st.sleep(250);
    }
    throw new Error(`timed out waiting for ${what}`);
}

/** The pids of Chromium processes started (directly or not) by process `root`. */
function browserPids(root) {
    const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,comm=']).toString().trim().split('\n').map((l) => l.trim().split(/\s+/));
    const kids = new Map();
    for (const [pid, ppid] of rows) kids.set(ppid, [...(kids.get(ppid) ?? []), pid]);
    const out = [];
    const walk = (p) => { for (const k of kids.get(String(p)) ?? []) { out.push(k); walk(k); } };
    walk(root);
    return rows.filter(([pid, , comm]) => out.includes(pid) && /chrom/i.test(comm ?? '')).map(([pid]) => Number(pid));
}

/** HTTP basic auth in front of ST, as a reverse proxy on loopback would put it. */
function basicAuthProxy(target, user, password) {
    const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const server = http.createServer((req, res) => {
        if (req.headers.authorization !== expected) {
            res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="ST"' }).end('login required');
            return;
        }
        const up = http.request(new URL(req.url, target), { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (r) => {
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
        });
        up.on('error', () => res.writeHead(502).end());
        req.pipe(up);
    });
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) })));
}

await runSuite(st, checks, 'always on', async (browser) => {
    // ---- the user's ST, Ensemble installed there as usual, the user in their own chat with Bob ----
    const s = await st.openST(browser);
    const page = s.page;
    await setupConnection(st, page);
    await installEnsemble(st, page);
    await openCharacter(page, 'Bob');
    await st.sendAndWait(page, 'Bob, this is my own chat.', { expectReplies: 1 });
    await openEnsembleSection(st, page, 'bridge');
    await page.locator('[data-ens-bridge="autoConnect"]').check();
    await st.closeExtensionsDrawer(page);
    await st.flushSettings(page);
    const userChat = await page.evaluate(() => SillyTavern.getContext().getCurrentChatId());
    const userChatFile = path.join(userDir(), 'chats', 'Bob', `${userChat}.jsonl`);
    const before = { cards: cards(), groups: groupFiles(), userChat: sha(userChatFile), settings: null };
    const pointers = await page.evaluate(() => Object.fromEntries(SillyTavern.getContext().characters.map((c) => [c.avatar, c.chat])));

    const server = await startBridgeServer(st, undefined, ['--st', st.ST_URL.replace(/\/$/, ''), '--sessions', '1']);
    const browsers = [];
    let pageErrorsBeforeRestart = -1;
    try {
        const ready = await waitFor('the session to be ready', async () => ((await sessionState(server)).state === 'ready' ? sessionState(server) : null), 120_000)
            .catch((e) => ({ error: `${e.message}: ${JSON.stringify(sessionState(server))}`, output: server.output().slice(-1500) }));
        check('npm start -- --st: the server starts its own session, which links and is ready', ready.state === 'ready', ready);
        check('no secret in the server\'s output', !server.output().includes('link-token-e2e') && !server.output().includes(API_KEY), server.output().slice(-300));
        await connectBridge(st, page, server.port).catch(() => undefined);
        await st.flushSettings(page);
        before.settings = settingsOnDisk(); // the user's own last save: the bridge's address in Ensemble's settings
        const standby = await waitFor('the standby status', async () => {
            const t = await page.evaluate(() => document.querySelector('[data-ens="bridge-status"]')?.textContent ?? '');
            return /served by 1 background session/.test(t) ? t : null;
        }, 20_000).catch(() => 'not shown');
        check('the user\'s tab says the background session serves, and takes no requests', /served by 1 background session/.test(standby), standby);

        // ---- a 5-turn conversation while the user works in their own tab ----
        const client = new OpenAI({ apiKey: API_KEY, baseURL: `${server.base}/v1`, maxRetries: 0, timeout: 60_000 });
        const tStart = Date.now();
        const eventsBefore = (await st.harnessEvents(page, 0)).length;
        const turns = [];
        const replies = [];
        const conversation = (async () => {
            for (let i = 1; i <= 5; i++) {
                turns.push({ role: 'user', content: `Alice, turn ${i} of our talk.` });
                const r = await client.chat.completions.create({ model: 'st-char-Alice', messages: turns });
                const text = r.choices[0]?.message?.content ?? '';
                replies.push(text);
                turns.push({ role: 'assistant', content: text });
            }
        })();
        await st.sleep(800);
        await st.slash(page, '/profile-create Made-During-The-Run');
        await st.flushSettings(page);
        await conversation;
        check('5 turns answered through the session with ST\'s pipeline', replies.length === 5 && replies.every((r) => /hello from/.test(r)), replies);
        const log5 = (await st.mockRequests({ since: tStart })).filter((r) => r.path?.includes('chat/completions'));
        check('the conversation continued in one bridge chat (ST\'s last prompt held every turn)', bridgeChats('Alice').length === 1 && (log5.at(-1)?.messages ?? 0) >= 10, { chats: bridgeChats('Alice'), messages: log5.map((r) => r.messages) });
        const userEvents = (await st.harnessEvents(page, 0)).slice(eventsBefore).filter((e) => /chat_id_changed|generation_started/.test(e.ev));
        const nowChat = await page.evaluate(() => SillyTavern.getContext().getCurrentChatId());
        check('the user\'s tab saw no chat change and generated nothing for the bridge', nowChat === userChat && userEvents.length === 0, { nowChat, userEvents });
        check('the user\'s chat file is byte-identical', sha(userChatFile) === before.userChat);
        await st.sleep(1500);
        const after = settingsOnDisk();
        const names = (x) => (x.extension_settings?.connectionManager?.profiles ?? []).map((p) => p.name).sort();
        const strip = (x) => ({ ...x, extension_settings: { ...x.extension_settings, connectionManager: undefined } });
        check('settings.json holds the profile the user made during the run', names(after).includes('Made-During-The-Run'), names(after));
        const changed = Object.keys({ ...after, ...before.settings }).filter((k) => JSON.stringify(strip(after)[k]) !== JSON.stringify(strip(before.settings)[k]));
        check('…and nothing else changed in it', changed.length === 0
            && JSON.stringify(names(after).filter((n) => n !== 'Made-During-The-Run')) === JSON.stringify(names(before.settings)), changed);
        check('no card file changed', JSON.stringify(cards()) === JSON.stringify(before.cards));
        const pointersAfter = await (async () => {
            const out = {};
            for (const avatar of Object.keys(pointers)) out[avatar] = (await st.stApi(page, '/api/characters/get', { avatar_url: avatar })).json?.chat;
            return out;
        })();
        check('every character\'s current chat is unchanged', JSON.stringify(pointersAfter) === JSON.stringify(pointers), pointersAfter);

        // ---- the session's browser killed mid-request ----
        const since = Date.now();
        const pending = client.chat.completions.create({ model: 'st-char-Carol', messages: [{ role: 'user', content: 'Carol, a question the crash interrupts.' }] })
            .then(() => 'answered', (e) => `error ${e.status} ${e.message}`);
        await waitFor('the request in ST', async () => (await st.mockRequests({ since })).some((r) => r.path?.includes('chat/completions')), 20_000);
        const pids = browserPids(server.pid);
        for (const pid of pids) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
        const tKill = Date.now();
        const outcome = await pending;
        check('killing the session\'s browser fails the request in flight with an error, at once', pids.length > 0 && /^error 50\d/.test(outcome) && Date.now() - tKill < 10_000, { outcome, pids: pids.length, ms: Date.now() - tKill });
        const back = await waitFor('the session to come back', async () => ((await sessionState(server)).state === 'ready' ? true : null), 90_000).catch(() => false);
        const again = back ? await client.chat.completions.create({ model: 'st-char-Carol', messages: [{ role: 'user', content: 'Carol, after the crash?' }] }).then((r) => r.choices[0]?.message?.content ?? '', (e) => `error ${e.message}`) : '';
        check('…then the session is restarted and serves again', back && /hello from/.test(again), { again, health: await health(server) });

        // ---- SillyTavern restarted (the user's own tab may log failed saves while ST is down: not counted below) ----
        pageErrorsBeforeRestart = s.pageErrors.length;
        execFileSync(path.join(st.RIG_DIR, 'st-up.sh'), ['--restart'], { env: process.env, stdio: 'ignore' });
        const backAfterSt = await waitFor('the session after ST restarted', async () => {
            const r = await client.chat.completions.create({ model: 'st-char-Bob', messages: [{ role: 'user', content: 'Bob, are you back?' }] }).catch(() => null);
            return r && /hello from/.test(r.choices[0]?.message?.content ?? '') ? true : null;
        }, 120_000).catch(() => false);
        check('after SillyTavern restarts, the session comes back and serves', backAfterSt, await health(server));
        browsers.push(...browserPids(server.pid));
    } finally {
        await server.stop();
    }
    // A zombie (exited, waiting to be reaped by init) counts as gone.
    const alive = (pid) => { try { return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; } };
    // Chromium's helper processes end a moment after its main process.
    const orphans = await waitFor('Chromium to exit', async () => (browsers.some(alive) ? null : []), 5_000).catch(() => browsers.filter(alive));
    check('stopping the server (SIGTERM) leaves no Chromium behind', browsers.length > 0 && orphans.length === 0, { browsers: browsers.length, orphans });

    // ---- ST behind basic auth ----
    const proxy = await basicAuthProxy(st.ST_URL, 'st-user', 'right password');
    try {
        const wrong = await startBridgeServer(st, undefined, ['--st', proxy.url], { ENSEMBLE_ST_BASIC_USER: 'st-user', ENSEMBLE_ST_BASIC_PASSWORD: 'wrong' });
        try {
            const refused = await waitFor('the login refusal', async () => {
                const info = await sessionState(wrong);
                return /login refused/.test(info.error ?? '') ? info : null;
            }, 60_000).catch(() => sessionState(wrong));
            check('basic auth with a wrong password: one clear line in /health (and the console), no password shown', /login refused/.test(refused.error ?? '') && !JSON.stringify(refused).includes('wrong') && !wrong.output().includes('wrong'), refused);
        } finally {
            await wrong.stop();
        }
        const right = await startBridgeServer(st, undefined, ['--st', proxy.url], { ENSEMBLE_ST_BASIC_USER: 'st-user', ENSEMBLE_ST_BASIC_PASSWORD: 'right password' });
        try {
            await waitFor('the session behind basic auth', async () => ((await sessionState(right)).state === 'ready' ? true : null), 120_000).catch(() => false);
            const c2 = new OpenAI({ apiKey: API_KEY, baseURL: `${right.base}/v1`, maxRetries: 0, timeout: 60_000 });
            const r = await c2.chat.completions.create({ model: 'st-char-Alice', messages: [{ role: 'user', content: 'Alice, through basic auth.' }] }).then((x) => x.choices[0]?.message?.content ?? '', (e) => `error ${e.message}`);
            check('an ST behind basic auth: the session logs in and serves', /hello from/.test(r), { r, health: await health(right) });
        } finally {
            await right.stop();
        }
    } finally {
        await proxy.close();
    }
    check('no uncaught page errors in the user\'s tab (before ST was restarted)', pageErrorsBeforeRestart === 0, s.pageErrors.slice(0, 3));
    await st.closeSession(s);
}, { timeoutMs: 1_200_000 });
