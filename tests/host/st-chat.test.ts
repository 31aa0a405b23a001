/**
 * src/host/st-chat.ts over a fake of ST 1.12.6's globals (tests/fakes/st-globals.ts).
 *
 * Unit-tested here: chat, chatId, insertMessageAfter (splice, shiftShownIds' renumbering of `mesid` and
 * `.mesIDDisplay`, placement through addOneMessage, last_mes, saveChat), uploadImage, chatCompletion, generateRaw.
 *
 * Also in e2e, against ST's real addOneMessage and chat file: images.e2e.mjs
 * "the message button on #1 inserts the picture at #2", "every shown message's mesid matches its place in the chat",
 * and "after reload both pictures are in the chat file and shown".
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createChatAccess } from '../../src/host/st-chat';
import { EnsembleError } from '../../src/shared/errors';
import { FakeSt, json, message } from '../fakes/st-globals';

vi.mock('../../src/host/st-modules', async (importOriginal) =>
    (await import('../fakes/st-globals')).mockStModules(await importOriginal<Record<string, unknown>>()));

let st: FakeSt;
let access: ReturnType<typeof createChatAccess>;

beforeEach(() => {
    st = new FakeSt().install();
    access = createChatAccess(document);
});

afterEach(() => {
    vi.unstubAllGlobals();
    document.body.replaceChildren();
});

const shown = () => [...document.querySelectorAll('#chat .mes')].map((el) => ({
    id: el.getAttribute('mesid'),
    label: el.querySelector('.mesIDDisplay')?.textContent,
    text: el.querySelector('.mes_text')?.textContent,
    last: el.classList.contains('last_mes'),
}));

function chatOf(n: number): void {
    for (let i = 0; i < n; i++) st.state.chat.push(message(i % 2 ? 'Alice' : 'User', `m${i}`, i % 2 === 0));
}

describe('chat and chatId', () => {
    it('chat is ST\'s own array', () => {
        chatOf(2);
        expect(access.chat()).toBe(st.state.chat);
    });

    it('chatId is the open chat\'s file name, or undefined with none open', () => {
        expect(access.chatId()).toBeUndefined();
        st.state.characters.push({ name: 'Alice', avatar: 'Alice.png', chat: 'Alice - 2024-01-01' });
        st.state.this_chid = '0';
        expect(access.chatId()).toBe('Alice - 2024-01-01');
        st.state.characters[0]!.chat = '';
        expect(access.chatId()).toBeUndefined();
    });
});

describe('insertMessageAfter', () => {
    it('splices the message in after #index, renumbers the shown messages and their labels, and saves', async () => {
        chatOf(4);
        st.renderChat();
        const picture = message('Alice', 'picture');
        expect(await access.insertMessageAfter(1, picture)).toBe(2);
        expect(st.state.chat.map((m) => m.mes)).toEqual(['m0', 'm1', 'picture', 'm2', 'm3']);
        expect(shown()).toEqual([
            { id: '0', label: '#0', text: 'm0', last: false },
            { id: '1', label: '#1', text: 'm1', last: false },
            { id: '2', label: '#2', text: 'picture', last: false },
            { id: '3', label: '#3', text: 'm2', last: false },
            { id: '4', label: '#4', text: 'm3', last: true },
        ]);
        expect(st.calls.addOneMessage).toEqual([{ mes: picture, opts: { insertBefore: 3, forceId: 2, scroll: false } }]);
        expect(st.calls.saveChat).toBe(1);
    });

    it('after #0 too (addOneMessage ignores insertAfter: 0, so it renders before the next message)', async () => {
        chatOf(2);
        st.renderChat();
        await access.insertMessageAfter(0, message('Alice', 'picture'));
        expect(shown().map((m) => [m.id, m.text])).toEqual([['0', 'm0'], ['1', 'picture'], ['2', 'm1']]);
    });

    it('after the last message: appended, and it becomes last_mes', async () => {
        chatOf(3);
        st.renderChat();
        expect(await access.insertMessageAfter(2, message('Alice', 'picture'))).toBe(3);
        expect(shown().map((m) => [m.id, m.label, m.text, m.last])).toEqual([
            ['0', '#0', 'm0', false], ['1', '#1', 'm1', false], ['2', '#2', 'm2', false], ['3', '#3', 'picture', true],
        ]);
        expect(st.calls.addOneMessage[0]?.opts).toEqual({ forceId: 3, scroll: false });
    });

    it('with only the latest messages shown: renumbers those, and renders nothing for a hidden neighbour', async () => {
        chatOf(6);
        st.renderChat();
        for (const el of [...document.querySelectorAll('#chat .mes')].slice(0, 3)) el.remove(); // ST shows #3…#5
        await access.insertMessageAfter(0, message('Alice', 'picture'));
        expect(shown().map((m) => [m.id, m.label])).toEqual([['4', '#4'], ['5', '#5'], ['6', '#6']]);
        expect(st.calls.addOneMessage).toEqual([]);
        expect(st.state.chat[1]?.mes).toBe('picture');
        expect(st.calls.saveChat).toBe(1);
    });

    it.each([-1, 3, 1.5, Number.NaN])('index %j is MESSAGE_NOT_FOUND, and nothing changes', async (index) => {
        chatOf(3);
        st.renderChat();
        const err = await access.insertMessageAfter(index, message('Alice', 'picture')).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(EnsembleError);
        expect((err as EnsembleError).code).toBe('MESSAGE_NOT_FOUND');
        expect((err as EnsembleError).message).toBe(`There is no message #${index} in this chat.`);
        expect(st.state.chat).toHaveLength(3);
        expect(shown().map((m) => m.id)).toEqual(['0', '1', '2']);
        expect(st.calls.saveChat).toBe(0);
    });
});

describe('uploadImage: ST\'s /api/images/upload', () => {
    it('posts the data URL under the folder and file name, and returns ST\'s path', async () => {
        st.onFetch = () => json({ path: 'user/images/Alice/pic.png' });
        expect(await access.uploadImage('data:image/png;base64,AAAA', 'Alice', 'pic')).toBe('user/images/Alice/pic.png');
        const [call] = st.calls.fetch;
        expect(call?.url).toBe('/api/images/upload');
        expect(call?.init?.method).toBe('POST');
        expect(JSON.parse(String(call?.init?.body))).toEqual({ image: 'data:image/png;base64,AAAA', ch_name: 'Alice', filename: 'pic' });
    });

    it.each([
        ['an error with ST\'s message', () => json({ error: 'Invalid image format' }, 400), 'ST could not store the image (HTTP 400: Invalid image format).'],
        ['an error without a JSON body', () => new Response('Internal Server Error', { status: 500 }), 'ST could not store the image (HTTP 500).'],
        ['a 200 that is not JSON', () => new Response('<html>', { status: 200 }), 'ST could not store the image (HTTP 200).'],
        ['a 200 without a path', () => json({ ok: true }), 'ST could not store the image (HTTP 200).'],
    ])('%s is IMAGE_SAVE_FAILED', async (_what, answer, text) => {
        st.onFetch = answer;
        const err = await access.uploadImage('data:image/png;base64,AAAA', 'Alice', 'pic').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(EnsembleError);
        expect([(err as EnsembleError).code, (err as EnsembleError).message]).toEqual(['IMAGE_SAVE_FAILED', text]);
    });
});

describe('chatCompletion and generateRaw', () => {
    it('chatCompletion posts the body to ST\'s generate endpoint and returns its JSON', async () => {
        st.onFetch = () => json({ choices: [{ message: { content: 'hi' } }] });
        const signal = new AbortController().signal;
        expect(await access.chatCompletion({ model: 'm' }, signal)).toEqual({ choices: [{ message: { content: 'hi' } }] });
        expect(st.calls.fetch[0]?.url).toBe('/api/backends/chat-completions/generate');
        expect(st.calls.fetch[0]?.init?.signal).toBe(signal);
    });

    it.each([
        ['an HTTP error', () => new Response('', { status: 502 }), 'ST\'s Chat Completion request failed (HTTP 502).'],
        ['an answer that is not JSON', () => new Response('oops', { status: 200 }), 'ST\'s Chat Completion answer was not JSON.'],
    ])('chatCompletion: %s is PROMPT_LLM_FAILED', async (_what, answer, text) => {
        st.onFetch = answer;
        await expect(access.chatCompletion({})).rejects.toMatchObject({ code: 'PROMPT_LLM_FAILED', message: text });
    });

    it('generateRaw calls script.js generateRaw with 1.12.6\'s positional arguments (main API, no instruct override)', async () => {
        const generateRaw = st.modules['../script.js']!.generateRaw as ReturnType<typeof vi.fn>;
        generateRaw.mockResolvedValueOnce('a prompt');
        expect(await access.generateRaw('describe', 'You write prompts.', 200)).toBe('a prompt');
        expect(generateRaw).toHaveBeenCalledWith('describe', '', false, false, 'You write prompts.', 200);
    });
});
