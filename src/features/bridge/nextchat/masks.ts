/**
 * SillyTavern characters as NextChat "masks" and back. Pure functions: no DOM, no ST globals.
 *
 * A NextChat mask (app/store/mask.ts in ChatGPTNextWeb/NextChat) is a preset chat: a name, an emoji
 * avatar, "context" messages sent before every conversation, and a model config. A NextChat mask file
 * is one mask object (the editor's "Download") or an array of masks (the Masks page's "Export").
 *
 * Round trip: next to NextChat's own fields a mask written here carries `ensemble: {version, card}`,
 * the character's whole V2 card data. NextChat keeps fields it does not know: its import does
 * `maskStore.create(mask)`, which spreads the parsed object (`{...createEmptyMask(), ...mask, id,
 * builtin: false}`), its store persists the object as is, editing copies it (`{...mask}`), and its
 * export is `JSON.stringify(masks)`. So a card that goes ST → NextChat → ST keeps every field and its
 * `data.extensions` untouched.
 */
import { t } from '../../../shared/i18n';
import * as z from '../../../shared/zod';
import { characterModelBase } from '../catalog';

/** The `ensemble.version` this module writes and reads. */
export const MASK_FORMAT_VERSION = 1;
export const MAX_MASKS_PER_FILE = 500;

/** Messages are looked up when an issue is made, so they come in the language loaded by then. */
const notBlank = () => z.refine<string>((s) => s.trim() !== '', { error: () => t('ensemble.nextchat.nameEmpty') });
const text = () => z._default(z.string(), '');
const strings = () => z._default(z.array(z.string()), () => []);

/**
 * A V2 card's `data` (chara_card_v2). Loose: fields other specs or ST add (`character_book`,
 * `group_only_greetings`, V3's `nickname`, …) pass through untouched. Missing text fields read as ''.
 */
export const CardV2DataSchema = z.looseObject({
    name: z.string().check(notBlank()),
    description: text(),
    personality: text(),
    scenario: text(),
    first_mes: text(),
    mes_example: text(),
    creator_notes: text(),
    system_prompt: text(),
    post_history_instructions: text(),
    alternate_greetings: strings(),
    tags: strings(),
    creator: text(),
    character_version: text(),
    /** A plain object (zod's record refuses arrays and null). */
    extensions: z._default(z.record(z.string(), z.unknown()), () => ({})),
});
export type CardV2Data = z.output<typeof CardV2DataSchema>;

/** A card SillyTavern imports as JSON (`/api/characters/import`, file_type `json`: spec set → readFromV2). */
export interface CharacterCardV2 {
    spec: 'chara_card_v2';
    spec_version: '2.0';
    data: CardV2Data;
}

/** NextChat's multimodal message content: `{type: 'text', text}` and `{type: 'image_url', image_url}` parts. */
const ContentPartSchema = z.looseObject({ type: z.string(), text: z.optional(z.string()) });

const ContextMessageSchema = z.looseObject({
    id: z.optional(z.union([z.string(), z.number()])),
    role: z.enum(['system', 'user', 'assistant']),
    content: z.union([z.string(), z.array(ContentPartSchema)], { error: () => t('ensemble.nextchat.contentInvalid') }),
    date: z.optional(z.string()),
});
export type NextChatContextMessage = z.output<typeof ContextMessageSchema>;

/** NextChat's ModelConfig (app/store/config.ts); every field optional, as NextChat fills gaps from its global config. */
const ModelConfigSchema = z.looseObject({
    model: z.optional(z.string()),
    providerName: z.optional(z.string()),
    temperature: z.optional(z.number()),
    top_p: z.optional(z.number()),
    max_tokens: z.optional(z.number()),
    presence_penalty: z.optional(z.number()),
    frequency_penalty: z.optional(z.number()),
    sendMemory: z.optional(z.boolean()),
    historyMessageCount: z.optional(z.number()),
    compressMessageLengthThreshold: z.optional(z.number()),
    compressModel: z.optional(z.string()),
    compressProviderName: z.optional(z.string()),
    enableInjectSystemPrompts: z.optional(z.boolean()),
    template: z.optional(z.string()),
    size: z.optional(z.string()),
    quality: z.optional(z.string()),
    style: z.optional(z.string()),
});
export type NextChatModelConfig = z.output<typeof ModelConfigSchema>;

