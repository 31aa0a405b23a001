#!/usr/bin/env node
// npm run test:e2e — every tests/e2e/*.e2e.mjs against a real SillyTavern 1.12.6 in headless Chromium,
// each on a freshly reset ST with the rig's mock (../shared/st-rig). ST's location comes from ST_DIR
// (e.g. ST_DIR=../st); where it is unset or holds no ST, one line says the suite was skipped.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RIG, ROOT } from './lib.mjs';

const ST_DIR = process.env.ST_DIR ? path.resolve(process.env.ST_DIR) : '';
if (!ST_DIR || !fs.existsSync(path.join(ST_DIR, 'server.js')) || !fs.existsSync(path.join(RIG, 'st-up.sh'))) {
    console.log(`e2e: skipped (no SillyTavern: ST_DIR=${ST_DIR || 'unset'}, rig ${fs.existsSync(RIG) ? 'found' : 'missing'} at ${RIG})`);
    process.exit(0);
}
const env = { ...process.env, ST_DIR };

const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit', env });
if (build.status !== 0) process.exit(build.status ?? 1);

const only = process.argv.slice(2);
const suites = fs.readdirSync(path.join(ROOT, 'tests', 'e2e'))
    .filter((f) => f.endsWith('.e2e.mjs') && (only.length === 0 || only.some((o) => f.includes(o))))
    .sort();

let passed = 0;
let failed = 0;
for (const suite of suites) {
    // A suite may ask for its own rig settings in a first-line comment: `// rig-env: NAME=value …`.
    const header = /^\/\/ rig-env: (.*)$/m.exec(fs.readFileSync(path.join(ROOT, 'tests', 'e2e', suite), 'utf8').split('\n')[0] ?? '');
    const suiteEnv = { ...env, ...Object.fromEntries((header?.[1] ?? '').split(/\s+/).filter(Boolean).map((kv) => kv.split('='))) };
    spawnSync(path.join(RIG, 'st-down.sh'), [], { env, stdio: 'ignore' }); // the mock restarts with the suite's settings
    const up = spawnSync(path.join(RIG, 'st-up.sh'), ['--reset', '--with-mock'], { env: suiteEnv, encoding: 'utf8' });
    if (up.status !== 0) {
        console.log(`FAIL  ${suite}: st-up.sh failed\n${up.stderr}`);
        failed++;
        continue;
    }
    const code = await new Promise((resolve) => {
        const child = spawn(process.execPath, [path.join(ROOT, 'tests', 'e2e', suite)], { cwd: ROOT, env: suiteEnv, stdio: ['ignore', 'pipe', 'inherit'] });
        child.stdout.on('data', (d) => {
            const text = String(d);
            process.stdout.write(text);
            passed += (text.match(/^PASS /gm) ?? []).length;
            failed += (text.match(/^FAIL /gm) ?? []).length;
        });
        child.on('exit', resolve);
    });
    if (code !== 0 && code !== 1) {
        console.log(`FAIL  ${suite}: exited with ${code}`);
        failed++;
    }
}
spawnSync(path.join(RIG, 'st-down.sh'), [], { env, stdio: 'ignore' });
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
