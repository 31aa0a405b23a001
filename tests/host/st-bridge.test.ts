/**
 * src/host/st-bridge.ts over a fake of ST 1.12.6's globals (tests/fakes/st-globals.ts).
 *
 * Unit-tested here: currentChatRef, chatPointer, setChatPointer, saveChatPointer, sessionProblem, isGenerating,
 * openSocket, openChatRef (the character and group cases against the fake's selection), openCharacterChatFile
 * and openGroupChatFile (the seed they write and the pointer they set), sendAndGenerate (which messages it returns).
 *
 * Left to e2e, where ST's real selection, chat loading and generation run:
 * - openChatRef back to the welcome screen (ST's "Close chat"): bridge-guest.e2e.mjs
 *   "a user on the welcome screen is put back on the welcome screen"; back to the user's chat after a request:
 *   bridge.e2e.mjs "the user is back in their own chat"; after a reload: bridge-guest.e2e.mjs
 *   "after the reload the user is back in their own chat".
 * - openCharacterChatFile / openGroupChatFile / sendAndGenerate with ST loading and generating: bridge.e2e.mjs
 *   "a character answers through the bridge (stream: false)" and "the continued conversation stayed in one bridge chat";
 *   nextchat.e2e.mjs "group model: the conversation continues in one bridge group chat".
 * - saveChatPointer against ST's merge-attributes (the journal's repair after a reload): bridge-guest.e2e.mjs
 *   "Alice's card still points at her own chat"; for a group (editGroup): nextchat.e2e.mjs
 *   "group model: the conversation continues in one bridge group chat".
 * - sessionProblem against ST's real CSRF check: bridge-guest.e2e.mjs
 *   "the older tab in the same browser says another tab took over its session".
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HostMessage } from '../../src/host/host';
import { SESSION_PROBLEMS, createBridgeAccess } from '../../src/host/st-bridge';
import { inEnglish } from '../../src/shared/i18n';
import { EnsembleError } from '../../src/shared/errors';
import { FakeSt, character, json, message, type StGroup } from '../fakes/st-globals';

vi.mock('../../src/host/st-modules', async (importOriginal) =>
    (await import('../fakes/st-globals')).mockStModules(await importOriginal<Record<string, unknown>>()));

let st: FakeSt;
let bridge: ReturnType<typeof createBridgeAccess>;
const group = (id: string, chatId?: string): StGroup => ({ id, name: id, members: ['Alice.png', 'Bob.png'], chats: chatId ? [chatId] : [], ...(chatId ? { chat_id: chatId } : {}) });
/** Lets createBridgeAccess's module imports settle (isGenerating reads them once loaded). */
const settle = () => new Promise((r) => setTimeout(r, 0));

beforeEach(() => {
    st = new FakeSt().install();
    st.state.characters.push(character('Alice', 'Alice - own'), character('Bob', 'Bob - own'));
    st.state.groups.push(group('g1', 'g1 - own'));
    bridge = createBridgeAccess(document);
});

afterEach(() => {
    vi.unstubAllGlobals();
    document.body.replaceChildren();
});

describe('currentChatRef', () => {
    it('a group chat: the group and its chat', () => {
        st.state.selected_group = 'g1';
        expect(bridge.currentChatRef()).toEqual({ kind: 'group', id: 'g1', chatId: 'g1 - own' });
    });

    it.each([1, '1'])('a character (this_chid %j): its avatar and open file', (chid) => {
        st.state.this_chid = chid;
        expect(bridge.currentChatRef()).toEqual({ kind: 'character', avatar: 'Bob.png', file: 'Bob - own' });
    });

    it('a character without a chat yet: file is empty', () => {
        delete st.state.characters[0]!.chat;
        st.state.this_chid = 0;
        expect(bridge.currentChatRef()).toEqual({ kind: 'character', avatar: 'Alice.png', file: '' });
    });

    it.each([undefined, 5, -1, 'x'])('no character (this_chid %j): none', (chid) => {
        st.state.this_chid = chid;
        expect(bridge.currentChatRef()).toEqual({ kind: 'none' });
    });
});

