import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { parseChatRequest } from './chat-request';
import { ApiError } from './errors';
import { chunk, completion, unixNow } from './openai-format';
import type { Relay, Ticket } from './relay';
import type { FinishReason, RelayRequest } from './relay-types';

type Outcome =
    | { kind: 'delta'; text: string }
    | { kind: 'done'; text: string; finishReason: FinishReason }
    | { kind: 'fail'; error: ApiError };

/** The relay pushes outcomes as they come; the SSE writer takes all that are waiting at its own pace. */
class Outcomes {
    private items: Outcome[] = [];
    private waiter: (() => void) | null = null;

    push(o: Outcome): void {
        this.items.push(o);
        const w = this.waiter;
        this.waiter = null;
        w?.();
    }

    /** Everything that arrived since the last call; waits for at least one. */
    async takeAll(): Promise<Outcome[]> {
        if (!this.items.length) await new Promise<void>((resolve) => { this.waiter = resolve; });
        const all = this.items;
        this.items = [];
        return all;
    }
}

/** One SSE event. JSON.stringify never emits a raw newline, so the payload is a single data line. */
const sse = (data: unknown, event?: string) => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;

const clientLeft = () => new ApiError('cancelled', 'The client closed the request.');

/** `POST /v1/chat/completions`: validation, then a JSON answer or an SSE stream. */
export function chatCompletions(relay: Relay, keepAliveMs: number) {
    return async (c: Context) => {
        let body: string;
        try {
            body = await c.req.text();
        } catch (err) {
            // The client went away (or broke the framing) while sending: nothing to answer, nothing to log.
            throw new ApiError('invalid_request', 'The request body could not be read.', { cause: err });
        }
        const req = parseChatRequest(body);
        return req.stream ? answerStream(c, relay, req, keepAliveMs) : answerJson(c, relay, req);
    };
}

async function answerJson(c: Context, relay: Relay, req: RelayRequest): Promise<Response> {
    const signal = c.req.raw.signal;
    let ticket: Ticket | undefined;
    let onAbort = () => undefined as void;
    try {
        const result = await new Promise<{ text: string; finishReason: FinishReason }>((resolve, reject) => {
            let streamed = '';
            ticket = relay.submit(req, {
                delta: (text) => { streamed += text; },
                // done.text is the whole reply; the deltas are a fallback for a tab that sends it empty.
                done: (text, finishReason) => resolve({ text: text || streamed, finishReason }),
                fail: reject,
            });
            onAbort = () => {
                ticket?.cancel();
                reject(clientLeft());
            };
            signal.addEventListener('abort', onAbort, { once: true });
            if (signal.aborted) onAbort();
        });
        return c.json(completion((ticket as Ticket).id, req.model, req.messages, result.text, result.finishReason));
    } finally {
        signal.removeEventListener('abort', onAbort);
    }
}

function answerStream(c: Context, relay: Relay, req: RelayRequest, keepAliveMs: number): Response {
    const outcomes = new Outcomes();
    // Submitted before the stream opens, so "no tab", "unknown model" and "queue full" keep their status codes.
    const ticket = relay.submit(req, {
        delta: (text) => outcomes.push({ kind: 'delta', text }),
        done: (text, finishReason) => outcomes.push({ kind: 'done', text, finishReason }),
        fail: (error) => outcomes.push({ kind: 'fail', error }),
    });
    const created = unixNow();
    const signal = c.req.raw.signal;

    return streamSSE(c, async (stream) => {
        const stop = () => {
            ticket.cancel();
            outcomes.push({ kind: 'fail', error: clientLeft() });
        };
        stream.onAbort(stop);
        signal.addEventListener('abort', stop, { once: true });
        if (signal.aborted) stop();

        // An SSE comment while nothing else is sent keeps clients and proxies with idle timeouts waiting.
        let wrote = false;
        const keepAlive = setInterval(() => {
            if (!wrote) void stream.write(': keep-alive\n\n');
            wrote = false;
        }, keepAliveMs);

        try {
            // Events that are ready together go out in one write: one syscall and packet, not one per event.
            let out = sse(chunk(ticket.id, created, req.model, { role: 'assistant' }));
            let streamed = '';
            for (let end = false; !end;) {
                for (const o of await outcomes.takeAll()) {
                    if (o.kind === 'delta') {
                        if (!o.text) continue;
                        streamed += o.text;
                        out += sse(chunk(ticket.id, created, req.model, { content: o.text }));
                        continue;
                    }
                    if (o.kind === 'done') {
                        // done.text is the whole reply: send what the deltas did not (all of it when there were none).
                        const rest = o.text.startsWith(streamed) ? o.text.slice(streamed.length) : '';
                        if (rest) out += sse(chunk(ticket.id, created, req.model, { content: rest }));
                        out += sse(chunk(ticket.id, created, req.model, {}, o.finishReason));
                    } else {
                        // openai-node throws an APIError for an `error` event carrying `{error: {...}}`.
                        out += sse(o.error.body, 'error');
                    }
                    out += sse('[DONE]');
                    end = true;
                    break;
                }
                if (out) {
                    wrote = true;
                    await stream.write(out);
                    out = '';
                }
            }
        } finally {
            clearInterval(keepAlive);
            signal.removeEventListener('abort', stop);
        }
    });
}
