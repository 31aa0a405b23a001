import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildCatalog } from '../../../../src/features/bridge/catalog';
import { cardOf, exportMasks, importMasks, startNextChat } from '../../../../src/features/bridge/nextchat';
import { SettingsStore } from '../../../../src/settings/store';
import { resetLocale, useLocale } from '../../../../src/shared/i18n';
import { FakeStHost } from '../../../fakes/st-host';

beforeEach(() => { vi.spyOn(console, 'warn').mockImplementation(() => undefined); });
afterEach(() => { vi.restoreAllMocks(); resetLocale(); });

function setup() {
    const fake = new FakeStHost();
    const extensions = { ensemble: { profileId: 'p1', profileName: 'Mock-C', appearance: 'tall, green coat' }, depth_prompt: { prompt: 'x', depth: 4, role: 'system' }, world: 'Lore', talkativeness: '0.5', fav: false };
    const dana = fake.addCharacter('Dana', { avatar: 'Dana.png', extensions });
    Object.assign(fake.st.characters[dana]!.data!, { first_mes: 'Bzz. Welcome, {{user}}.', description: 'Dana keeps bees.', alternate_greetings: ['Hi'], tags: ['bees'] });
    fake.addCharacter('Eli', { avatar: 'Eli.png' });
    const catalog = () => buildCatalog(fake);
    let api: { url: string; key?: string } | null = null;
    const sources = {
        models: () => catalog().models,
        modelOf: (avatar: string) => [...catalog().targets].find(([, t]) => t.kind === 'character' && t.avatar === avatar)?.[0],
        serverApi: () => api,
    };
    return { fake, sources, extensions, setApi: (a: typeof api) => { api = a; } };
}

