#!/usr/bin/env node
// npm run bench — measured side by side in one run (a script, not a timed test):
//   * bundle size (gzip) of dist/index.js;
//   * scene images: command → preview, and a picture accepted during a stream (Accept → insert, stream end → insert);
//   * in real SillyTavern 1.12.6 with the rig's mock: time from GROUP_MEMBER_DRAFTED to the request
//     reaching the mock, per group member, with no extension, with Ensemble installed but nothing
//     assigned, and with Ensemble routing every member through its own profile.
// Needs ST (ST_DIR=../st, say) and ../shared/st-rig; without them only the bundle size is printed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { API_KEY, connectBridge, startBridgeServer } from '../tests/e2e/bridge-server.mjs';
import { startImageServer } from '../tests/e2e/image-server.mjs';
import { benchAlwaysOn, benchSettings } from './always-on.mjs';
import { configureImages, installEnsemble, installRaceProbes, loadRig, RIG, ROOT, setupConnection } from '../tests/e2e/lib.mjs';

const TURNS = Number(process.env.BENCH_TURNS || 8);
const GOALS = { bundleKb: 60, routedMs: 5, idleMs: 1, imageOwnMs: 50, matchMs: 5, continuedMs: 20 };
const SESSIONS = 1000;

/** The bridge server's index of bridge chats (src/protocol/conversations.ts), bundled for Node (no ST needed). */
async function loadConversations() {
    const esbuild = await import('esbuild');
    const out = await esbuild.build({ entryPoints: [path.join(ROOT, 'src/protocol/conversations.ts')], bundle: true, write: false, format: 'esm', platform: 'neutral', logLevel: 'silent' });
    return import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
}

/** NextChat's shape: a mask greeting, the last 4 stored messages, the new one. Its conversation i has turn i. */
const conversation = (i, turns) => Array.from({ length: turns }, (_, t) => [
    { role: 'user', content: `conversation ${i}: question ${t} about ferns and moss, long enough to look like a real message` },
    { role: 'assistant', content: `conversation ${i}: answer ${t}. `.repeat(20) },
]).flat();

/** Finding the conversation a NextChat-shaped request continues, among SESSIONS remembered bridge chats. */
async function benchMatching() {
    const { ConversationIndex } = await loadConversations();
    const index = new ConversationIndex();
    for (let i = 0; i < SESSIONS; i++) index.remember('st-char-Alice', `chat ${i}`, [{ role: 'assistant', content: 'greeting' }, ...conversation(i, 6)]);
    const greeting = { role: 'assistant', content: 'greeting' };
    const time = (history, runs = 2000) => {
        const ms = [];
        for (let r = 0; r < runs; r++) {
            const t0 = performance.now();
            index.find('st-char-Alice', history);
            ms.push(performance.now() - t0);
        }
        return ms.sort((a, b) => a - b);
    };
    const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))];
    // The oldest conversation (last in the list), by its 4-message window: the longest scan that still matches.
    const windowHit = [greeting, ...conversation(0, 6).slice(-4)];
    const check = index.find('st-char-Alice', windowHit)?.file;
    const hit = time(windowHit);
    const miss = time([greeting, ...conversation(SESSIONS + 1, 2)]);
    console.log(`conversation matching among ${SESSIONS} bridge chats (NextChat shape: greeting + 4-message window), ${hit.length} lookups each:`);
    console.log(`  window match (found "${check}") median ${pct(hit, 0.5).toFixed(3)} ms, p99 ${pct(hit, 0.99).toFixed(3)} ms; no match (a new conversation) median ${pct(miss, 0.5).toFixed(3)} ms, p99 ${pct(miss, 0.99).toFixed(3)} ms `
        + `(goal ≤ ${GOALS.matchMs} ms: ratio ${(pct(miss, 0.99) / GOALS.matchMs).toFixed(3)} to goal at p99)`);
}
const IMAGE_RUNS = Number(process.env.BENCH_IMAGE_RUNS || 10);
const API_LATENCY_MS = 150;
const RACE_RUNS = Number(process.env.BENCH_RACE_RUNS || 4);
/** Each SSE event of a streamed reply is held this long in the page, so a reply streams for ~2 s. */
const RACE_EVENT_MS = 300;

spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
const gz = zlib.gzipSync(fs.readFileSync(path.join(ROOT, 'dist', 'index.js'))).length / 1024;
console.log(`bundle: dist/index.js ${gz.toFixed(1)} KB gzip (goal ≤ ${GOALS.bundleKb} KB): ratio to goal ${(gz / GOALS.bundleKb).toFixed(2)}`);

