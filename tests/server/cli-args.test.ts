// @vitest-environment node
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCli, UsageError } from '../../server/src/cli-args';
import { hostAllowed, hostOfHeader, isLoopbackHost, originAllowed } from '../../server/src/origins';

describe('parseCli', () => {
    it('defaults to 127.0.0.1:5181, no CORS origins, loopback ST origins and ~/.config/ensemble-bridge', () => {
        const cfg = parseCli([], {});
        expect(cfg.server).toEqual({ host: '127.0.0.1', port: 5181, allowRemote: false, allowedHosts: [], corsOrigins: [], stOrigins: null });
        expect(cfg.dataDir).toBe(path.join(os.homedir(), '.config', 'ensemble-bridge'));
        expect(cfg.envApiKeys).toBeUndefined();
    });

    it('reads the environment, and flags win over it', () => {
        const env = { ENSEMBLE_PORT: '7000', ENSEMBLE_HOST: 'localhost', ENSEMBLE_CORS_ORIGINS: 'http://a.test, http://b.test', ENSEMBLE_ST_ORIGINS: 'http://st.test', ENSEMBLE_API_KEYS: 'k1,k2', ENSEMBLE_LINK_TOKEN: 't' };
        const cfg = parseCli(['--port', '7001', '--st-origin', 'http://other.test'], env);
        expect(cfg.server).toMatchObject({ port: 7001, host: 'localhost', corsOrigins: ['http://a.test', 'http://b.test'], stOrigins: ['http://other.test'] });
        expect(cfg).toMatchObject({ envApiKeys: ['k1', 'k2'], envLinkToken: 't' });
    });

    it('parses sizes, seconds and limits', () => {
        const cfg = parseCli(['--body-limit', '512k', '--timeout', '30', '--queue-limit', '5'], {});
        expect(cfg.server).toMatchObject({ bodyLimit: 512 * 1024, requestTimeoutMs: 30_000, queueLimit: 5 });
        expect(parseCli(['--body-limit', '4MiB'], {}).server.bodyLimit).toBe(4 * 1024 * 1024);
    });

    it('turns key sharing off with --no-share-key or ENSEMBLE_SHARE_KEY=0, and the flag wins', () => {
        expect(parseCli(['--no-share-key'], {}).server.shareApiKey).toBe(false);
        expect(parseCli([], { ENSEMBLE_SHARE_KEY: '0' }).server.shareApiKey).toBe(false);
        expect(parseCli([], { ENSEMBLE_SHARE_KEY: 'true' }).server.shareApiKey).toBe(true);
        expect(parseCli(['--no-share-key'], { ENSEMBLE_SHARE_KEY: '1' }).server.shareApiKey).toBe(false);
        expect(parseCli([], { ENSEMBLE_SHARE_KEY: '' }).server.shareApiKey).toBeUndefined();
        expect(() => parseCli([], { ENSEMBLE_SHARE_KEY: 'maybe' })).toThrow(UsageError);
    });

    it('takes --allowed-host repeatedly (or ENSEMBLE_ALLOWED_HOSTS), normalized, and refuses a name with a port', () => {
        expect(parseCli(['--allowed-host', 'Bridge.LAN', '--allowed-host', '[fd00::5]'], { ENSEMBLE_ALLOWED_HOSTS: 'env.lan' }).server.allowedHosts).toEqual(['bridge.lan', 'fd00::5']);
        expect(parseCli([], { ENSEMBLE_ALLOWED_HOSTS: 'a.lan, 192.168.1.5' }).server.allowedHosts).toEqual(['a.lan', '192.168.1.5']);
        for (const bad of ['bridge.lan:5181', 'http://bridge.lan', 'user@bridge.lan', '']) {
            expect(() => parseCli(['--allowed-host', bad], {}), bad).toThrow(UsageError);
        }
    });

    it('refuses unknown flags and bad numbers with a UsageError', () => {
        for (const argv of [['--bogus'], ['--port', 'x'], ['--port', '70000'], ['--timeout', '0'], ['--body-limit', 'lots'], ['stray']]) {
            expect(() => parseCli(argv, {}), argv.join(' ')).toThrow(UsageError);
        }
    });
});

describe('origins', () => {
    it('reads the name of a Host header, and allows loopback names and the listed ones', () => {
        expect(hostOfHeader('LocalHost:5181')).toBe('localhost');
        expect(hostOfHeader('[::1]:5181')).toBe('::1');
        for (const bad of [undefined, '', 'a b', 'x@127.0.0.1', '127.0.0.1/x', '::1', '[::1]x']) expect(hostOfHeader(bad), String(bad)).toBeNull();
        for (const ok of ['127.0.0.1', '127.0.0.1:80', 'localhost:1', '[::1]:9', 'bridge.lan:5181']) expect(hostAllowed(ok, ['bridge.lan']), ok).toBe(true);
        for (const no of ['evil.example', 'localhost.evil.example', 'bridge.lan.evil', '0.0.0.0']) expect(hostAllowed(no, ['bridge.lan']), no).toBe(false);
    });

    it('knows loopback hosts', () => {
        for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(h), h).toBe(true);
        for (const h of ['0.0.0.0', '192.168.1.2', 'example.com', '::', 'localhost.evil.com']) expect(isLoopbackHost(h), h).toBe(false);
    });

    it('allows loopback http(s) pages by default and exactly the listed origins otherwise', () => {
        expect(originAllowed('http://localhost:8000', null)).toBe(true);
        expect(originAllowed('https://[::1]', null)).toBe(true);
        expect(originAllowed('http://localhost.evil.com', null)).toBe(false);
        expect(originAllowed('file://', null)).toBe(false);
        expect(originAllowed('null', null)).toBe(false);
        expect(originAllowed(undefined, null)).toBe(true);
        expect(originAllowed('http://st.lan:8000', ['http://st.lan:8000'])).toBe(true);
        expect(originAllowed('http://st.lan:8001', ['http://st.lan:8000'])).toBe(false);
        expect(originAllowed('http://localhost:8000', ['http://st.lan:8000'])).toBe(false);
    });
});
