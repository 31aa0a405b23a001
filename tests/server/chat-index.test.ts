// @vitest-environment node
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHAT_INDEX_FILE, ChatIndexStore } from '../../server/src/chat-index';

const user = (content: string) => ({ role: 'user' as const, content });
const bot = (content: string) => ({ role: 'assistant' as const, content });

let dir = '';
let errors: string[] = [];
const log = { info: () => undefined, warn: () => undefined, error: (m: string) => { errors.push(m); } };
beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ens-index-'));
    errors = [];
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('ChatIndexStore', () => {
    it('survives a restart: what was remembered is found again by a new store on the same file', async () => {
        const file = path.join(dir, CHAT_INDEX_FILE);
        const store = ChatIndexStore.open(file, log);
        store.index.remember('st-char-Alice', 'Ensemble bridge 1', [user('hi'), bot('hello')]);
        store.changed();
        await store.flush();
        const again = ChatIndexStore.open(file, log);
        expect(again.index.find('st-char-Alice', [user('hi'), bot('hello')])?.file).toBe('Ensemble bridge 1');
        expect(errors).toEqual([]);
    });

    it('writes through a temp file and a rename: no temp file is left, and the file is always whole JSON', async () => {
        const file = path.join(dir, CHAT_INDEX_FILE);
        const store = ChatIndexStore.open(file, log);
        for (let i = 0; i < 50; i++) {
            store.index.remember('st-char-Alice', `chat ${i}`, [user(`q${i}`), bot(`a${i}`)]);
            store.changed();
            if (fs.existsSync(file)) expect(() => JSON.parse(fs.readFileSync(file, 'utf8'))).not.toThrow();
        }
        await store.flush();
        expect(fs.readdirSync(dir)).toEqual([CHAT_INDEX_FILE]);
        expect(JSON.parse(fs.readFileSync(file, 'utf8')).chats['st-char-Alice']).toHaveLength(50);
    });

    it.each([
        ['not JSON', '{"version":1,"chats":{'],
        ['the wrong shape', '{"version":1,"chats":{"st-char-Alice":[{"file":42}]}}'],
    ])('a file that is %s gets one clear error, is kept aside (nothing lost), and the index starts fresh', async (_what, text) => {
        const file = path.join(dir, CHAT_INDEX_FILE);
        fs.writeFileSync(file, text);
        const store = ChatIndexStore.open(file, log);
        expect(store.index.size).toBe(0);
        expect(errors).toHaveLength(1);
        expect(errors[0]).toMatch(/unreadable.*kept it as bridge-chats\.json\.corrupt-.*fresh index/);
        const aside = fs.readdirSync(dir).find((f) => f.startsWith(`${CHAT_INDEX_FILE}.corrupt-`));
        expect(aside && fs.readFileSync(path.join(dir, aside), 'utf8')).toBe(text);
        // The fresh index works and is written to the usual place.
        store.index.remember('st-char-Alice', 'new', [user('x'), bot('y')]);
        store.changed();
        await store.flush();
        expect(ChatIndexStore.open(file, log).index.size).toBe(1);
    });

    it('a store without a file keeps the index in memory and writes nothing', async () => {
        const store = ChatIndexStore.memory(log);
        store.index.remember('m', 'f', [user('a'), bot('b')]);
        store.changed();
        await store.flush();
        expect(fs.readdirSync(dir)).toEqual([]);
    });
});
