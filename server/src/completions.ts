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

/** The relay pushes outcomes as they come; the SSE writer takes them one at a time, at its own pace. */
class Outcomes {
    private readonly items: Outcome[] = [];
    private waiter: ((o: Outcome) => void) | null = null;

    push(o: Outcome): void {
        const w = this.waiter;
        this.waiter = null;
        if (w) w(o);
        else this.items.push(o);
    }

    next(): Promise<Outcome> {
        const o = this.items.shift();
        return o ? Promise.resolve(o) : new Promise((resolve) => { this.waiter = resolve; });
    }
}

const clientLeft = () => new ApiError('cancelled', 'The client closed the request.');

/** `POST /v1/chat/completions`: validation, then a JSON answer or an SSE stream. */
export function chatCompletions(relay: Relay, keepAliveMs: number) {
    return async (c: Context) => {
        const req = parseChatRequest(await c.req.text());
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
        let wrote = true;
        const keepAlive = setInterval(() => {
            if (!wrote) void stream.write(': keep-alive\n\n');
            wrote = false;
        }, keepAliveMs);
        const send = (data: unknown) => {
            wrote = true;
            return stream.writeSSE({ data: JSON.stringify(data) });
        };

        try {
            await send(chunk(ticket.id, created, req.model, { role: 'assistant' }));
            let streamed = '';
            for (;;) {
                const o = await outcomes.next();
                if (o.kind === 'delta') {
                    if (!o.text) continue;
                    streamed += o.text;
                    await send(chunk(ticket.id, created, req.model, { content: o.text }));
                    continue;
                }
                if (o.kind === 'done') {
                    // done.text is the whole reply: send what the deltas did not (all of it when there were none).
                    const rest = o.text.startsWith(streamed) ? o.text.slice(streamed.length) : '';
                    if (rest) await send(chunk(ticket.id, created, req.model, { content: rest }));
                    await send(chunk(ticket.id, created, req.model, {}, o.finishReason));
                } else {
                    // openai-node throws an APIError for an `error` event carrying `{error: {...}}`.
                    await stream.writeSSE({ event: 'error', data: JSON.stringify(o.error.body) });
                }
                break;
            }
            await stream.writeSSE({ data: '[DONE]' });
        } finally {
            clearInterval(keepAlive);
            signal.removeEventListener('abort', stop);
        }
    });
}
