import { describe, expect, it } from 'vitest';
import type { ConnectionProfile } from '../../src/core/profiles';
import { type ChatPreset, applyRoute, planFor, profileSource } from '../../src/core/route';
import { inEnglish } from '../../src/shared/i18n';
import { buildChatCompletionBody, defaultConnection } from '../fakes/st-connection';

const ON_CUSTOM = { mainApi: 'openai', source: 'custom' };
const cc = (extra: Partial<ConnectionProfile> = {}): ConnectionProfile => ({ id: 'pa', name: 'A', mode: 'cc', api: 'custom', ...extra });

/** The body ST 1.12.6 builds for the user's own Custom connection (openai.js sendOpenAIRequest). */
function userBody(overrides: Partial<ReturnType<typeof defaultConnection>> = {}): Record<string, unknown> {
    return buildChatCompletionBody({ ...defaultConnection(), ...overrides }, [{ role: 'user', content: 'hi' }]);
}

const PRESET_A: ChatPreset = {
    chat_completion_source: 'custom', custom_model: 'preset-model', custom_url: 'http://preset.local/v1',
    custom_include_headers: 'Authorization: Bearer sk-a', custom_include_body: 'seed: 1', custom_exclude_body: 'logit_bias',
    custom_prompt_post_processing: 'merge', temperature: 0.3, frequency_penalty: 0.1, presence_penalty: 0.2, top_p: 0.9, openai_max_tokens: 777,
};

describe('planFor', () => {
    it('routes a Custom Chat Completion profile without a switch', () => {
        expect(planFor(cc(), ON_CUSTOM)).toEqual({ kind: 'route' });
    });

    it('routes a Custom profile even when ST is on another Chat Completion source', () => {
        expect(planFor(cc(), { mainApi: 'openai', source: 'claude' })).toEqual({ kind: 'route' });
    });

    it('routes a profile of the same source as ST, and one without api', () => {
        expect(planFor(cc({ api: 'claude' }), { mainApi: 'openai', source: 'claude' }).kind).toBe('route');
        expect(planFor(cc({ api: undefined }), { mainApi: 'openai', source: 'claude' }).kind).toBe('route');
    });

    it('maps connection-manager api names to sources (oai → openai, google → makersuite)', () => {
        expect(profileSource(cc({ api: 'oai' }))).toBe('openai');
        expect(profileSource(cc({ api: 'google' }))).toBe('makersuite');
        expect(planFor(cc({ api: 'oai' }), { mainApi: 'openai', source: 'openai' }).kind).toBe('route');
    });

    it('switches for a Text Completion profile', () => {
        const plan = planFor({ id: 'pt', name: 'T', mode: 'tc', api: 'ooba' }, ON_CUSTOM);
        expect(plan.kind === 'switch' && inEnglish(plan.reason)).toBe('it is a Text Completion profile');
    });

    it('switches when ST itself is not on Chat Completion', () => {
        const notCc = planFor(cc(), { mainApi: 'textgenerationwebui', source: 'custom' });
        expect(notCc.kind === 'switch' && inEnglish(notCc.reason)).toBe('ST is not on Chat Completion');
    });

    it('switches for a different non-Custom source, naming both', () => {
        const plan = planFor(cc({ api: 'claude' }), ON_CUSTOM);
        expect(plan.kind).toBe('switch');
        expect(plan.kind === 'switch' && inEnglish(plan.reason)).toContain('claude');
    });

    it('switches for a profile with a proxy preset, but not for proxy "None"', () => {
        const proxied = planFor(cc({ proxy: 'MyProxy' }), ON_CUSTOM);
        expect(proxied.kind === 'switch' && inEnglish(proxied.reason)).toBe('it uses a proxy preset');
        expect(planFor(cc({ proxy: 'None' }), ON_CUSTOM).kind).toBe('route');
    });
});

describe('applyRoute', () => {
    it('sends a Custom request to the profile\'s URL and model with the preset\'s headers, body rules and sampling', () => {
        const body = userBody();
        const summary = applyRoute(body, cc({ 'api-url': 'http://a.local/v1', model: 'gpt-a', preset: 'PA' }), PRESET_A);
        expect(body).toMatchObject({
            chat_completion_source: 'custom', model: 'gpt-a', custom_url: 'http://a.local/v1',
            custom_include_headers: 'Authorization: Bearer sk-a', custom_include_body: 'seed: 1', custom_exclude_body: 'logit_bias',
            custom_prompt_post_processing: 'merge', temperature: 0.3, frequency_penalty: 0.1, presence_penalty: 0.2, top_p: 0.9, max_tokens: 777,
        });
        expect(summary).toEqual({ source: 'custom', model: 'gpt-a' });
    });

    it('lets profile fields beat preset fields (model and URL)', () => {
        const body = userBody();
        applyRoute(body, cc({ 'api-url': 'http://profile.local', model: 'profile-model' }), PRESET_A);
        expect(body.model).toBe('profile-model');
        expect(body.custom_url).toBe('http://profile.local');
    });

    it('takes model and URL from the preset when the profile has none', () => {
        const body = userBody();
        applyRoute(body, cc(), PRESET_A);
        expect(body.model).toBe('preset-model');
        expect(body.custom_url).toBe('http://preset.local/v1');
    });

    it('never touches stream, whatever the preset says', () => {
        const streaming = userBody({ stream: true });
        applyRoute(streaming, cc({ model: 'gpt-a' }), { ...PRESET_A, stream_openai: false });
        expect(streaming.stream).toBe(true);
        const plain = userBody({ stream: false });
        applyRoute(plain, cc({ model: 'gpt-a' }), { ...PRESET_A, stream_openai: true });
        expect(plain.stream).toBe(false);
    });

    it('keeps the user\'s sampling and headers when the profile has no preset', () => {
        const body = userBody({ temperature: 1.1, headers: 'X-User: 1' });
        applyRoute(body, cc({ model: 'gpt-a', 'api-url': 'http://a.local' }), undefined);
        expect(body).toMatchObject({ model: 'gpt-a', custom_url: 'http://a.local', temperature: 1.1, custom_include_headers: 'X-User: 1' });
    });

    it('keeps the user\'s model when neither profile nor preset names one', () => {
        const body = userBody({ model: 'user-model' });
        applyRoute(body, cc(), { temperature: 0.5 });
        expect(body.model).toBe('user-model');
    });

    it('drops Custom fields and reads the source\'s own model field when routing to another source', () => {
        const body = userBody();
        const summary = applyRoute(body, cc({ api: 'claude' }), { claude_model: 'claude-x', custom_model: 'not-this' } as ChatPreset);
        expect(body.chat_completion_source).toBe('claude');
        expect(body.model).toBe('claude-x');
        for (const k of ['custom_url', 'custom_include_headers', 'custom_include_body', 'custom_exclude_body', 'custom_prompt_post_processing']) {
            expect(body, k).not.toHaveProperty(k);
        }
        expect(summary).toEqual({ source: 'claude', model: 'claude-x' });
    });

    it('leaves the messages alone', () => {
        const body = userBody();
        const messages = body.messages;
        applyRoute(body, cc({ model: 'gpt-a' }), PRESET_A);
        expect(body.messages).toBe(messages);
        expect(body.messages).toEqual([{ role: 'user', content: 'hi' }]);
    });
});
