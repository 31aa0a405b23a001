import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ImageFlow, waitingForSt } from '../../../src/features/images/flow';
import { PREVIEW_RESULT } from '../../../src/features/images/preview';
import { startImageTriggers, BUTTON_CLASS } from '../../../src/features/images/triggers';
import { PresetCache } from '../../../src/core/route';
import type { HostMessage } from '../../../src/host/host';
import { SettingsStore } from '../../../src/settings/store';
import { FakeStHost } from '../../fakes/st-host';
import { PNG, b64, hangUntilAborted, imagesBody, json, scriptedFetch } from './fetch-fakes';

const llm = (content: string) => json({ choices: [{ message: { role: 'assistant', content } }] });

function setup({ endpoint = true } = {}) {
    const fake = new FakeStHost();
    const alice = fake.addCharacter('Alice', { avatar: 'alice.png', extensions: { ensemble: { appearance: 'red hair, green coat' } } });
    Object.assign(fake.st.characters[alice]!, { description: 'A botanist.', personality: 'precise', scenario: 'A greenhouse.' });
    fake.st.characterId = alice;
    fake.chatState.id = 'chat-1';
    const msg = (name: string, is_user: boolean, mes: string): HostMessage => ({ name, is_user, is_system: false, mes });
    fake.chatState.messages.push(msg('User', true, 'Show me.'), msg('Alice', false, 'The fern glows.'), msg('User', true, 'Nice.'), msg('Alice', false, 'Second reply — 日本の庭.'), msg('User', true, 'Later.'));
    const store = new SettingsStore(fake);
    store.update((s) => {
        Object.assign(s.images, { imageUrl: 'https://img.test/v1', imageKey: 'sk-img', retries: 0 });
        if (endpoint) Object.assign(s.images, { promptSource: 'endpoint', promptEndpoint: { url: 'https://llm.test/v1', key: 'sk-llm', model: 'm' } });
    });
    const flow = new ImageFlow(fake, store, new PresetCache(fake));
    return { fake, store, flow };
}

beforeEach(() => { vi.spyOn(console, 'warn').mockImplementation(() => undefined); });
afterEach(() => { vi.restoreAllMocks(); });

