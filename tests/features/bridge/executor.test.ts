import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildCatalog } from '../../../src/features/bridge/catalog';
import { BridgeExecutor } from '../../../src/features/bridge/executor';
import { SessionIndex } from '../../../src/features/bridge/sessions';
import type { ChatMessage, ExtensionFrame } from '../../../src/protocol';
import { FakeStHost } from '../../fakes/st-host';

function setup() {
    const fake = new FakeStHost();
    const alice = fake.addCharacter('Alice', { avatar: 'Alice.png' });
    fake.addCharacter('Bob', { avatar: 'Bob.png' });
    fake.st.characters[alice]!.chat = 'Alice main';
    fake.chatFiles.set('Alice.png', new Map([['Alice main', []]]));
    fake.addGroup({ id: 'g1', name: 'Pair', members: ['Alice.png', 'Bob.png'] });
    fake.place = { kind: 'character', avatar: 'Bob.png', file: 'Bob own chat' };
    const sent: ExtensionFrame[] = [];
    const executor = new BridgeExecutor(fake, () => buildCatalog(fake), new SessionIndex(fake), (f) => sent.push(f));
    const done = (id: string) => vi.waitFor(() => {
        const f = sent.find((x) => (x.type === 'done' || x.type === 'fail') && x.id === id);
        if (!f) throw new Error(`no answer for ${id} yet`);
        return f;
    });
    return { fake, executor, sent, done };
}

const req = (id: string, messages: ChatMessage[], stream = true, model = 'st-char-Alice') => ({ type: 'request' as const, id, model, messages, stream, params: {} });
const user = (content: string): ChatMessage => ({ role: 'user', content });
const bot = (content: string): ChatMessage => ({ role: 'assistant', content });

beforeEach(() => { vi.spyOn(console, 'warn').mockImplementation(() => undefined); });
afterEach(() => { vi.restoreAllMocks(); });

