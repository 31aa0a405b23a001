import * as z from '../shared/zod';

export const SETTINGS_VERSION = 2;

const nonEmpty = () => z.string().check(z.minLength(1));

/** A reference to a Connection Profile: by id, with the name kept as a fallback (ids differ across installs). */
export const ProfileRefSchema = z.object({
    id: z._default(z.nullable(nonEmpty()), null),
    name: z._default(z.nullable(nonEmpty()), null),
});
export type ProfileRef = z.infer<typeof ProfileRefSchema>;

export const ProfilesSettingsSchema = z.object({
    enabled: z._default(z.boolean(), true),
    /** Toast "member → profile" the first time a member speaks through a profile in a chat. */
    notify: z._default(z.boolean(), true),
    /** Put the user's own profile back when leaving a chat in which Ensemble had to switch globally. */
    restoreOnLeave: z._default(z.boolean(), true),
    /** Apply a character's profile in 1:1 chats too. */
    soloAuto: z._default(z.boolean(), false),
    fallback: z._default(z.nullable(ProfileRefSchema), null),
    /** Group id → default profile for members without their own. */
    groupDefaults: z._default(z.record(z.string(), ProfileRefSchema), () => ({})),
    /** Longest wait for a full connection switch before the turn is stopped. */
    switchTimeoutMs: z._default(z.int().check(z.minimum(1000), z.maximum(120_000)), 30_000),
    /** Multi-Model Chat's assignments were offered for import (asked once). */
    mmcImportOffered: z._default(z.boolean(), false),
});
export type ProfilesSettings = z.infer<typeof ProfilesSettingsSchema>;

export const DEFAULT_IMAGE_SYSTEM_PROMPT = 'You turn a roleplay message into one prompt for an image generator. '
    + 'Describe the scene the message shows: who is there, what they look like and do, the place, the light and the mood. '
    + 'Answer with the prompt only, in English, at most 80 words, no quotes and no preamble.';

export const ImagesSettingsSchema = z.object({
    /** One picture per new character reply (not swipes, greetings, system or image messages). */
    auto: z._default(z.boolean(), false),
    /** Text LLM that writes the image prompt: its own endpoint, a Connection Profile (this request only), or ST's current connection. */
    promptSource: z._default(z.enum(['endpoint', 'profile', 'current']), 'current'),
    promptEndpoint: z._default(z.object({
        url: z._default(z.string(), ''),
        key: z._default(z.string(), ''),
        model: z._default(z.string(), ''),
    }), () => ({ url: '', key: '', model: '' })),
    promptProfile: z._default(z.nullable(ProfileRefSchema), null),
    systemPrompt: z._default(z.string(), DEFAULT_IMAGE_SYSTEM_PROMPT),
    temperature: z._default(z.number().check(z.minimum(0), z.maximum(2)), 0.7),
    maxTokens: z._default(z.int().check(z.minimum(16), z.maximum(4096)), 300),
    /** Add the character card (name, description, personality, scenario) to the prompt request. */
    includeCard: z._default(z.boolean(), true),
    /**
     * What draws the picture: `api`, the OpenAI-compatible image API below; `st`, ST's own Image Generation
     * extension with whatever source the user chose there. Stored settings without it keep `api`.
     */
    imageSource: z._default(z.enum(['api', 'st']), 'api'),
    /** OpenAI-compatible image API: base URL up to /v1, key, model and request options. */
    imageUrl: z._default(z.string(), ''),
    imageKey: z._default(z.string(), ''),
    imageModel: z._default(z.string(), ''),
    size: z._default(z.string(), '1024x1024'),
    aspectRatio: z._default(z.string(), ''),
    resolution: z._default(z.string(), ''),
    n: z._default(z.int().check(z.minimum(1), z.maximum(4)), 1),
    responseFormat: z._default(z.enum(['b64_json', 'url']), 'b64_json'),
    stream: z._default(z.boolean(), false),
    timeoutMs: z._default(z.int().check(z.minimum(5_000), z.maximum(600_000)), 120_000),
    retries: z._default(z.int().check(z.minimum(0), z.maximum(5)), 2),
});
export type ImagesSettings = z.infer<typeof ImagesSettingsSchema>;

/**
 * Requests a client makes for itself, not for the conversation: NextChat's topic (title) and memory
 * summary prompts, in English and Chinese (its two main locales; other locales can be added in the panel).
 * Matched against the request's last message, case-insensitively (features/bridge/side-tasks.ts).
 */
export const DEFAULT_SIDE_TASK_PATTERNS = [
    '^Please generate a four to five word title',
    '^Summarize (the|our) discussion briefly',
    '^使用四到五个字直接返回这句话的简要主题',
    '^总结并直接返回这段对话的简要主题',
    '^简要总结一下对话内容',
];

export const DEFAULT_BRIDGE_URL = 'ws://127.0.0.1:5181/bridge';

export const BridgeSettingsSchema = z.object({
    /** The bridge server's WebSocket address (npm start prints it). */
    url: z._default(z.string(), DEFAULT_BRIDGE_URL),
    /** The link token the server printed on its first start. */
    token: z._default(z.string(), ''),
    autoConnect: z._default(z.boolean(), false),
    /** Optional pool of Connection Profiles used round-robin for bridge requests (routed per request). */
    rotation: z._default(z.array(ProfileRefSchema), () => []),
    /** Regular expressions (case-insensitive) for a request's last message that make it a side task (title, summary). */
    sideTaskPatterns: z._default(z.array(z.string().check(z.maxLength(500))).check(z.maxLength(50)), () => [...DEFAULT_SIDE_TASK_PATTERNS]),
    /**
     * Where the user's NextChat runs, for the fast link and `--cors-origin` in the setup help, as the user entered it.
     * '' (never entered, or emptied): the panel uses NextChat's usual port on the name ST was opened at.
     */
    nextchatUrl: z._default(z.string().check(z.maxLength(500)), ''),
});
export type BridgeSettings = z.infer<typeof BridgeSettingsSchema>;

export const SettingsSchema = z.object({
    version: z.literal(SETTINGS_VERSION),
    profiles: z.prefault(ProfilesSettingsSchema, {}),
    images: z.prefault(ImagesSettingsSchema, {}),
    bridge: z.prefault(BridgeSettingsSchema, {}),
});
export type Settings = z.infer<typeof SettingsSchema>;

export function defaultSettings(): Settings {
    return SettingsSchema.parse({ version: SETTINGS_VERSION });
}

/** Brings older stored shapes up to SETTINGS_VERSION. Unknown versions are left for the schema to reject. */
export function migrate(raw: unknown): unknown {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
    let obj = raw as Record<string, unknown>;
    // v0: the pre-release shape had no version field.
    if (!('version' in obj)) obj = { ...obj, version: 1 };
    // v1 → v2: v1 stored its NextChat default, http://localhost:3000, with every save, so that value says nothing
    // about what the user chose: it becomes '' (the default that follows the name ST is opened at).
    if (obj.version === 1) {
        const bridge = obj.bridge;
        const stale = typeof bridge === 'object' && bridge !== null && (bridge as Record<string, unknown>).nextchatUrl === 'http://localhost:3000';
        obj = { ...obj, version: 2, ...(stale ? { bridge: { ...(bridge as object), nextchatUrl: '' } } : {}) };
    }
    return obj;
}
