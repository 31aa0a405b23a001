import { describe, expect, it } from 'vitest';
import { buildCatalog } from '../../../../src/features/bridge/catalog';
import {
    type CardV2Data, characterToMask, maskToCard, masksFileName, type NextChatMask, parseMaskFile,
} from '../../../../src/features/bridge/nextchat/masks';
import { FakeStHost } from '../../../fakes/st-host';

const NOW = 1_700_000_000_000;

function aliceCard(): CardV2Data & { avatar: string } {
    return {
        avatar: 'Alice Smith.png',
        name: 'Alice Smith',
        description: 'A botanist.\n\nShe talks about ferns.',
        personality: 'curious, kind',
        scenario: 'A greenhouse at dawn.',
        first_mes: 'Hello {{user}}! I am {{char}}. Welcome to <BOT>\'s greenhouse.',
        mes_example: '<START>\n{{user}}: Hi\n{{char}}: Hello there!',
        creator_notes: 'Best with a warm preset.',
        system_prompt: 'You are {{char}}.',
        post_history_instructions: 'Stay in character.',
        alternate_greetings: ['Oh, hi!', 'Good morning, {{user}}.'],
        tags: ['plants', 'cozy'],
        creator: 'someone',
        character_version: '1.2',
        extensions: {
            ensemble: { profileId: 'p1', appearance: 'tall', nested: { list: [1, 'two', { three: 3 }], nothing: null } },
            depth_prompt: { prompt: 'Remember the ferns.', depth: 4, role: 'system' },
            world: 'Lore',
            talkativeness: 0.5,
            fav: false,
        },
        character_book: { name: 'Alice lore', entries: [{ keys: ['fern'], content: 'Ferns are old.', extensions: {} }] },
    };
}

function dataOf(card: CardV2Data & { avatar: string }): Record<string, unknown> {
    const data: Record<string, unknown> = { ...card };
    delete data.avatar;
    return data;
}

/** NextChat's own mask import: `maskStore.create(JSON.parse(text))` then its export `JSON.stringify(masks)`. */
function throughNextChat(text: string): string {
    const parsed = JSON.parse(text) as Record<string, unknown> | Record<string, unknown>[];
    const emptyMask = {
        id: 'nano-old', avatar: 'gpt-bot', name: 'New Chat', context: [], syncGlobalConfig: true,
        modelConfig: { model: 'gpt-4o-mini' }, lang: 'en', builtin: false, createdAt: 1, plugin: [],
    };
    const created = (Array.isArray(parsed) ? parsed : [parsed]).map((mask) => ({ ...emptyMask, ...mask, id: 'nano-xyz', builtin: false }));
    return JSON.stringify(created);
}

function mustParse(text: string): NextChatMask[] {
    const parsed = parseMaskFile(text);
    if (!parsed.ok) throw new Error(`expected a valid mask file, got: ${parsed.error}`);
    return parsed.masks;
}

function mustFail(value: unknown): string {
    const parsed = parseMaskFile(typeof value === 'string' ? value : JSON.stringify(value));
    if (parsed.ok) throw new Error('expected the mask file to be refused');
    return parsed.error;
}

const plainMask = () => ({
    avatar: '1f5bc-fe0f',
    name: 'Painter',
    context: [
        { id: 'p-0', role: 'system', content: 'You draw pictures as markdown images.', date: '' },
        { id: 'p-1', role: 'user', content: 'Can you draw some pictures for me?', date: '' },
        { id: 'p-2', role: 'assistant', content: 'Sure, what do you want me to draw?', date: '' },
        { id: 'p-3', role: 'system', content: 'Never use code blocks.', date: '' },
    ],
    modelConfig: { model: 'gpt-3.5-turbo', temperature: 1, max_tokens: 2000, presence_penalty: 0, frequency_penalty: 0, sendMemory: true, historyMessageCount: 32, compressMessageLengthThreshold: 1000 },
    lang: 'cn',
    builtin: true,
    createdAt: 1688899480510,
});

