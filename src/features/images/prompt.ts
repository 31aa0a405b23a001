/**
 * The text-LLM step that turns a chat message into an image prompt: the messages sent, the cleanup of
 * the reply, and a request to an OpenAI-compatible chat endpoint. Pure: `fetch` is passed in.
 */
import { EnsembleError } from '../../shared/errors';
import { type MessageKey, type MessageVars, translatedError } from '../../shared/i18n';
import * as z from '../../shared/zod';
import {
    AbortedError, BodyTooLargeError, abortable, apiErrorMessage, hostOf, isHtml, isHttpUrl, joinUrl, jsonHeaders, readBytes,
    readErrorMessage, redactor,
} from './http';

export interface PromptSubject {
    message: string;
    characterName: string;
    card?: { description?: string; personality?: string; scenario?: string };
    appearance?: string;
}

export interface PromptMessage {
    role: 'system' | 'user';
    content: string;
}

const filled = (s: string | undefined): s is string => typeof s === 'string' && s.trim() !== '';

/**
 * A system message (left out when the system prompt is blank) and one user message: the card fields
 * that are filled in (only with `includeCard`), the character's appearance (always: it is what the
 * picture must show), then the message. Texts are passed on exactly as written.
 */
export function buildPromptMessages(subject: PromptSubject, opts: { systemPrompt: string; includeCard: boolean }): PromptMessage[] {
    const parts: string[] = [`Character: ${subject.characterName}`];
    if (opts.includeCard && subject.card) {
        const { description, personality, scenario } = subject.card;
        if (filled(description)) parts.push(`Description:\n${description}`);
        if (filled(personality)) parts.push(`Personality:\n${personality}`);
        if (filled(scenario)) parts.push(`Scenario:\n${scenario}`);
    }
    if (filled(subject.appearance)) parts.push(`Appearance:\n${subject.appearance}`);
    parts.push(`Message from ${subject.characterName}:\n${subject.message}`);
    const user: PromptMessage = { role: 'user', content: parts.join('\n\n') };
    return filled(opts.systemPrompt) ? [{ role: 'system', content: opts.systemPrompt }, user] : [user];
}

export const MAX_PROMPT_CHARS = 1_000;

/** Pairs of quotes a model may wrap its answer in. */
const QUOTES: [string, string][] = [['"', '"'], ["'", "'"], ['`', '`'], ['“', '”'], ['‘', '’'], ['«', '»'], ['„', '“'], ['「', '」'], ['『', '』']];
const FENCE = /^```[^\n]*\n([\s\S]*?)\n?```$/;
const LABEL = /^[*_]{0,2}(?:(?:image|scene|picture|final|positive)\s+)?prompt[*_]{0,2}\s*[:：][*_]{0,2}\s*/i;
const THINK = /^<think>[\s\S]*?<\/think>/i;

function unwrap(text: string): string {
    for (const [open, close] of QUOTES) {
        if (text.length >= open.length + close.length && text.startsWith(open) && text.endsWith(close)) {
            return text.slice(open.length, text.length - close.length).trim();
        }
    }
    return text;
}

/**
 * The prompt inside a model's reply: a reasoning model's leading `<think>…</think>`, code fences,
 * wrapping quotes or backticks and a leading "Prompt:" label are removed, whitespace collapsed to
 * single spaces, and the result cut at 1,000 characters (never inside an emoji). Throws PROMPT_EMPTY
 * when nothing is left.
 */
export function cleanPromptReply(text: string): string {
    let s = text.trim().replace(THINK, '').trim();
    for (let pass = 0; pass < 5; pass++) {
        const before = s;
        const fenced = FENCE.exec(s);
        if (fenced) s = (fenced[1] ?? '').trim();
        s = unwrap(s.replace(LABEL, '').trim());
        if (s === before) break;
    }
    s = s.replace(/\s+/g, ' ').trim();
    const chars = Array.from(s);
    if (chars.length > MAX_PROMPT_CHARS) s = chars.slice(0, MAX_PROMPT_CHARS).join('').trimEnd();
    if (!s) throw translatedError('PROMPT_EMPTY', 'ensemble.images.promptEmpty');
    return s;
}

export interface PromptEndpointConfig {
    url: string;
    key: string;
    model: string;
    temperature: number;
    maxTokens: number;
}