await benchMatching();

const ST_DIR = process.env.ST_DIR ? path.resolve(process.env.ST_DIR) : '';
if (!ST_DIR || !fs.existsSync(path.join(ST_DIR, 'server.js')) || !fs.existsSync(path.join(RIG, 'st-up.sh'))) {
    console.log(`bench: ST part skipped (no SillyTavern: ST_DIR=${ST_DIR || 'unset'})`);
    process.exit(0);
}
const up = spawnSync(path.join(RIG, 'st-up.sh'), ['--reset', '--with-mock'], { env: { ...process.env, ST_DIR, MOCK_QUIET: '1' }, encoding: 'utf8' });
if (up.status !== 0) throw new Error(`st-up failed: ${up.stderr}`);

const st = await loadRig();
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2 : NaN; };

/** Runs `TURNS` group turns; pairs each draft (page clock) with the mock's request (same machine clock). */
async function measure(page, label) {
    await st.sendAndWait(page, `${label} warm-up`, { expectReplies: 3, settleMs: 200 }); // first turn pays one-off costs
    const since = Date.now();
    await page.evaluate(() => { window.__emitTimes = []; });
    for (let i = 0; i < TURNS; i++) await st.sendAndWait(page, `${label} ${i}`, { expectReplies: 3, settleMs: 200 });
    const emits = await page.evaluate(() => window.__emitTimes);
    const events = await st.harnessEvents(page, since);
    const drafts = events.filter((e) => e.ev === 'group_member_drafted');
    const reqs = (await st.mockRequests({ since })).filter((r) => r.path?.includes('chat/completions'));
    const n = Math.min(drafts.length, reqs.length);
    const deltas = [];
    for (let i = 0; i < n; i++) deltas.push(reqs[i].t - drafts[i].t);
    // All listeners of the two events Ensemble handles per member, timed around ST's own emit().
    const perMember = [];
    const drafted = emits.filter((e) => e.ev === 'group_member_drafted');
    const ready = emits.filter((e) => e.ev === 'chat_completion_settings_ready');
    for (let i = 0; i < Math.min(drafted.length, ready.length); i++) perMember.push(drafted[i].ms + ready[i].ms);
    const m = median(deltas);
    console.log(`  ${label.padEnd(30)} listeners per member median ${median(perMember).toFixed(3)} ms (n=${perMember.length}); `
        + `draft → request median ${m.toFixed(1)} ms (n=${n}, min ${Math.min(...deltas)}, max ${Math.max(...deltas)})`);
    return { total: m, listeners: median(perMember) };
}

/**
 * /genimage → preview, against prompt and image APIs that each take a fixed API_LATENCY_MS: Ensemble's
 * own time is the command-to-preview time (page clock) minus the two calls' durations (server clock).
 */
async function benchImages(page) {
    const server = await startImageServer({ mockBase: new URL(st.MOCK_URL).origin, latencyMs: API_LATENCY_MS });
    try {
        await configureImages(st, page, {
            promptSource: 'endpoint', 'promptEndpoint.url': `${server.base}/v1`, 'promptEndpoint.model': 'gpt-c',
            imageUrl: `${server.base}/v1`, size: '256x256', retries: 0,
        });
        await page.evaluate(async () => {
            const ctx = SillyTavern.getContext();
            await ctx.selectCharacterById(String(ctx.characters.findIndex((c) => c.name === 'Alice')));
        });
        await page.waitForFunction(() => !SillyTavern.getContext().groupId);
        await st.sendAndWait(page, 'Picture this.', { expectReplies: 1 });
        const own = [];
        const ownServer = [];
        const total = [];
        for (let i = 0; i < IMAGE_RUNS + 1; i++) {
            const before = server.seen.length;
            const r = await page.evaluate(async () => {
                // The two API calls as the page sees them: from fetch() to the response's headers.
                const calls = [];
                const realFetch = window.fetch;
                window.fetch = async (...args) => {
                    const s = performance.now();
                    try { return await realFetch(...args); } finally { calls.push(performance.now() - s); }
                };
                const t0 = performance.now();
                const done = SillyTavern.getContext().executeSlashCommandsWithOptions('/genimage');
                await new Promise((resolve) => {
                    const check = () => document.querySelector('dialog.popup[open] .ensemble-preview') && (obs.disconnect(), resolve());
                    const obs = new window.MutationObserver(check);
                    obs.observe(document.body, { subtree: true, childList: true });
                    check();
                });
                const t1 = performance.now();
                window.fetch = realFetch;
                window.__benchDone = done;
                return { ms: t1 - t0, calls };
            });
            await page.locator('dialog.popup[open]:has(.ensemble-preview) .popup-controls >> text="Discard"').click();
            await page.evaluate(() => window.__benchDone);
            const served = server.seen.slice(before);
            if (i === 0 || r.calls.length !== 2 || served.length !== 2) continue; // the first run warms caches (and CORS preflights)
            own.push(r.ms - r.calls[0] - r.calls[1]);
            ownServer.push(r.ms - served.reduce((sum, c) => sum + (c.end - c.t), 0));
            total.push(r.ms);
        }
        // For scale: what ST itself spends to run a slash command that does nothing.
        const slashMs = median(await page.evaluate(async () => {
            const out = [];
            for (let i = 0; i < 10; i++) {
                const t0 = performance.now();
                await SillyTavern.getContext().executeSlashCommandsWithOptions('/pass x');
                out.push(performance.now() - t0);
            }
            return out;
        }));
        console.log(`scene images in real ST 1.12.6, ${own.length} runs, each API call fixed at ${API_LATENCY_MS} ms (ST's own run of an empty slash command: ${slashMs.toFixed(1)} ms):`);
        console.log(`  command → preview median ${median(total).toFixed(1)} ms; Ensemble's own time beyond the two API calls median ${median(own).toFixed(1)} ms `
            + `(goal ≤ ${GOALS.imageOwnMs} ms, ratio ${(median(own) / GOALS.imageOwnMs).toFixed(2)} to goal; min ${Math.min(...own).toFixed(1)}, max ${Math.max(...own).toFixed(1)})`);
        console.log(`  the same with the calls timed at the server (so loopback and browser fetch overhead count as Ensemble's): median ${median(ownServer).toFixed(1)} ms`);
        await benchAcceptDuringStream(page);
    } finally {
        await server.stop();
    }
}