describe('chat pointers', () => {
    it('chatPointer reads a character\'s chat by avatar and a group\'s chat_id', () => {
        expect(bridge.chatPointer({ kind: 'character', avatar: 'Bob.png' })).toBe('Bob - own');
        expect(bridge.chatPointer({ kind: 'group', id: 'g1' })).toBe('g1 - own');
        expect(bridge.chatPointer({ kind: 'character', avatar: 'Nobody.png' })).toBeUndefined();
        expect(bridge.chatPointer({ kind: 'group', id: 'nope' })).toBeUndefined();
    });

    it('setChatPointer changes ST\'s objects in memory only', () => {
        bridge.setChatPointer({ kind: 'character', avatar: 'Bob.png' }, 'Bob - bridge');
        bridge.setChatPointer({ kind: 'group', id: 'g1' }, 'g1 - bridge');
        expect(st.state.characters[1]?.chat).toBe('Bob - bridge');
        expect(st.state.groups[0]?.chat_id).toBe('g1 - bridge');
        expect(st.calls.fetch).toEqual([]);
    });

    it('setChatPointer for an unknown target changes nothing', () => {
        bridge.setChatPointer({ kind: 'character', avatar: 'Nobody.png' }, 'x');
        bridge.setChatPointer({ kind: 'group', id: 'nope' }, 'x');
        expect(st.state.characters.map((c) => c.chat)).toEqual(['Alice - own', 'Bob - own']);
        expect(st.state.groups.map((g) => g.chat_id)).toEqual(['g1 - own']);
    });

    it('saveChatPointer writes a character\'s chat field alone through merge-attributes', async () => {
        st.onFetch = () => json({});
        await bridge.saveChatPointer({ kind: 'character', avatar: 'Bob.png' }, 'Bob - 2');
        expect(st.state.characters[1]?.chat).toBe('Bob - 2');
        expect(st.calls.fetch.map((c) => [c.url, JSON.parse(String(c.init?.body))])).toEqual([
            ['/api/characters/merge-attributes', { avatar: 'Bob.png', chat: 'Bob - 2' }],
        ]);
    });

    it('saveChatPointer: ST refusing the write is ST_REQUEST_FAILED naming the character', async () => {
        st.onFetch = () => new Response('', { status: 400 });
        await expect(bridge.saveChatPointer({ kind: 'character', avatar: 'Bob.png' }, 'Bob - 2'))
            .rejects.toMatchObject({ code: 'ST_REQUEST_FAILED', message: 'ST could not update Bob\'s current chat (HTTP 400).' });
    });

    it('saveChatPointer for a group sets chat_id and saves through ST\'s editGroup', async () => {
        await bridge.saveChatPointer({ kind: 'group', id: 'g1' }, 'g1 - 2');
        expect(st.state.groups[0]?.chat_id).toBe('g1 - 2');
        expect(st.modules['group-chats.js']!.editGroup).toHaveBeenCalledWith('g1', true, false);
        expect(st.calls.fetch).toEqual([]);
    });
});

describe('sessionProblem: a POST to /api/ping tells a usable session (404) from a refused one', () => {
    it.each([
        ['404 (no POST route: the session works)', () => new Response('Not found', { status: 404 }), null],
        ['403 with a CSRF error', () => new Response('ForbiddenError: invalid csrf token', { status: 403 }), SESSION_PROBLEMS.takenOver()],
        ['403 otherwise', () => new Response('Forbidden', { status: 403 }), SESSION_PROBLEMS.refused(403)],
        ['401', () => new Response('Unauthorized', { status: 401 }), SESSION_PROBLEMS.loggedOut()],
        ['a network error', () => { throw new TypeError('Failed to fetch'); }, SESSION_PROBLEMS.unreachable()],
    ])('%s', async (_what, answer, expected) => {
        st.onFetch = answer;
        expect(await bridge.sessionProblem()).toEqual(expected);
        expect(st.calls.fetch[0]?.url).toBe('/api/ping');
        expect(st.calls.fetch[0]?.init).toMatchObject({ method: 'POST', headers: { 'X-CSRF-Token': 'token' } });
    });

    it('the refused message names the status and asks for a reload', () => {
        expect(inEnglish(SESSION_PROBLEMS.refused(403))).toBe('SillyTavern refuses this tab\'s requests (HTTP 403); reload this tab');
    });
});