describe('ImageFlow', () => {
    it('pictures the last character message: prompt, image, preview, then a hidden message right after it', async () => {
        const { fake, flow } = setup();
        const net = scriptedFetch(() => llm('A glowing fern in a greenhouse'), () => json(imagesBody({ b64_json: b64(PNG()) })));
        fake.fetchImpl = net.fetch;
        fake.popupAnswers.push(PREVIEW_RESULT.accept);
        const path = await flow.run();
        expect(path).toBe('user/images/Alice/' + fake.uploads[0]?.filename + '.png');
        expect(fake.uploads[0]?.dataUrl).toMatch(/^data:image\/png;base64,/);
        expect(fake.inserts).toEqual([{ index: 3, message: expect.objectContaining({ name: 'Alice', is_system: true, extra: expect.objectContaining({ image: path, title: 'A glowing fern in a greenhouse', inline_image: false }) }) }]);
        expect(fake.chat()[4]?.extra?.image).toBe(path);
        expect(fake.chat()).toHaveLength(6);
        const userPrompt = (net.calls[0]?.body?.messages as { content: string }[])[1]?.content ?? '';
        expect(userPrompt).toContain('Second reply — 日本の庭.');
        expect(userPrompt).toContain('red hair, green coat');
        expect(userPrompt).toContain('A botanist.');
    });

    it('regenerates with the prompt as edited in the preview, and asks the LLM again for a new prompt', async () => {
        const { fake, flow } = setup();
        const net = scriptedFetch(
            () => llm('first prompt'), () => json(imagesBody({ b64_json: b64(PNG()) })),
            () => json(imagesBody({ b64_json: b64(PNG()) })),
            () => llm('second prompt'), () => json(imagesBody({ b64_json: b64(PNG()) })),
        );
        fake.fetchImpl = net.fetch;
        fake.popupAnswers.push(
            (content: HTMLElement) => { content.querySelector('textarea')!.value = 'my edited prompt'; return PREVIEW_RESULT.regenerate; },
            PREVIEW_RESULT.newPrompt,
            PREVIEW_RESULT.accept,
        );
        await flow.run();
        const imageCalls = net.calls.filter((c) => c.url.endsWith('/images/generations')).map((c) => c.body?.prompt);
        expect(imageCalls).toEqual(['first prompt', 'my edited prompt', 'second prompt']);
        expect(fake.chat()[4]?.extra?.title).toBe('second prompt');
    });

    it('lets the user pick one of several images', async () => {
        const { fake, flow } = setup();
        fake.fetchImpl = scriptedFetch(() => llm('p'), () => json(imagesBody({ b64_json: b64(PNG(80)) }, { b64_json: b64(PNG(90)) }))).fetch;
        fake.popupAnswers.push((content: HTMLElement) => {
            const imgs = content.querySelectorAll('img');
            expect(imgs).toHaveLength(2);
            (imgs[1] as HTMLElement).click();
            return PREVIEW_RESULT.accept;
        });
        await flow.run();
        expect(fake.uploads[0]?.dataUrl).toBe(`data:image/png;base64,${b64(PNG(90))}`);
    });

    it('discard leaves the chat untouched', async () => {
        const { fake, flow } = setup();
        fake.fetchImpl = scriptedFetch(() => llm('p'), () => json(imagesBody({ b64_json: b64(PNG()) }))).fetch;
        fake.popupAnswers.push(PREVIEW_RESULT.discard);
        expect(await flow.run()).toBe('');
        expect(fake.inserts).toEqual([]);
        expect(fake.uploads).toEqual([]);
        expect(fake.chatState.saves).toBe(0);
    });

    it('prompt= skips the LLM and quiet=true accepts without a preview', async () => {
        const { fake, flow } = setup();
        const net = scriptedFetch(() => json(imagesBody({ b64_json: b64(PNG()) })));
        fake.fetchImpl = net.fetch;
        await flow.run({ messageId: 1, prompt: 'given prompt', quiet: true });
        expect(net.calls.map((c) => c.url)).toEqual(['https://img.test/v1/images/generations']);
        expect(fake.popups).toEqual([]);
        expect(fake.inserts[0]?.index).toBe(1);
    });

    it('an image API failure is one error toast and nothing written', async () => {
        const { fake, flow } = setup();
        fake.fetchImpl = scriptedFetch(() => llm('p'), () => json({ error: { message: 'bad key' } }, 401)).fetch;
        expect(await flow.run()).toBe('');
        expect(fake.toastsOf('error')).toEqual([expect.stringContaining('refused the key')]);
        expect(fake.chat()).toHaveLength(5);
        expect(fake.chatState.saves).toBe(0);
    });

    it('the progress notice cancels a running request: an info toast, nothing written, no notice left', async () => {
        const { fake, flow } = setup();
        fake.fetchImpl = scriptedFetch(() => llm('p'), hangUntilAborted).fetch;
        const run = flow.run();
        await vi.waitFor(() => expect(fake.progressLog.at(-1)?.message).toBe('Making the picture…'));
        fake.progressLog.at(-1)?.cancel();
        expect(await run).toBe('');
        expect(fake.toastsOf('info')).toContain('Picture cancelled.');
        expect(fake.toastsOf('error')).toEqual([]);
        expect(fake.inserts).toEqual([]);
        expect(fake.progressLog.every((p) => p.closed)).toBe(true);
    });

    it('shows no cancel notice while the preview waits for the user', async () => {
        const { fake, flow } = setup();
        fake.fetchImpl = scriptedFetch(() => llm('p'), () => json(imagesBody({ b64_json: b64(PNG()) }))).fetch;
        fake.popupAnswers.push(() => {
            expect(fake.progressLog.every((p) => p.closed)).toBe(true);
            return PREVIEW_RESULT.discard;
        });
        await flow.run();
        expect(fake.popups).toHaveLength(1);
    });

    it('refuses a user message as the source, with a toast', async () => {
        const { fake, flow } = setup();
        expect(await flow.run({ messageId: 0 })).toBe('');
        expect(fake.toastsOf('error')).toEqual([expect.stringContaining('not a character\'s reply')]);
    });

    it('does not insert into another chat when the chat changed during the preview', async () => {
        const { fake, flow } = setup();
        fake.fetchImpl = scriptedFetch(() => llm('p'), () => json(imagesBody({ b64_json: b64(PNG()) }))).fetch;
        fake.popupAnswers.push(() => { fake.chatState.id = 'other-chat'; return PREVIEW_RESULT.accept; });
        expect(await flow.run()).toBe('');
        expect(fake.inserts).toEqual([]);
        expect(fake.toastsOf('error')).toEqual([expect.stringContaining('chat changed')]);
    });

    it('finds the source by identity when messages above it were deleted meanwhile', async () => {
        const { fake, flow } = setup();
        fake.fetchImpl = scriptedFetch(() => llm('p'), () => json(imagesBody({ b64_json: b64(PNG()) }))).fetch;
        fake.popupAnswers.push(() => { fake.chatState.messages.splice(0, 2); return PREVIEW_RESULT.accept; });
        await flow.run({ messageId: 3 });
        expect(fake.inserts[0]?.index).toBe(1);
        expect(fake.chat()[1]?.mes).toBe('Second reply — 日本の庭.');
        expect(fake.chat()[2]?.extra?.image).toBeTruthy();
    });

    it('uses ST\'s current connection through generateRaw when chosen', async () => {
        const { fake, flow } = setup({ endpoint: false });
        fake.rawAnswers.push('"A fern, at dusk"');
        fake.fetchImpl = scriptedFetch(() => json(imagesBody({ b64_json: b64(PNG()) }))).fetch;
        fake.popupAnswers.push(PREVIEW_RESULT.accept);
        await flow.run();
        expect(fake.rawCalls[0]?.systemPrompt).toContain('image generator');
        expect(fake.chat()[4]?.extra?.title).toBe('A fern, at dusk');
    });
});