/** OpenAI chat completion, reduced to what is used. */
export const ChatCompletionSchema = z.looseObject({
    choices: z.array(z.looseObject({ message: z.looseObject({ content: z.string() }) })),
});

const ANSWER_LIMIT = 4 * 1024 * 1024;

function failed(key: MessageKey, vars?: MessageVars, cause?: unknown): EnsembleError {
    return translatedError('PROMPT_LLM_FAILED', key, vars, cause === undefined ? undefined : { cause });
}

function contentOf(text: string, contentType: string | null): string {
    if (isHtml(text, contentType)) throw failed('ensemble.images.promptHtml');
    let body: unknown;
    try {
        body = JSON.parse(text);
    } catch {
        throw failed('ensemble.images.promptNotJson');
    }
    const parsed = ChatCompletionSchema.safeParse(body);
    if (parsed.success) {
        const first = parsed.data.choices[0];
        if (first) return first.message.content;
        throw failed('ensemble.images.promptNoChoices');
    }
    const reported = typeof body === 'object' && body !== null && 'error' in body ? apiErrorMessage(text) : undefined;
    if (reported) throw failed('ensemble.images.promptReported', { error: reported });
    const choices = (body as { choices?: unknown } | null)?.choices;
    if (Array.isArray(choices) && choices.length === 0) throw failed('ensemble.images.promptNoChoices');
    throw failed('ensemble.images.promptNoText');
}

async function request(cfg: PromptEndpointConfig, messages: PromptMessage[], deps: { fetch: typeof fetch; signal?: AbortSignal }): Promise<string> {
    const endpoint = joinUrl(cfg.url, '/chat/completions');
    const body: Record<string, unknown> = { messages, temperature: cfg.temperature, max_tokens: cfg.maxTokens, stream: false };
    if (cfg.model.trim()) body.model = cfg.model.trim();
    const init = { method: 'POST', headers: jsonHeaders(cfg.key), body: JSON.stringify(body), signal: deps.signal };
    let res: Response;
    try {
        res = await abortable(deps.fetch(endpoint, init), deps.signal);
    } catch (err) {
        if (deps.signal?.aborted) throw err;
        throw failed('ensemble.images.promptUnreachable', { host: hostOf(endpoint) }, err);
    }
    if (!res.ok) {
        const message = await readErrorMessage(res, deps.signal);
        const key = res.status === 401 || res.status === 403 ? 'ensemble.images.promptHttpKey' : 'ensemble.images.promptHttp';
        throw failed(key, { status: res.status, detail: message ? `: ${message}` : '.' });
    }
    let bytes: Uint8Array;
    try {
        bytes = await readBytes(res, ANSWER_LIMIT, deps.signal);
    } catch (err) {
        if (err instanceof BodyTooLargeError) throw failed('ensemble.images.promptTooLarge');
        if (deps.signal?.aborted || err instanceof AbortedError) throw err;
        throw failed('ensemble.images.promptBrokeOff', undefined, err);
    }
    return contentOf(new TextDecoder().decode(bytes), res.headers.get('content-type'));
}

/**
 * Asks an OpenAI-compatible chat endpoint (`POST {url}/chat/completions`, not streamed) for the image
 * prompt and returns it cleaned. Failures are PROMPT_LLM_FAILED (PROMPT_EMPTY for an empty prompt,
 * IMAGE_CANCELLED when `signal` aborts, IMAGE_NOT_CONFIGURED without a URL); no message contains the key.
 */
export async function promptViaEndpoint(cfg: PromptEndpointConfig, messages: PromptMessage[], deps: { fetch: typeof fetch; signal?: AbortSignal }): Promise<string> {
    if (!cfg.url.trim()) throw translatedError('IMAGE_NOT_CONFIGURED', 'ensemble.images.promptNoUrl');
    if (!isHttpUrl(cfg.url.trim())) throw translatedError('IMAGE_NOT_CONFIGURED', 'ensemble.images.promptBadUrl');
    const redact = redactor(cfg.key);
    let content: string;
    try {
        content = await request(cfg, messages, deps);
    } catch (err) {
        if (deps.signal?.aborted) throw translatedError('IMAGE_CANCELLED', 'ensemble.images.promptCancelled');
        if (err instanceof EnsembleError && redact(err.message) !== err.message) throw new EnsembleError(err.code, redact(err.message));
        throw err;
    }
    return cleanPromptReply(content);
}
