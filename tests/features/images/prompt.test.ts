// @vitest-environment node
import { describe, expect, it } from 'vitest';
import {
    MAX_PROMPT_CHARS, buildPromptMessages, cleanPromptReply, promptViaEndpoint, type PromptEndpointConfig, type PromptSubject,
} from '../../../src/features/images/prompt';
import { EnsembleError } from '../../../src/shared/errors';
import { KEY, caught, chunked, hangUntilAborted, json, scriptedFetch } from './fetch-fakes';

const SUBJECT: PromptSubject = {
    message: '*Yuki lifts the lantern.* 「桜が散っている」\nShe smiles. 🌸',
    characterName: 'Yuki 雪',
    card: { description: 'Eine Füchsin mit weißem Fell, Größe 1,60 m.', personality: 'calm, curious', scenario: '' },
    appearance: 'silver hair, red kimono, fox ears 🦊',
};
const OPTS = { systemPrompt: 'You write image prompts.', includeCard: true };

const userText = (subject: PromptSubject, opts = OPTS) => buildPromptMessages(subject, opts).find((m) => m.role === 'user')?.content ?? '';

describe('buildPromptMessages', () => {
    it('sends the system prompt, then one user message with card, appearance and message', () => {
        const messages = buildPromptMessages(SUBJECT, OPTS);
        expect(messages).toHaveLength(2);
        expect(messages[0]).toEqual({ role: 'system', content: 'You write image prompts.' });
        expect(messages[1]?.role).toBe('user');
        expect(messages[1]?.content).toBe([
            'Character: Yuki 雪',
            'Description:\nEine Füchsin mit weißem Fell, Größe 1,60 m.',
            'Personality:\ncalm, curious',
            'Appearance:\nsilver hair, red kimono, fox ears 🦊',
            'Message from Yuki 雪:\n*Yuki lifts the lantern.* 「桜が散っている」\nShe smiles. 🌸',
        ].join('\n\n'));
    });

    it('keeps Japanese, umlauts and emoji exactly, byte for byte', () => {
        const text = userText(SUBJECT);
        for (const piece of ['「桜が散っている」', 'Füchsin mit weißem Fell, Größe', '🌸', '🦊', 'Yuki 雪']) expect(text).toContain(piece);
    });

    it('does not normalise text: a decomposed umlaut stays decomposed', () => {
        const nfd = 'Ma\u0308dchen im Schnee'; // "Mädchen" written as a + combining diaeresis
        const text = userText({ message: nfd, characterName: 'Jo\u0308rg' });
        expect(text).toContain(nfd);
        expect(text).toContain('Jo\u0308rg');
        expect(text).not.toContain(nfd.normalize('NFC'));
    });

    it('leaves out empty and whitespace-only card fields', () => {
        const text = userText({ ...SUBJECT, card: { description: '  ', personality: '', scenario: 'A snowy shrine.' } });
        expect(text).not.toContain('Description:');
        expect(text).not.toContain('Personality:');
        expect(text).toContain('Scenario:\nA snowy shrine.');
    });

    it('leaves the card out when includeCard is off, but keeps the appearance', () => {
        const text = userText(SUBJECT, { ...OPTS, includeCard: false });
        expect(text).not.toContain('Füchsin');
        expect(text).not.toContain('Personality');
        expect(text).toContain('Appearance:\nsilver hair, red kimono, fox ears 🦊');
        expect(text).toContain('「桜が散っている」');
    });

    it('leaves out an empty appearance and a missing card', () => {
        const text = userText({ message: 'Hallo!', characterName: 'Jörg', appearance: ' ' });
        expect(text).toBe('Character: Jörg\n\nMessage from Jörg:\nHallo!');
    });

    it('sends no system message when the system prompt is blank', () => {
        const messages = buildPromptMessages(SUBJECT, { systemPrompt: ' \n', includeCard: true });
        expect(messages.map((m) => m.role)).toEqual(['user']);
    });
});

