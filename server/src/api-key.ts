import type { MiddlewareHandler } from 'hono';
import { EnsembleError } from '../../src/shared/errors';
import type { ApiKey } from './key-scope';
import { RateLimiter } from './rate-limit';

/** What apiKeyAuth leaves for the handlers: the caller's key and its scope (`c.get('apiKey')`). */
export type KeyEnv = { Variables: { apiKey: ApiKey } };

/**
 * `Authorization: Bearer <key>` against the configured keys (constant-time, see keyFinder), then the
 * key's own rate limit, if it has one (429 with Retry-After). The refusal says what to send, never
 * which part was wrong, and never echoes the key.
 */
export function apiKeyAuth(identify: (key: string) => ApiKey | null, limiter = new RateLimiter()): MiddlewareHandler<KeyEnv> {
    return async (c, next) => {
        const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(c.req.header('authorization') ?? '');
        const key = match?.[1] ? identify(match[1]) : null;
        if (!key) {
            c.header('WWW-Authenticate', 'Bearer realm="ensemble-bridge"');
            throw new EnsembleError('invalid_api_key', 'Missing or wrong API key: send "Authorization: Bearer <key>" with a key of this bridge server.');
        }
        if (key.rateLimit) {
            const wait = limiter.take(key, key.rateLimit);
            if (wait > 0) {
                c.header('Retry-After', String(wait));
                const { requests, perSeconds } = key.rateLimit;
                throw new EnsembleError('rate_limit_exceeded', `Rate limit of this API key reached (${requests} requests per ${perSeconds} s); retry in ${wait} s.`);
            }
        }
        c.set('apiKey', key);
        await next();
    };
}
