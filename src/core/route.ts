import type { ChatPreset, ConnectionProfile } from './schema';

/** Connection-manager `api` values that are not Chat Completion source names (script.js CONNECT_API_MAP). */
const API_TO_SOURCE: Record<string, string> = { oai: 'openai', google: 'makersuite' };

/** Preset field that holds the model of each source (openai.js saveOpenAIPreset). */
const MODEL_FIELD: Record<string, string> = {
    openai: 'openai_model', custom: 'custom_model', claude: 'claude_model', makersuite: 'google_model',
    openrouter: 'openrouter_model', mistralai: 'mistralai_model', cohere: 'cohere_model',
    perplexity: 'perplexity_model', groq: 'groq_model', '01ai': 'zerooneai_model', windowai: 'windowai_model',
    ai21: 'ai21_model', blockentropy: 'blockentropy_model',
};

/** Preset fields a Custom (OpenAI-compatible) request carries; `custom_include_headers` is where a per-profile key lives. */
const CUSTOM_FIELDS = ['custom_include_headers', 'custom_include_body', 'custom_exclude_body', 'custom_prompt_post_processing'] as const;

/** Sampling values from the preset, as `sendOpenAIRequest` names them in the body. */
const SAMPLING: [keyof ChatPreset, string][] = [
    ['temperature', 'temperature'], ['frequency_penalty', 'frequency_penalty'], ['presence_penalty', 'presence_penalty'],
    ['top_p', 'top_p'], ['openai_max_tokens', 'max_tokens'],
];

export function profileSource(profile: ConnectionProfile): string | undefined {
    if (profile.mode !== 'cc' || !profile.api) return undefined;
    return API_TO_SOURCE[profile.api] ?? profile.api;
}

export type Plan = { kind: 'route' } | { kind: 'switch'; reason: string };

export interface ConnectionState {
    mainApi: string;
    /** Chat Completion source in force. */
    source: string;
}

/**
 * Whether a profile can be honoured by rewriting one request (no global switch): a Chat Completion
 * profile, ST on Chat Completion, no proxy preset, and a source whose request body ST already built
 * (the same source) or that needs nothing beyond URL, model and headers (Custom).
 */
export function planFor(profile: ConnectionProfile, state: ConnectionState): Plan {
    if (profile.mode !== 'cc') return { kind: 'switch', reason: 'it is a Text Completion profile' };
    if (state.mainApi !== 'openai') return { kind: 'switch', reason: 'ST is not on Chat Completion' };
    if (profile.proxy && profile.proxy !== 'None') return { kind: 'switch', reason: 'it uses a proxy preset' };
    const target = profileSource(profile) ?? state.source;
    if (target === 'custom' || target === state.source) return { kind: 'route' };
    return { kind: 'switch', reason: `its source (${target}) differs from ST's (${state.source})` };
}

export interface RouteSummary {
    source: string;
    model: string | undefined;
}

/**
 * Rewrites the Chat Completion request body ST is about to send (CHAT_COMPLETION_SETTINGS_READY)
 * so it goes to the profile's source, URL and model with its preset's headers and sampling values.
 * Profile fields win over preset fields, as they do when ST applies a profile. `stream` is never
 * changed: ST has already chosen how to read the reply.
 */
export function applyRoute(body: Record<string, unknown>, profile: ConnectionProfile, preset: ChatPreset | undefined): RouteSummary {
    const source = profileSource(profile) ?? String(body.chat_completion_source ?? '');
    body.chat_completion_source = source;
    const presetModel = preset ? preset[MODEL_FIELD[source] ?? ''] : undefined;
    const model = profile.model || (typeof presetModel === 'string' && presetModel ? presetModel : undefined);
    if (model) body.model = model;
    if (source === 'custom') {
        const url = profile['api-url'] || preset?.custom_url;
        if (url) body.custom_url = url;
        for (const k of CUSTOM_FIELDS) {
            const v = preset?.[k];
            if (v !== undefined) body[k] = v;
        }
    } else {
        for (const k of ['custom_url', ...CUSTOM_FIELDS]) delete body[k];
    }
    if (preset) {
        for (const [from, to] of SAMPLING) {
            const v = preset[from];
            if (typeof v === 'number' && Number.isFinite(v)) body[to] = v;
        }
    }
    return { source, model: typeof body.model === 'string' ? body.model : undefined };
}