/**
 * A picture accepted while ST streams a reply (1:1, Alice): /genimage on her previous reply, Accept pressed
 * mid-stream. Measures, on the page clock, Accept → the picture's splice into the chat, and how long after
 * the stream's end (its MESSAGE_RECEIVED) the splice came. ST streams here; each SSE event of its answer is
 * held RACE_EVENT_MS in the page, as the rig's mock runs with a 5 ms chunk delay for the other figures.
 */
async function benchAcceptDuringStream(page) {
    const streamed = async (on) => {
        await st.openAiDrawer(page);
        await page.locator('#stream_toggle').setChecked(on);
        await st.closeAiDrawer(page);
    };
    const wasStreaming = await page.evaluate(async () => (await import('/scripts/openai.js')).oai_settings.stream_openai);
    await streamed(true);
    await installRaceProbes(page);
    await page.evaluate((ms) => {
        const realFetch = window.fetch;
        window.__realFetch = realFetch;
        window.fetch = async (url, init) => {
            const res = await realFetch(url, init);
            if (!String(url).includes('/chat-completions/generate') || !String(init?.body ?? '').includes('"stream":true') || !res.body) return res;
            let buffered = '';
            const decoder = new TextDecoder();
            const encoder = new TextEncoder();
            const slow = new TransformStream({
                async transform(chunk, out) {
                    buffered += decoder.decode(chunk, { stream: true });
                    const events = buffered.split('\n\n');
                    buffered = events.pop() ?? '';
                    for (const e of events) {
                        await new Promise((r) => setTimeout(r, ms));
                        out.enqueue(encoder.encode(`${e}\n\n`));
                    }
                },
                flush(out) { if (buffered) out.enqueue(encoder.encode(buffered)); },
            });
            return new Response(res.body.pipeThrough(slow), { status: res.status, headers: res.headers });
        };
    }, RACE_EVENT_MS);
    const toInsert = [];
    const afterEnd = [];
    let missed = 0;
    let raced = 0;
    try {
        for (let i = 0; i < RACE_RUNS; i++) {
            const source = await page.evaluate(() => SillyTavern.getContext().chat.findLastIndex((m) => !m.is_user && !m.is_system));
            const inserted = await page.evaluate(() => window.__race.inserts.length);
            await page.locator('#send_textarea').fill(`Race ${i}: tell me more.`);
            await page.locator('#send_but').click();
            await page.waitForFunction(() => window.__race.busy().streaming, null, { timeout: 20_000, polling: 20 });
            await page.evaluate((id) => { window.__raceRun = SillyTavern.getContext().executeSlashCommandsWithOptions(`/genimage mesid=${id}`); }, source);
            await page.locator('dialog.popup[open] .ensemble-preview').waitFor({ state: 'visible', timeout: 30_000 });
            const mid = await page.evaluate(() => {
                const streaming = window.__race.busy().streaming;
                window.__race.accepted = Date.now();
                document.querySelector('dialog.popup[open] .popup-button-ok')?.click();
                return streaming;
            });
            await page.evaluate(() => window.__raceRun);
            await page.waitForFunction(() => !Object.values(window.__race.busy()).some(Boolean), null, { timeout: 30_000 });
            const r = await page.evaluate((n) => ({ insert: window.__race.inserts[n], accepted: window.__race.accepted, ends: window.__race.received }), inserted);
            const end = r.ends.filter((e) => e.t <= (r.insert?.t ?? Infinity)).at(-1);
            if (!mid || !r.insert || !end) {
                missed++;
                continue;
            }
            if (r.insert.streaming || r.insert.sendPress) raced++;
            toInsert.push(r.insert.t - r.accepted);
            afterEnd.push(r.insert.t - end.t);
        }
    } finally {
        await page.evaluate(() => {
            window.fetch = window.__realFetch;
            delete SillyTavern.getContext().chat.splice;
        });
        await streamed(wasStreaming);
    }
    const span = (xs) => `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
    console.log(`accept during a stream → picture inserted after the stream ends (1:1, a reply streamed over ~2 s, ${toInsert.length} runs${missed ? `, ${missed} where Accept came too late to count` : ''}):`);
    console.log(`  Accept → insert ${span(toInsert)}; the insert came ${span(afterEnd)} after the stream's end; inserts during a generation: ${raced}`);
}

