// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { Relay, type RequestSink } from '../../server/src/relay';
import { ALICE, BOB } from './peer';
import { ConversationIndex } from '../../src/protocol/conversations';
import type { ServerFrame } from '../../src/protocol/index';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const link = () => ({ send: () => undefined, close: () => undefined });
const sink: RequestSink = { delta: () => undefined, done: () => undefined, fail: () => undefined };
const req = (model: string) => ({ model, messages: [{ role: 'user' as const, content: 'x' }], stream: false, params: {} });

/** What submit says about a model: accepted, or the error code it throws. */
function tryModel(relay: Relay, model: string): string {
    try {
        relay.submit(req(model), sink).cancel();
        return 'ok';
    } catch (err) {
        return (err as { code: string }).code;
    }
}

describe('Relay: which models are offered', () => {
    it('follows catalogs through replacement, reconnects and removal', () => {
        const relay = new Relay({ queueLimit: 10, timeoutMs: 1000, cancelGraceMs: 10, log: quiet });
        const a = relay.addTab('a', link());
        // No catalog yet: a request waits for it instead of a 404 (a client right after a tab links) …
        const early: { error?: string } = {};
        relay.submit(req('st-char-Nobody'), { ...sink, fail: (e) => { early.error = e.code; } });
        expect(tryModel(relay, ALICE.id)).toBe('ok');
        expect(early.error).toBeUndefined();
        relay.onFrame(a, { type: 'catalog', models: [ALICE, ALICE] });
        expect(early.error).toBe('model_not_found'); // … and gets the 404 once the catalog shows the model is not there
        const b = relay.addTab('b', link());
        relay.onFrame(b, { type: 'catalog', models: [ALICE, BOB] });
        expect([tryModel(relay, ALICE.id), tryModel(relay, BOB.id)]).toEqual(['ok', 'ok']);
        relay.onFrame(b, { type: 'catalog', models: [ALICE] }); // a new catalog replaces the old one
        expect([tryModel(relay, ALICE.id), tryModel(relay, BOB.id)]).toEqual(['ok', 'model_not_found']);
        const b2 = relay.addTab('b', link()); // reconnect: the old link's catalog goes with it
        relay.onFrame(b2, { type: 'catalog', models: [BOB] });
        relay.removeTab(b); // already replaced: counts nothing twice
        expect([tryModel(relay, ALICE.id), tryModel(relay, BOB.id)]).toEqual(['ok', 'ok']);
        relay.removeTab(a);
        expect([tryModel(relay, ALICE.id), tryModel(relay, BOB.id)]).toEqual(['model_not_found', 'ok']);
        relay.removeTab(b2);
        expect(tryModel(relay, BOB.id)).toBe('no_tab');
        relay.shutdown();
    });
});

/** A tab link that records what the relay sent it. */
function recordingLink() {
    const frames: ServerFrame[] = [];
    return { frames, send: (f: ServerFrame) => { frames.push(f); }, close: () => undefined, requests: () => frames.filter((f): f is Extract<ServerFrame, { type: 'request' }> => f.type === 'request') };
}
function recordingSink() {
    const out: { done?: string; error?: { code: string; message: string } } = {};
    const s: RequestSink = { delta: () => undefined, done: (text) => { out.done = text; }, fail: (e) => { out.error = { code: e.code, message: e.message }; } };
    return { sink: s, out };
}
const user = (content: string) => ({ role: 'user' as const, content });
const bot = (content: string) => ({ role: 'assistant' as const, content });
const chatReq = (messages: { role: 'user' | 'assistant'; content: string }[]) => ({ model: ALICE.id, messages, stream: false, params: {} });

/** A relay with two linked tabs, a and b, both offering Alice. */
function twoTabs() {
    const relay = new Relay({ queueLimit: 10, timeoutMs: 1000, cancelGraceMs: 10, log: quiet });
    const la = recordingLink();
    const lb = recordingLink();
    const a = relay.addTab('a', la);
    const b = relay.addTab('b', lb);
    relay.onFrame(a, { type: 'catalog', models: [ALICE] });
    relay.onFrame(b, { type: 'catalog', models: [ALICE] });
    return { relay, la, lb, a, b };
}

