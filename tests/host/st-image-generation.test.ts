/**
 * src/host/st-image-generation.ts over a fake of ST 1.12.6's globals: the state it reads (disabledExtensions,
 * the registered /imagine, extension_settings.sd, secrets.js secret_state) and how it calls /imagine's callback.
 * The callback below plays stable-diffusion/index.js generatePicture as far as this code meets it: the mode is
 * chosen synchronously from the text and `free_extend` before its first await; `quiet` posts nothing; a failure
 * is ST's own toast and an undefined result.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createStImageGeneration } from '../../src/host/st-image-generation';
import { FakeSt } from '../fakes/st-globals';

vi.mock('../../src/host/st-modules', async (importOriginal) =>
    (await import('../fakes/st-globals')).mockStModules(await importOriginal<Record<string, unknown>>()));

const TRIGGERS = ['you', 'me', 'scene', 'raw_last', 'last', 'face', 'background'];

let st: FakeSt;
let sd: Record<string, unknown>;
const calls: { named: Record<string, unknown>; text: string; mode: string }[] = [];
let result: () => Promise<string | undefined>;

beforeEach(() => {
    st = new FakeSt().install();
    sd = { source: 'openai', free_extend: true, prompt_prefix: 'best quality, ' };
    Object.assign(st.state.extension_settings, { sd, disabledExtensions: [] });
    st.modules['secrets.js'] = { secret_state: { api_key_openai: true } };
    st.modules['extensions.js'] = { modules: [] };
    calls.length = 0;
    result = async () => '/user/images/Alice/Alice_1.png';
    st.commands.imagine = {
        callback: (named: Record<string, unknown>, text: string) => {
            const word = TRIGGERS.includes(text.toLowerCase().trim());
            calls.push({ named, text, mode: word ? 'trigger' : sd.free_extend ? 'free_extended' : 'free' });
            return result();
        },
    };
});
afterEach(() => { vi.restoreAllMocks(); });

describe('ST\'s Image Generation: status', () => {
    it('is ready with its source when the source has what ST checks', async () => {
        expect(await createStImageGeneration().status()).toEqual({ state: 'ready', source: 'openai' });
    });

    it('says disabled when Manage Extensions lists stable-diffusion, missing when /imagine is not registered', async () => {
        (st.state.extension_settings.disabledExtensions as string[]).push('stable-diffusion');
        expect(await createStImageGeneration().status()).toEqual({ state: 'disabled' });
        st.state.extension_settings.disabledExtensions = [];
        delete st.commands.imagine;
        expect(await createStImageGeneration().status()).toEqual({ state: 'missing' });
    });

    it('says what an unconfigured source lacks: a key (secret_state), a URL, Extras\' sd module', async () => {
        (st.modules['secrets.js']!.secret_state as Record<string, boolean>).api_key_openai = false;
        expect(await createStImageGeneration().status()).toEqual({ state: 'unconfigured', source: 'openai', needs: 'key' });
        Object.assign(sd, { source: 'auto', auto_url: '' });
        expect(await createStImageGeneration().status()).toEqual({ state: 'unconfigured', source: 'auto', needs: 'url' });
        Object.assign(sd, { source: 'extras' });
        expect(await createStImageGeneration().status()).toEqual({ state: 'unconfigured', source: 'extras', needs: 'extras' });
        Object.assign(sd, { source: 'pollinations' });
        expect(await createStImageGeneration().status()).toEqual({ state: 'ready', source: 'pollinations' });
    });
});

describe('ST\'s Image Generation: draw', () => {
    it('calls /imagine\'s callback quietly with the prompt as free text (pipes and quotes as written, macros not run), never LLM-extended, and restores the user\'s setting', async () => {
        const path = await createStImageGeneration().draw('a fern | /echo {{char}} "quoted"');
        expect(path).toBe('/user/images/Alice/Alice_1.png');
        expect(calls).toEqual([{ named: { quiet: 'true' }, text: 'a fern | /echo { {char} } "quoted"', mode: 'free' }]);
        expect(sd.free_extend).toBe(true);
    });

    it('a prompt that is one of the mode words is drawn as written', async () => {
        await createStImageGeneration().draw('Background');
        expect(calls[0]).toMatchObject({ text: 'Background.', mode: 'free' });
    });

    it('ST drawing nothing (it toasted why) is ST_IMAGE_FAILED; a throw is ST_IMAGE_FAILED with its reason', async () => {
        result = async () => undefined;
        await expect(createStImageGeneration().draw('p')).rejects.toMatchObject({ code: 'ST_IMAGE_FAILED' });
        result = async () => { throw new Error('SD prompt text generation failed'); };
        await expect(createStImageGeneration().draw('p')).rejects.toMatchObject({ code: 'ST_IMAGE_FAILED', message: expect.stringContaining('SD prompt text generation failed') });
        expect(sd.free_extend).toBe(true);
    });

    it('disabled or missing: nothing is called', async () => {
        (st.state.extension_settings.disabledExtensions as string[]).push('stable-diffusion');
        await expect(createStImageGeneration().draw('p')).rejects.toMatchObject({ code: 'ST_IMAGE_DISABLED' });
        st.state.extension_settings.disabledExtensions = [];
        delete st.commands.imagine;
        await expect(createStImageGeneration().draw('p')).rejects.toMatchObject({ code: 'ST_IMAGE_MISSING' });
        expect(calls).toEqual([]);
    });

    it('the caller\'s cancel reaches ST as its abort controller, and is IMAGE_CANCELLED', async () => {
        let stopped = false;
        result = () => new Promise((resolve) => {
            (calls[0]!.named._abortController as { addEventListener(t: string, f: () => void): void }).addEventListener('abort', () => { stopped = true; resolve(undefined); });
        });
        const cancel = new AbortController();
        const draw = createStImageGeneration().draw('p', cancel.signal);
        cancel.abort();
        await expect(draw).rejects.toMatchObject({ code: 'IMAGE_CANCELLED' });
        expect(stopped).toBe(true);
    });

    it('returns only once the stored file\'s second is over, so a next drawing never gets the same file name', async () => {
        const t0 = Date.now();
        await createStImageGeneration().draw('p');
        expect(Math.floor(Date.now() / 1000)).toBeGreaterThan(Math.floor(t0 / 1000));
    });
});
