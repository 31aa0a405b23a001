import { describe, expect, it } from 'vitest';
import { FakeStHost } from './st-host';

/** ST's group turn (group-chats.js generateGroupWrapper), 1:1 generation and chat changes, as the fake plays them. */
function groupOfThree(): FakeStHost {
    const fake = new FakeStHost();
    for (const name of ['Alice', 'Bob', 'Carol']) fake.addCharacter(name, { avatar: `${name.toLowerCase()}.png` });
    fake.addGroup({ id: 'g1', name: 'Trio', members: ['alice.png', 'bob.png', 'carol.png'] });
    return fake;
}

describe('FakeStHost group turn (group-chats.js)', () => {
    it('drafts members in order with characterId set to the number, then resets it to undefined', async () => {
        const fake = groupOfThree();
        await fake.openGroup('g1');
        const seen: [number, number | undefined][] = [];
        fake.on('groupMemberDrafted', (chId) => { seen.push([chId, fake.characterId()]); });
        await fake.runGroupTurn({ members: ['alice.png', 'bob.png', 2] });
        expect(seen).toEqual([[0, 0], [1, 1], [2, 2]]);
        expect(fake.characterId()).toBeUndefined();
        expect(fake.requests.map((r) => r.avatar)).toEqual(['alice.png', 'bob.png', 'carol.png']);
    });

    it('awaits the draft listener before the member\'s request is built', async () => {
        const fake = groupOfThree();
        await fake.openGroup('g1');
        fake.on('groupMemberDrafted', async () => {
            await fake.sleep(1500);
            fake.st.connection.model = 'set-during-draft';
        });
        await fake.runGroupTurn({ members: ['alice.png'] });
        expect(fake.requests[0]?.body.model).toBe('set-during-draft');
    });

    it('builds the custom request body from the global connection and lets listeners change it in place', async () => {
        const fake = groupOfThree();
        await fake.openGroup('g1');
        fake.on('chatCompletionSettingsReady', (body) => { body.model = 'rewritten'; });
        await fake.runGroupTurn({ members: ['bob.png'] });
        const { body } = fake.requests[0]!;
        expect(body).toMatchObject({
            model: 'rewritten', chat_completion_source: 'custom', custom_url: 'http://127.0.0.1:5000/v1', custom_include_headers: '',
            stream: false, temperature: 1, max_tokens: 300,
        });
        expect(Object.keys(body)).toEqual(expect.arrayContaining(['messages', 'frequency_penalty', 'presence_penalty', 'top_p', 'custom_include_body', 'custom_exclude_body', 'custom_prompt_post_processing']));
    });

    it('leaves custom_* fields out for other sources (sendOpenAIRequest isCustom)', async () => {
        const fake = groupOfThree();
        fake.st.connection.source = 'openai';
        await fake.openGroup('g1');
        await fake.runGroupTurn({ members: ['bob.png'] });
        expect(fake.requests[0]?.body).not.toHaveProperty('custom_url');
    });

    it('passes swipe/quiet/continue/impersonate through and calls other types group_chat', async () => {
        const fake = groupOfThree();
        await fake.openGroup('g1');
        await fake.runGroupTurn({ members: ['alice.png'], type: 'swipe' });
        await fake.runGroupTurn({ members: ['alice.png'], type: 'quiet' });
        await fake.runGroupTurn({ members: ['alice.png'], type: 'regenerate' });
        expect(fake.requests.map((r) => r.type)).toEqual(['swipe', 'quiet', 'group_chat']);
    });

    it('a stop during a draft cancels that member\'s request and the rest of the turn', async () => {
        const fake = groupOfThree();
        await fake.openGroup('g1');
        fake.on('groupMemberDrafted', (chId) => { if (chId === 1) fake.stopGeneration(); });
        const result = await fake.runGroupTurn({ members: ['alice.png', 'bob.png', 'carol.png'] });
        expect(result.stopped).toBe(true);
        expect(fake.drafted).toEqual([0, 1]);
        expect(fake.requests.map((r) => r.avatar)).toEqual(['alice.png']);
        expect(fake.characterId()).toBeUndefined();
    });

    it('a stop before the next turn does not carry over (each Generate has its own signal)', async () => {
        const fake = groupOfThree();
        await fake.openGroup('g1');
        fake.stopGeneration();
        await fake.runGroupTurn({ members: ['alice.png'] });
        expect(fake.requests).toHaveLength(1);
    });

    it('drops a member\'s generation silently when ST is offline at Generate (script.js L3446)', async () => {
        const fake = groupOfThree();
        await fake.openGroup('g1');
        fake.on('groupMemberDrafted', () => { fake.st.onlineStatus = 'no_connection'; });
        await fake.runGroupTurn({ members: ['alice.png', 'bob.png'] });
        expect(fake.requests).toHaveLength(0);
        expect(fake.dropped).toEqual([{ avatar: 'alice.png', type: 'group_chat' }, { avatar: 'bob.png', type: 'group_chat' }]);
    });

    it('does not start a turn at all while offline (the wrapper exits first)', async () => {
        const fake = groupOfThree();
        await fake.openGroup('g1');
        fake.st.onlineStatus = 'no_connection';
        await fake.runGroupTurn({ members: ['alice.png'] });
        expect(fake.drafted).toEqual([]);
    });

    it('sends a Text Completion request without CHAT_COMPLETION_SETTINGS_READY when ST is not on Chat Completion', async () => {
        const fake = groupOfThree();
        await fake.openGroup('g1');
        fake.st.mainApi = 'textgenerationwebui';
        await fake.runGroupTurn({ members: ['alice.png'] });
        expect(fake.requests[0]?.mainApi).toBe('textgenerationwebui');
        expect(fake.emitted.some((e) => e.event === 'chatCompletionSettingsReady')).toBe(false);
    });
});

