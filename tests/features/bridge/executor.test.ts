import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildCatalog } from '../../../src/features/bridge/catalog';
import { BridgeExecutor } from '../../../src/features/bridge/executor';
import { BridgeJournal, JOURNAL_KEY } from '../../../src/features/bridge/journal';
import { ConversationIndex, MAX_CHATS_PER_MODEL } from '../../../src/protocol/conversations';
import type { Host } from '../../../src/host/host';
import { compilePatterns } from '../../../src/features/bridge/side-tasks';
import { DEFAULT_SIDE_TASK_PATTERNS } from '../../../src/settings/schema';
import type { ChatMessage, ExtensionFrame } from '../../../src/protocol';
import { FakeStHost } from '../../fakes/st-host';
import { resetLocale, say, translatedError, useLocale } from '../../../src/shared/i18n';
import { ALICE, BOB, CAROL, scenario, startController } from '../profiles/scenario';

type Request = Parameters<BridgeExecutor['enqueue']>[0];

/**
 * An executor fed the way the bridge server feeds it: each request carries the bridge chat the server's index
 * found for its conversation, and each done frame with a chat is remembered there.
 */
function serve(host: Host, sent: ExtensionFrame[], sideTasks?: () => RegExp[], mode: 'tab' | 'session' = 'tab') {
    const index = new ConversationIndex();
    const requests = new Map<string, Request>();
    const executor = new BridgeExecutor(host, () => buildCatalog(host), new BridgeJournal(host), (f) => {
        sent.push(f);
        const r = f.type === 'done' && f.chat ? requests.get(f.id) : undefined;
        if (r && f.type === 'done' && f.chat) index.remember(r.model, f.chat, [...r.messages, { role: 'assistant', content: f.text }]);
    }, undefined, sideTasks, mode);
    const enqueue = executor.enqueue.bind(executor);
    executor.enqueue = (r: Request) => {
        requests.set(r.id, r);
        const chat = index.findFor(r.model, r.messages)?.file;
        enqueue({ ...r, ...(chat ? { chat } : {}) });
    };
    return executor;
}

