#!/usr/bin/env node
// npm run bench:bridge — the bridge server's own costs, measured in one run:
//   * relay overhead: streaming clients against fake tabs that answer at once (tests/server/peer.ts);
//     added = client time (request sent → [DONE] read) minus the tab's own time, p50/p99, at 1, 100
//     and 1,000 concurrent clients (as many tabs as clients, so nothing waits in the queue);
//   * peak RSS of the server process (the built server/dist/main.js in a child process, VmHWM);
//   * 10,000 requests with distinct contents through tabs that answer in jittered pieces, more
//     clients than tabs (so the queue is used): replies that are not their own (crossed) and missing ones (lost).
// Clients and fake tabs share this process, so its own event loop is part of "added".
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { buildServer } from '../scripts/build-server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(ROOT);
const KEY = 'bench-key-0123456789';
const TOKEN = 'bench-token-0123456789';
const LEVELS = [[1, 300], [100, 10], [1000, 3]]; // [concurrent clients, rounds]
const DISTINCT = Number(process.env.BENCH_DISTINCT || 10_000);

await buildServer();
// The fake extension is TypeScript; bundle it next to node_modules so its imports (ws, zod) resolve.
const outdir = path.join(ROOT, 'node_modules', '.cache', 'ensemble-bench');
await build({ entryPoints: ['tests/server/peer.ts'], bundle: true, format: 'esm', platform: 'node', packages: 'external', outdir, outExtension: { '.js': '.mjs' }, logLevel: 'warning' });
const { FakeExtension, ALICE, BOB } = await import(pathToFileURL(path.join(outdir, 'peer.mjs')).href);