describe('characterToMask', () => {
    it('makes a NextChat mask on the character\'s bridge model, with the greeting as its visible first message', () => {
        const mask = characterToMask(aliceCard(), { now: NOW });
        const fake = new FakeStHost();
        fake.addCharacter('Alice Smith', { avatar: 'Alice Smith.png' });
        expect(mask.modelConfig?.model).toBe('st-char-Alice_Smith');
        expect(mask.modelConfig?.model).toBe(buildCatalog(fake).models[0]?.id);
        expect(mask).toMatchObject({
            name: 'Alice Smith', createdAt: NOW, builtin: false, lang: 'en', hideContext: false, syncGlobalConfig: false,
            modelConfig: { providerName: 'OpenAI', enableInjectSystemPrompts: false, sendMemory: true, historyMessageCount: 4, temperature: 0.5, top_p: 1, template: '{{input}}' },
        });
        expect(mask.avatar).toMatch(/^[0-9a-f]+(-[0-9a-f]+)*$/);
        expect(mask.context).toEqual([
            { id: expect.any(String), role: 'assistant', content: 'Hello User! I am Alice Smith. Welcome to Alice Smith\'s greenhouse.', date: '' },
        ]);
        // The card travels unchanged (macros and all).
        expect(mask.ensemble?.card.first_mes).toBe(aliceCard().first_mes);
        expect(mask.ensemble?.card).not.toHaveProperty('avatar');
    });

    it('takes the model id and the user name it is given, and has no context without a greeting', () => {
        const card = { ...aliceCard(), first_mes: 'Hi {{USER}}.' };
        const mask = characterToMask(card, { now: NOW, model: 'st-char-Alice_Smith-2', userName: 'Sam' });
        expect(mask.modelConfig?.model).toBe('st-char-Alice_Smith-2');
        expect(mask.context.map((m) => m.content)).toEqual(['Hi Sam.']);
        expect(characterToMask({ ...aliceCard(), first_mes: '  \n' }, { now: NOW }).context).toEqual([]);
    });

    it('does not share objects with the character it was made from', () => {
        const card = aliceCard();
        const mask = characterToMask(card, { now: NOW });
        (card.extensions.ensemble as Record<string, unknown>).profileId = 'changed';
        expect(mask.ensemble?.card.extensions).toMatchObject({ ensemble: { profileId: 'p1' } });
    });
});

describe('mask round trip', () => {
    it('card → mask → JSON → parseMaskFile → maskToCard gives back the same card, extensions and all', () => {
        const text = JSON.stringify(characterToMask(aliceCard(), { now: NOW }), null, 2);
        const [mask, ...rest] = mustParse(text);
        expect(rest).toEqual([]);
        const card = maskToCard(mask!);
        expect(card.spec).toBe('chara_card_v2');
        expect(card.spec_version).toBe('2.0');
        expect(card.data).toEqual(dataOf(aliceCard()));
    });

    it('survives NextChat\'s own import and export of the mask', () => {
        const text = throughNextChat(JSON.stringify(characterToMask(aliceCard(), { now: NOW })));
        const masks = mustParse(text);
        expect(masks).toHaveLength(1);
        expect(maskToCard(masks[0]!).data).toEqual(dataOf(aliceCard()));
    });

    it('keeps Unicode names and texts', () => {
        const card = { ...aliceCard(), avatar: '日本語🌸.png', name: '日本語の🌸キャラ', first_mes: 'こんにちは、{{user}}！🌸', description: 'Zoë — “quotes” & \u{1F9D1}\u200D\u{1F33E}' };
        const mask = characterToMask(card, { now: NOW });
        expect(mask.context[0]?.content).toBe('こんにちは、User！🌸');
        const back = maskToCard(mustParse(JSON.stringify([mask]))[0]!);
        expect(back.data).toEqual(dataOf(card));
        expect(back.data.name).toBe('日本語の🌸キャラ');
    });
});