/** Time to first and last token of one streaming request, from a plain fetch client. */
async function streamTimes(url, headers, body) {
    const t0 = performance.now();
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let first = null;
    for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (first === null && /"content":"[^"]/.test(decoder.decode(value))) first = performance.now() - t0;
    }
    return { first: first ?? NaN, last: performance.now() - t0 };
}

/** A character through the bridge and real ST (the rig's mock behind it) vs the same mock called directly. */
async function benchBridge(page) {
    const server = await startBridgeServer(st);
    try {
        await connectBridge(st, page, server.port);
        const via = [];
        const direct = [];
        for (let i = 0; i < 11; i++) {
            const messages = [{ role: 'user', content: `bench question ${i}` }];
            const a = await streamTimes(`${server.base}/v1/chat/completions`, { authorization: `Bearer ${API_KEY}` }, { model: 'st-char-Alice', stream: true, messages });
            const b = await streamTimes(`${st.MOCK_URL}/chat/completions`, { authorization: 'Bearer sk-mine' }, { model: 'gpt-c', stream: true, messages });
            if (i === 0) continue; // warm-up
            via.push(a);
            direct.push(b);
        }
        const m = (xs, k) => median(xs.map((x) => x[k]));
        console.log(`bridge end to end (stream, ${via.length} requests): through the bridge and real ST vs the mock called directly`);
        console.log(`  time to first token median ${m(via, 'first').toFixed(1)} ms vs ${m(direct, 'first').toFixed(1)} ms; to last token ${m(via, 'last').toFixed(1)} ms vs ${m(direct, 'last').toFixed(1)} ms `
            + `(ratio ${(m(via, 'last') / m(direct, 'last')).toFixed(1)}: ST's prompt building, its request to the mock and the chat switches)`);

        // NextChat-shaped, like for like: a conversation of 3 exchanges continued through NextChat's
        // 4-message window, vs a new conversation whose request carries a history of the same size (so ST
        // builds a prompt of the same length and opens a chat of the same length); the index holds SESSIONS
        // other chats. Each pair uses its own conversation, so chats do not grow from one pair to the next.
        const body = (messages) => ({ messages, stream: true, model: 'st-char-Alice', temperature: 0.5, presence_penalty: 0, frequency_penalty: 0, top_p: 1 });
        const greeting = { role: 'assistant', content: 'Hello, I am Alice.' };
        const fresh = [];
        const continued = [];
        const ask = async (messages) => {
            const t0 = performance.now();
            const res = await fetch(`${server.base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` }, body: JSON.stringify(body(messages)) });
            let text = '';
            for (const line of (await res.text()).split('\n')) if (line.startsWith('data: {')) text += JSON.parse(line.slice(6)).choices[0]?.delta?.content ?? '';
            return { ms: performance.now() - t0, text };
        };
        for (let i = 0; i < 10; i++) {
            let stored = [];
            for (let t = 0; t < 3; t++) {
                const q = { role: 'user', content: `conversation ${i}, turn ${t}` };
                stored = [...stored, q, { role: 'assistant', content: (await ask([greeting, ...stored.slice(-4), q])).text }];
            }
            const other = stored.map((m) => ({ ...m, content: `other ${m.content}` }));
            const b = await ask([greeting, ...stored.slice(-4), { role: 'user', content: `conversation ${i}, turn 3` }]);
            const a = await ask([greeting, ...other, { role: 'user', content: `other conversation ${i}, turn 3` }]);
            if (i < 1) continue; // warm-up
            fresh.push(a.ms);
            continued.push(b.ms);
        }
        const added = median(continued) - median(fresh);
        console.log(`NextChat-shaped requests through the bridge and real ST (${fresh.length} pairs, same history size; ${SESSIONS} other bridge chats remembered):`);
        console.log(`  continued through the 4-message window median ${median(continued).toFixed(1)} ms vs a new conversation ${median(fresh).toFixed(1)} ms: `
            + `${added.toFixed(1)} ms added (goal ≤ ${GOALS.continuedMs} ms), ratio ${(median(continued) / median(fresh)).toFixed(3)}`);
    } finally {
        await server.stop();
    }
}

