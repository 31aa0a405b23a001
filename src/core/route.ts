/**
 * The per-request route: whether a profile can be honoured by rewriting one request, the Chat Completion
 * presets it reads, the rewrite itself, and the one listener of CHAT_COMPLETION_SETTINGS_READY.
 */
import type { Host } from '../host/host';
import { englishMessage } from '../shared/errors';
import { type Words, t } from '../shared/i18n';
import { log } from '../shared/log';
import * as z from '../shared/zod';
import type { ConnectionProfile } from './profiles';

const optString = () => z.optional(z.string());
const optNumber = () => z.optional(z.coerce.number());

/**
 * The subset of a Chat Completion preset file a per-request route carries (openai.js saveOpenAIPreset).
 * Every field optional: presets saved by older ST versions lack some.
 */
export const ChatPresetSchema = z.looseObject({
    chat_completion_source: optString(),
    custom_model: optString(),
    custom_url: optString(),
    custom_include_headers: optString(),
    custom_include_body: optString(),
    custom_exclude_body: optString(),
    custom_prompt_post_processing: optString(),
    temperature: optNumber(),
    frequency_penalty: optNumber(),
    presence_penalty: optNumber(),
    top_p: optNumber(),
    openai_max_tokens: optNumber(),
});
export type ChatPreset = z.infer<typeof ChatPresetSchema>;


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

/** A switch's reason is words: the console logs it in English, a toast says it in the user's language. */
export type Plan = { kind: 'route' } | { kind: 'switch'; reason: Words };

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
    if (profile.mode !== 'cc') return { kind: 'switch', reason: { key: 'ensemble.core.switchTextCompletion' } };
    if (state.mainApi !== 'openai') return { kind: 'switch', reason: { key: 'ensemble.core.switchNotChatCompletion' } };
    if (profile.proxy && profile.proxy !== 'None') return { kind: 'switch', reason: { key: 'ensemble.core.switchProxy' } };
    const target = profileSource(profile) ?? state.source;
    if (target === 'custom' || target === state.source) return { kind: 'route' };
    return { kind: 'switch', reason: { key: 'ensemble.core.switchSourceDiffers', vars: { target, source: state.source } } };
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

/**
 * Chat Completion presets by name. ST 1.12.6 keeps them module-private, so they are read from the
 * server once and again whenever a chat opens or a profile loads; a route never waits on the
 * network unless its preset is not yet known.
 */
export class PresetCache {
    private presets = new Map<string, ChatPreset>();
    private loading: Promise<void> | null = null;
    private loaded = false;
    /** Names looked up after a refresh and not found: not fetched again until the next refresh. */
    private readonly missing = new Set<string>();

    constructor(private readonly host: Host) {}

    refresh(): Promise<void> {
        this.loading ??= this.host.chatCompletionPresets()
            .then((raw) => {
                const next = new Map<string, ChatPreset>();
                for (const [name, value] of Object.entries(raw)) {
                    const p = ChatPresetSchema.safeParse(value);
                    if (p.success) next.set(name, p.data);
                    else log.warn(`preset "${name}" is not in the expected shape; ignored`);
                }
                this.presets = next;
                this.loaded = true;
                this.missing.clear();
            })
            .catch((err) => log.warn('could not read Chat Completion presets:', englishMessage(err)))
            .finally(() => { this.loading = null; });
        return this.loading;
    }

    /** The preset, fetching the list first if it was never read or does not have this name yet. */
    async get(name: string | undefined): Promise<ChatPreset | undefined> {
        if (!name) return undefined;
        if (this.presets.has(name)) return this.presets.get(name);
        if (this.loaded && this.missing.has(name)) return undefined;
        await this.refresh();
        if (!this.presets.has(name)) this.missing.add(name);
        return this.presets.get(name);
    }
}

/** Names the profile one request goes through; null or undefined leaves the request to the next source, then to ST. */
export type RouteSource = () => ConnectionProfile | null | undefined;

/**
 * The one listener of CHAT_COMPLETION_SETTINGS_READY. Features say which profile a request goes through:
 * overrides first, in the order they were added (the bridge's rotation, for the bridge request in
 * progress), then the member source (the profiles feature: the drafted member's profile, resolved at
 * its draft). Only a per-request route happens here; a profile that needs more was applied by a full
 * switch before the request (or, for an override, is not used).
 */
export class RequestRouter {
    readonly presets: PresetCache;
    private readonly overrides: RouteSource[] = [];
    private member: RouteSource | null = null;
    /** Presets already warned about in this chat: one toast, not one per turn. */
    private readonly warned = new Set<string>();

    constructor(private readonly host: Host) {
        this.presets = new PresetCache(host);
    }

    start(): void {
        this.host.on('chatCompletionSettingsReady', (body) => this.onRequest(body));
        this.host.on('chatChanged', () => this.warned.clear());
    }

    /** A source that wins over the member's (the bridge's rotation pool). */
    addOverride(source: RouteSource): void {
        this.overrides.push(source);
    }

    setMemberSource(source: RouteSource | null): void {
        this.member = source;
    }

    /** CHAT_COMPLETION_SETTINGS_READY: rewrite the body of a request some source names a profile for. */
    async onRequest(body: Record<string, unknown>): Promise<void> {
        let profile: ConnectionProfile | null = null;
        for (const source of this.overrides) {
            profile = source() ?? null;
            if (profile) break;
        }
        profile ??= this.member?.() ?? null;
        if (!profile) return;
        const plan = planFor(profile, { mainApi: this.host.mainApi(), source: String(body.chat_completion_source ?? '') });
        if (plan.kind !== 'route') return; // a full switch already put ST on this profile
        const preset = await this.presets.get(profile.preset);
        if (profile.preset && !preset && !this.warned.has(profile.preset)) {
            this.warned.add(profile.preset);
            this.host.toast('warning', t('ensemble.core.presetMissing', { preset: profile.preset, profile: profile.name }), 'Ensemble');
        }
        applyRoute(body, profile, preset);
    }
}
