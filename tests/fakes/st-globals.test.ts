import { afterEach, describe, expect, it } from 'vitest';
import { FakeSt, StEventEmitter, character, message } from './st-globals';

/** The fake of ST's globals itself: each case is ST 1.12.6 behaviour the host tests rely on. */
describe('StEventEmitter (lib/eventemitter.js)', () => {
    it('awaits each listener in turn', async () => {
        const ee = new StEventEmitter();
        const order: string[] = [];
        ee.on('e', async () => { await new Promise((r) => setTimeout(r, 5)); order.push('slow'); });
        ee.on('e', () => { order.push('fast'); });
        await ee.emit('e');
        expect(order).toEqual(['slow', 'fast']);
    });

    it('records a throwing listener and still runs the next one', async () => {
        const ee = new StEventEmitter();
        let ran = false;
        ee.on('e', () => { throw new Error('x'); });
        ee.on('e', () => { ran = true; });
        await ee.emit('e');
        expect(ran).toBe(true);
        expect(ee.listenerErrors.map((e) => e.event)).toEqual(['e']);
    });

    it('emits over a copy, and removeListener takes one listener out', async () => {
        const ee = new StEventEmitter();
        let calls = 0;
        const fn = () => { calls++; };
        ee.on('e', () => { ee.on('e', fn); });
        await ee.emit('e');
        expect(calls).toBe(0);
        ee.removeListener('e', fn);
        await ee.emit('e');
        expect(calls).toBe(0);
        expect(ee.listenerCount('e')).toBe(2);
    });
});

describe('FakeSt.getContext (script.js getContext)', () => {
    afterEach(() => document.body.replaceChildren());

    it('snapshots scalars but shares ST\'s arrays', () => {
        const st = new FakeSt();
        st.state.this_chid = 0;
        const ctx = st.getContext();
        st.state.this_chid = 1;
        st.state.characters.push(character('Alice'));
        expect(ctx.characterId).toBe(0);
        expect(ctx.characters).toHaveLength(1);
    });

    it('getCurrentChatId reads the group\'s chat_id, else the character\'s chat, also for a string chid', () => {
        const st = new FakeSt();
        st.state.characters.push(character('Alice', 'Alice - 1'));
        st.state.groups.push({ id: 'g', name: 'G', members: [], chats: ['G - 1'], chat_id: 'G - 1' });
        expect(st.getCurrentChatId()).toBeUndefined();
        st.state.this_chid = '0';
        expect(st.getCurrentChatId()).toBe('Alice - 1');
        st.state.selected_group = 'g';
        expect(st.getCurrentChatId()).toBe('G - 1');
    });

    it('addOneMessage places like ST: insertBefore, append, and insertAfter: 0 appends', () => {
        const st = new FakeSt();
        st.state.chat.push(message('A', 'zero'), message('B', 'one'));
        const chat = st.renderChat();
        st.addOneMessage(message('C', 'new'), { insertBefore: 1, forceId: 5 });
        st.addOneMessage(message('D', 'after0'), { insertAfter: 0, forceId: 6 });
        expect([...chat.querySelectorAll('.mes')].map((e) => e.getAttribute('mesid'))).toEqual(['0', '5', '1', '6']);
    });
});