/** BENCH_ONLY=groups,images,bridge,settings,always-on runs only those parts (default: all). */
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').map((x) => x.trim()).filter(Boolean);
const want = (part) => ONLY.length === 0 || ONLY.includes(part);
const SETTINGS_CONVERSATIONS = Number(process.env.BENCH_SETTINGS_CONVERSATIONS || 1000);

const browser = await st.launch();
try {
    const s = await st.openST(browser);
    const page = s.page;
    // Time every emit of the two events, all listeners included (ST's modules call this same object).
    await page.evaluate(() => {
        const es = SillyTavern.getContext().eventSource;
        const emit = es.emit.bind(es);
        window.__emitTimes = [];
        es.emit = async (ev, ...args) => {
            const t = performance.now();
            try { return await emit(ev, ...args); } finally {
                if (ev === 'group_member_drafted' || ev === 'chat_completion_settings_ready') window.__emitTimes.push({ ev, ms: performance.now() - t });
            }
        };
    });
    await setupConnection(st, page);
    // Each phase in a new group with the same members, so every phase starts from an empty chat
    // (a longer chat makes ST's own prompt building slower, which is not Ensemble's cost).
    const freshGroup = async (name) => {
        const id = await st.createGroup(page, { name, members: ['Alice', 'Bob', 'Carol'], activation: 1 });
        await st.openGroup(page, id);
    };
    const groups = want('groups');
    if (groups) console.log(`group turns in real ST 1.12.6, ${TURNS} turns × 3 members per phase:`);
    if (groups) await freshGroup('Bench none');
    const none = groups ? await measure(page, 'no extension') : null;
    // SESSIONS remembered bridge chats of Alice (files that do not exist: only the lookup is measured).
    await page.evaluate((n) => {
        const ctx = SillyTavern.getContext();
        ctx.extensionSettings.ensemble_bridge_sessions = { 'st-char-Alice': Array.from({ length: n }, (_, i) => ({ file: `none ${i}`, hash: `h${i}`, at: i, tails: [`a${i}`, `b${i}`, `c${i}`] })) };
        ctx.saveSettingsDebounced();
    }, SESSIONS);
    await installEnsemble(st, page);
    if (groups) {
        await freshGroup('Bench idle');
        const idle = await measure(page, 'Ensemble, nothing assigned');
        await st.slash(page, '/ens-profile char=Alice Mock-A');
        await st.slash(page, '/ens-profile char=Bob Mock-B');
        await st.slash(page, '/ens-profile char=Carol Mock-C');
        await freshGroup('Bench routed');
        const routed = await measure(page, 'Ensemble, every member routed');
        const line = (what, m, goal) => console.log(`${what}: ${(m.listeners - none.listeners).toFixed(3)} ms added per member (goal ${goal}); `
            + `draft → request ${(m.total - none.total).toFixed(1)} ms added, ratio ${(m.total / none.total).toFixed(3)} to no extension`);
        line('nothing assigned', idle, `< ${GOALS.idleMs} ms`);
        line('routed          ', routed, `≤ ${GOALS.routedMs} ms`);
    }
    if (want('images')) await benchImages(page);
    if (want('bridge')) await benchBridge(page);
    if (want('settings')) await benchSettings(st, page, SETTINGS_CONVERSATIONS);
    if (want('always-on')) await benchAlwaysOn(st, page);
    await st.closeSession(s);
} finally {
    await browser.close();
    spawnSync(path.join(RIG, 'st-down.sh'), [], { stdio: 'ignore' });
}