describe('NextChat masks through the host', () => {
    it('exports a character as a mask and imports it back: same name, greeting, text fields and data.extensions', async () => {
        const { fake, sources, extensions } = setup();
        await exportMasks(fake, sources, ['Dana.png']);
        expect(fake.downloads).toHaveLength(1);
        const { fileName, text } = fake.downloads[0]!;
        expect(fileName).toBe('Dana.nextchat-mask.json');
        const mask = JSON.parse(text);
        expect(mask.modelConfig.model).toBe('st-char-Dana');
        expect(mask.context[0]).toMatchObject({ role: 'assistant', content: 'Bzz. Welcome, User.' });

        const created = await importMasks(fake, { name: fileName, text });
        expect(created).toEqual(['Dana']);
        expect(fake.refreshes).toBe(1);
        const copy = fake.st.characters.find((c) => c.avatar === 'Dana1.png');
        expect(copy?.name).toBe('Dana');
        expect(copy?.data?.extensions).toEqual(extensions);
        const withoutAvatar = (c: ReturnType<typeof cardOf>) => ({ ...c, avatar: undefined });
        expect(withoutAvatar(cardOf(copy!))).toEqual(withoutAvatar(cardOf(fake.st.characters.find((c) => c.avatar === 'Dana.png')!)));
        expect(fake.toastsOf('success').at(-1)).toMatch(/Imported 1 character: Dana/);
    });

    it('exports all characters as one array file', async () => {
        const { fake, sources } = setup();
        await exportMasks(fake, sources, fake.characters().map((c) => c.avatar));
        const masks = JSON.parse(fake.downloads[0]!.text);
        expect(masks.map((m: { name: string; modelConfig: { model: string } }) => [m.name, m.modelConfig.model])).toEqual([['Dana', 'st-char-Dana'], ['Eli', 'st-char-Eli']]);
        expect(fake.downloads[0]!.fileName).toBe('ensemble-masks-2.json');
    });

    it('a malformed card in ST is refused where it leaves ST: an error naming it, no file', async () => {
        const { fake, sources } = setup();
        Object.assign(fake.st.characters[1]!.data!, { tags: 'not a list' });
        await exportMasks(fake, sources, ['Dana.png', 'Eli.png']);
        expect(fake.downloads).toEqual([]);
        expect(fake.toastsOf('error').at(-1)).toMatch(/Nothing was exported: Eli's card is malformed: .*tags/s);
    });

    it('a bad file gives a clear error and creates nothing, not even the valid masks in it', async () => {
        const { fake } = setup();
        const before = fake.st.characters.length;
        const created = await importMasks(fake, { name: 'bad.json', text: JSON.stringify([{ name: 'Ok', context: [], modelConfig: {} }, { name: 'Bad', context: [{ role: 'user', content: 42 }] }]) });
        expect(created).toEqual([]);
        expect(fake.importedCards).toEqual([]);
        expect(fake.st.characters.length).toBe(before);
        expect(fake.toastsOf('error').at(-1)).toMatch(/bad\.json is not a NextChat mask file, nothing was imported: Mask 2: context\.0\.content/);
    });

    it('an import that fails midway says what was and was not imported', async () => {
        const { fake, sources } = setup();
        await exportMasks(fake, sources, ['Dana.png', 'Eli.png']);
        fake.importFails = true;
        await importMasks(fake, { name: 'x.json', text: fake.downloads[0]!.text });
        expect(fake.toastsOf('error').at(-1)).toMatch(/Imported: none; not imported: Dana, Eli/);
    });
});

describe('NextChat setup help in the panel', () => {
    it('shows the endpoint, key, models and fast link once the server shared them, and copies them', async () => {
        const { fake, sources, setApi } = setup();
        fake.writeSettings('ensemble', { version: 1 });
        const store = new SettingsStore(fake);
        const container = fake.document.createElement('div');
        const panel = startNextChat(fake, store, container, sources);
        const value = (n: string) => container.querySelector<HTMLInputElement>(`[data-ens-nc="${n}"]`)!.value;
        expect(value('endpoint')).toBe('http://127.0.0.1:5181');
        expect(value('key')).toBe('');
        container.querySelector<HTMLElement>('[data-ens-copy="key"]')!.click();
        expect(fake.toastsOf('warning').at(-1)).toMatch(/Connect the bridge first/);

        setApi({ url: 'http://127.0.0.1:5181', key: 'sk-shared' });
        panel.render();
        expect(value('key')).toBe('sk-shared');
        expect(value('models')).toBe('-all,+st-char-Dana@OpenAI=Dana,+st-char-Eli@OpenAI=Eli');
        expect(value('link')).toContain('http://127.0.0.1:3000/#/?settings=');
        container.querySelector<HTMLElement>('[data-ens-copy="models"]')!.click();
        await vi.waitFor(() => expect(fake.clipboard).toEqual([value('models')]));
        expect(container.querySelector('[data-ens-nc="cors"]')?.textContent).toBe('--cors-origin http://127.0.0.1:3000');
    });

    it('shows its labels, button names and toasts in the user\'s language; names stay as they are', async () => {
        useLocale('fr-fr', {
            'ensemble.nextchat.address': 'Adresse de NextChat',
            'ensemble.nextchat.copyModels': 'Copier CUSTOM_MODELS',
            'ensemble.nextchat.copied': 'Copié.',
            'ensemble.nextchat.toastTitle': 'Ensemble — NextChat (fr)',
            'ensemble.nextchat.exportedOne': '{name} exporté comme masque NextChat.',
        });
        const { fake, sources } = setup();
        fake.writeSettings('ensemble', { version: 1 });
        const container = fake.document.createElement('div');
        startNextChat(fake, new SettingsStore(fake), container, sources);
        expect(container.querySelector('[data-ens-nc="nextchatUrl"]')!.closest('label')!.textContent).toBe('Adresse de NextChat');
        const copy = container.querySelector<HTMLElement>('[data-ens-copy="models"]')!;
        expect([copy.title, copy.getAttribute('aria-label')]).toEqual(['Copier CUSTOM_MODELS', 'Copier CUSTOM_MODELS']);
        copy.click();
        await vi.waitFor(() => expect(fake.toasts.at(-1)).toEqual({ level: 'success', message: 'Copié.', title: 'Ensemble — NextChat (fr)' }));
        await exportMasks(fake, sources, ['Dana.png']);
        expect(fake.toastsOf('success').at(-1)).toBe('Dana exporté comme masque NextChat.');
        // Left untranslated: English stands in, per string.
        expect(container.querySelector('[data-ens-nc="character"]')!.closest('label')!.textContent).toBe('CharacterDanaEli');
    });

    it('keeps valid side-task patterns and refuses a broken one with a toast', () => {
        const { fake, sources } = setup();
        fake.writeSettings('ensemble', { version: 1 });
        const store = new SettingsStore(fake);
        const container = fake.document.createElement('div');
        startNextChat(fake, store, container, sources);
        const area = container.querySelector<HTMLTextAreaElement>('[data-ens-nc="patterns"]')!;
        expect(area.value.split('\n')[0]).toBe('^Please generate a four to five word title');
        area.value = '^Make a title\n\n^Résumé';
        area.dispatchEvent(new Event('change'));
        expect(store.get().bridge.sideTaskPatterns).toEqual(['^Make a title', '^Résumé']);
        area.value = '^(broken';
        area.dispatchEvent(new Event('change'));
        expect(store.get().bridge.sideTaskPatterns).toEqual(['^Make a title', '^Résumé']);
        expect(fake.toastsOf('error').at(-1)).toMatch(/Not saved: "\^\(broken" is not a valid pattern/);
    });
});

describe('the NextChat address', () => {
    function open(stOrigin: string, stored?: string) {
        const { fake, sources, setApi } = setup();
        fake.stOrigin = stOrigin;
        fake.writeSettings('ensemble', { version: 2, ...(stored === undefined ? {} : { bridge: { nextchatUrl: stored } }) });
        setApi({ url: 'http://127.0.0.1:5181', key: 'sk-shared' });
        const store = new SettingsStore(fake);
        const container = fake.document.createElement('div');
        startNextChat(fake, store, container, sources);
        const field = (n: string) => container.querySelector<HTMLInputElement>(`[data-ens-nc="${n}"]`)!;
        const warning = container.querySelector<HTMLElement>('[data-ens-nc="origin-warning"]')!;
        const enter = (address: string) => {
            field('nextchatUrl').value = address;
            field('nextchatUrl').dispatchEvent(new Event('change'));
        };
        return { fake, store, field, warning, enter, cors: () => container.querySelector('[data-ens-nc="cors"]')?.textContent };
    }

    it('follows the name ST was opened at while the user has entered none, in the field, the fast link and --cors-origin', () => {
        for (const [st, nextchat] of [['http://localhost:8000', 'http://localhost:3000'], ['http://127.0.0.1:8000', 'http://127.0.0.1:3000'], ['http://[::1]:8000', 'http://[::1]:3000']]) {
            const { store, field, warning, cors } = open(st!);
            expect(field('nextchatUrl').value).toBe(nextchat);
            expect(field('link').value.startsWith(`${nextchat}/#/?settings=`)).toBe(true);
            expect(cors()).toBe(`--cors-origin ${nextchat}`);
            expect(warning.hidden).toBe(true);
            expect(store.get().bridge.nextchatUrl).toBe('');
        }
    });

    it('keeps the address the user entered, whatever name ST was opened at; emptying the field goes back to the default', () => {
        const { store, field, cors, enter } = open('http://127.0.0.1:8000', 'http://nextchat.lan:3000');
        expect(field('nextchatUrl').value).toBe('http://nextchat.lan:3000');
        expect(cors()).toBe('--cors-origin http://nextchat.lan:3000');
        enter(' http://localhost:3001 ');
        expect(store.get().bridge.nextchatUrl).toBe('http://localhost:3001');
        expect(field('link').value.startsWith('http://localhost:3001/#/?settings=')).toBe(true);
        expect(cors()).toBe('--cors-origin http://localhost:3001');
        enter('');
        expect(store.get().bridge.nextchatUrl).toBe('');
        expect(field('nextchatUrl').value).toBe('http://127.0.0.1:3000');
        expect(cors()).toBe('--cors-origin http://127.0.0.1:3000');
    });

    it('warns, as a status line, when NextChat and ST are named by different loopback names, saying what to do', () => {
        const { warning, enter } = open('http://127.0.0.1:8000', 'http://localhost:3000');
        expect(warning.getAttribute('role')).toBe('status');
        expect(warning.hidden).toBe(false);
        expect(warning.textContent).toContain('uses localhost, but this SillyTavern is open at 127.0.0.1');
        expect(warning.textContent).toContain('Open NextChat at http://localhost:3000');
        expect(warning.textContent).toContain('--cors-origin http://127.0.0.1:3000');
        enter('http://127.0.0.1:3000');
        expect(warning.hidden).toBe(true);
        expect(warning.textContent).toBe('');
        enter('http://nextchat.lan:3000');
        expect(warning.hidden).toBe(true);
        enter('http://[::1]:3000');
        expect(warning.hidden).toBe(false);
    });

    it('words the warning in the user\'s language, the addresses as they are', () => {
        useLocale('de-de', { 'ensemble.nextchat.originMismatch': 'NextChat: {nextchat}, SillyTavern: {st}; --cors-origin {alternative}' });
        const { warning } = open('http://localhost:8000', 'http://127.0.0.1:3000');
        expect(warning.textContent).toBe('NextChat: 127.0.0.1, SillyTavern: localhost; --cors-origin http://localhost:3000');
    });
});
