// @vitest-environment node
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCli } from '../../server/src/cli-args';
import { Relay, type RequestSink } from '../../server/src/relay';
import { parseSessions } from '../../server/src/session-config';
import { BROWSER_CANDIDATES, findBrowser } from '../../server/src/st-sessions';
import type { ServerFrame } from '../../src/protocol/index';
import { ALICE } from './peer';

let dir = '';
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ens-sessions-')); });
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('always-on settings', () => {
    it('are off without an ST address, and flags win over the environment, which wins over config.json', () => {
        expect(parseSessions({}, {}, dir)).toBeUndefined();
        fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ st: 'http://127.0.0.1:8000', sessions: 3, browser: '/opt/chrome' }));
        expect(parseSessions({}, {}, dir)).toEqual({ stUrl: 'http://127.0.0.1:8000', count: 3, browserPath: '/opt/chrome' });
        expect(parseSessions({}, { ENSEMBLE_ST_URL: 'http://localhost:9000/', ENSEMBLE_SESSIONS: '2' }, dir)).toMatchObject({ stUrl: 'http://localhost:9000', count: 2 });
        expect(parseSessions({ st: 'http://127.0.0.1:7000', sessions: '4' }, { ENSEMBLE_ST_URL: 'http://localhost:9000' }, dir)).toMatchObject({ stUrl: 'http://127.0.0.1:7000', count: 4 });
        const cfg = parseCli(['--st', 'http://127.0.0.1:8000', '--sessions', '2', '--data-dir', dir], {});
        expect(cfg.server.sessions).toMatchObject({ stUrl: 'http://127.0.0.1:8000', count: 2 });
    });

    it('take logins from the environment or a credentials file only, never from the address', () => {
        const env = { ENSEMBLE_ST_BASIC_USER: 'u', ENSEMBLE_ST_BASIC_PASSWORD: 'p', ENSEMBLE_ST_USER: 'alice', ENSEMBLE_ST_PASSWORD: 'q' };
        expect(parseSessions({ st: 'http://127.0.0.1:8000' }, env, dir)?.credentials).toEqual({ basic: { username: 'u', password: 'p' }, account: { handle: 'alice', password: 'q' } });
        const file = path.join(dir, 'creds.json');
        fs.writeFileSync(file, JSON.stringify({ account: { handle: 'bob', password: 's3cret' } }));
        expect(parseSessions({ st: 'http://127.0.0.1:8000' }, { ENSEMBLE_ST_CREDENTIALS: file }, dir)?.credentials).toEqual({ account: { handle: 'bob', password: 's3cret' } });
        expect(() => parseSessions({ st: 'http://user:pw@127.0.0.1:8000' }, {}, dir)).toThrow(/must not carry a login/);
        expect(() => parseCli(['--st', 'http://127.0.0.1:8000', '--password', 'x'], {})).toThrow(/Unknown option/);
    });

    it('refuse bad values with a message naming the field, never a secret', () => {
        expect(() => parseSessions({ st: 'not a url' }, {}, dir)).toThrow(/SillyTavern's address/);
        expect(() => parseSessions({ st: 'ftp://x' }, {}, dir)).toThrow(/http\(s\)/);
        expect(() => parseSessions({ st: 'http://127.0.0.1:8000', sessions: '0' }, {}, dir)).toThrow(/--sessions must be a whole number from 1 to 16/);
        const file = path.join(dir, 'creds.json');
        fs.writeFileSync(file, JSON.stringify({ basic: { username: '', password: 'hunter2' } }));
        let message = '';
        try { parseSessions({ st: 'http://127.0.0.1:8000' }, { ENSEMBLE_ST_CREDENTIALS: file }, dir); } catch (e) { message = (e as Error).message; }
        expect(message).toMatch(/creds\.json is invalid: basic\.username/);
        expect(message).not.toContain('hunter2');
        fs.writeFileSync(path.join(dir, 'config.json'), '{"sessions": "many"}');
        expect(() => parseSessions({}, {}, dir)).toThrow(/config\.json is invalid: sessions/);
    });

    it('find the browser on the machine, or say what to install', () => {
        expect(findBrowser(undefined, (p) => p === BROWSER_CANDIDATES[1])).toBe(BROWSER_CANDIDATES[1]);
        expect(findBrowser('/opt/my-chrome', (p) => p === '/opt/my-chrome')).toBe('/opt/my-chrome');
        expect(() => findBrowser(undefined, () => false)).toThrow(/no browser found: install Chromium \(Debian\/Ubuntu: apt-get install chromium\)/);
        expect(() => findBrowser('/nope', () => false)).toThrow(/no browser at \/nope/);
    });
});

describe('Relay with background sessions', () => {
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const recording = () => {
        const frames: ServerFrame[] = [];
        return { frames, send: (f: ServerFrame) => { frames.push(f); }, close: () => undefined };
    };
    const sink: RequestSink = { delta: () => undefined, done: () => undefined, fail: () => undefined };
    const req = () => ({ model: ALICE.id, messages: [{ role: 'user' as const, content: 'hi' }], stream: false, params: {} });

    it('while a session is linked, users\' tabs stand by (and are told so); without one they serve again', () => {
        const relay = new Relay({ queueLimit: 10, timeoutMs: 1000, cancelGraceMs: 10, log: quiet });
        const userLink = recording();
        const sessionLink = recording();
        const user = relay.addTab('user', userLink);
        relay.onFrame(user, { type: 'catalog', models: [ALICE] });
        expect(userLink.frames).toContainEqual({ type: 'standby', sessions: 0 });
        const session = relay.addTab('session-1', sessionLink, true);
        relay.onFrame(session, { type: 'catalog', models: [ALICE] });
        expect(userLink.frames.at(-1)).toEqual({ type: 'standby', sessions: 1 });
        relay.submit(req(), sink);
        relay.submit(req(), sink);
        expect(sessionLink.frames.filter((f) => f.type === 'request')).toHaveLength(1);
        expect(userLink.frames.filter((f) => f.type === 'request')).toHaveLength(0); // the second waits for the session
        relay.removeTab(session);
        expect(userLink.frames.at(-1)?.type).toBe('request'); // the user's tab takes the queued one
        expect(userLink.frames).toContainEqual({ type: 'standby', sessions: 0 });
        relay.shutdown();
    });
});