const EnsembleFieldSchema = z.looseObject({
    version: z.literal(MASK_FORMAT_VERSION),
    card: CardV2DataSchema,
});

/**
 * A mask as NextChat reads it: liberal where NextChat is (extra fields kept; `id`, `createdAt`,
 * `modelConfig`, … may be missing, NextChat's import fills them), strict where we need data: a
 * non-empty name, context messages with a role and text, and a well-formed `ensemble` field if any.
 */
export const NextChatMaskSchema = z.looseObject({
    /** NextChat replaces it on import (nanoid); very old exports had numbers. */
    id: z.optional(z.union([z.string(), z.number()])),
    createdAt: z.optional(z.number()),
    /** An emoji code point sequence ("1f916") or "gpt-bot" (the model's icon). */
    avatar: z.optional(z.string()),
    name: z.string().check(notBlank()),
    hideContext: z.optional(z.boolean()),
    context: z._default(z.array(ContextMessageSchema).check(z.maxLength(10_000)), () => []),
    syncGlobalConfig: z.optional(z.boolean()),
    modelConfig: z.optional(ModelConfigSchema),
    lang: z.optional(z.string()),
    builtin: z.optional(z.boolean()),
    plugin: z.optional(z.array(z.string())),
    ensemble: z.optional(EnsembleFieldSchema),
});
export type NextChatMask = z.output<typeof NextChatMaskSchema>;

/**
 * The mask's model config: NextChat's own defaults (DEFAULT_CONFIG.modelConfig in app/store/config.ts:
 * temperature 0.5, top_p 1, max_tokens 4000, penalties 0, sendMemory true, historyMessageCount 4,
 * compressMessageLengthThreshold 1000, compressModel/compressProviderName '', template "{{input}}",
 * size "1024x1024", quality "standard", style "vivid"), which the bridge is made for: it recognises a
 * conversation from its last turns (bridge/sessions.ts, TAIL_SIZES) when NextChat sends only the last 4
 * messages, and answers NextChat's title and memory-summary requests as side tasks (bridge/side-tasks.ts).
 * Sampling values do not reach ST (the bridge generates with ST's own preset). Two differences:
 * - `enableInjectSystemPrompts: false`, so NextChat never prepends its "You are ChatGPT…" system prompt;
 * - `template: "{{input}}"` written out, so a custom global input template does not rewrite what the user says.
 */
export const MASK_MODEL_CONFIG = {
    providerName: 'OpenAI',
    temperature: 0.5,
    top_p: 1,
    max_tokens: 4000,
    presence_penalty: 0,
    frequency_penalty: 0,
    sendMemory: true,
    historyMessageCount: 4,
    compressMessageLengthThreshold: 1000,
    compressModel: '',
    compressProviderName: '',
    enableInjectSystemPrompts: false,
    template: '{{input}}',
    size: '1024x1024',
    quality: 'standard',
    style: 'vivid',
} as const;

/** 🎭, a neutral "character" avatar (NextChat draws emoji masks from their code points). */
export const MASK_AVATAR = '1f3ad';

const jsonClone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** The card's data alone (no `avatar`), as plain JSON; the card was validated where it left ST (CardV2DataSchema). */
function cardData(card: CardV2Data & { avatar: string }): CardV2Data {
    const data: Record<string, unknown> = { ...card };
    delete data.avatar;
    return jsonClone(data) as CardV2Data;
}

/** ST's name macros, as ST fills them in when it opens a chat with the greeting (macros are case-insensitive). */
function fillNames(text: string, char: string, user: string): string {
    return text.replace(/\{\{char\}\}|<BOT>/gi, () => char).replace(/\{\{user\}\}|<USER>/gi, () => user);
}