describe('pictures never race a generation', () => {
    const picture = () => scriptedFetch(() => llm('p'), () => json(imagesBody({ b64_json: b64(PNG()) }))).fetch;
    const busyLine = (content: HTMLElement) => !content.querySelector<HTMLElement>('[data-ens="busy"]')!.hidden;
    /** Longer than a few of the wait's polls (100 ms), in real time. */
    const aWhile = () => new Promise((r) => setTimeout(r, 350));
    /** The preview was answered, and the flow had a while to insert if it were going to. */
    const acceptedAWhileAgo = async (fake: FakeStHost, popups = 1) => {
        await vi.waitFor(() => expect(fake.popups).toHaveLength(popups));
        await aWhile();
    };

    it('an accept while ST generates inserts nothing (no upload, no save) until ST is idle, with a notice saying so', async () => {
        const { fake, flow } = setup();
        fake.fetchImpl = picture();
        fake.generating = true;
        let shown: boolean | undefined;
        fake.popupAnswers.push((content: HTMLElement) => { shown = busyLine(content); return PREVIEW_RESULT.accept; });
        const run = flow.run();
        await acceptedAWhileAgo(fake);
        expect(fake.inserts).toEqual([]);
        expect(fake.uploads).toEqual([]);
        expect(fake.chatState.saves).toBe(0);
        expect(fake.progressLog.at(-1)).toMatchObject({ message: waitingForSt(), closed: false });
        expect(shown).toBe(true);
        fake.generating = false;
        expect(await run).toMatch(/^user\/images\/Alice\/ensemble_\d+\.png$/);
        expect(fake.inserts.map((i) => i.index)).toEqual([3]);
        expect(fake.chat()[4]?.extra?.image).toBeTruthy();
        expect(fake.progressLog.every((p) => p.closed)).toBe(true);
    });

    it('the preview has no waiting line while ST is idle', async () => {
        const { fake, flow } = setup();
        fake.fetchImpl = picture();
        let shown: boolean | undefined;
        fake.popupAnswers.push((content: HTMLElement) => { shown = busyLine(content); return PREVIEW_RESULT.discard; });
        await flow.run();
        expect(shown).toBe(false);
    });

    it('finds the source by identity after the wait, though messages were added and removed around it meanwhile', async () => {
        const { fake, flow } = setup();
        fake.fetchImpl = picture();
        fake.generating = true;
        fake.popupAnswers.push(PREVIEW_RESULT.accept);
        const run = flow.run({ messageId: 3 });
        await acceptedAWhileAgo(fake);
        expect(fake.inserts).toEqual([]);
        const source = fake.chat()[3];
        fake.chatState.messages.splice(0, 2); // two above it deleted: source at 1
        fake.chatState.messages.unshift({ name: 'Narrator', is_user: false, is_system: true, mes: 'A note.' }); // one added above: at 2
        fake.chatState.messages.push({ name: 'Alice', is_user: false, is_system: false, mes: 'A newer reply.' }); // and one below
        fake.generating = false;
        await run;
        expect(fake.inserts.map((i) => i.index)).toEqual([2]);
        expect(fake.chat()[2]).toBe(source);
        expect(fake.chat()[3]?.extra?.image).toBeTruthy();
        expect(fake.chat().map((m) => m.mes.slice(0, 14))).toEqual(['A note.', 'Nice.', 'Second reply —', fake.chat()[3]!.mes.slice(0, 14), 'Later.', 'A newer reply.']);
    });

    /** A picture accepted while ST generates: the flow is waiting for ST, its notice says so. */
    async function acceptedWhileGenerating() {
        const { fake, flow } = setup();
        fake.fetchImpl = picture();
        fake.generating = true;
        fake.popupAnswers.push(PREVIEW_RESULT.accept);
        const run = flow.run();
        await vi.waitFor(() => expect(fake.progressLog.at(-1)?.message).toBe(waitingForSt()));
        return { fake, flow, run };
    }

    it('cancelling the waiting notice ends the wait: an info toast, nothing uploaded or inserted', async () => {
        const { fake, flow, run } = await acceptedWhileGenerating();
        fake.progressLog.at(-1)?.cancel();
        expect(await run).toBe('');
        expect(fake.toastsOf('info')).toContain('Picture cancelled.');
        expect(fake.inserts).toEqual([]);
        expect(fake.uploads).toEqual([]);
        expect(flow.busy).toBe(false);
    });

    it('leaving the chat while waiting ends the wait with an error toast, even though ST still generates', async () => {
        const { fake, run } = await acceptedWhileGenerating();
        fake.chatState.id = 'other-chat';
        expect(await run).toBe('');
        expect(fake.inserts).toEqual([]);
        expect(fake.toastsOf('error')).toEqual([expect.stringContaining('chat changed')]);
    });

    it('auto mode in a streamed group turn: Alice\'s picture accepted while Bob streams goes in after the turn, Bob gets his, in order', async () => {
        const { fake, store, flow } = setup();
        const bob = fake.addCharacter('Bob', { avatar: 'bob.png' });
        fake.addGroup({ id: 'g1', name: 'Alice & Bob', members: ['alice.png', 'bob.png'] });
        await fake.openGroupChatFile('g1', 'group-chat', [{ name: 'User', is_user: true, is_system: false, mes: 'Good morning.' }]);
        fake.chatState.id = 'group-chat';
        await startImageTriggers(fake, store, flow);
        store.update((x) => { x.images.auto = true; });
        fake.fetchImpl = scriptedFetch(() => llm('Alice prompt'), () => json(imagesBody({ b64_json: b64(PNG()) })), () => llm('Bob prompt'), () => json(imagesBody({ b64_json: b64(PNG()) }))).fetch;
        // Bob's stream is held open after its first token until the test lets it go on.
        let bobStarted!: () => void;
        const bobStreaming = new Promise<void>((r) => { bobStarted = r; });
        let releaseBob!: () => void;
        const bobHeld = new Promise<void>((r) => { releaseBob = r; });
        fake.on('streamToken', async () => {
            if (fake.characterId() !== bob) return;
            bobStarted();
            await bobHeld;
        });
        fake.popupAnswers.push(async () => { await bobStreaming; return PREVIEW_RESULT.accept; }, PREVIEW_RESULT.accept);
        fake.replies.push(['Alice ', 'waters ', 'the ferns.'], ['Bob ', 'fixes ', 'the pump.']);
        const turn = fake.sendAndGenerate('Hello, both.');
        await acceptedAWhileAgo(fake);
        expect(fake.inserts).toEqual([]);
        expect(fake.progressLog.at(-1)?.message).toBe(waitingForSt());
        releaseBob();
        await turn;
        await vi.waitFor(() => expect(fake.inserts).toHaveLength(2));
        expect(fake.chat().map((m) => `${m.name}${m.extra?.image ? ' (picture)' : ''}: ${m.is_system ? m.extra?.title : m.mes}`)).toEqual([
            'User: Good morning.',
            'User: Hello, both.',
            'Alice: Alice waters the ferns.',
            'Alice (picture): Alice prompt',
            'Bob: Bob fixes the pump.',
            'Bob (picture): Bob prompt',
        ]);
        expect(fake.popups).toHaveLength(2);
    });
});