describe('maskToCard for masks made in NextChat', () => {
    it('turns system messages into the description, the first reply into the greeting and the exchange into examples', () => {
        const card = maskToCard(mustParse(JSON.stringify(plainMask()))[0]!);
        expect(card.data).toEqual({
            name: 'Painter',
            description: 'You draw pictures as markdown images.\n\nNever use code blocks.',
            personality: '', scenario: '',
            first_mes: 'Sure, what do you want me to draw?',
            mes_example: '<START>\n{{user}}: Can you draw some pictures for me?\n{{char}}: Sure, what do you want me to draw?',
            creator_notes: '', system_prompt: '', post_history_instructions: '',
            alternate_greetings: [], tags: [], creator: '', character_version: '',
            extensions: { nextchat: { model: 'gpt-3.5-turbo' } },
        });
    });

    it('a greeting that opens the dialogue is only the greeting; later pairs become <START> blocks', () => {
        const mask = {
            name: '  Guide  ',
            context: [
                { role: 'assistant', content: 'Welcome, traveller.' },
                { role: 'user', content: 'Where am I?' },
                { role: 'assistant', content: [{ type: 'text', text: 'In the valley.' }, { type: 'image_url', image_url: { url: 'x' } }] },
                { role: 'user', content: 'And now?' },
                { role: 'assistant', content: 'Still here.\nWith me.' },
                { role: 'user', content: '   ' },
            ],
        };
        const card = maskToCard(mustParse(JSON.stringify(mask))[0]!);
        expect(card.data.name).toBe('Guide');
        expect(card.data.first_mes).toBe('Welcome, traveller.');
        expect(card.data.mes_example).toBe('<START>\n{{user}}: Where am I?\n{{char}}: In the valley.\n<START>\n{{user}}: And now?\n{{char}}: Still here.\nWith me.');
        expect(card.data.description).toBe('');
        expect(card.data.extensions).toEqual({});
    });

    it('a prompt-only mask (user instructions, no reply) becomes the description', () => {
        const mask = { name: 'Writer', context: [{ role: 'user', content: 'I want you to act as a copywriter.' }], modelConfig: { model: 'gpt-4o' } };
        expect(maskToCard(mustParse(JSON.stringify(mask))[0]!).data).toMatchObject({
            description: 'I want you to act as a copywriter.', first_mes: '', mes_example: '', extensions: { nextchat: { model: 'gpt-4o' } },
        });
    });
});