describe('Relay: the one index of bridge chats', () => {
    it('tells the tab which bridge chat a request continues, whichever tab served the turn before', () => {
        const { relay, la, lb, a, b } = twoTabs();
        const first = recordingSink();
        relay.submit(chatReq([user('hi')]), first.sink);
        const r1 = [...la.requests(), ...lb.requests()][0]!;
        expect(r1.chat).toBeUndefined();
        const firstTab = la.requests().length ? a : b;
        relay.onFrame(firstTab, { type: 'done', id: r1.id, text: 'hello', finishReason: 'stop', chat: 'Ensemble bridge 1' });
        expect(first.out.done).toBe('hello');
        // The next turn goes to the other tab (least recently used), and still continues the same chat.
        relay.submit(chatReq([user('hi'), bot('hello'), user('more?')]), recordingSink().sink);
        const r2 = [...la.requests(), ...lb.requests()].find((r) => r.id !== r1.id)!;
        expect((firstTab === a ? lb : la).requests()).toContainEqual(r2);
        expect(r2.chat).toBe('Ensemble bridge 1');
        relay.shutdown();
    });

    it('a request a tab hands back as unavailable goes to another tab; that tab is passed over until it reports usable', () => {
        const { relay, la, lb, a, b } = twoTabs();
        const { sink, out } = recordingSink();
        relay.submit(chatReq([user('hi')]), sink);
        const r1 = la.requests()[0]!;
        expect(lb.requests()).toEqual([]);
        relay.onFrame(a, { type: 'fail', id: r1.id, code: 'unavailable', message: 'another SillyTavern tab in this browser took over the session' });
        expect(out.error).toBeUndefined();
        expect(lb.requests().map((r) => r.id)).toEqual([r1.id]);
        relay.onFrame(b, { type: 'done', id: r1.id, text: 'from b', finishReason: 'stop' });
        expect(out.done).toBe('from b');
        // a stays set aside: the next request goes to b as well, then a is usable again once it says so.
        relay.submit(chatReq([user('again')]), recordingSink().sink);
        expect(lb.requests()).toHaveLength(2);
        expect(la.requests()).toHaveLength(1);
        relay.onFrame(a, { type: 'status', busy: false, queued: 0 });
        relay.submit(chatReq([user('third')]), recordingSink().sink);
        expect(la.requests()).toHaveLength(2);
        relay.shutdown();
    });

    it('with only unavailable tabs, a request fails at once with the reason (503), not after the timeout', () => {
        const relay = new Relay({ queueLimit: 10, timeoutMs: 60_000, cancelGraceMs: 10, log: quiet });
        const la = recordingLink();
        const a = relay.addTab('a', la);
        relay.onFrame(a, { type: 'catalog', models: [ALICE] });
        relay.onFrame(a, { type: 'status', busy: false, queued: 0, unavailable: 'another SillyTavern tab in this browser took over the session' });
        expect(tryModel(relay, ALICE.id)).toBe('tab_unavailable');
        // A request already handed to it, handed back: fails with the reason.
        relay.onFrame(a, { type: 'status', busy: false, queued: 0 });
        const { sink, out } = recordingSink();
        relay.submit(chatReq([user('hi')]), sink);
        relay.onFrame(a, { type: 'fail', id: la.requests()[0]!.id, code: 'unavailable', message: 'took over' });
        expect(out.error).toMatchObject({ code: 'tab_unavailable', message: expect.stringMatching(/took over/) });
        relay.shutdown();
    });

    it('takes over the index an older version kept in ST\'s settings, and acknowledges it', () => {
        const relay = new Relay({ queueLimit: 10, timeoutMs: 1000, cancelGraceMs: 10, log: quiet });
        const la = recordingLink();
        const a = relay.addTab('a', la);
        relay.onFrame(a, { type: 'catalog', models: [ALICE] });
        const old = new ConversationIndex();
        old.remember(ALICE.id, 'Old bridge chat', [user('hi'), bot('hello')]);
        relay.onFrame(a, { type: 'import_chats', chats: old.data() });
        expect(la.frames.at(-1)).toEqual({ type: 'chats_imported', added: 1 });
        relay.submit(chatReq([user('hi'), bot('hello'), user('and?')]), recordingSink().sink);
        expect(la.requests()[0]?.chat).toBe('Old bridge chat');
        relay.shutdown();
    });
});
