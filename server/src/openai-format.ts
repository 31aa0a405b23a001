import type { ModelInfo } from '../../src/protocol/index';
import type { ChatMessage } from '../../src/protocol/index';
import type { FinishReason } from './tab';

/** OpenAI's response shapes, built in one place so stream and non-stream answers agree. */

const now = () => Math.floor(Date.now() / 1000);

/** ST does not report token counts; ~4 characters per token is the usual rough estimate. */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

export function modelList(models: ModelInfo[], created: number) {
    return {
        object: 'list' as const,
        data: models.map((m) => ({ id: m.id, object: 'model' as const, created, owned_by: 'sillytavern', name: m.name })),
    };
}

export function completion(id: string, model: string, messages: ChatMessage[], content: string, finishReason: FinishReason) {
    const prompt = estimateTokens(messages.map((m) => m.content).join('\n'));
    const reply = estimateTokens(content);
    return {
        id,
        object: 'chat.completion' as const,
        created: now(),
        model,
        choices: [{ index: 0, message: { role: 'assistant' as const, content, refusal: null }, logprobs: null, finish_reason: finishReason }],
        usage: { prompt_tokens: prompt, completion_tokens: reply, total_tokens: prompt + reply },
    };
}

export type ChunkDelta = { role: 'assistant' } | { content: string } | Record<string, never>;

export function chunk(id: string, created: number, model: string, delta: ChunkDelta, finishReason: FinishReason | null = null) {
    return {
        id,
        object: 'chat.completion.chunk' as const,
        created,
        model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    };
}

/**
 * A content chunk's SSE event as `sse(chunk(id, created, model, {content: text}))` writes it, with the
 * fixed part serialized once per stream: only the text is stringified per delta.
 */
export function chunkWriter(id: string, created: number, model: string): (text: string) => string {
    const whole = JSON.stringify(chunk(id, created, model, { content: '\u0000' }));
    const at = whole.indexOf('"\\u0000"');
    const head = `data: ${whole.slice(0, at)}`;
    const tail = `${whole.slice(at + '"\\u0000"'.length)}\n\n`;
    return (text) => head + JSON.stringify(text) + tail;
}

export { now as unixNow };