describe('parseMaskFile', () => {
    it('reads one mask or an array of masks, liberal about what NextChat leaves out or adds', () => {
        const ours = characterToMask(aliceCard(), { now: NOW });
        const masks = mustParse(JSON.stringify([plainMask(), ours, { name: 'Bare' }, { name: 'Extra', enableArtifacts: true, somethingNew: { a: 1 } }]));
        expect(masks.map((m) => m.name)).toEqual(['Painter', 'Alice Smith', 'Bare', 'Extra']);
        expect(masks[2]?.context).toEqual([]);
        expect(masks[3]).toMatchObject({ somethingNew: { a: 1 } });
        expect(masks.map((m) => maskToCard(m).data.name)).toEqual(['Painter', 'Alice Smith', 'Bare', 'Extra']);
        expect(mustParse(JSON.stringify(plainMask()))).toHaveLength(1);
    });

    it('refuses what is not a mask file, with a message that names the place', () => {
        expect(mustFail('{"name": "x",')).toMatch(/not JSON/);
        expect(mustFail([])).toMatch(/no masks/);
        expect(mustFail('"hello"')).toMatch(/expected a mask object or a list of masks/);
        expect(mustFail('null')).toMatch(/expected a mask object or a list of masks/);
        expect(mustFail({ context: [] })).toMatch(/^name: .*expected string, received undefined/);
        expect(mustFail({ name: '   ' })).toMatch(/^name: The name must not be empty/);
        expect(mustFail([{ name: 'ok' }, { name: 'bad', context: [{ role: 'user', content: 42 }] }])).toMatch(/^Mask 2: context\.0\.content: .*expected string/);
        expect(mustFail([{ name: 'ok' }, null])).toMatch(/^Mask 2: .*expected object/);
        expect(mustFail({ name: 'x', context: [{ role: 'tool', content: 'hi' }] })).toMatch(/^context\.0\.role: /);
        expect(mustFail({ name: 'x', context: [{ content: 'hi' }] })).toMatch(/^context\.0\.role: /);
        expect(mustFail({ 'mask-store': { masks: {} }, 'access-control': {} })).toMatch(/NextChat backup/);
        expect(mustFail(Array.from({ length: 501 }, (_, i) => ({ name: `m${i}` })))).toMatch(/501 masks; at most 500/);
        expect(mustParse(JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ name: `m${i}` }))))).toHaveLength(500);
    });

    it('refuses a malformed ensemble field instead of dropping it', () => {
        const ours = () => JSON.parse(JSON.stringify(characterToMask(aliceCard(), { now: NOW }))) as Record<string, Record<string, Record<string, unknown>>>;
        const arrayExtensions = ours();
        arrayExtensions.ensemble!.card!.extensions = ['not', 'an', 'object'];
        expect(mustFail(arrayExtensions)).toMatch(/^ensemble\.card\.extensions: .*expected record, received array/);
        const noName = ours();
        delete noName.ensemble!.card!.name;
        expect(mustFail([plainMask(), noName])).toMatch(/^Mask 2: ensemble\.card\.name: /);
        const badTags = ours();
        badTags.ensemble!.card!.tags = 'plants';
        expect(mustFail(badTags)).toMatch(/^ensemble\.card\.tags: /);
        const future = ours();
        future.ensemble!.version = 2 as unknown as Record<string, unknown>;
        expect(mustFail(future)).toMatch(/^ensemble\.version: /);
        expect(mustFail({ ...plainMask(), ensemble: null })).toMatch(/^ensemble: /);
    });

    it('reports several problems at once, but only the first few', () => {
        const error = mustFail([{}, {}, {}, {}, {}]);
        expect(error.split('; ')).toHaveLength(3);
        expect(error).toMatch(/^Mask 1: name: .*; Mask 2: name: .*; Mask 3: name: .* \(and 2 more\)$/);
    });

    it('never throws, whatever the text', () => {
        for (const text of ['', ' ', '[null]', '[[]]', '{"name": {}}', '{"name":"x","context":"nope"}', '{"name":"x","modelConfig":[]}', '\u0000', '1e999', '{"__proto__": {"name": "x"}}']) {
            expect(() => parseMaskFile(text)).not.toThrow();
            expect(parseMaskFile(text).ok).toBe(false);
        }
    });
});

describe('masksFileName', () => {
    it('names one mask after its character and several by their count', () => {
        expect(masksFileName(['Alice'])).toBe('Alice.nextchat-mask.json');
        expect(masksFileName(['Alice Smith'])).toBe('Alice Smith.nextchat-mask.json');
        expect(masksFileName(['日本語の🌸キャラ'])).toBe('日本語の🌸キャラ.nextchat-mask.json');
        expect(masksFileName(['Alice', 'Bob'])).toBe('ensemble-masks-2.json');
        expect(masksFileName([])).toBe('ensemble-masks-0.json');
    });

    it('keeps only characters that are safe in a file name', () => {
        expect(masksFileName(['../../etc/passwd'])).toBe('etc_passwd.nextchat-mask.json');
        expect(masksFileName(['a<b>:c"d|e?f*g\\h'])).toBe('a_b_c_d_e_f_g_h.nextchat-mask.json');
        expect(masksFileName(['two\nlines\ttab\u0000nul'])).toBe('two_lines_tab_nul.nextchat-mask.json');
        expect(masksFileName(['evil\u202Egpj.exe'])).toBe('evil_gpj.exe.nextchat-mask.json');
        expect(masksFileName(['CON'])).toBe('_CON.nextchat-mask.json');
        expect(masksFileName(['  ...  '])).toBe('character.nextchat-mask.json');
        expect(masksFileName([''])).toBe('character.nextchat-mask.json');
        const long = masksFileName(['🌸'.repeat(300)]);
        expect(Array.from(long.replace('.nextchat-mask.json', ''))).toHaveLength(100);
        expect(() => encodeURIComponent(long)).not.toThrow(); // no emoji cut in half (a lone surrogate throws)
    });
});
