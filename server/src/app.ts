import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { apiKeyAuth, type KeyEnv } from './api-key';
import { limitBody } from './body-limit';
import { hostGuard } from './host-guard';
import { chatCompletions } from './completions';
import { EnsembleError } from '../../src/shared/errors';
import { type ApiError, httpStatus, openAiBody, toApiError } from './errors';
import { modelAllowed, type ApiKey } from './key-scope';
import type { Logger } from './log';
import { modelList } from './openai-format';
import type { Relay } from './relay';
import type { SessionInfo } from './st-sessions';

export interface AppOptions {
    relay: Relay;
    /** The server's own ST sessions for /health; null when it runs none. */
    sessions?: () => SessionInfo[] | null;
    /** The configured key a Bearer token equals, with its scope; null for none. */
    identifyKey: (key: string) => ApiKey | null;
    /** `Host` names served besides loopback ones (normalized, see origins.ts). */
    allowedHosts: readonly string[];
    /** Browser origins allowed to call the API (CORS); empty: none. */
    corsOrigins: readonly string[];
    bodyLimit: number;
    keepAliveMs: number;
    earlyHeadersMs: number;
    log: Logger;
}

function fromHttpException(err: HTTPException): ApiError {
    if (err.status === 413) return new EnsembleError('payload_too_large', 'The request body is too large.');
    if (err.status < 500) return new EnsembleError('invalid_request', err.message || 'Invalid request.');
    return toApiError(err);
}

/** The OpenAI-compatible HTTP API. Every error is answered as `{error: {message, type, param, code}}`. */
export function createApp(o: AppOptions): Hono<KeyEnv> {
    const app = new Hono<KeyEnv>();
    const started = Math.floor(Date.now() / 1000);

    app.use('*', hostGuard(o.allowedHosts));
    // An explicit allowlist: hono's cors() defaults to `*`. Preflights end here, before auth.
    app.use('*', cors({
        origin: (origin) => (o.corsOrigins.includes(origin) ? origin : null),
        allowMethods: ['GET', 'POST', 'OPTIONS'],
        allowHeaders: ['authorization', 'content-type'],
        maxAge: 600,
    }));

    app.get('/health', (c) => {
        const { tabs, queued } = o.relay.stats();
        const sessions = o.sessions?.() ?? null;
        return c.json({ ok: true, tabs, queued, ...(sessions ? { sessions } : {}) });
    });

    app.use('/v1/*', apiKeyAuth(o.identifyKey));
    app.get('/v1/models', (c) => {
        const key = c.get('apiKey');
        return c.json(modelList(o.relay.models().filter((m) => modelAllowed(key, m.id)), started));
    });
    app.post('/v1/chat/completions', limitBody(o.bodyLimit), chatCompletions(o.relay, { keepAliveMs: o.keepAliveMs, earlyHeadersMs: o.earlyHeadersMs }));

    app.notFound((c) => {
        const err = new EnsembleError('not_found', `There is no ${c.req.method} ${new URL(c.req.url).pathname.slice(0, 100)} here.`);
        return c.json(openAiBody(err), 404);
    });
    app.onError((raw, c) => {
        const err = raw instanceof HTTPException ? fromHttpException(raw) : toApiError(raw);
        if (err.code === 'internal_error') o.log.error(`${c.req.method} ${new URL(c.req.url).pathname.slice(0, 100)}: ${raw instanceof Error ? raw.message : String(raw)}`);
        return c.json(openAiBody(err), httpStatus(err) as ContentfulStatusCode);
    });
    return app;
}
