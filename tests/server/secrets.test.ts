// @vitest-environment node
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../server/src/cli';
import { loadSecrets, secretMatcher } from '../../server/src/secrets';
import type { RunningServer } from '../../server/src/server';

let dir: string;
let running: RunningServer | null = null;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-secrets-')); });
afterEach(async () => {
    await running?.close();
    running = null;
    fs.rmSync(dir, { recursive: true, force: true });
});

const mode = (p: string) => fs.statSync(p).mode & 0o777;

/** runCli with everything it prints or logs collected into one string. */
async function start(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
    const out: string[] = [];
    const log = { info: (m: string) => out.push(m), warn: (m: string) => out.push(m), error: (m: string) => out.push(m) };
    running = await runCli(['--port', '0', ...argv], env, { print: (l) => out.push(l), log });
    return out.join('\n');
}

describe('secrets', () => {
    it('creates secrets.json with mode 0600 in a 0700 directory and reuses it', () => {
        const dataDir = path.join(dir, 'nested', 'bridge');
        const first = loadSecrets({ dataDir });
        expect(mode(dataDir)).toBe(0o700);
        expect(mode(first.file)).toBe(0o600);
        expect(first.apiKeys).toEqual([first.generated.apiKey]);
        expect(first.linkToken).toBe(first.generated.linkToken);
        expect(first.apiKeys[0]).toMatch(/^ens-[\w-]{32}$/);
        expect(first.linkToken).toMatch(/^enl-[\w-]{32}$/);
        expect(first.apiKeys[0]).not.toBe(first.linkToken);

        const second = loadSecrets({ dataDir });
        expect(second).toMatchObject({ apiKeys: first.apiKeys, linkToken: first.linkToken, generated: {} });
        expect(fs.readdirSync(dataDir)).toEqual(['secrets.json']);
    });

    it('takes values from the environment and stores only what it had to generate', () => {
        const s = loadSecrets({ dataDir: dir, apiKeys: ['k1', 'k2'] });
        expect(s.apiKeys).toEqual(['k1', 'k2']);
        expect(s.generated.apiKey).toBeUndefined();
        expect(JSON.parse(fs.readFileSync(s.file, 'utf8'))).toEqual({ linkToken: s.linkToken });
        const both = loadSecrets({ dataDir: path.join(dir, 'unused'), apiKeys: ['k'], linkToken: 't' });
        expect(fs.existsSync(both.file)).toBe(false);
    });

    it('tightens a secrets file readable by others, and refuses a broken one without printing values', () => {
        const file = loadSecrets({ dataDir: dir }).file;
        fs.chmodSync(file, 0o644);
        expect(loadSecrets({ dataDir: dir }).repairedMode).toBe(true);
        expect(mode(file)).toBe(0o600);
        fs.writeFileSync(file, JSON.stringify({ apiKeys: 'secret-value-here' }));
        expect(() => loadSecrets({ dataDir: dir })).toThrow(/secrets\.json is invalid/);
        try { loadSecrets({ dataDir: dir }); } catch (err) { expect(String(err)).not.toContain('secret-value-here'); }
        fs.writeFileSync(file, '{');
        expect(() => loadSecrets({ dataDir: dir })).toThrow(/not valid JSON/);
    });

    it('reads scoped keys next to plain ones, and keeps the file as written when it adds a link token', () => {
        const file = path.join(dir, 'secrets.json');
        const apiKeys = ['plain-key', { key: 'bot-key', name: 'discord-bot', models: ['st-char-Alice'], rateLimit: { requests: 20, perSeconds: 60 } }];
        fs.writeFileSync(file, JSON.stringify({ apiKeys }), { mode: 0o600 });
        const s = loadSecrets({ dataDir: dir });
        expect(s.apiKeys).toEqual(apiKeys);
        expect(s.generated).toEqual({ linkToken: s.linkToken });
        expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ apiKeys, linkToken: s.linkToken });
    });

    it('refuses an invalid key entry naming the field, and a repeated key, never printing a key', () => {
        const file = path.join(dir, 'secrets.json');
        const refusal = (apiKeys: unknown[]) => {
            fs.writeFileSync(file, JSON.stringify({ apiKeys, linkToken: 'link-token-value' }), { mode: 0o600 });
            try {
                loadSecrets({ dataDir: dir });
            } catch (err) {
                return String(err);
            }
            return 'loaded';
        };
        const rate = refusal(['plain-key-value', { key: 'scoped-key-value', rateLimit: { requests: '20', perSeconds: 60 } }]);
        expect(rate).toMatch(/secrets\.json is invalid:\n {2}apiKeys\[1\]\.rateLimit\.requests: /);
        const model = refusal([{ key: 'scoped-key-value', models: ['st-char-Alice', 'st char'] }]);
        expect(model).toMatch(/apiKeys\[0\]\.models\[1\]: expected a model id/);
        const typo = refusal([{ key: 'scoped-key-value', model: ['st-char-Alice'] }]);
        expect(typo).toMatch(/apiKeys\[0\]: unknown field/);
        const twice = refusal(['plain-key-value', { key: 'plain-key-value', models: ['st-char-*'] }]);
        expect(twice).toMatch(/apiKeys\[1\]: the same key as apiKeys\[0\]/);
        for (const text of [rate, model, typo, twice]) expect(text).not.toMatch(/key-value|link-token-value/);
    });

    it('matches any configured secret and nothing else', () => {
        const match = secretMatcher(['alpha-key', 'beta-key']);
        expect(match('alpha-key')).toBe(true);
        expect(match('beta-key')).toBe(true);
        for (const no of ['', 'alpha', 'alpha-key ', 'ALPHA-KEY', 'beta-key\0']) expect(match(no)).toBe(false);
        expect(() => secretMatcher([])).toThrow();
    });
});

