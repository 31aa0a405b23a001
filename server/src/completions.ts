import type { Context } from 'hono';
import { stream, streamSSE } from 'hono/streaming';
import { parseChatRequest } from './chat-request';
import { ApiError, toApiError } from './errors';
import { chunk, completion, unixNow } from './openai-format';
import type { Relay } from './relay';
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

export interface AnswerTiming {
    /** Between keep-alive writes (SSE comments; spaces before a late JSON answer). */
    keepAliveMs: number;
    /** A non-stream answer not ready by then commits `200` and its headers (see answerJson). */
    earlyHeadersMs: number;
}

/** `POST /v1/chat/completions`: validation, then a JSON answer or an SSE stream. */
export function chatCompletions(relay: Relay, timing: AnswerTiming) {
    return async (c: Context) => {
        let body: string;
        try {
            body = await c.req.text();
        } catch (err) {
            // The client went away (or broke the framing) while sending: nothing to answer, nothing to log.
            throw new ApiError('invalid_request', 'The request body could not be read.', { cause: err });
        }
        const req = parseChatRequest(body);
        return req.stream ? answerStream(c, relay, req, timing.keepAliveMs) : answerJson(c, relay, req, timing);
    };
}

interface Reply { text: string; finishReason: FinishReason }

/**
 * Submits a non-stream request (a synchronous throw keeps its status: no tab, unknown model, queue full).
 * `reply` has the whole text, or rejects with the failure, the client leaving included.
 */
function submitWhole(relay: Relay, req: RelayRequest, signal: AbortSignal): { id: string; reply: Promise<Reply> } {
    let resolve!: (r: Reply) => void;
    let reject!: (err: ApiError) => void;
    const reply = new Promise<Reply>((res, rej) => { resolve = res; reject = rej; });
    let streamed = '';
    const ticket = relay.submit(req, {
        delta: (text) => { streamed += text; },
        // done.text is the whole reply; the deltas are a fallback for a tab that sends it empty.
        done: (text, finishReason) => resolve({ text: text || streamed, finishReason }),
        fail: reject,
    });
    const onAbort = () => {
        ticket.cancel();
        reject(clientLeft());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    const cleanup = () => signal.removeEventListener('abort', onAbort);
    reply.then(cleanup, cleanup);
    return { id: ticket.id, reply };
}

/** Resolves with null after `ms`, or with the reply if it comes first; a failure in time rejects. */
async function within(reply: Promise<Reply>, ms: number): Promise<Reply | null> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), ms); });
    try {
        return await Promise.race([reply, late]);
    } finally {
        clearTimeout(timer);
    }
}

/**
 * A JSON answer with its proper status, if it is ready within `earlyHeadersMs`. Otherwise `200` and the
 * headers go out at once and a space every `keepAliveMs` (leading whitespace is valid JSON), then the
 * completion: clients such as NextChat give up when no headers arrive within 60 s, and a request can
 * wait in the queue for longer. A failure after that point can only be the error body under the 200.
 */
async function answerJson(c: Context, relay: Relay, req: RelayRequest, timing: AnswerTiming): Promise<Response> {
    const { id, reply } = submitWhole(relay, req, c.req.raw.signal);
    const toJson = (r: Reply) => completion(id, req.model, req.messages, r.text, r.finishReason);
    const early = await within(reply, timing.earlyHeadersMs);
    if (early) return c.json(toJson(early));

    c.header('content-type', 'application/json');
    return stream(c, async (out) => {
        const keepAlive = setInterval(() => void out.write(' '), timing.keepAliveMs);
        try {
            await out.write(' ');
            // A client that left has rejected `reply` (and cancelled the ticket); writes to it are dropped.
            const body = await reply.then(toJson, (err: unknown) => toApiError(err).body);
            clearInterval(keepAlive);
            await out.write(JSON.stringify(body));
        } finally {
            clearInterval(keepAlive);
        }
    });
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
            // The role chunk goes out before the tab answers: clients that wait for a first chunk (or
            // for headers, which node may hold until the first write) see the answer has begun.
            wrote = true;
            await stream.write(sse(chunk(ticket.id, created, req.model, { role: 'assistant' })));
            // Events that are ready together go out in one write: one syscall and packet, not one per event.
            let out = '';
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