describe('cleanPromptReply', () => {
    it.each([
        ['  a fox in the snow  ', 'a fox in the snow'],
        ['"a fox in the snow"', 'a fox in the snow'],
        ["'a fox'", 'a fox'],
        ['“a fox”', 'a fox'],
        ['「狐が雪の中にいる」', '狐が雪の中にいる'],
        ['`a fox`', 'a fox'],
        ['```\na fox\n```', 'a fox'],
        ['```text\na fox,\nsnow\n```', 'a fox, snow'],
        ['Prompt: a fox', 'a fox'],
        ['Image prompt: "a fox"', 'a fox'],
        ['**Prompt:** a fox', 'a fox'],
        ['"Prompt: a fox"', 'a fox'],
        ['<think>The user wants a fox.\nOk.</think>\n\na fox', 'a fox'],
        ['a   fox\n\n in\tsnow', 'a fox in snow'],
    ])('cleans %j to %j', (raw, clean) => {
        expect(cleanPromptReply(raw)).toBe(clean);
    });

    it('keeps non-ASCII text and quotes inside the prompt', () => {
        expect(cleanPromptReply('Füchsin im Schnee, "Größe" 1,60 m, 桜 🌸')).toBe('Füchsin im Schnee, "Größe" 1,60 m, 桜 🌸');
    });

    it('does not mistake a word ending in "prompt" mid-sentence for a label', () => {
        expect(cleanPromptReply('a fox reading a prompt: card')).toBe('a fox reading a prompt: card');
    });

    it(`caps the prompt at ${MAX_PROMPT_CHARS} characters without cutting an emoji in half`, () => {
        const long = `${'a'.repeat(MAX_PROMPT_CHARS - 1)}🦊🦊🦊`;
        const out = cleanPromptReply(long);
        expect(Array.from(out)).toHaveLength(MAX_PROMPT_CHARS);
        expect(out.endsWith('a🦊')).toBe(true);
        expect(cleanPromptReply('b'.repeat(5000))).toHaveLength(MAX_PROMPT_CHARS);
    });

    it.each(['', '   ', '""', '``', '```\n\n```', 'Prompt:', '<think>only thinking</think>'])('throws PROMPT_EMPTY for %j', (raw) => {
        let err: unknown;
        try {
            cleanPromptReply(raw);
        } catch (e) {
            err = e;
        }
        expect(err).toBeInstanceOf(EnsembleError);
        expect(err).toMatchObject({ code: 'PROMPT_EMPTY', message: 'The text model returned an empty image prompt.' });
    });
});