/**
 * A NextChat mask that talks to the character through the Ensemble bridge.
 * - `model`: the character's bridge model id unless given (pass the live catalog's id when known).
 * - The greeting (first_mes, `{{char}}`/`{{user}}` filled in, `userName` default "User" like the
 *   bridge's own user messages) is the only context message, as the assistant: the bridge turns it into
 *   the ST chat's first message. No system message: ST builds the character's prompt from its card.
 * - `hideContext: false`: NextChat shows context messages at the top of the chat only when
 *   hideContext is false (otherwise, with no context shown, it shows its own BOT_HELLO); the greeting is
 *   meant to be seen. Context is sent with every request either way.
 * - `syncGlobalConfig: false`: with true, NextChat overwrites the mask's model config (the character's
 *   model) with its global one whenever the chat is opened.
 */
export function characterToMask(card: CardV2Data & { avatar: string }, opts: { now: number; model?: string; userName?: string }): NextChatMask {
    const data = cardData(card);
    const model = opts.model ?? characterModelBase(card.avatar);
    const id = `ensemble-${model}`;
    const greeting = fillNames(data.first_mes, data.name, opts.userName ?? 'User');
    const context: NextChatContextMessage[] = greeting.trim()
        ? [{ id: `${id}-greeting`, role: 'assistant', content: greeting, date: '' }]
        : [];
    return {
        id,
        createdAt: opts.now,
        avatar: MASK_AVATAR,
        name: data.name,
        hideContext: false,
        context,
        syncGlobalConfig: false,
        modelConfig: { model, ...MASK_MODEL_CONFIG },
        lang: 'en',
        builtin: false,
        plugin: [],
        ensemble: { version: MASK_FORMAT_VERSION, card: data },
    };
}

export type ParseMasksResult = { ok: true; masks: NextChatMask[] } | { ok: false; error: string };

const MAX_ISSUES = 3;

/** Each issue as `place: message`, led by the mask's number when the file holds a list (`n`, counted from 1). */
function describeIssues(error: z.core.$ZodError, n: number | null): string[] {
    return error.issues.map((issue) => {
        const at = issue.path.map(String).join('.');
        const text = `${at ? `${at}: ` : ''}${issue.message}`;
        return n === null ? text : t('ensemble.nextchat.maskIssue', { n, issue: text });
    });
}

/**
 * Reads a NextChat mask file (one mask or an array of 1–500 masks). Never throws; errors are short
 * and name the place, e.g. "Mask 2: context.0.content: Invalid input: expected string …".
 */
export function parseMaskFile(text: string): ParseMasksResult {
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch {
        return { ok: false, error: t('ensemble.nextchat.fileNotJson') };
    }
    if (!Array.isArray(json) && (json === null || typeof json !== 'object')) {
        return { ok: false, error: t('ensemble.nextchat.fileNotMask') };
    }
    if (!Array.isArray(json) && 'mask-store' in json && !('name' in json)) {
        return { ok: false, error: t('ensemble.nextchat.fileIsBackup') };
    }
    const list: unknown[] = Array.isArray(json) ? json : [json];
    if (list.length === 0) return { ok: false, error: t('ensemble.nextchat.fileEmpty') };
    if (list.length > MAX_MASKS_PER_FILE) return { ok: false, error: t('ensemble.nextchat.fileTooMany', { count: list.length, max: MAX_MASKS_PER_FILE }) };
    const masks: NextChatMask[] = [];
    const issues: string[] = [];
    list.forEach((item, i) => {
        const parsed = NextChatMaskSchema.safeParse(item);
        if (parsed.success) masks.push(parsed.data);
        else issues.push(...describeIssues(parsed.error, Array.isArray(json) ? i + 1 : null));
    });
    if (issues.length) {
        const shown = issues.slice(0, MAX_ISSUES).join('; ');
        const more = issues.length - MAX_ISSUES;
        return { ok: false, error: more > 0 ? t('ensemble.nextchat.moreIssues', { issues: shown, count: more }) : shown };
    }
    return { ok: true, masks };
}

/** A context message's text: the string, or the text parts of multimodal content (images dropped). */
function messageText(m: NextChatContextMessage): string {
    const raw = typeof m.content === 'string' ? m.content : m.content.flatMap((p) => (p.type === 'text' && p.text ? [p.text] : [])).join('\n');
    return raw.trim();
}

