import { describe, expect, it } from 'vitest';
import { apiBase, customModels, defaultNextChatUrl, fastLink, loopbackMismatch, originOf, serverEnv } from '../../../../src/features/bridge/nextchat/setup';

const models = [
    { id: 'st-char-Alice', name: 'Alice', kind: 'character' as const },
    { id: 'st-group-Tea_Party', name: 'Tea, Party = fun@home', kind: 'group' as const, members: ['Alice', 'Bob'] },
];

describe('NextChat setup values', () => {
    it('derives the API base from the bridge address, or takes the one the server shared', () => {
        expect(apiBase('ws://127.0.0.1:5181/bridge')).toBe('http://127.0.0.1:5181');
        expect(apiBase('wss://bridge.example:8443/bridge')).toBe('https://bridge.example:8443');
        expect(apiBase('ws://127.0.0.1:5181/bridge', 'http://localhost:9000/v1/')).toBe('http://localhost:9000');
        expect(apiBase('not a url')).toBe('');
    });

    it('writes CUSTOM_MODELS in NextChat\'s syntax, with display names that cannot break it', () => {
        expect(customModels(models)).toBe('-all,+st-char-Alice@OpenAI=Alice,+st-group-Tea_Party@OpenAI=Tea Party fun home');
        // NextChat splits on ",", then on "=", then on the last "@": each entry must come apart into id, provider, name.
        for (const entry of customModels(models).split(',').slice(1)) {
            const [name, shown] = entry.slice(1).split('=');
            expect(name?.split(/@(?!.*@)/)).toEqual([expect.stringMatching(/^st-/), 'OpenAI']);
            expect(shown).toBeTruthy();
        }
    });

    it('builds the fast link NextChat reads its custom endpoint and key from', () => {
        const link = fastLink('http://localhost:3000/', 'http://127.0.0.1:5181', 'sk-ens-1&2');
        expect(link.startsWith('http://localhost:3000/#/?settings=')).toBe(true);
        const query = new URLSearchParams(link.split('#/?')[1]);
        expect(JSON.parse(query.get('settings') ?? '')).toEqual({ key: 'sk-ens-1&2', url: 'http://127.0.0.1:5181' });
    });

    it('server mode: the three environment variables; the page origin for --cors-origin', () => {
        expect(serverEnv('http://127.0.0.1:5181', 'k', models.slice(0, 1))).toBe('BASE_URL=http://127.0.0.1:5181\nOPENAI_API_KEY=k\nCUSTOM_MODELS=-all,+st-char-Alice@OpenAI=Alice');
        expect(originOf('http://localhost:3000/#/chat')).toBe('http://localhost:3000');
        expect(originOf('nope')).toBe('');
    });

    it('defaults NextChat to port 3000 on the loopback name ST was opened at, localhost otherwise', () => {
        expect(defaultNextChatUrl('http://127.0.0.1:8000')).toBe('http://127.0.0.1:3000');
        expect(defaultNextChatUrl('http://localhost:8000')).toBe('http://localhost:3000');
        expect(defaultNextChatUrl('http://[::1]:8000')).toBe('http://[::1]:3000');
        expect(defaultNextChatUrl('https://st.example.com')).toBe('http://localhost:3000');
        expect(defaultNextChatUrl('')).toBe('http://localhost:3000');
    });

    it('finds NextChat and ST named by different loopback names, and nothing else', () => {
        expect(loopbackMismatch('http://localhost:3000/', 'http://127.0.0.1:8000')).toEqual({
            nextchat: 'localhost', st: '127.0.0.1', origin: 'http://localhost:3000', alternative: 'http://127.0.0.1:3000',
        });
        expect(loopbackMismatch('http://127.0.0.1:3000', 'http://[::1]:8000')?.alternative).toBe('http://[::1]:3000');
        expect(loopbackMismatch('http://LOCALHOST:3000', 'http://localhost:8000')).toBeNull();
        expect(loopbackMismatch('http://nextchat.lan:3000', 'http://127.0.0.1:8000')).toBeNull();
        expect(loopbackMismatch('http://localhost:3000', 'http://192.168.1.5:8000')).toBeNull();
        expect(loopbackMismatch('not a url', 'http://127.0.0.1:8000')).toBeNull();
    });
});
