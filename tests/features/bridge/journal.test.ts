import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BridgeJournal, JOURNAL_KEY, JOURNAL_STALE_MS } from '../../../src/features/bridge/journal';
import { FakeStHost } from '../../fakes/st-host';

function setup() {
    const fake = new FakeStHost();
    const alice = fake.addCharacter('Alice', { avatar: 'Alice.png' });
    fake.addGroup({ id: 'g1', name: 'Pair', members: ['Alice.png'] });
    return { fake, alice, journal: new BridgeJournal(fake) };
}

beforeEach(() => { vi.spyOn(console, 'warn').mockImplementation(() => undefined); });
afterEach(() => { vi.restoreAllMocks(); vi.useRealTimers(); });

describe('BridgeJournal', () => {
    it('after a page that died mid-request: the character points at her own chat again (on disk) and the user is back', async () => {
        const { fake, alice } = setup();
        // What the dead page left: Alice borrowed, her pointer on disk moved to the bridge chat, the user was on the welcome screen.
        fake.st.characters[alice]!.chat = 'Ensemble bridge 1';
        fake.place = { kind: 'character', avatar: 'Alice.png', file: 'Ensemble bridge 1' };
        fake.localStore.set(JOURNAL_KEY, { target: { kind: 'character', avatar: 'Alice.png' }, own: 'Alice main', back: { kind: 'none' }, at: fake.now() - JOURNAL_STALE_MS - 1 });
        expect(await new BridgeJournal(fake).repair()).toBe(true);
        expect(fake.st.characters[alice]!.chat).toBe('Alice main');
        expect(fake.diskPointers.get('Alice.png')).toBe('Alice main');
        expect(fake.place).toEqual({ kind: 'none' });
        expect(fake.localItems.has(JOURNAL_KEY)).toBe(false);
    });

    it('repairs a group\'s current chat, and writes nothing when the pointer is already right', async () => {
        const { fake } = setup();
        fake.st.groups[0]!.chat_id = 'Ensemble bridge g';
        fake.localStore.set(JOURNAL_KEY, { target: { kind: 'group', id: 'g1' }, own: 'g1 own', back: { kind: 'group', id: 'g1', chatId: 'g1 own' }, at: 0 });
        await new BridgeJournal(fake).repair();
        expect(fake.diskPointers.get('group:g1')).toBe('g1 own');
        expect(fake.place).toEqual({ kind: 'group', id: 'g1', chatId: 'g1 own' });
        fake.diskPointers.clear();
        fake.localStore.set(JOURNAL_KEY, { target: { kind: 'group', id: 'g1' }, own: 'g1 own', back: { kind: 'none' }, at: 0 });
        await new BridgeJournal(fake).repair();
        expect(fake.diskPointers.size).toBe(0);
    });

    it('leaves an entry another live tab is still refreshing, and repairs it once it has gone stale', async () => {
        vi.useFakeTimers();
        const { fake, alice } = setup();
        fake.st.characters[alice]!.chat = 'Ensemble bridge 1';
        fake.localStore.set(JOURNAL_KEY, { target: { kind: 'character', avatar: 'Alice.png' }, own: 'Alice main', back: { kind: 'none' }, at: fake.now() });
        expect(await new BridgeJournal(fake).repair()).toBe(false);
        expect(fake.st.characters[alice]!.chat).toBe('Ensemble bridge 1');
        fake.time += JOURNAL_STALE_MS + 200;
        await vi.advanceTimersByTimeAsync(JOURNAL_STALE_MS + 200);
        expect(fake.st.characters[alice]!.chat).toBe('Alice main');
        expect(fake.localItems.has(JOURNAL_KEY)).toBe(false);
    });

    it('a running request keeps its own entry fresh, and ends it', async () => {
        vi.useFakeTimers();
        const { fake } = setup();
        const journal = new BridgeJournal(fake);
        journal.begin({ kind: 'character', avatar: 'Alice.png' }, 'Alice main', { kind: 'none' });
        fake.time += 10_000;
        await vi.advanceTimersByTimeAsync(1_100);
        expect((fake.localStore.get(JOURNAL_KEY) as { at: number }).at).toBe(fake.now());
        expect(await journal.repair()).toBe(false); // never repairs under its own running request
        journal.end();
        expect(fake.localItems.has(JOURNAL_KEY)).toBe(false);
    });

    it('two asks at once (APP_READY and the link) repair once: one toast, one pointer write', async () => {
        const { fake, alice } = setup();
        fake.st.characters[alice]!.chat = 'Ensemble bridge 1';
        fake.localStore.set(JOURNAL_KEY, { target: { kind: 'character', avatar: 'Alice.png' }, own: 'Alice main', back: { kind: 'none' }, at: 0 });
        const journal = new BridgeJournal(fake);
        const writes: string[] = [];
        const save = fake.saveChatPointer.bind(fake);
        fake.saveChatPointer = async (t, f) => { writes.push(f); await save(t, f); };
        const results = await Promise.all([journal.repair(), journal.repair()]);
        expect(results).toEqual([true, true]);
        expect(writes).toEqual(['Alice main']);
        expect(fake.toasts.filter((t) => /interrupted/.test(t.message))).toHaveLength(1);
    });

    it('drops a malformed entry with a warning and touches nothing', async () => {
        const { fake, alice } = setup();
        fake.st.characters[alice]!.chat = 'whatever';
        fake.localItems.set(JOURNAL_KEY, JSON.stringify({ target: { kind: 'planet' }, at: 'yesterday' }));
        expect(await new BridgeJournal(fake).repair()).toBe(false);
        expect(fake.localItems.has(JOURNAL_KEY)).toBe(false);
        expect(fake.st.characters[alice]!.chat).toBe('whatever');
        expect(fake.opened).toEqual([]);
    });
});