const CFG: PromptEndpointConfig = { url: 'http://127.0.0.1:5001/v1/', key: KEY, model: 'small-llm', temperature: 0.7, maxTokens: 300 };
const MESSAGES = buildPromptMessages(SUBJECT, OPTS);
const completion = (content: unknown) => json({ id: 'c1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] });

describe('promptViaEndpoint', () => {
    it('POSTs the messages to {url}/chat/completions and returns the cleaned reply', async () => {
        const f = scriptedFetch(() => completion('  "Prompt: Yuki, silver hair, red kimono, 桜 petals"  '));
        const prompt = await promptViaEndpoint(CFG, MESSAGES, { fetch: f.fetch });
        expect(prompt).toBe('Yuki, silver hair, red kimono, 桜 petals');
        expect(f.calls).toHaveLength(1);
        expect(f.calls[0]?.url).toBe('http://127.0.0.1:5001/v1/chat/completions');
        expect(f.calls[0]?.init.method).toBe('POST');
        expect(f.calls[0]?.init.headers).toEqual({ 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` });
        expect(f.calls[0]?.body).toEqual({ model: 'small-llm', messages: MESSAGES, temperature: 0.7, max_tokens: 300, stream: false });
    });

    it('sends no key and no model when they are empty', async () => {
        const f = scriptedFetch(() => completion('a fox'));
        await promptViaEndpoint({ ...CFG, key: '', model: '' }, MESSAGES, { fetch: f.fetch });
        expect(f.calls[0]?.init.headers).toEqual({ 'Content-Type': 'application/json' });
        expect(f.calls[0]?.body).not.toHaveProperty('model');
    });

    it('says IMAGE_NOT_CONFIGURED without a URL, and calls nothing', async () => {
        const f = scriptedFetch(() => completion('x'));
        expect((await caught(promptViaEndpoint({ ...CFG, url: '' }, MESSAGES, { fetch: f.fetch }))).code).toBe('IMAGE_NOT_CONFIGURED');
        expect((await caught(promptViaEndpoint({ ...CFG, url: 'ws://x' }, MESSAGES, { fetch: f.fetch }))).code).toBe('IMAGE_NOT_CONFIGURED');
        expect(f.calls).toHaveLength(0);
    });

    const failures: [string, () => Response | Promise<Response>, string][] = [
        ['an HTTP error with its message', () => json({ error: { message: 'model not loaded' } }, 500), 'The prompt model failed with HTTP 500: model not loaded.'],
        ['a refused key', () => json({ error: { message: 'invalid api key' } }, 401), 'The prompt model failed with HTTP 401 (check its key): invalid api key.'],
        ['an HTML page', () => new Response('<!doctype html><title>UI</title>', { headers: { 'content-type': 'text/html' } }), 'The prompt model answered with an HTML page, not JSON. Check the URL: it usually ends in /v1.'],
        ['bad JSON', () => new Response('{"choices": [', { headers: { 'content-type': 'application/json' } }), 'The prompt model answered with something that is not JSON.'],
        ['no choices', () => json({ choices: [] }), 'The prompt model returned no choices.'],
        ['a null content', () => completion(null), "The prompt model's answer has no message text."],
        ['an error sent with 200', () => json({ error: { message: 'context too long' } }), 'The prompt model reported an error: context too long.'],
        ['a network failure', () => Promise.reject(new TypeError('fetch failed')), 'Could not reach the prompt model at 127.0.0.1:5001. Check the URL and that the server is running.'],
    ];

    it.each(failures)('says PROMPT_LLM_FAILED for %s', async (_name, responder, message) => {
        const err = await caught(promptViaEndpoint(CFG, MESSAGES, { fetch: scriptedFetch(responder).fetch }));
        expect(err).toBeInstanceOf(EnsembleError);
        expect(err).toMatchObject({ code: 'PROMPT_LLM_FAILED', message });
    });

    it('says PROMPT_EMPTY when the model answers with nothing', async () => {
        expect((await caught(promptViaEndpoint(CFG, MESSAGES, { fetch: scriptedFetch(() => completion('  ')).fetch }))).code).toBe('PROMPT_EMPTY');
    });

    it('never puts the key in a message, even when the endpoint echoes it', async () => {
        const echo = `Incorrect API key provided: ${KEY}`;
        for (const responder of [() => json({ error: { message: echo } }, 401), () => json({ error: echo }), () => json({ message: echo }, 500)]) {
            const err = await caught(promptViaEndpoint(CFG, MESSAGES, { fetch: scriptedFetch(responder).fetch }));
            expect(err.code).toBe('PROMPT_LLM_FAILED');
            expect(err.message).toContain('[key]');
            expect(err.message).not.toContain(KEY);
            expect(err.stack ?? '').not.toContain(KEY);
        }
    });

    it('says IMAGE_CANCELLED when the caller aborts the request or the body', async () => {
        const ctl = new AbortController();
        const pending = caught(promptViaEndpoint(CFG, MESSAGES, { fetch: scriptedFetch(hangUntilAborted).fetch, signal: ctl.signal }));
        setTimeout(() => ctl.abort(), 1);
        expect((await pending).code).toBe('IMAGE_CANCELLED');

        const ctl2 = new AbortController();
        const stalled = chunked(['{"choices":'], { stall: true });
        const pending2 = caught(promptViaEndpoint(CFG, MESSAGES, { fetch: scriptedFetch(() => new Response(stalled.stream)).fetch, signal: ctl2.signal }));
        setTimeout(() => ctl2.abort(), 5);
        expect((await pending2).code).toBe('IMAGE_CANCELLED');
    });
});