// --- the server, as `npm start` runs it -------------------------------------------------------
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-bench-'));
// The same node flags as `npm start` (package.json), so memory is measured as users run it.
const NODE_FLAGS = JSON.parse(fs.readFileSync('package.json', 'utf8')).scripts.start.match(/node ((?:--\S+ )*)scripts\/start\.mjs/)?.[1].trim().split(' ').filter(Boolean) ?? [];
const child = spawn(process.execPath, [...NODE_FLAGS, 'server/dist/main.js', '--port', '0', '--data-dir', dataDir, '--queue-limit', '20000'], {
    env: { ...process.env, ENSEMBLE_API_KEYS: KEY, ENSEMBLE_LINK_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
});
const base = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
        out += d;
        const m = /(http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(out);
        if (m) resolve(m[1]);
    });
    child.stderr.on('data', () => undefined); // keep both pipes drained: a full pipe would stall the server
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${out}`)));
});
const bridgeUrl = `${base.replace('http', 'ws')}/bridge`;
/** CPU ms the server process has used (user + system), from /proc; NaN elsewhere. */
const serverCpuMs = () => {
    try {
        const f = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
        return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // clock ticks, USER_HZ = 100 on Linux
    } catch {
        return NaN;
    }
};
/** Resets the peak-RSS mark (Linux), so each phase reports its own. */
const resetPeak = () => { try { fs.writeFileSync(`/proc/${child.pid}/clear_refs`, '5'); } catch { /* not Linux */ } };
const peakRssMb = () => {
    try {
        const kb = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
        return kb ? Number(kb) / 1024 : NaN;
    } catch {
        return NaN;
    }
};

// --- helpers -------------------------------------------------------------------------------------
let peers = [];
async function linkTabs(n, opts = {}) {
    for (let i = peers.length; i < n; i += 100) {
        const batch = Array.from({ length: Math.min(100, n - i) }, (_, j) =>
            FakeExtension.link({ url: bridgeUrl, token: TOKEN, tab: `bench-${i + j}-${Math.random()}`, models: [ALICE, BOB], ...opts }));
        peers.push(...(await Promise.all(batch)));
    }
    for (;;) { // until the server has every tab's catalog
        const h = await (await fetch(`${base}/health`)).json();
        if (h.tabs >= n) break;
        await new Promise((r) => setTimeout(r, 20));
    }
}
function unlinkAll() {
    for (const p of peers) p.ws.terminate();
    peers = [];
}
const ownMs = (id) => { for (const p of peers) { const t = p.ownMs.get(id); if (t !== undefined) return t; } return 0; };

// node:http rather than fetch: the client's own cost counts in "added", and undici's is several times higher.
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

/** One request; resolves with its reply text (null: error or no [DONE]), the request id and the client-side time. */
function ask(content, stream, model = ALICE.id) {
    const t0 = performance.now();
    const body = JSON.stringify({ model, stream, messages: [{ role: 'user', content }] });
    return new Promise((resolve, reject) => {
        const req = http.request(`${base}/v1/chat/completions`, {
            method: 'POST', agent, timeout: 60_000,
            headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => { text += d; });
            res.on('end', () => resolve({ ms: performance.now() - t0, ...(stream ? fromSse(text) : fromJson(text)) }));
            res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end(body);
    });
}
function fromJson(text) {
    const json = JSON.parse(text);
    return { id: json.id, text: json.choices?.[0]?.message?.content ?? null };
}
function fromSse(body) {
    let id = null;
    let text = '';
    let done = false;
    for (const line of body.split('\n')) {
        if (line === 'data: [DONE]') done = true;
        else if (line.startsWith('data: ')) {
            const c = JSON.parse(line.slice(6));
            if (c.error) return { id, text: null };
            id ??= c.id;
            text += c.choices[0].delta.content ?? '';
        }
    }
    return { id, text: done ? text : null };
}

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };

// --- relay overhead ------------------------------------------------------------------------------
console.log(`bridge bench: server ${base} (node server/dist/main.js, pid ${child.pid}); clients and fake tabs in this process; ${os.cpus().length} CPUs`);
await linkTabs(1);
for (let i = 0; i < 50; i++) await ask(`warm-up ${i}`, true); // JIT and connection pools
console.log('relay overhead, streaming, all requests sent in the same instant (added = client time − the tab\'s own time; at 100 and 1,000 this is the server\'s throughput: the last request waits for the others to be parsed and relayed):');
resetPeak();
for (const [clients, rounds] of LEVELS) {
    await linkTabs(clients);
    const added = [];
    let bad = 0;
    const cpu0 = serverCpuMs();
    for (let r = 0; r < rounds; r++) {
        const results = clients === 1
            ? [await ask(`r${r}`, true)]
            : await Promise.all(Array.from({ length: clients }, (_, i) => ask(`r${r}-c${i}`, true)));
        for (const x of results) {
            if (x.text === null) bad++;
            else added.push(x.ms - ownMs(x.id));
        }
    }
    const label = `${clients} client${clients > 1 ? 's' : ''}`.padEnd(12);
    const cpuPerRequest = (serverCpuMs() - cpu0) / (clients * rounds);
    console.log(`  ${label} ${String(added.length).padStart(5)} requests: p50 ${pct(added, 50).toFixed(2)} ms, p99 ${pct(added, 99).toFixed(2)} ms, ` +
        `server CPU ${cpuPerRequest.toFixed(2)} ms/request${bad ? `, ${bad} failed` : ''}`);
}
console.log(`  server peak RSS in this phase: ${peakRssMb().toFixed(1)} MB`);
unlinkAll();

// --- steady streaming -------------------------------------------------------------------------
// 1,000 streams open at the same time (starts spread over STEADY_SPREAD_MS), each tab sending a delta
// every STEADY_EVERY_MS that carries the time it was sent; the client notes when each arrives.
const STEADY = 1000;
const STEADY_DELTAS = 10;
const STEADY_EVERY_MS = 500;
const STEADY_SPREAD_MS = 1000;
await new Promise((r) => setTimeout(r, 200));
const ticking = (req, peer) => {
    let n = 0;
    const tick = () => {
        if (n++ < STEADY_DELTAS) {
            peer.send({ type: 'delta', id: req.id, text: `<${performance.now().toFixed(3)}>` });
            setTimeout(tick, STEADY_EVERY_MS);
        } else {
            peer.send({ type: 'done', id: req.id, text: '', finishReason: 'stop' });
        }
    };
    tick();
};
await linkTabs(STEADY, { answer: ticking });
resetPeak();
const chunkMs = [];
let open = 0;
let maxOpen = 0;
let steadyBad = 0;
const stream = (i) => new Promise((resolve) => {
    const body = JSON.stringify({ model: ALICE.id, stream: true, messages: [{ role: 'user', content: `steady ${i}` }] });
    const req = http.request(`${base}/v1/chat/completions`, {
        method: 'POST', agent, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
        open++;
        maxOpen = Math.max(maxOpen, open);
        res.setEncoding('utf8');
        let got = 0;
        res.on('data', (d) => {
            const now = performance.now();
            for (const m of d.matchAll(/<(\d+\.\d+)>/g)) { chunkMs.push(now - Number(m[1])); got++; }
        });
        res.on('end', () => { open--; if (got !== STEADY_DELTAS) steadyBad++; resolve(); });
    });
    req.on('error', () => { steadyBad++; resolve(); });
    req.end(body);
});
const cpuSteady0 = serverCpuMs();
const tSteady = performance.now();
await Promise.all(Array.from({ length: STEADY }, (_, i) => new Promise((r) => setTimeout(r, (i / STEADY) * STEADY_SPREAD_MS)).then(() => stream(i))));
const steadySecs = (performance.now() - tSteady) / 1000;
console.log(`steady streaming: ${STEADY} streams open together (at most ${maxOpen} at once), a delta every ${STEADY_EVERY_MS} ms each (${Math.round(STEADY * 1000 / STEADY_EVERY_MS)} deltas/s): `
    + `relay latency per delta (tab sent → client read) p50 ${pct(chunkMs, 50).toFixed(2)} ms, p99 ${pct(chunkMs, 99).toFixed(2)} ms over ${chunkMs.length} deltas`
    + `${steadyBad ? `, ${steadyBad} streams incomplete` : ''}; server CPU ${((serverCpuMs() - cpuSteady0) / (steadySecs * 10)).toFixed(0)}% of one core; peak RSS ${peakRssMb().toFixed(1)} MB`);
unlinkAll();

// --- crossing ------------------------------------------------------------------------------------
const TABS = 200;
const IN_FLIGHT = 500;
await new Promise((r) => setTimeout(r, 200)); // let the server drop the old tabs
await linkTabs(TABS, { jitterMs: 2 });
resetPeak();
let crossed = 0;
let lost = 0;
let next = 0;
const t0 = performance.now();
await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < DISTINCT) {
        const i = next++;
        const content = `#${i} ${Math.random().toString(36).slice(2)}`;
        try {
            const r = await ask(content, i % 2 === 0, i % 3 ? ALICE.id : BOB.id);
            if (r.text === null) lost++;
            else if (r.text !== `echo:${content}`) crossed++;
        } catch {
            lost++;
        }
    }
}));
const secs = (performance.now() - t0) / 1000;
console.log(`${DISTINCT} distinct requests (${TABS} tabs answering in jittered pieces, ${IN_FLIGHT} in flight, half streamed): ` +
    `crossed ${crossed} (ratio ${(crossed / DISTINCT).toFixed(4)}), lost ${lost} (ratio ${(lost / DISTINCT).toFixed(4)}), ${secs.toFixed(1)} s, ${(DISTINCT / secs).toFixed(0)} req/s`);
console.log(`server peak RSS in the crossing phase: ${peakRssMb().toFixed(1)} MB`);

unlinkAll();
child.kill('SIGTERM');
fs.rmSync(dataDir, { recursive: true, force: true });
process.exit(crossed || lost ? 1 : 0);
