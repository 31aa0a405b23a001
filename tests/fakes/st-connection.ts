/**
 * The part of ST's connection state the fake needs: Chat Completion settings (openai.js `oai_settings`),
 * how a Connection Profile's commands change them, and the request body `sendOpenAIRequest` builds.
 * Written from ST 1.12.6's source, independently of Ensemble's own mapping in src/core/route.ts.
 */

/** ST's global Chat Completion settings, reduced to the fields a request body carries. */
export interface FakeConnection {
    /** `chat_completion_source` */
    source: string;
    /** `preset_settings_openai` */
    preset: string;
    /** The model of the current source (`getChatCompletionModel()`). */
    model: string;
    /** `custom_url` */
    url: string;
    /** `custom_include_headers`, e.g. `Authorization: Bearer sk-a` */
    headers: string;
    includeBody: string;
    excludeBody: string;
    postProcessing: string;
    temperature: number;
    frequencyPenalty: number;
    presencePenalty: number;
    topP: number;
    maxTokens: number;
    stream: boolean;
}

export function defaultConnection(): FakeConnection {
    return {
        source: 'custom', preset: 'Default', model: 'user-model', url: 'http://127.0.0.1:5000/v1', headers: '',
        includeBody: '', excludeBody: '', postProcessing: '',
        temperature: 1, frequencyPenalty: 0, presencePenalty: 0, topP: 1, maxTokens: 300, stream: false,
    };
}

/** A Connection Profile as connection-manager stores it (connection-manager/index.js). */
export interface FakeProfile {
    id: string;
    name: string;
    mode: 'cc' | 'tc';
    api?: string;
    preset?: string;
    'api-url'?: string;
    model?: string;
    proxy?: string;
}

export interface FakeConnectionManager {
    selectedProfile: string | null;
    profiles: FakeProfile[];
}

/** What a Text Completion profile set last (ST keeps it apart from the Chat Completion settings). */
export interface FakeTextCompletion {
    api: string;
    url: string;
    model: string;
}

/** connection-manager/index.js CC_COMMANDS and TC_COMMANDS, the ones that touch the connection (applyConnectionProfile). */
const CC_COMMANDS = ['api', 'preset', 'api', 'api-url', 'model', 'proxy'] as const;
const TC_COMMANDS = ['api', 'preset', 'api-url', 'model'] as const;

/** script.js CONNECT_API_MAP: Chat Completion entries whose key is not the source name. */
const CC_SOURCE_OF_API: Record<string, string> = { oai: 'openai', google: 'makersuite' };
/** script.js CONNECT_API_MAP: Text Completion entries whose main_api is not 'textgenerationwebui'. */
const TC_MAIN_API_OF_API: Record<string, string> = { kobold: 'kobold', horde: 'koboldhorde', novel: 'novel' };

/** `/api NAME`: the main API and (for Chat Completion) the source it selects. */
function apiTarget(mode: 'cc' | 'tc', api: string): { mainApi: string; source?: string } {
    if (mode === 'cc') return { mainApi: 'openai', source: CC_SOURCE_OF_API[api] ?? api };
    return { mainApi: TC_MAIN_API_OF_API[api] ?? 'textgenerationwebui' };
}

/** openai.js onSettingsPresetChange: the preset field holding each source's model. */
const MODEL_FIELD_OF_SOURCE: Record<string, string> = {
    openai: 'openai_model', custom: 'custom_model', claude: 'claude_model', makersuite: 'google_model', openrouter: 'openrouter_model',
};

/**
 * openai.js onSettingsPresetChange: every field the preset defines replaces the setting; fields it
 * lacks keep their value. The source comes first, so the model is read for the preset's source.
 */
function applyPreset(c: FakeConnection, name: string, preset: Record<string, unknown>): void {
    c.preset = name;
    const str = (k: string) => (typeof preset[k] === 'string' ? (preset[k] as string) : undefined);
    const num = (k: string) => (preset[k] === undefined ? undefined : Number(preset[k]));
    c.source = str('chat_completion_source') ?? c.source;
    const modelField = MODEL_FIELD_OF_SOURCE[c.source];
    c.model = (modelField && str(modelField)) ?? c.model;
    c.url = str('custom_url') ?? c.url;
    c.headers = str('custom_include_headers') ?? c.headers;
    c.includeBody = str('custom_include_body') ?? c.includeBody;
    c.excludeBody = str('custom_exclude_body') ?? c.excludeBody;
    c.postProcessing = str('custom_prompt_post_processing') ?? c.postProcessing;
    c.temperature = num('temperature') ?? c.temperature;
    c.frequencyPenalty = num('frequency_penalty') ?? c.frequencyPenalty;
    c.presencePenalty = num('presence_penalty') ?? c.presencePenalty;
    c.topP = num('top_p') ?? c.topP;
    c.maxTokens = num('openai_max_tokens') ?? c.maxTokens;
    if (typeof preset.stream_openai === 'boolean') c.stream = preset.stream_openai;
}

/** What a profile's commands change in ST. */
export interface FakeConnectionState {
    mainApi: string;
    connection: FakeConnection;
    textCompletion: FakeTextCompletion;
    presets: Record<string, Record<string, unknown>>;
}

/**
 * connection-manager applyConnectionProfile: each command the profile has, in ST's order,
 * awaited in turn. `/preset` with an unknown name changes nothing; `/model` is a no-op when `stickyModel`.
 */
export async function applyConnectionProfile(st: FakeConnectionState, profile: FakeProfile, stickyModel: boolean): Promise<void> {
    const c = st.connection;
    for (const command of profile.mode === 'cc' ? CC_COMMANDS : TC_COMMANDS) {
        const arg = profile[command];
        if (!arg) continue;
        if (command === 'api') {
            const target = apiTarget(profile.mode, arg);
            st.mainApi = target.mainApi;
            if (target.source) c.source = target.source;
            else st.textCompletion.api = arg;
        } else if (command === 'preset' && profile.mode === 'cc') {
            const preset = st.presets[arg];
            if (preset) applyPreset(c, arg, preset);
        } else if (command === 'api-url') {
            if (profile.mode === 'cc') c.url = arg; else st.textCompletion.url = arg;
        } else if (command === 'model') {
            if (profile.mode === 'tc') st.textCompletion.model = arg;
            else if (!stickyModel) c.model = arg;
        }
        await Promise.resolve();
    }
}

/** openai.js sendOpenAIRequest (L1847, L1929): the body ST POSTs for the current settings. */
export function buildChatCompletionBody(c: FakeConnection, messages: unknown[]): Record<string, unknown> {
    const body: Record<string, unknown> = {
        messages,
        model: c.model,
        temperature: c.temperature,
        frequency_penalty: c.frequencyPenalty,
        presence_penalty: c.presencePenalty,
        top_p: c.topP,
        max_tokens: c.maxTokens,
        stream: c.stream,
        chat_completion_source: c.source,
    };
    if (c.source === 'custom') {
        body.custom_url = c.url;
        body.custom_include_body = c.includeBody;
        body.custom_exclude_body = c.excludeBody;
        body.custom_include_headers = c.headers;
        body.custom_prompt_post_processing = c.postProcessing;
    }
    return body;
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** ST server's `deepMerge` (src/util.js L264), used by /api/characters/merge-attributes (src/endpoints/characters.js). */
export function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
    const output: Record<string, unknown> = { ...target };
    for (const [key, value] of Object.entries(source)) {
        const existing = target[key];
        output[key] = isObject(value) && key in target && isObject(existing) ? deepMerge(existing, value) : value;
    }
    return output;
}
