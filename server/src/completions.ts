import type { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import { stream } from 'hono/streaming';
import { parseChatRequest } from './chat-request';
import type { KeyEnv } from './api-key';
import { EnsembleError } from '../../src/shared/errors';
import { type ApiError, openAiBody, toApiError, unknownModel } from './errors';
import { modelAllowed } from './key-scope';
import { chunk, chunkWriter, completion, unixNow } from './openai-format';
import type { Relay } from './relay';
import type { FinishReason, RelayRequest } from './tab';

/** One SSE event. JSON.stringify never emits a raw newline, so the payload is a single data line. */
const sse = (data: unknown, event?: string) => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;

const clientLeft = () => new EnsembleError('cancelled', 'The client closed the request.');

export interface AnswerTiming {
    /** Between keep-alive writes (SSE comments; spaces before a late JSON answer). */
    keepAliveMs: number;
    /** A non-stream answer not ready by then commits `200` and its headers (see answerJson). */
    earlyHeadersMs: number;
}

/** `POST /v1/chat/completions`: validation, then a JSON answer or an SSE stream. */
export function chatCompletions(relay: Relay, timing: AnswerTiming) {
    return async (c: Context<KeyEnv>) => {
        let body: string;
        try {
            body = await c.req.text();
        } catch (err) {
            // The client went away (or broke the framing) while sending: nothing to answer, nothing to log.
            throw new EnsembleError('invalid_request', 'The request body could not be read.', { cause: err });
        }
        const req = parseChatRequest(body);
        // A model outside the key's scope is answered as a missing one. With no tab linked the relay
        // answers no_tab for any model, so it answers this one too.
        if (!modelAllowed(c.get('apiKey'), req.model) && relay.stats().tabs > 0) throw unknownModel(req.model);
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
    // Submitted before the headers go out, so "no tab", "unknown model" and "queue full" keep their status codes.
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
            const body = await reply.then(toJson, (err: unknown) => openAiBody(toApiError(err)));
            clearInterval(keepAlive);
            await out.write(JSON.stringify(body));
        } finally {
            clearInterval(keepAlive);
        }
    });
}

/** The node response under @hono/node-server (its `env.outgoing`); the SSE path writes to it directly. */
function outgoingOf(c: Context): ServerResponse {
    const out = (c.env as { outgoing?: unknown } | undefined)?.outgoing;
    if (!out) throw new EnsembleError('INTERNAL', 'Streaming answers need @hono/node-server (c.env.outgoing).');
    return out as ServerResponse;
}

/**
 * The SSE answer, written straight to node's ServerResponse: hono's streamSSE goes through a
 * TransformStream that @hono/node-server reads back chunk by chunk (promises and copies per delta,
 * most of the server's CPU per delta in bench/bridge.mjs). Headers set by middleware (CORS) are
 * taken from `c.res`; the handler then returns RESPONSE_ALREADY_SENT.
 */
function answerStream(c: Context, relay: Relay, req: RelayRequest, keepAliveMs: number): Response {
    const res = outgoingOf(c);
    const created = unixNow();
    let streamed = '';
    let ended = false;
    // Events that arrive together (one socket read from the tab) go out in one write: one syscall, not one per event.
    let pending = '';
    let flushQueued = false;
    // An SSE comment while nothing else is sent keeps clients and proxies with idle timeouts waiting.
    let wrote = false;
    const flush = () => {
        flushQueued = false;
        if (!pending) return;
        wrote = true;
        if (!res.destroyed) res.write(pending);
        pending = '';
    };
    const send = (text: string) => {
        pending += text;
        if (!flushQueued) {
            flushQueued = true;
            process.nextTick(flush);
        }
    };
    // Set once the ticket has its id; the relay calls no sink before submit returns.
    let contentChunk = (text: string): string => text;
    /** Marks the answer over (once): false when it already was. */
    const settle = () => {
        if (ended) return false;
        ended = true;
        clearInterval(keepAlive);
        res.off('close', onClose);
        return true;
    };
    const end = (last: string) => {
        if (!settle()) return;
        flush();
        if (!res.destroyed) res.end(last);
    };
    // Submitted before the headers go out, so "no tab", "unknown model" and "queue full" keep their status codes.
    const ticket = relay.submit(req, {
        delta: (text) => {
            if (ended || !text) return;
            streamed += text;
            send(contentChunk(text));
        },
        done: (text, finishReason) => {
            // done.text is the whole reply: send what the deltas did not (all of it when there were none).
            const rest = text.startsWith(streamed) ? text.slice(streamed.length) : '';
            end(`${rest ? contentChunk(rest) : ''}${sse(chunk(ticket.id, created, req.model, {}, finishReason))}${sse('[DONE]')}`);
        },
        // openai-node throws an APIError for an `error` event carrying `{error: {...}}`.
        fail: (error) => end(`${sse(openAiBody(error), 'error')}${sse('[DONE]')}`),
    });
    contentChunk = chunkWriter(ticket.id, created, req.model);

    const keepAlive = setInterval(() => {
        if (!wrote && !ended && !res.destroyed) res.write(': keep-alive\n\n');
        wrote = false;
    }, keepAliveMs);
    // The client left before the end: the tab is told to stop (a finished response closes with writableFinished).
    function onClose() {
        if (settle()) ticket.cancel();
    }
    res.on('close', onClose);

    // Middleware headers (CORS) first; hono's cors adds `Vary: Origin` only after the handler returns.
    const headers: Record<string, string | string[]> = {};
    c.res.headers.forEach((value, key) => { headers[key] = value; });
    // As hono's cors() with an origin function does after every response (see app.ts).
    headers.vary = headers.vary ? `${String(headers.vary)}, Origin` : 'Origin';
    headers['content-type'] = 'text/event-stream';
    headers['cache-control'] = 'no-cache';
    headers.connection = 'keep-alive';
    res.writeHead(200, headers);
    // The role chunk goes out before the tab answers: clients that wait for a first chunk (or for
    // headers, which node may hold until the first write) see the answer has begun.
    wrote = true;
    res.write(sse(chunk(ticket.id, created, req.model, { role: 'assistant' })));
    if (res.destroyed) onClose();
    return RESPONSE_ALREADY_SENT;
}