/**
 * A SillyTavern JSON card from a mask.
 * - With `ensemble.card` (a mask this module wrote): that card, all fields and extensions as they were
 *   (edits made to the mask inside NextChat do not override it).
 * - Otherwise (a mask made in NextChat):
 *   - description: the system messages, joined by blank lines; when the context has no assistant
 *     message at all, its user messages are instructions (NextChat's prompt-style masks) and join them;
 *   - first_mes: the first assistant message;
 *   - mes_example: the user/assistant messages as `<START>` blocks of `{{user}}: …` / `{{char}}: …`
 *     lines, a new block at each user message after an assistant one; a greeting that opens the
 *     dialogue (no user message before it) is only the greeting;
 *   - extensions: `{nextchat: {model}}`, the mask's model, when it has one (nothing else: NextChat's
 *     sampling settings do not map onto ST's presets).
 */
export function maskToCard(mask: NextChatMask): CharacterCardV2 {
    if (mask.ensemble) return { spec: 'chara_card_v2', spec_version: '2.0', data: jsonClone(mask.ensemble.card) };

    const messages = mask.context.map((m) => ({ role: m.role, text: messageText(m) })).filter((m) => m.text);
    const dialogue = messages.filter((m) => m.role !== 'system');
    const hasAssistant = dialogue.some((m) => m.role === 'assistant');
    const description = messages
        .filter((m) => m.role === 'system' || (!hasAssistant && m.role === 'user'))
        .map((m) => m.text)
        .join('\n\n');

    const greetingAt = dialogue.findIndex((m) => m.role === 'assistant');
    const examples = !hasAssistant ? [] : greetingAt === 0 ? dialogue.slice(1) : dialogue;
    const blocks: string[][] = [];
    let previous: string | null = null;
    for (const m of examples) {
        let block = blocks.at(-1);
        if (!block || (m.role === 'user' && previous === 'assistant')) blocks.push(block = []);
        block.push(`${m.role === 'user' ? '{{user}}' : '{{char}}'}: ${m.text}`);
        previous = m.role;
    }

    const model = mask.modelConfig?.model?.trim();
    return {
        spec: 'chara_card_v2',
        spec_version: '2.0',
        data: {
            name: mask.name.trim(),
            description,
            personality: '',
            scenario: '',
            first_mes: greetingAt >= 0 ? dialogue[greetingAt]!.text : '',
            mes_example: blocks.map((b) => `<START>\n${b.join('\n')}`).join('\n'),
            creator_notes: '',
            system_prompt: '',
            post_history_instructions: '',
            alternate_greetings: [],
            tags: [],
            creator: '',
            character_version: '',
            extensions: model ? { nextchat: { model } } : {},
        },
    };
}

/** Path and reserved characters, and the invisible direction marks that can disguise an extension. */
const UNSAFE_FILE_CHARS = /[<>:"/\\|?*\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g;
const isControl = (c: string) => c.charCodeAt(0) < 0x20 || c === '\u007f';
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;

/** A name as a file name part: no path, reserved or control characters (letters of any script stay). */
function safeFilePart(name: string): string {
    let s = Array.from(name.normalize('NFC'), (c) => (isControl(c) ? '_' : c)).join('');
    s = s.replace(UNSAFE_FILE_CHARS, '_').replace(/\s+/g, ' ');
    s = s.replace(/^[\s._]+|[\s._]+$/g, '');
    s = Array.from(s).slice(0, 100).join('').replace(/[\s._]+$/g, '');
    if (!s) return 'character';
    return WINDOWS_RESERVED.test(s) ? `_${s}` : s;
}

/** The download name of a mask file: `<Name>.nextchat-mask.json` for one mask, `ensemble-masks-<n>.json` for several. */
export function masksFileName(names: readonly string[]): string {
    return names.length === 1 ? `${safeFilePart(names[0]!)}.nextchat-mask.json` : `ensemble-masks-${names.length}.json`;
}