describe('image triggers', () => {
    async function withTriggers() {
        const s = setup();
        await startImageTriggers(s.fake, s.store, s.flow);
        s.store.update((x) => { x.images.auto = true; });
        s.fake.fetchImpl = scriptedFetch(() => llm('p'), () => json(imagesBody({ b64_json: b64(PNG()) }))).fetch;
        return s;
    }

    it('auto mode: one picture for a new reply', async () => {
        const { fake } = await withTriggers();
        fake.popupAnswers.push(PREVIEW_RESULT.accept);
        await fake.emit('generationStarted', undefined);
        await fake.emit('messageReceived', 3);
        await vi.waitFor(() => expect(fake.inserts).toHaveLength(1));
        expect(fake.inserts[0]?.index).toBe(3);
    });

    it('auto mode: nothing for a swipe, a greeting (no generation), a user message or a picture message', async () => {
        const { fake } = await withTriggers();
        await fake.emit('generationStarted', 'swipe');
        await fake.emit('messageReceived', 3);
        await fake.emit('messageReceived', 1); // no generation before it: a greeting or /sendas
        await fake.emit('generationStarted', 'normal');
        await fake.emit('messageReceived', 2); // a user message
        fake.chatState.messages.push({ name: 'Alice', is_user: false, is_system: true, mes: '[pic]', extra: { image: 'x.png' } });
        await fake.emit('generationStarted', 'normal');
        await fake.emit('messageReceived', 5);
        await fake.idle();
        expect(fake.popups).toEqual([]);
        expect(fake.inserts).toEqual([]);
    });

    it('auto mode off: nothing', async () => {
        const { fake, store } = await withTriggers();
        store.update((x) => { x.images.auto = false; });
        await fake.emit('generationStarted', undefined);
        await fake.emit('messageReceived', 3);
        await fake.idle();
        expect(fake.popups).toEqual([]);
    });

    it('the message button pictures the clicked message', async () => {
        const { fake } = await withTriggers();
        fake.popupAnswers.push(PREVIEW_RESULT.accept);
        fake.clickMessageButton(BUTTON_CLASS, 1);
        await vi.waitFor(() => expect(fake.inserts).toHaveLength(1));
        expect(fake.inserts[0]?.index).toBe(1);
    });

    it('/genimage and its aliases take mesid, prompt and quiet, and return the path', async () => {
        const { fake } = await withTriggers();
        fake.fetchImpl = scriptedFetch(() => json(imagesBody({ b64_json: b64(PNG()) }))).fetch;
        const path = await fake.runSlash('imggen', { mesid: '1', prompt: 'a fern', quiet: 'true' });
        expect(path).toMatch(/^user\/images\/Alice\/ensemble_\d+\.png$/);
        expect(fake.inserts[0]?.index).toBe(1);
        expect(await fake.runSlash('generateimage', { mesid: 'abc' })).toBe('');
        expect(fake.toastsOf('error')).toEqual([expect.stringContaining('mesid must be a message number')]);
    });
});
