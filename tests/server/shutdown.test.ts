// @vitest-environment node
// The built server as users start it (`npm start`, `node server/dist/main.js`), stopped with a signal
// while a stream and a queued request are open.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ask, eventually, KEY, sseLines, TOKEN } from './harness';
import { ALICE, FakeExtension } from './peer';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Launched {
    child: ChildProcess;
    url: string;
    bridgeUrl: string;
    exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
    output: () => string;
}

const launched: Launched[] = [];
const dirs: string[] = [];

afterEach(() => {
    for (const l of launched.splice(0)) {
        // Only the group this test started (its leader's pid), and only if something of it is left.
        if (l.child.pid && groupAlive(l.child.pid).length) process.kill(-l.child.pid, 'SIGKILL');
    }
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Starts `command` as the leader of a new process group and waits for the banner with the URL. */
async function launch(command: string, args: string[]): Promise<Launched> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-shutdown-'));
    dirs.push(dataDir);
    const child = spawn(command, [...args, '--port', '0', '--data-dir', dataDir], {
        cwd: ROOT,
        detached: true,
        env: { ...process.env, ENSEMBLE_API_KEYS: KEY, ENSEMBLE_LINK_TOKEN: TOKEN },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (d) => { out += String(d); });
    child.stderr?.on('data', (d) => { out += String(d); });
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const l: Launched = { child, url: '', bridgeUrl: '', exit, output: () => out };
    launched.push(l);
    await eventually(() => /Ensemble bridge on http:\/\/[\d.]+:\d+\/v1/.test(out), 30_000, `the banner of ${command} (output so far: ${out})`);
    const url = /Ensemble bridge on (http:\/\/[\d.]+:\d+)\/v1/.exec(out)?.[1] ?? '';
    return { ...l, url, bridgeUrl: `${url.replace('http:', 'ws:')}/bridge` };
}

/** Live (not zombie) processes of a process group, from /proc. */
function groupAlive(pgid: number): number[] {
    const alive: number[] = [];
    for (const entry of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        let stat: string;
        try {
            stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        } catch {
            continue; // gone meanwhile
        }
        // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses.
        const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(pgrp) === pgid && state !== 'Z') alive.push(Number(entry));
    }
    return alive;
}

/** A running stream and a queued non-stream request on a linked tab that never answers. */
async function openRequests(l: Launched) {
    const peer = await FakeExtension.link({ url: l.bridgeUrl, token: TOKEN, models: [ALICE], answer: 'manual' });
    const post = (body: object) => fetch(`${l.url}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    const stream = await post({ ...ask('held', ALICE.id), stream: true });
    expect(stream.status).toBe(200);
    await peer.next('request', 5000);
    const queued = post(ask('queued', ALICE.id));
    queued.catch(() => undefined); // awaited by the test; a test failing first must not leave it unhandled
    await eventually(async () => (await (await fetch(`${l.url}/health`)).json()).queued === 1, 5000, 'the queued request');
    return { peer, stream, queued };
}

/** `promise`, or a failure naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms); });
    try {
        return await Promise.race([promise, late]);
    } finally {
        clearTimeout(timer);
    }
}

/** What a client sees when the server stops under it. */
async function expectClosedCleanly(open: Awaited<ReturnType<typeof openRequests>>) {
    const lines = await within(sseLines(open.stream), 5000, 'the stream to end');
    expect(lines.at(-3)).toBe('event: error');
    expect(JSON.parse(lines.at(-2)?.slice('data: '.length) ?? '')).toMatchObject({ error: { code: 'shutting_down', type: 'server_error' } });
    expect(lines.at(-1)).toBe('data: [DONE]');
    const queued = await within(open.queued, 5000, 'the queued request to be answered');
    expect(queued.status).toBe(503);
    expect(await queued.json()).toMatchObject({ error: { code: 'shutting_down' } });
    expect((await within(open.peer.closed, 5000, 'the tab to be closed')).code).toBe(1001);
}

describe.skipIf(process.platform !== 'linux')('stopping the server with a signal', () => {
    beforeAll(() => {
        const build = spawnSync(process.execPath, ['scripts/build-server.mjs'], { cwd: ROOT, encoding: 'utf8' });
        expect(build.status, build.stderr).toBe(0);
    });

    it('npm start: SIGTERM to npm ends open requests with errors and leaves no process behind', async () => {
        const l = await launch('npm', ['start', '--']);
        const pgid = l.child.pid as number;
        // npm, and the server under it with npm start's node flag.
        const cmdlines = groupAlive(pgid).map((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'));
        expect(cmdlines).toContainEqual(expect.arrayContaining(['--max-semi-space-size=2', 'scripts/start.mjs']));
        const open = await openRequests(l);
        l.child.kill('SIGTERM');
        await expectClosedCleanly(open);
        await eventually(() => groupAlive(pgid).length === 0, 5000, `every process of npm start to exit (left: ${groupAlive(pgid).join(', ')})`);
        expect(l.output()).toMatch(/SIGTERM, closing/);
    }, 60_000);

    it.each(['SIGTERM', 'SIGINT'] as const)('node server/dist/main.js: %s closes cleanly with exit code 0', async (signal) => {
        const l = await launch(process.execPath, ['server/dist/main.js']);
        const open = await openRequests(l);
        const since = Date.now();
        l.child.kill(signal);
        await expectClosedCleanly(open);
        expect(await l.exit).toEqual({ code: 0, signal: null });
        expect(Date.now() - since).toBeLessThan(2000); // closed, not the 3 s fallback
        expect(groupAlive(l.child.pid as number)).toEqual([]);
    }, 60_000);
});
