import type { ChatMessage } from '../../src/protocol/index';
import * as z from '../../src/shared/zod';
import { EnsembleError } from '../../src/shared/errors';
import type { RelayRequest } from './tab';

const TextPartSchema = z.object({ type: z.literal('text'), text: z.string() });

const MessageSchema = z.object({
    role: z.enum(['system', 'developer', 'user', 'assistant']),
    content: z.union([z.string(), z.array(TextPartSchema)]),
    name: z.optional(z.string().check(z.maxLength(200))),
});

/** OpenAI clients send `null` for "not set" as often as they leave a field out. */
const num = () => z.nullish(z.number());

/** The part of OpenAI's chat completion request the bridge honours; other fields are ignored. */
export const ChatRequestSchema = z.object({
    model: z.string().check(z.minLength(1), z.maxLength(300)),
    messages: z.array(MessageSchema).check(z.minLength(1), z.maxLength(10_000)),
    stream: z.nullish(z.boolean()),
    temperature: num(),
    top_p: num(),
    presence_penalty: num(),
    frequency_penalty: num(),
    max_tokens: z.nullish(z.int().check(z.positive())),
    max_completion_tokens: z.nullish(z.int().check(z.positive())),
});
export type ChatRequest = z.infer<typeof ChatRequestSchema>;

/** Parses a raw body into what the relay sends to the tab, or throws a 400 ApiError naming the field. */
export function parseChatRequest(raw: string): RelayRequest {
    let json: unknown;
    try {
        json = JSON.parse(raw);
    } catch {
        throw new EnsembleError('invalid_json', 'The request body is not valid JSON.');
    }
    if (!json || typeof json !== 'object' || Array.isArray(json)) throw new EnsembleError('invalid_request', 'The request body must be a JSON object.');
    const parsed = ChatRequestSchema.safeParse(json);
    if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const param = issue?.path.length ? issue.path.map(String).join('.') : null;
        throw new EnsembleError('invalid_request', `Invalid request: ${z.prettifyError(parsed.error).slice(0, 1000)}`, { param });
    }
    const b = parsed.data;
    const params: RelayRequest['params'] = {};
    if (b.temperature != null) params.temperature = b.temperature;
    if (b.top_p != null) params.top_p = b.top_p;
    if (b.presence_penalty != null) params.presence_penalty = b.presence_penalty;
    if (b.frequency_penalty != null) params.frequency_penalty = b.frequency_penalty;
    const maxTokens = b.max_completion_tokens ?? b.max_tokens;
    if (maxTokens != null) params.max_tokens = maxTokens;
    return { model: b.model, messages: b.messages.map(flatten), stream: b.stream === true, params };
}

/** Text parts become one string, a newline between parts so their words do not run together. */
function flatten(m: z.infer<typeof MessageSchema>): ChatMessage {
    const content = typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('\n');
    return m.name === undefined ? { role: m.role, content } : { role: m.role, content, name: m.name };
}