function setup() {
    const fake = new FakeStHost();
    const alice = fake.addCharacter('Alice', { avatar: 'Alice.png' });
    fake.addCharacter('Bob', { avatar: 'Bob.png' });
    fake.st.characters[alice]!.chat = 'Alice main';
    fake.chatFiles.set('Alice.png', new Map([['Alice main', []]]));
    fake.addGroup({ id: 'g1', name: 'Pair', members: ['Alice.png', 'Bob.png'] });
    fake.place = { kind: 'character', avatar: 'Bob.png', file: 'Bob own chat' };
    const sent: ExtensionFrame[] = [];
    const executor = serve(fake, sent);
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
        expect(await done('r1')).toEqual({ type: 'done', id: 'r1', text: 'Ferns!', finishReason: 'stop', chat: expect.stringMatching(/^Ensemble bridge /) });
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

    it('puts the user back in their own chat, and points the borrowed character back at its own chat without writing her card', async () => {
        const { fake, executor, done } = setup();
        fake.replies.push('ok');
        executor.enqueue(req('r1', [user('hi')]));
        await done('r1');
        expect(fake.opened.at(-1)).toEqual({ kind: 'character', avatar: 'Bob.png', file: 'Bob own chat' });
        expect(fake.place).toEqual({ kind: 'character', avatar: 'Bob.png', file: 'Bob own chat' });
        expect(fake.st.characters.find((c) => c.avatar === 'Alice.png')?.chat).toBe('Alice main');
        expect(fake.diskPointers.has('Alice.png')).toBe(false);
        expect(fake.localItems.has(JOURNAL_KEY)).toBe(false);
    });

    it('in a background session: a continued conversation reopens nothing, and nothing of a user is put back or held', async () => {
        const { fake } = setup();
        const sent: ExtensionFrame[] = [];
        const executor = serve(fake, sent, undefined, 'session');
        const done = (id: string) => vi.waitFor(() => {
            const f = sent.find((x) => (x.type === 'done' || x.type === 'fail') && x.id === id);
            if (!f) throw new Error(`no answer for ${id} yet`);
            return f;
        });
        fake.replies.push('Ferns!', 'Moss too.');
        executor.enqueue(req('r1', [user('what do you grow?')]));
        const first = await done('r1') as { chat?: string };
        const opened = fake.opened.length;
        executor.enqueue(req('r2', [user('what do you grow?'), bot('Ferns!'), user('anything else?')]));
        expect(await done('r2')).toMatchObject({ type: 'done', text: 'Moss too.', chat: first.chat });
        expect(fake.opened.length).toBe(opened); // the bridge chat stayed open between the turns
        expect(fake.place).toMatchObject({ kind: 'character', avatar: 'Alice.png', file: first.chat });
        expect(fake.localItems.has(JOURNAL_KEY)).toBe(false);
        expect(fake.settingsHoldsTaken).toBe(0);
        expect(fake.diskPointers.size).toBe(0);
    });

    it('in a user\'s tab, holds ST\'s settings saves while it moves through chats, and releases them after', async () => {
        const { fake, executor, done } = setup();
        fake.replies.push('ok');
        let heldDuring = 0;
        const generate = fake.sendAndGenerate.bind(fake);
        fake.sendAndGenerate = async (text) => {
            heldDuring = fake.settingsHolds;
            return generate(text);
        };
        executor.enqueue(req('r1', [user('hi')]));
        await done('r1');
        expect(heldDuring).toBe(1);
        expect(fake.settingsHolds).toBe(0);
    });

    it('puts a user who was on the welcome screen back there', async () => {
        const { fake, executor, done } = setup();
        fake.place = { kind: 'none' };
        fake.replies.push('ok');
        executor.enqueue(req('r1', [user('hi')]));
        await done('r1');
        expect(fake.place).toEqual({ kind: 'none' });
        expect(fake.opened.at(-1)).toEqual({ kind: 'none' });
    });

    it('keeps a journal entry while the request runs, and clears it once everything is put back', async () => {
        const { fake, executor, done } = setup();
        let seen: unknown;
        fake.replies.push('ok');
        const generate = fake.sendAndGenerate.bind(fake);
        fake.sendAndGenerate = async (text) => {
            seen = fake.localStore.get(JOURNAL_KEY);
            return generate(text);
        };
        executor.enqueue(req('r1', [user('hi')]));
        await done('r1');
        expect(seen).toMatchObject({ target: { kind: 'character', avatar: 'Alice.png' }, own: 'Alice main', back: { kind: 'character', avatar: 'Bob.png', file: 'Bob own chat' } });
        expect(fake.localItems.has(JOURNAL_KEY)).toBe(false);
    });

    it('a failure the user would read translated reaches the API client in English', async () => {
        const { fake, executor, done } = setup();
        useLocale('de-de', { 'ensemble.errors.stNoReply': 'Keine Antwort (de)' });
        try {
            fake.sendAndGenerate = async () => { throw translatedError('ST_NO_REPLY', 'ensemble.errors.stNoReply'); };
            executor.enqueue(req('r1', [user('hi')]));
            const frame = await done('r1');
            expect(frame).toMatchObject({ type: 'fail' });
            expect(JSON.stringify(frame)).not.toMatch(/\(de\)/);
        } finally {
            resetLocale();
        }
    });

    it('why a tab cannot serve goes to the server in English, whatever language the user reads it in', async () => {
        const { fake, executor, sent, done } = setup();
        useLocale('de-de', { 'ensemble.host.sessionTakenOver': 'ein anderer Tab hat die Sitzung übernommen' });
        try {
            fake.sessionRefusal = { key: 'ensemble.host.sessionTakenOver' };
            executor.enqueue(req('r1', [user('hi')]));
            expect(await done('r1')).toMatchObject({ type: 'fail', code: 'unavailable', message: expect.stringMatching(/took over the session/) });
            expect(sent.filter((f) => f.type === 'status').at(-1)).toMatchObject({ unavailable: expect.stringMatching(/^another SillyTavern tab .* took over the session/) });
            expect(say(executor.unavailable!)).toBe('ein anderer Tab hat die Sitzung übernommen');
        } finally {
            resetLocale();
        }
    });

    it('a tab whose ST session refuses it hands the request back before touching ST, and says so in its status', async () => {
        const { fake, executor, sent, done } = setup();
        fake.sessionRefusal = { key: 'ensemble.host.sessionTakenOver' };
        executor.enqueue(req('r1', [user('hi')]));
        expect(await done('r1')).toMatchObject({ type: 'fail', code: 'unavailable', message: expect.stringMatching(/took over the session/) });
        expect(fake.opened).toEqual([]);
        expect(fake.sentTexts).toEqual([]);
        expect(sent.filter((f) => f.type === 'status').at(-1)).toMatchObject({ unavailable: expect.stringMatching(/took over/) });
        fake.sessionRefusal = null;
        fake.replies.push('ok');
        executor.enqueue(req('r2', [user('hi')]));
        expect(await done('r2')).toMatchObject({ type: 'done', text: 'ok' });
        expect(sent.filter((f) => f.type === 'status').at(-1)).not.toHaveProperty('unavailable');
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

    it('fails clearly: unknown model, a last message that is not the user\'s, a group without members', async () => {
        const { fake, executor, done } = setup();
        fake.addGroup({ id: 'g2', name: 'Empty', members: ['Gone.png'] });
        executor.enqueue(req('a', [user('hi')], true, 'st-char-Nobody'));
        executor.enqueue(req('b', [user('hi'), bot('hello')]));
        executor.enqueue(req('c', [user('hi')], true, 'st-group-Empty'));
        expect(await done('a')).toMatchObject({ type: 'fail', code: 'not_found' });
        expect(await done('b')).toMatchObject({ type: 'fail', code: 'bad_request' });
        expect(await done('c')).toMatchObject({ type: 'fail', code: 'not_found' });
    });
});

/** NextChat's request shapes (facts from NextChat's client, not from ST: a 4-message window, recap, side tasks). */
describe('BridgeExecutor with a windowed client (NextChat)', () => {
    const window4 = (all: ChatMessage[], next: string, recap?: string): ChatMessage[] => [
        ...(recap ? [{ role: 'system' as const, content: `This is a summary of the chat history as a recap: ${recap}` }] : []),
        ...all.slice(-4), user(next),
    ];

    it('a six-turn conversation sent with a 4-message window continues one bridge chat that holds every turn', async () => {
        const { fake, executor, done } = setup();
        const client: ChatMessage[] = [];
        for (let i = 1; i <= 6; i++) {
            fake.replies.push(`reply ${i}`);
            executor.enqueue(req(`t${i}`, window4(client, `turn ${i}`, i > 3 ? 'they talked' : undefined)));
            const answer = await done(`t${i}`);
            client.push(user(`turn ${i}`), bot((answer as { text: string }).text));
        }
        const bridge = [...fake.chatFiles.get('Alice.png')!].filter(([name]) => name.startsWith('Ensemble bridge'));
        expect(bridge).toHaveLength(1);
        expect(bridge[0]![1].map((m) => m.mes)).toEqual(client.map((m) => m.content));
        // The recap and other system messages never become chat messages.
        expect(bridge[0]![1].some((m) => m.mes.includes('recap'))).toBe(false);
        expect(fake.sentTexts).toEqual([1, 2, 3, 4, 5, 6].map((i) => `turn ${i}`));
    });

    it('a mask\'s greeting in front of the window still finds the conversation', async () => {
        const { fake, executor, done } = setup();
        const greeting = bot('Welcome to the garden.');
        const client: ChatMessage[] = [];
        for (let i = 1; i <= 4; i++) {
            fake.replies.push(`r${i}`);
            executor.enqueue(req(`m${i}`, [greeting, ...client.slice(-4), user(`q${i}`)]));
            await done(`m${i}`);
            client.push(user(`q${i}`), bot(`r${i}`));
        }
        const bridge = [...fake.chatFiles.get('Alice.png')!].filter(([name]) => name.startsWith('Ensemble bridge'));
        expect(bridge).toHaveLength(1);
        expect(bridge[0]![1].map((m) => m.mes)).toEqual([greeting.content, ...client.map((m) => m.content)]);
    });

    it('answers title and summary requests with generateRaw, without opening, creating or writing any chat', async () => {
        const { fake, executor, sent, done } = setup();
        const executorWithTasks = serve(fake, sent, () => compilePatterns(DEFAULT_SIDE_TASK_PATTERNS));
        void executor;
        fake.rawAnswers.push('Garden Talk About Ferns', 'They discussed ferns.');
        const history = [user('what do you grow?'), bot('Ferns!')];
        executorWithTasks.enqueue(req('title', [...history, user('Please generate a four to five word title summarizing our conversation without any lead-in, punctuation, quotation marks, periods, symbols, bold text, or additional text. Remove enclosing quotation marks.')], false));
        executorWithTasks.enqueue(req('sum', [...history, { role: 'system', content: 'Summarize the discussion briefly in 200 words or less to use as a prompt for future context.' }], true));
        expect(await done('title')).toMatchObject({ type: 'done', text: 'Garden Talk About Ferns' });
        expect(await done('sum')).toMatchObject({ type: 'done', text: 'They discussed ferns.' });
        expect(sent.filter((f) => f.type === 'delta' && f.id === 'sum')).toEqual([{ type: 'delta', id: 'sum', text: 'They discussed ferns.' }]);
        expect(fake.opened).toEqual([]);
        expect(fake.sentTexts).toEqual([]);
        expect([...fake.chatFiles.get('Alice.png')!.keys()]).toEqual(['Alice main']);
        expect(fake.rawCalls[0]).toMatchObject({ prompt: 'user: what do you grow?\n\nassistant: Ferns!', systemPrompt: expect.stringMatching(/^Please generate a four to five word title/) });
        expect(fake.rawCalls[1]?.systemPrompt).toMatch(/^Summarize the discussion/);
    });

    it('without side-task patterns such a request is an ordinary turn', async () => {
        const { fake, executor, done } = setup();
        fake.replies.push('A title');
        executor.enqueue(req('t', [user('Please generate a four to five word title')]));
        await done('t');
        expect(fake.sentTexts).toEqual(['Please generate a four to five word title']);
    });
});

describe('BridgeExecutor with a group model', () => {
    function groupSetup() {
        const s = setup();
        s.fake.st.groups[0]!.chat_id = 'Pair own chat';
        s.fake.groupChatFiles.set('g1', new Map([['Pair own chat', [{ name: 'Alice', is_user: false, is_system: false, mes: 'old' }]]]));
        return s;
    }

    it('runs an ST group turn in a bridge group chat and answers every member\'s message with its speaker, streamed', async () => {
        const { fake, executor, sent, done } = groupSetup();
        fake.replies.push(['Hel', 'lo'], ['Hi', '!']);
        executor.enqueue(req('g', [user('hello both')], true, 'st-group-Pair'));
        const answer = await done('g');
        expect(answer).toMatchObject({ type: 'done', text: '**Alice:** Hello\n\n**Bob:** Hi!' });
        const deltas = sent.filter((f) => f.type === 'delta' && f.id === 'g').map((f) => (f as { text: string }).text);
        expect(deltas).toEqual(['**Alice:** Hel', 'lo', '\n\n**Bob:** Hi', '!']);
        expect(fake.drafted.map((i) => fake.st.characters[i]!.name)).toEqual(['Alice', 'Bob']);
        // The group's own chat is untouched and is its current chat again; the user is back where they were.
        expect(fake.groupChatFiles.get('g1')!.get('Pair own chat')!.map((m) => m.mes)).toEqual(['old']);
        expect(fake.st.groups[0]!.chat_id).toBe('Pair own chat');
        expect(fake.place).toEqual({ kind: 'character', avatar: 'Bob.png', file: 'Bob own chat' });
    });

    it('sends members\' messages ST did not stream as they are received, and continues the group chat next time', async () => {
        const { fake, executor, sent, done } = groupSetup();
        fake.replies.push('One', 'Two', 'Three', 'Four');
        executor.enqueue(req('g1', [user('first')], false, 'st-group-Pair'));
        const first = (await done('g1')) as { text: string };
        expect(sent.filter((f) => f.type === 'delta' && f.id === 'g1').map((f) => (f as { text: string }).text)).toEqual(['**Alice:** One', '\n\n**Bob:** Two']);
        executor.enqueue(req('g2', [user('first'), bot(first.text), user('second')], false, 'st-group-Pair'));
        await done('g2');
        const bridge = [...fake.groupChatFiles.get('g1')!].filter(([id]) => id.startsWith('Ensemble bridge'));
        expect(bridge).toHaveLength(1);
        expect(bridge[0]![1].filter((m) => !m.mes.startsWith('Greetings')).map((m) => [m.name, m.mes])).toEqual([
            ['User', 'first'], ['Alice', 'One'], ['Bob', 'Two'], ['User', 'second'], ['Alice', 'Three'], ['Bob', 'Four'],
        ]);
    });

    it('seeds a new group chat from a client history, splitting a group reply back into its speakers', async () => {
        const { fake, executor, done } = groupSetup();
        fake.replies.push('x', 'y');
        executor.enqueue(req('g', [user('hi'), bot('**Alice:** Hey\n\n**Bob:** Yo'), user('again')], true, 'st-group-Pair'));
        await done('g');
        const [, messages] = [...fake.groupChatFiles.get('g1')!].find(([id]) => id.startsWith('Ensemble bridge'))!;
        expect(messages.map((m) => [m.name, m.is_user, m.mes])).toEqual([
            ['User', true, 'hi'], ['Alice', false, 'Hey'], ['Bob', false, 'Yo'], ['User', true, 'again'], ['Alice', false, 'x'], ['Bob', false, 'y'],
        ]);
    });

    it('each member\'s request goes through its own profile (the profiles feature routes the bridge\'s group turn)', async () => {
        vi.spyOn(console, 'info').mockImplementation(() => undefined);
        const s = scenario();
        startController(s);
        const sent: ExtensionFrame[] = [];
        const executor = serve(s.fake, sent);
        s.fake.replies.push('from Alice', 'from Bob', 'from Carol');
        executor.enqueue(req('trio', [user('hi all')], true, 'st-group-Trio'));
        await vi.waitFor(() => expect(sent.some((f) => f.type === 'done')).toBe(true));
        const models = Object.fromEntries(s.fake.requests.map((r) => [r.avatar, r.body.model]));
        expect(models).toEqual({ [ALICE]: 'gpt-a', [BOB]: 'gpt-b', [CAROL]: 'gpt-c' });
        expect(sent.find((f) => f.type === 'done')).toMatchObject({ text: '**Alice:** from Alice\n\n**Bob:** from Bob\n\n**Carol:** from Carol' });
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

describe('ConversationIndex', () => {
    it('reads entries stored before tails existed, and keeps at most MAX_CHATS_PER_MODEL per model', () => {
        const index = new ConversationIndex({ 'st-char-A': [{ file: 'old', hash: 'x', at: 1, tails: [] }] });
        expect(index.find('st-char-A', [user('a'), bot('b')])).toBeUndefined();
        for (let i = 0; i < MAX_CHATS_PER_MODEL + 5; i++) index.remember('st-char-A', `f${i}`, [user(`q${i}`), bot(`a${i}`)]);
        const stored = index.data();
        expect(stored['st-char-A']).toHaveLength(MAX_CHATS_PER_MODEL);
        expect(stored['st-char-A']![0]!.file).toBe(`f${MAX_CHATS_PER_MODEL + 4}`);
        // The oldest is forgotten; a recent one is found by its whole history and by its tail.
        expect(index.find('st-char-A', [user('q0'), bot('a0')])).toBeUndefined();
        expect(index.find('st-char-A', [user('q7'), bot('a7')])?.file).toBe('f7');
        expect(index.find('st-char-A', [bot('greeting'), user('q7'), bot('a7')])?.file).toBe('f7');
    });

    it('merges another index: new files added, a file both know keeps its latest use, most recent first', () => {
        const index = new ConversationIndex({ m: [{ file: 'a', hash: 'h1', at: 10, tails: [] }, { file: 'b', hash: 'h2', at: 5, tails: [] }] });
        const added = index.merge({ m: [{ file: 'b', hash: 'h2new', at: 20, tails: [] }, { file: 'c', hash: 'h3', at: 1, tails: [] }], n: [{ file: 'z', hash: 'hz', at: 3, tails: [] }] });
        expect(added).toBe(2);
        expect(index.data().m!.map((e) => [e.file, e.hash])).toEqual([['b', 'h2new'], ['a', 'h1'], ['c', 'h3']]);
        expect(index.size).toBe(4);
    });
});
