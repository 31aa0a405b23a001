// Bench parts for the bridge's guest behaviour and its background sessions (imported by bench/run.mjs):
//   * ST's settings.json size and saveSettings() time before and after N bridge conversations served by a
//     user's tab (the bridge keeps its index in its own data folder, so ST's settings must not grow);
//   * time per request beyond ST's own prompt building and generation, for a continued and a new
//     conversation, served by the user's tab vs by a background session (`npm start -- --st`);
//   * 20 concurrent requests on 1 vs 4 sessions, with the mock answering in MOCK_SLOW_MS;
//   * RSS of the server and of each session.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { API_KEY, connectBridge, startBridgeServer } from '../tests/e2e/bridge-server.mjs';
import { RIG } from '../tests/e2e/lib.mjs';

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2 : NaN; };
const ms = (x) => `${x.toFixed(1)} ms`;

async function ask(server, messages, model = 'st-char-Alice') {
    const t0 = performance.now();
    const res = await fetch(`${server.base}/v1/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` }, body: JSON.stringify({ model, messages }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(`bridge answered ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
    return { ms: performance.now() - t0, text: body.choices[0].message.content };
}

/** ST's own prompt building and generation for one user turn, timed inside the page (no bridge involved). */
async function ownGeneration(page, text) {
    return page.evaluate(async (t) => {
        const script = await import('/script.js');
        await script.sendMessageAsUser(t, '');
        const t0 = performance.now();
        await SillyTavern.getContext().generate('normal');
        return performance.now() - t0;
    }, text);
}

async function waitReady(server, count, timeout = 180_000) {
    const end = Date.now() + timeout;
    while (Date.now() < end) {
        const h = await (await fetch(`${server.base}/health`)).json();
        if (h.sessions?.length === count && h.sessions.every((s) => s.state === 'ready')) return;
        await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error('sessions did not become ready');
}

const rssMb = (pid) => {
    try { return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024; } catch { return 0; }
};
/** The server's RSS, and its browser's processes: the main one, helpers, and the renderers of the sessions' pages. */
function memory(serverPid, sessions) {
    const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args=']).toString().trim().split('\n').map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l)).filter(Boolean);
    const kids = new Map();
    for (const [, pid, ppid] of rows) kids.set(ppid, [...(kids.get(ppid) ?? []), pid]);
    const tree = [];
    const walk = (p) => { for (const k of kids.get(String(p)) ?? []) { tree.push(k); walk(k); } };
    walk(serverPid);
    const procs = rows.filter(([, pid]) => tree.includes(pid));
    const sum = (filter) => procs.filter(([, , , args]) => filter(args)).reduce((n, [, pid]) => n + rssMb(pid), 0);
    const renderers = sum((a) => /--type=renderer/.test(a));
    const browser = sum((a) => /chrom/i.test(a));
    return `server ${rssMb(serverPid).toFixed(0)} MB; browser ${browser.toFixed(0)} MB in all (renderers ${renderers.toFixed(0)} MB: `
        + `about ${(renderers / sessions).toFixed(0)} MB per session; main process and helpers ${(browser - renderers).toFixed(0)} MB, shared)`;
}

/** settings.json and saveSettings() around N conversations served by the user's own tab. */
export async function benchSettings(st, page, conversations) {
    const file = path.join(st.ST_DATA, 'default-user', 'settings.json');
    const saveTimes = () => page.evaluate(async () => {
        const script = await import('/script.js');
        const out = [];
        for (let i = 0; i < 15; i++) {
            const t0 = performance.now();
            await script.saveSettings();
            out.push(performance.now() - t0);
        }
        return out;
    });
    const server = await startBridgeServer(st);
    try {
        await connectBridge(st, page, server.port);
        await st.flushSettings(page);
        const size0 = fs.statSync(file).size;
        const save0 = median(await saveTimes());
        const t0 = Date.now();
        for (let i = 0; i < conversations; i++) {
            await ask(server, [{ role: 'user', content: `conversation ${i}: hello` }, { role: 'assistant', content: `reply ${i}` }, { role: 'user', content: `conversation ${i}: more?` }]);
        }
        await st.flushSettings(page);
        const size1 = fs.statSync(file).size;
        const save1 = median(await saveTimes());
        console.log(`ST's settings around ${conversations} bridge conversations served by the user's tab (${((Date.now() - t0) / 1000).toFixed(0)} s):`);
        console.log(`  settings.json ${(size0 / 1024).toFixed(1)} KB → ${(size1 / 1024).toFixed(1)} KB (ratio ${(size1 / size0).toFixed(3)}, goal ≤ 1.05); `
            + `saveSettings() median ${ms(save0)} → ${ms(save1)} (ratio ${(save1 / save0).toFixed(3)}, goal ≤ 1.05)`);
    } finally {
        await server.stop();
    }
}

/** Per request beyond ST's own work: the user's tab vs a background session; new vs continued conversations. */
export async function benchAlwaysOn(st, page, { slowMs = [1000, 3000] } = {}) {
    const N = 10;
    // ST's own prompt building and generation, in the user's page, for a new chat and a chat of ~N turns.
    await page.evaluate(async () => {
        const ctx = SillyTavern.getContext();
        await ctx.selectCharacterById(String(ctx.characters.findIndex((c) => c.name === 'Alice')));
    });
    await page.waitForFunction(() => SillyTavern.getContext().characterId !== undefined && !SillyTavern.getContext().groupId);
    await st.slash(page, '/newchat');
    const own = [];
    for (let i = 0; i < N; i++) own.push(await ownGeneration(page, `own turn ${i}`));
    const ownNew = own[0];
    const ownMedian = median(own.slice(1));
    const rows = [];
    const run = async (label, server) => {
        const fresh = [];
        for (let i = 0; i < N; i++) fresh.push((await ask(server, [{ role: 'user', content: `${label} new ${i}` }])).ms);
        const convo = [];
        const continued = [];
        for (let i = 0; i < N + 1; i++) {
            convo.push({ role: 'user', content: `${label} turn ${i}` });
            const r = await ask(server, convo);
            convo.push({ role: 'assistant', content: r.text });
            if (i > 0) continued.push(r.ms);
        }
        rows.push({ label, fresh: median(fresh.slice(1)), continued: median(continued) });
    };
    let server = await startBridgeServer(st);
    try {
        await connectBridge(st, page, server.port);
        await run('user tab', server);
    } finally {
        await server.stop();
    }
    server = await startBridgeServer(st, undefined, ['--st', st.ST_URL.replace(/\/$/, ''), '--sessions', '1']);
    try {
        await waitReady(server, 1);
        await run('session', server);
        console.log(`always on, one request at a time in real ST 1.12.6 (${N} each; ST's own prompt building and generation for a turn, timed in the page: median ${ms(ownMedian)}, first turn of a new chat ${ms(ownNew)}):`);
        for (const r of rows) {
            console.log(`  ${r.label.padEnd(9)} new conversation median ${ms(r.fresh)} (${ms(r.fresh - ownMedian)} beyond ST's own, goal ≤ 600 ms); `
                + `continued median ${ms(r.continued)} (${ms(r.continued - ownMedian)} beyond ST's own, goal ≤ 150 ms)`);
        }
        console.log(`  memory with 1 session: ${memory(server.pid, 1)}`);
    } finally {
        await server.stop();
    }

    // 20 concurrent new conversations, the mock answering in a fixed time (an LLM's reply takes seconds): 1 session vs 4.
    let memory4 = '';
    for (const latency of slowMs) {
        spawnSync(path.join(RIG, 'st-down.sh'), [], { stdio: 'ignore' });
        const up = spawnSync(path.join(RIG, 'st-up.sh'), ['--with-mock'], { env: { ...process.env, MOCK_LATENCY_MS: String(latency), MOCK_QUIET: '1' }, encoding: 'utf8' });
        if (up.status !== 0) throw new Error(`st-up failed: ${up.stderr}`);
        const walls = {};
        for (const n of [1, 4]) {
            server = await startBridgeServer(st, undefined, ['--st', st.ST_URL.replace(/\/$/, ''), '--sessions', String(n), '--timeout', '600']);
            try {
                await waitReady(server, n);
                await ask(server, [{ role: 'user', content: 'warm-up' }]);
                const t0 = performance.now();
                const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(server, [{ role: 'user', content: `concurrent ${n}/${i}` }], i % 2 ? 'st-char-Bob' : 'st-char-Carol')));
                walls[n] = performance.now() - t0;
                if (answers.length !== 20) throw new Error('missing answers');
                if (n === 4) memory4 = memory(server.pid, 4);
            } finally {
                await server.stop();
            }
        }
        console.log(`20 concurrent requests, the mock answering in ${latency} ms: 1 session ${(walls[1] / 1000).toFixed(1)} s, 4 sessions ${(walls[4] / 1000).toFixed(1)} s: `
            + `${(walls[1] / walls[4]).toFixed(2)}× faster (goal ≥ 3×)`);
    }
    console.log(`  memory with 4 sessions: ${memory4}`);
}