describe('npm start (runCli)', () => {
    it('prints generated secrets on the first start only; later starts say where they are', async () => {
        const first = await start(['--data-dir', dir]);
        const { apiKeys: [key], linkToken } = JSON.parse(fs.readFileSync(path.join(dir, 'secrets.json'), 'utf8'));
        expect(first.split(key).length - 1).toBe(1);
        expect(first.split(linkToken).length - 1).toBe(1);
        expect(first).toMatch(/http:\/\/127\.0\.0\.1:\d+\/v1/);
        expect(first).toContain('curl');
        await running?.close();

        const second = await start(['--data-dir', dir]);
        expect(second).not.toContain(key);
        expect(second).not.toContain(linkToken);
        expect(second).toContain(path.join(dir, 'secrets.json'));
        const res = await fetch(`${running?.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
        expect(res.status).toBe(200);
    });

    it('serves the scopes and rate limits of secrets.json', async () => {
        fs.writeFileSync(path.join(dir, 'secrets.json'), JSON.stringify({
            apiKeys: ['full-key-0123456789', { key: 'bot-key-0123456789', name: 'discord-bot', models: ['st-char-Alice'], rateLimit: { requests: 1, perSeconds: 60 } }],
            linkToken: 'link-token-0123456789',
        }), { mode: 0o600 });
        const out = await start(['--data-dir', dir]);
        expect(out).toContain('Scoped API keys: discord-bot (st-char-Alice; 1 per 60 s)');
        expect(out).not.toMatch(/0123456789/);
        const models = (key: string) => fetch(`${running?.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
        expect((await models('bot-key-0123456789')).status).toBe(200);
        const limited = await models('bot-key-0123456789');
        expect(limited.status).toBe(429);
        expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
        expect((await models('full-key-0123456789')).status).toBe(200);
    });

    it('never prints keys given in the environment', async () => {
        const out = await start(['--data-dir', dir], { ENSEMBLE_API_KEYS: 'env-key-1, env-key-2', ENSEMBLE_LINK_TOKEN: 'env-token' });
        expect(out).not.toMatch(/env-key|env-token/);
        expect(out).toContain('ENSEMBLE_API_KEYS');
        expect(fs.existsSync(path.join(dir, 'secrets.json'))).toBe(false);
        const res = await fetch(`${running?.url}/v1/models`, { headers: { authorization: 'Bearer env-key-2' } });
        expect(res.status).toBe(200);
    });

    it('refuses a non-loopback host without --allow-remote, before creating any secret', async () => {
        await expect(start(['--data-dir', dir, '--host', '0.0.0.0'])).rejects.toThrow(/--allow-remote/);
        expect(fs.existsSync(path.join(dir, 'secrets.json'))).toBe(false);
        const out = await start(['--data-dir', dir, '--host', '0.0.0.0', '--allow-remote']);
        expect(out).toMatch(/reachable from other machines/);
    });
});
