/**
 * src/host/st-files.ts over a fake of ST 1.12.6's globals (tests/fakes/st-globals.ts).
 *
 * Unit-tested here: importCharacterCard (what it sends, the avatar name it returns, its errors), downloadText and
 * refreshCharacters (which ST function they call), copyText's fallback.
 *
 * Left to e2e (browser file dialogs and clipboard): nextchat.e2e.mjs "the copy button puts the CUSTOM_MODELS value
 * on the clipboard" (copyText), "the exported mask's model is Dana's bridge model id" (downloadText),
 * "the imported character has the same name, greeting and description" (pickTextFile, importCharacterCard,
 * refreshCharacters with ST's real import).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFileAccess } from '../../src/host/st-files';
import { EnsembleError } from '../../src/shared/errors';
import { FakeSt, json } from '../fakes/st-globals';

vi.mock('../../src/host/st-modules', async (importOriginal) =>
    (await import('../fakes/st-globals')).mockStModules(await importOriginal<Record<string, unknown>>()));

/** jsdom's File has no text(). */
const readText = (file: File) => new Promise<string>((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.readAsText(file);
});

let st: FakeSt;
let files: ReturnType<typeof createFileAccess>;

beforeEach(() => {
    st = new FakeSt().install();
    files = createFileAccess(document);
});

afterEach(() => {
    vi.unstubAllGlobals();
    document.body.replaceChildren();
});

describe('importCharacterCard: ST\'s /api/characters/import', () => {
    it('sends the card as a JSON file in a form, without a JSON Content-Type, and returns the new avatar\'s name', async () => {
        st.onFetch = () => json({ file_name: 'Dana1' });
        expect(await files.importCharacterCard('Dana.json', { spec: 'chara_card_v2', data: { name: 'Dana' } })).toBe('Dana1.png');
        const [call] = st.calls.fetch;
        expect(call?.url).toBe('/api/characters/import');
        const headers = call?.init?.headers as Record<string, string>;
        expect(headers['Content-Type']).toBeUndefined();
        expect(headers['X-CSRF-Token']).toBe('token');
        const form = call?.init?.body as FormData;
        expect(form.get('file_type')).toBe('json');
        const file = form.get('avatar') as File;
        expect([file.name, file.type]).toEqual(['Dana.json', 'application/json']);
        expect(JSON.parse(await readText(file))).toEqual({ spec: 'chara_card_v2', data: { name: 'Dana' } });
    });

    it.each([
        ['an HTTP error', () => new Response('', { status: 500 }), 500],
        ['ST\'s error field', () => json({ error: true }), 200],
        ['no file name', () => json({}), 200],
    ])('%s is ST_REQUEST_FAILED naming the file', async (_what, answer, status) => {
        st.onFetch = answer;
        const err = await files.importCharacterCard('Dana.json', {}).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(EnsembleError);
        expect([(err as EnsembleError).code, (err as EnsembleError).message]).toEqual(['ST_REQUEST_FAILED', `ST could not import Dana.json (HTTP ${status}).`]);
    });
});

describe('ST helpers', () => {
    it('downloadText uses utils.js download(content, name, type)', async () => {
        const download = vi.fn();
        st.modules['utils.js'] = { download };
        await files.downloadText('masks.json', '[]');
        await files.downloadText('a.txt', 'x', 'text/plain');
        expect(download.mock.calls).toEqual([['[]', 'masks.json', 'application/json'], ['x', 'a.txt', 'text/plain']]);
    });

    it('refreshCharacters calls script.js getCharacters', async () => {
        const getCharacters = vi.fn(async () => undefined);
        st.modules['../script.js']!.getCharacters = getCharacters;
        await files.refreshCharacters();
        expect(getCharacters).toHaveBeenCalledTimes(1);
    });
});

describe('copyText', () => {
    it('without the async clipboard, copies through a hidden textarea and removes it', async () => {
        vi.stubGlobal('navigator', { clipboard: { writeText: () => Promise.reject(new Error('not allowed')) } });
        let copied = '';
        document.execCommand = vi.fn(() => {
            copied = document.querySelector('textarea')?.value ?? '';
            return true;
        });
        await files.copyText('CUSTOM_MODELS=+st-char-Dana');
        expect(copied).toBe('CUSTOM_MODELS=+st-char-Dana');
        expect(document.querySelector('textarea')).toBeNull();
    });

    it('when the browser refuses both, CLIPBOARD_DENIED', async () => {
        vi.stubGlobal('navigator', { clipboard: { writeText: () => Promise.reject(new Error('not allowed')) } });
        document.execCommand = vi.fn(() => false);
        await expect(files.copyText('x')).rejects.toMatchObject({ code: 'CLIPBOARD_DENIED', message: 'The browser did not allow copying.' });
    });
});