describe('FakeStHost chats', () => {
    it('openGroup selects the group, deselects the character and emits chatChanged', async () => {
        const fake = groupOfThree();
        await fake.openCharacter(1);
        await fake.openGroup('g1');
        expect([fake.groupId(), fake.characterId(), fake.menuType()]).toEqual(['g1', undefined, 'group_edit']);
        expect(fake.emitted.filter((e) => e.event === 'chatChanged')).toHaveLength(2);
    });

    it('openCharacter leaves the group and selects the index', async () => {
        const fake = groupOfThree();
        await fake.openGroup('g1');
        await fake.openCharacter(2);
        expect([fake.groupId(), fake.characterId()]).toEqual([null, 2]);
    });

    it('generate outside a group sends for the selected character without any draft', async () => {
        const fake = groupOfThree();
        await fake.openCharacter(0);
        await fake.generate();
        expect(fake.drafted).toEqual([]);
        expect(fake.requests).toMatchObject([{ avatar: 'alice.png', type: 'normal' }]);
    });
});

describe('FakeStHost streamed replies (StreamingProcessor)', () => {
    async function aliceAndBob() {
        const fake = groupOfThree();
        fake.st.groups[0]!.members = ['alice.png', 'bob.png'];
        fake.groupChatFiles.set('g1', new Map([['c1', [{ name: 'Narrator', is_user: false, is_system: true, mes: 'Start' }]]]));
        await fake.openGroupChatFile('g1', 'c1', null);
        return fake;
    }

    it('emits GENERATION_STARTED per Generate, adds the message when the stream begins, MESSAGE_RECEIVED with its index at the end', async () => {
        const fake = await aliceAndBob();
        const seen: { event: string; at: number; length: number; mes?: string }[] = [];
        fake.on('streamToken', () => { seen.push({ event: 'token', at: -1, length: fake.chat().length }); });
        fake.on('messageReceived', (id) => { seen.push({ event: 'received', at: id, length: fake.chat().length, mes: fake.chat()[id]?.mes }); });
        fake.on('generationStarted', (type) => { seen.push({ event: `started ${type}`, at: -1, length: fake.chat().length }); });
        fake.replies.push(['Hel', 'lo'], 'Plain');
        await fake.sendAndGenerate('hi');
        expect(seen).toEqual([
            { event: 'started normal', at: -1, length: 2 },
            { event: 'started group_chat', at: -1, length: 2 },
            { event: 'token', at: -1, length: 3 },
            { event: 'token', at: -1, length: 3 },
            { event: 'received', at: 2, length: 3, mes: 'Hello' },
            { event: 'started group_chat', at: -1, length: 3 },
            { event: 'received', at: 3, length: 4, mes: 'Plain' },
        ]);
    });

    it('writes each token to the index fixed when the stream began, even after a message was spliced in above it', async () => {
        const fake = await aliceAndBob();
        let spliced = false;
        fake.on('streamToken', () => {
            if (spliced || fake.characterId() !== 1) return;
            spliced = true;
            fake.chat().splice(3, 0, { name: 'Alice', is_user: false, is_system: true, mes: '[picture]' });
        });
        const received: number[] = [];
        fake.on('messageReceived', (id) => { received.push(id); });
        fake.replies.push('Alice here', ['Bob ', 'streams']);
        await fake.sendAndGenerate('hi');
        // ST 1.12.6's race, reproduced: the message spliced in after Alice takes Bob's text, Bob's stays a placeholder.
        expect(fake.chat().map((m) => m.mes)).toEqual(['Start', 'hi', 'Alice here', 'Bob streams', '...']);
        expect(received).toEqual([2, 3]);
    });

    it('reports generating for the whole turn, and for a group turn run by runGroupTurn', async () => {
        const fake = await aliceAndBob();
        const during: boolean[] = [];
        fake.on('streamToken', () => { during.push(fake.isGenerating()); });
        fake.on('groupMemberDrafted', () => { during.push(fake.isGenerating()); });
        fake.replies.push(['a'], ['b']);
        await fake.sendAndGenerate('hi');
        await fake.runGroupTurn({ members: ['alice.png'] });
        expect(during).toEqual([true, true, true, true, true]);
        expect(fake.isGenerating()).toBe(false);
    });
});
