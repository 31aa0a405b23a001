// The bridge server for the e2e suite and the benchmark: built like `npm start` builds it, run on
// loopback with known secrets, and Ensemble connected to it through its own panel.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, openEnsembleSection } from './lib.mjs';

export const API_KEY = 'sk-client-e2e';
export const LINK_TOKEN = 'link-token-e2e';

/** Builds and starts the bridge server (`npm start`'s build) on loopback with known secrets. */
export async function startBridgeServer(st, fixedPort, extraArgs = [], extraEnv = {}) {
    const build = spawnSync('npm', ['run', '-s', 'build:server'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`build:server failed: ${build.stderr}`);
    const port = fixedPort ?? await st.freePort();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-bridge-'));
    const child = spawn(process.execPath, [path.join(ROOT, 'server', 'dist', 'main.js'), '--port', String(port), '--data-dir', dataDir, ...extraArgs], {
        env: { ...process.env, ENSEMBLE_API_KEYS: API_KEY, ENSEMBLE_LINK_TOKEN: LINK_TOKEN, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
        try { if ((await fetch(`${base}/health`)).ok) break; } catch { /* not up yet */ }
        await st.sleep(100);
    }
    const exited = new Promise((r) => child.once('exit', r));
    return { base, port, dataDir, pid: child.pid, output: () => output, stop: async () => { child.kill('SIGTERM'); await exited; fs.rmSync(dataDir, { recursive: true, force: true }); } };
}


/** Fills the Bridge section (address, link token), presses Connect and waits for "connected". */
export async function connectBridge(st, page, port) {
    await openEnsembleSection(st, page, 'bridge');
    const url = page.locator('[data-ens-bridge="url"]');
    await url.fill(`ws://127.0.0.1:${port}/bridge`);
    await url.dispatchEvent('change');
    const token = page.locator('[data-ens-bridge="token"]');
    await token.fill(LINK_TOKEN);
    await token.dispatchEvent('change');
    await page.locator('[data-ens="bridge-connect"]').click();
    await page.waitForFunction(() => /^connected/.test(document.querySelector('[data-ens="bridge-status"]')?.textContent ?? ''), null, { timeout: 15_000 });
    await st.closeExtensionsDrawer(page);
}