describe('BridgeExecutor', () => {
    it('seeds a new bridge chat from the earlier messages, sends only the newest user turn, and answers', async () => {
        const { fake, executor, done } = setup();
        fake.replies.push('Ferns!');
        executor.enqueue(req('r1', [{ role: 'system', content: 'client system prompt' }, user('hi'), bot('hello'), user('what do you grow?')]));
        expect(await done('r1')).toEqual({ type: 'done', id: 'r1', text: 'Ferns!', finishReason: 'stop' });
        const [file, messages] = [...fake.chatFiles.get('Alice.png')!].find(([name]) => name.startsWith('Ensemble bridge'))!;
        expect(file).toMatch(/^Ensemble bridge /);
        expect(messages.map((m) => [m.is_user, m.mes])).toEqual([[true, 'hi'], [false, 'hello'], [true, 'what do you grow?'], [false, 'Ferns!']]);
        expect(fake.sentTexts).toEqual(['what do you grow?']);
    });

    it('continues the same bridge chat when the conversation goes on, adding only the new turn', async () => {
        const { fake, executor, done } = setup();
        fake.replies.push('Ferns!', 'Moss too.');
        executor.enqueue(req('r1', [user('what do you grow?')]));
        await done('r1');
        executor.enqueue(req('r2', [user('what do you grow?'), bot('Ferns!'), user('anything else?')]));
        await done('r2');
        const bridgeFiles = [...fake.chatFiles.get('Alice.png')!.keys()].filter((f) => f.startsWith('Ensemble bridge'));
        expect(bridgeFiles).toHaveLength(1);
        expect(fake.chatFiles.get('Alice.png')!.get(bridgeFiles[0]!)!.map((m) => m.mes)).toEqual(['what do you grow?', 'Ferns!', 'anything else?', 'Moss too.']);
    });

    it('a different history starts a new bridge chat', async () => {
        const { fake, executor, done } = setup();
        fake.replies.push('a', 'b');
        executor.enqueue(req('r1', [user('one')]));
        executor.enqueue(req('r2', [user('two'), bot('x'), user('three')]));
        await done('r2');
        expect([...fake.chatFiles.get('Alice.png')!.keys()].filter((f) => f.startsWith('Ensemble bridge'))).toHaveLength(2);
    });

    it('turns ST\'s cumulative stream tokens into deltas, and sends the rest ST did not stream', async () => {
        const { fake, executor, sent, done } = setup();
        fake.replies.push(['Fe', 'rns', ' and moss']);
        executor.enqueue(req('r1', [user('hi')]));
        await done('r1');
        expect(sent.filter((f) => f.type === 'delta').map((f) => (f as { text: string }).text)).toEqual(['Fe', 'rns', ' and moss']);
        fake.replies.push('Not streamed');
        executor.enqueue(req('r2', [user('again')]));
        await done('r2');
        expect(sent.filter((f) => f.type === 'delta' && f.id === 'r2').map((f) => (f as { text: string }).text)).toEqual(['Not streamed']);
    });

    it('sends deltas for a non-streaming request too (progress for the server\'s silence timeout), and the whole text in done', async () => {
        const { fake, executor, sent, done } = setup();
        fake.replies.push(['a', 'b']);
        executor.enqueue(req('r1', [user('hi')], false));
        expect(await done('r1')).toMatchObject({ text: 'ab' });
        expect(sent.filter((f) => f.type === 'delta').map((f) => (f as { text: string }).text)).toEqual(['a', 'b']);
    });

    it('puts the user back in their own chat, and points the borrowed character back at its own chat', async () => {
        const { fake, executor, done } = setup();
        fake.replies.push('ok');
        executor.enqueue(req('r1', [user('hi')]));
        await done('r1');
        expect(fake.opened.at(-2)).toEqual({ kind: 'character', avatar: 'Alice.png', file: 'Alice main' });
        expect(fake.opened.at(-1)).toEqual({ kind: 'character', avatar: 'Bob.png', file: 'Bob own chat' });
        expect(fake.place).toEqual({ kind: 'character', avatar: 'Bob.png', file: 'Bob own chat' });
    });

    it('waits while the user\'s own generation runs, and never starts during it', async () => {
        const { fake, executor, done } = setup();
        fake.generating = true;
        fake.replies.push('later');
        executor.enqueue(req('r1', [user('hi')]));
        await fake.idle();
        expect(fake.sentTexts).toEqual([]);
        fake.generating = false;
        await done('r1');
        expect(fake.sentTexts).toEqual(['hi']);
    });

    it('runs one request at a time; each concurrent request gets its own answer', async () => {
        const { fake, executor, done } = setup();
        for (let i = 0; i < 5; i++) fake.replies.push(`answer ${i}`);
        for (let i = 0; i < 5; i++) executor.enqueue(req(`r${i}`, [user(`question ${i}`)]));
        for (let i = 0; i < 5; i++) expect(await done(`r${i}`)).toMatchObject({ text: `answer ${i}` });
        expect(fake.sentTexts).toEqual([0, 1, 2, 3, 4].map((i) => `question ${i}`));
    });

    it('a queued request can be cancelled; the running one is stopped in ST', async () => {
        const { fake, executor, sent, done } = setup();
        fake.generating = true;
        executor.enqueue(req('r1', [user('one')]));
        executor.enqueue(req('r2', [user('two')]));
        executor.cancel('r2');
        executor.cancel('r1');
        fake.generating = false;
        await fake.idle();
        await vi.waitFor(() => expect(executor.busy).toBe(false));
        // Each cancel is answered once, at once, so the server frees the tab; nothing else follows.
        expect(sent.filter((f) => f.type === 'done' || f.type === 'fail')).toEqual([
            { type: 'fail', id: 'r2', code: 'cancelled', message: 'Cancelled by the client.' },
            { type: 'fail', id: 'r1', code: 'cancelled', message: 'Cancelled by the client.' },
        ]);
        expect(fake.counts.stops).toBeGreaterThanOrEqual(1);
        fake.replies.push('x');
        executor.enqueue(req('r3', [user('three')]));
        await done('r3');
    });

    it('fails clearly: unknown model, a last message that is not the user\'s, a group model', async () => {
        const { executor, done } = setup();
        executor.enqueue(req('a', [user('hi')], true, 'st-char-Nobody'));
        executor.enqueue(req('b', [user('hi'), bot('hello')]));
        executor.enqueue(req('c', [user('hi')], true, 'st-group-Pair'));
        expect(await done('a')).toMatchObject({ type: 'fail', code: 'not_found' });
        expect(await done('b')).toMatchObject({ type: 'fail', code: 'bad_request' });
        expect(await done('c')).toMatchObject({ type: 'fail', code: 'bad_request' });
    });
});

describe('buildCatalog', () => {
    it('lists characters and groups with stable, readable, unique ids', () => {
        const fake = new FakeStHost();
        fake.addCharacter('Alice', { avatar: 'Alice.png' });
        fake.addCharacter('Alice copy', { avatar: 'Alice .png' });
        fake.addCharacter('Zoë', { avatar: 'Zoë.png' });
        fake.addGroup({ id: 'g1', name: 'Alice & Bob', members: ['Alice.png'] });
        const ids = buildCatalog(fake).models.map((m) => m.id);
        expect(ids).toEqual(['st-char-Alice', 'st-char-Alice-2', 'st-char-Zoe', 'st-group-Alice_Bob']);
        expect(buildCatalog(fake).models.map((m) => m.id)).toEqual(ids);
    });
});