describe('isGenerating', () => {
    it('is false while ST is idle', async () => {
        await settle();
        expect(bridge.isGenerating()).toBe(false);
    });

    it('follows script.js is_send_press', async () => {
        await settle();
        st.modules['../script.js']!.is_send_press = true;
        expect(bridge.isGenerating()).toBe(true);
    });

    it('follows group-chats.js is_group_generating', async () => {
        await settle();
        st.modules['group-chats.js']!.is_group_generating = true;
        expect(bridge.isGenerating()).toBe(true);
    });

    it('is true while ST shows its Stop button (#mes_stop), false while it is hidden', async () => {
        await settle();
        const stop = document.createElement('div');
        stop.id = 'mes_stop';
        stop.style.display = 'none';
        document.body.append(stop);
        expect(bridge.isGenerating()).toBe(false);
        stop.style.display = 'flex';
        expect(bridge.isGenerating()).toBe(true);
        stop.removeAttribute('style');
        const css = document.createElement('style');
        css.textContent = '#mes_stop { display: none; }';
        document.head.append(css);
        expect(bridge.isGenerating()).toBe(false);
        css.remove();
    });
});

describe('opening chats through ST\'s selection', () => {
    it('openChatRef to a character: points its card at the file in memory, then selects it', async () => {
        st.state.this_chid = 0;
        await bridge.openChatRef({ kind: 'character', avatar: 'Bob.png', file: 'Bob - bridge' });
        expect(st.calls.selectCharacterById).toEqual(['1']);
        expect([st.state.characters[1]?.chat, st.getCurrentChatId()]).toEqual(['Bob - bridge', 'Bob - bridge']);
        expect(st.calls.fetch).toEqual([]);
    });

    it('openChatRef to the character already selected reloads the chat instead of reselecting', async () => {
        st.state.this_chid = '1';
        await bridge.openChatRef({ kind: 'character', avatar: 'Bob.png', file: 'Bob - bridge' });
        expect(st.modules['../script.js']!.reloadCurrentChat).toHaveBeenCalledTimes(1);
        expect(st.calls.selectCharacterById).toEqual([]);
    });

    it('openChatRef to where the user already is does nothing', async () => {
        st.state.this_chid = 1;
        await bridge.openChatRef({ kind: 'character', avatar: 'Bob.png', file: 'Bob - own' });
        expect(st.calls.selectCharacterById).toEqual([]);
        expect(st.modules['../script.js']!.reloadCurrentChat).not.toHaveBeenCalled();
    });

    it('openChatRef to a group: sets its chat_id and opens it through openGroupById', async () => {
        st.state.this_chid = 0;
        await bridge.openChatRef({ kind: 'group', id: 'g1', chatId: 'g1 - bridge' });
        expect(st.modules['group-chats.js']!.openGroupById).toHaveBeenCalledWith('g1');
        expect(st.getCurrentChatId()).toBe('g1 - bridge');
    });

    it('openChatRef to a character or group that is gone does nothing', async () => {
        await bridge.openChatRef({ kind: 'character', avatar: 'Nobody.png', file: 'x' });
        await bridge.openChatRef({ kind: 'group', id: 'nope', chatId: 'x' });
        expect(st.calls.selectCharacterById).toEqual([]);
        expect(st.modules['group-chats.js']!.openGroupById).not.toHaveBeenCalled();
    });

    it('openCharacterChatFile with a seed writes the chat as ST does (header, user under the persona name), then opens it', async () => {
        st.onFetch = () => json({ ok: true });
        const seed: HostMessage[] = [message('Someone', 'hello', true), message('Alice', 'hi there')];
        await bridge.openCharacterChatFile(0, 'Alice - bridge 1', seed);
        const [call] = st.calls.fetch;
        expect(call?.url).toBe('/api/chats/save');
        const body = JSON.parse(String(call?.init?.body)) as { ch_name: string; file_name: string; avatar_url: string; chat: Record<string, unknown>[] };
        expect([body.ch_name, body.file_name, body.avatar_url]).toEqual(['Alice', 'Alice - bridge 1', 'Alice.png']);
        expect(body.chat[0]).toMatchObject({ user_name: 'User', character_name: 'Alice', chat_metadata: { ensemble_bridge: true } });
        expect(body.chat.slice(1)).toEqual([{ ...seed[0], name: 'User' }, seed[1]]);
        expect(st.getCurrentChatId()).toBe('Alice - bridge 1');
    });

    it('openCharacterChatFile: an unknown index is CHARACTER_NOT_FOUND; a failed save leaves the pointer alone', async () => {
        await expect(bridge.openCharacterChatFile(7, 'x', null)).rejects.toMatchObject({ code: 'CHARACTER_NOT_FOUND' });
        st.onFetch = () => new Response('', { status: 500 });
        const err = await bridge.openCharacterChatFile(0, 'Alice - bridge 1', [message('User', 'hi', true)]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(EnsembleError);
        expect((err as EnsembleError).message).toBe('ST could not create the bridge chat (HTTP 500).');
        expect(st.state.characters[0]?.chat).toBe('Alice - own');
        expect(st.calls.selectCharacterById).toEqual([]);
    });

    it('openGroupChatFile with a seed gives members their avatars, lists the chat with the group, and opens it', async () => {
        st.onFetch = () => json({ ok: true });
        await bridge.openGroupChatFile('g1', 'g1 - bridge', [message('Someone', 'hello all', true), message('Bob', 'hey'), message('Stranger', '?')]);
        const [call] = st.calls.fetch;
        expect(call?.url).toBe('/api/chats/group/save');
        const body = JSON.parse(String(call?.init?.body)) as { id: string; chat: Record<string, unknown>[] };
        expect(body.id).toBe('g1 - bridge');
        expect(body.chat.map((m) => [m.name, m.original_avatar, m.force_avatar])).toEqual([
            ['User', undefined, undefined],
            ['Bob', 'Bob.png', '/thumbnail?type=avatar&file=Bob.png'],
            ['Stranger', undefined, undefined],
        ]);
        expect(st.state.groups[0]?.chats).toEqual(['g1 - own', 'g1 - bridge']);
        expect(st.getCurrentChatId()).toBe('g1 - bridge');
    });

    it('openGroupChatFile for an unknown group is GROUP_NOT_FOUND', async () => {
        await expect(bridge.openGroupChatFile('nope', 'x', null)).rejects.toMatchObject({ code: 'GROUP_NOT_FOUND', message: 'There is no group nope.' });
    });
});

describe('sendAndGenerate', () => {
    it('sends as the user, runs a normal generation, and returns the replies after the user\'s message', async () => {
        st.state.chat.push(message('Alice', 'earlier'));
        (st.modules['../script.js']!.sendMessageAsUser as ReturnType<typeof vi.fn>).mockImplementation(async (text: string) => {
            st.state.chat.push(message('User', text, true));
        });
        st.generate.mockImplementation(async () => {
            st.state.chat.push({ ...message('System', 'note'), is_system: true }, message('Alice', 'a'), message('Bob', 'b'));
        });
        const replies = await bridge.sendAndGenerate('hello');
        expect(st.generate).toHaveBeenCalledWith('normal');
        expect(replies.map((m) => m.mes)).toEqual(['a', 'b']);
    });

    it('throws when ST finished without a reply', async () => {
        await expect(bridge.sendAndGenerate('hello')).rejects.toMatchObject({ code: 'ST_NO_REPLY', message: 'ST finished without a reply.' });
    });
});

describe('openSocket', () => {
    it('wraps the browser WebSocket: send, close and the three callbacks', () => {
        const made: FakeWebSocket[] = [];
        class FakeWebSocket {
            onopen: (() => void) | null = null;
            onmessage: ((e: { data: unknown }) => void) | null = null;
            onclose: ((e: { code: number; reason: string }) => void) | null = null;
            sent: string[] = [];
            closed: unknown[] = [];
            constructor(readonly url: string) { made.push(this); }
            send(text: string) { this.sent.push(text); }
            close(code?: number, reason?: string) { this.closed.push([code, reason]); }
        }
        vi.stubGlobal('WebSocket', FakeWebSocket);
        const socket = bridge.openSocket('ws://127.0.0.1:5005/ws');
        const events: unknown[] = [];
        socket.onopen = () => events.push('open');
        socket.onmessage = (data) => events.push(['message', data]);
        socket.onclose = (code, reason) => events.push(['close', code, reason]);
        const ws = made[0]!;
        expect(ws.url).toBe('ws://127.0.0.1:5005/ws');
        ws.onopen?.();
        ws.onmessage?.({ data: '{"type":"hello"}' });
        ws.onclose?.({ code: 1001, reason: 'going away' });
        socket.send('x');
        socket.close(1000, 'bye');
        expect(events).toEqual(['open', ['message', '{"type":"hello"}'], ['close', 1001, 'going away']]);
        expect([ws.sent, ws.closed]).toEqual([['x'], [[1000, 'bye']]]);
    });
});
