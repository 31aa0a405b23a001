/**
 * The bridge protocol, shared by the server (server/src) and the extension (src/features/bridge):
 * every WebSocket frame is one JSON object with a `type`, validated here with zod on both sides.
 * No DOM and no Node APIs in this module.
 */
import * as z from '../shared/zod';
import { ChatIndexDataSchema } from './conversations';

/** 2: the server keeps the index of bridge chats (`request.chat`, `done.chat`, `import_chats`); tabs report `unavailable`. */
export const PROTOCOL_VERSION = 2;

/** WebSocket close codes the server uses (4000–4999 are the application's). */
export const CLOSE = {
    badFrame: 4000,
    badToken: 4001,
    versionMismatch: 4002,
    helloTimeout: 4003,
    originRefused: 4008,
    replaced: 4009,
} as const;

/** Model ids are stable and readable: `st-char-<avatar base>`, `st-group-<name>`; only [A-Za-z0-9._-]. */
export const ModelIdSchema = z.string().check(z.regex(/^st-(char|group)-[A-Za-z0-9._-]{1,120}$/));

export const ModelInfoSchema = z.object({
    id: ModelIdSchema,
    name: z.string().check(z.maxLength(500)),
    kind: z.enum(['character', 'group']),
    /** Member names of a group, for clients that show them. */
    members: z.optional(z.array(z.string()).check(z.maxLength(200))),
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

export const ChatMessageSchema = z.object({
    role: z.enum(['system', 'developer', 'user', 'assistant']),
    content: z.string(),
    name: z.optional(z.string()),
});
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

export const GenerationParamsSchema = z.object({
    temperature: z.optional(z.number()),
    top_p: z.optional(z.number()),
    max_tokens: z.optional(z.int()),
    presence_penalty: z.optional(z.number()),
    frequency_penalty: z.optional(z.number()),
});

/** `unavailable`: the tab could not use its ST session, and the request never reached ST (the server tries another tab). */
export const BridgeErrorCodeSchema = z.enum(['bad_request', 'not_found', 'busy', 'cancelled', 'timeout', 'st_error', 'tab_closed', 'unavailable']);
export type BridgeErrorCode = z.infer<typeof BridgeErrorCodeSchema>;

const id = () => z.string().check(z.minLength(1), z.maxLength(100));
const chatFile = () => z.string().check(z.minLength(1), z.maxLength(300));

/** Frames the extension sends. */
export const ExtensionFrameSchema = z.discriminatedUnion('type', [
    /** `session`: a background session the bridge server started itself (its own headless page), not a user's tab. */
    z.object({ type: z.literal('hello'), v: z.int(), token: z.string().check(z.maxLength(500)), tab: id(), version: z.string(), session: z.optional(z.boolean()) }),
    z.object({ type: z.literal('catalog'), models: z.array(ModelInfoSchema).check(z.maxLength(10_000)) }),
    /** `unavailable`: why this tab can't serve now (its ST session refuses it), in English (the server passes it on to clients); absent when it can. */
    z.object({ type: z.literal('status'), busy: z.boolean(), queued: z.int(), unavailable: z.optional(z.string().check(z.maxLength(500))) }),
    /** New text since the last delta (not cumulative). */
    z.object({ type: z.literal('delta'), id: id(), text: z.string() }),
    /** `chat`: the bridge chat that now holds the conversation (absent for side tasks, which touch no chat). */
    z.object({ type: z.literal('done'), id: id(), text: z.string(), finishReason: z.enum(['stop', 'length']), chat: z.optional(chatFile()) }),
    z.object({ type: z.literal('fail'), id: id(), code: BridgeErrorCodeSchema, message: z.string().check(z.maxLength(2000)) }),
    z.object({ type: z.literal('pong'), t: z.number() }),
    /** The index of bridge chats an older version kept in ST's settings, handed to the server once. */
    z.object({ type: z.literal('import_chats'), chats: ChatIndexDataSchema }),
]);
export type ExtensionFrame = z.infer<typeof ExtensionFrameSchema>;

/** Frames the server sends. */
export const ServerFrameSchema = z.discriminatedUnion('type', [
    z.object({
        type: z.literal('welcome'), v: z.int(), server: z.string(),
        /** The API's base URL (without /v1) and a client key, for the panel's client setup help; absent when the server keeps them to itself. */
        api: z.optional(z.object({ url: z.string().check(z.maxLength(500)), key: z.optional(z.string().check(z.maxLength(500))) })),
    }),
    z.object({ type: z.literal('refused'), code: z.enum(['token', 'version', 'hello']), message: z.string() }),
    z.object({
        type: z.literal('request'), id: id(), model: ModelIdSchema, messages: z.array(ChatMessageSchema).check(z.minLength(1)),
        stream: z.boolean(), params: GenerationParamsSchema,
        /** The bridge chat whose conversation this request continues (from the server's index); absent: a new one. */
        chat: z.optional(chatFile()),
    }),
    /** To a user's tab: background sessions serve the bridge now (`sessions` > 0), so this tab takes no requests; 0: it serves again. */
    z.object({ type: z.literal('standby'), sessions: z.int() }),
    /** The server stored an `import_chats` frame's entries: the tab may now remove them from ST's settings. */
    z.object({ type: z.literal('chats_imported'), added: z.int() }),
    z.object({ type: z.literal('cancel'), id: id() }),
    z.object({ type: z.literal('ping'), t: z.number() }),
]);
export type ServerFrame = z.infer<typeof ServerFrameSchema>;

export type ParseResult<T> = { ok: true; frame: T } | { ok: false; error: string };

type FrameSchema<T> = { safeParse(v: unknown): { success: true; data: T } | { success: false; error: z.core.$ZodError } };

/** JSON text → a checked frame; `fast` may accept a frame first without the schema (null: not sure, use the schema). */
function parseWith<T>(schema: FrameSchema<T>, raw: unknown, fast?: (json: unknown) => T | null): ParseResult<T> {
    if (typeof raw !== 'string') return { ok: false, error: 'frame is not text' };
    let json: unknown;
    try {
        json = JSON.parse(raw);
    } catch {
        return { ok: false, error: 'frame is not JSON' };
    }
    const quick = fast?.(json);
    if (quick) return { ok: true, frame: quick };
    const parsed = schema.safeParse(json);
    return parsed.success ? { ok: true, frame: parsed.data } : { ok: false, error: z.prettifyError(parsed.error) };
}

/**
 * `delta` frames are nearly all the traffic (one per streamed piece), so their shape is checked by hand
 * with the schema's own rules: `id` a string of 1–100 characters, `text` a string, other keys dropped.
 * Every other frame, and a delta that fails the check (for its error message), goes through the schema.
 */
function plainDelta(json: unknown): ExtensionFrame | null {
    if (typeof json !== 'object' || json === null) return null;
    const { type, id, text } = json as { type?: unknown; id?: unknown; text?: unknown };
    if (type !== 'delta' || typeof id !== 'string' || id.length < 1 || id.length > 100 || typeof text !== 'string') return null;
    return { type, id, text };
}

export const parseExtensionFrame = (raw: unknown) => parseWith<ExtensionFrame>(ExtensionFrameSchema, raw, plainDelta);
export const parseServerFrame = (raw: unknown) => parseWith<ServerFrame>(ServerFrameSchema, raw);
export const encode = (frame: ExtensionFrame | ServerFrame): string => JSON.stringify(frame);

/** A model id part from any text: stable for the same text, only safe characters. */
export function slug(text: string): string {
    const s = text.normalize('NFKD').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 100);
    return s || 'x';
}
