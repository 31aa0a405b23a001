import * as z from '../shared/zod';

const optString = () => z.optional(z.string());
const optNumber = () => z.optional(z.coerce.number());

/** One entry of ST's `extension_settings.connectionManager.profiles` (connection-manager/index.js). */
export const ConnectionProfileSchema = z.looseObject({
    id: z.string().check(z.minLength(1)),
    name: z.string(),
    mode: z.enum(['cc', 'tc']),
    api: optString(),
    preset: optString(),
    'api-url': optString(),
    model: optString(),
    proxy: optString(),
});
export type ConnectionProfile = z.infer<typeof ConnectionProfileSchema>;

export const ConnectionManagerSchema = z.object({
    selectedProfile: z.optional(z.nullable(z.string())),
    profiles: z._default(z.array(z.unknown()), () => []),
});

/**
 * What Ensemble keeps in a character card, `data.extensions.ensemble`. Loose, so fields other
 * Ensemble features store there travel along untouched.
 */
export const CardEnsembleSchema = z.looseObject({
    profileId: z.optional(z.nullable(z.string())),
    profileName: z.optional(z.nullable(z.string())),
    /** How the character looks, added to every image prompt for this character. */
    appearance: z.optional(z.nullable(z.string().check(z.maxLength(4000)))),
});
export type CardEnsemble = z.infer<typeof CardEnsembleSchema>;

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
