import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors';

/**
 * `Authorization: Bearer <key>` against the configured keys (constant-time, see secretMatcher).
 * The refusal says what to send, never which part was wrong, and never echoes the key.
 */
export function apiKeyAuth(check: (key: string) => boolean): MiddlewareHandler {
    return async (c, next) => {
        const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(c.req.header('authorization') ?? '');
        if (!match?.[1] || !check(match[1])) {
            c.header('WWW-Authenticate', 'Bearer realm="ensemble-bridge"');
            throw new ApiError('invalid_api_key', 'Missing or wrong API key: send "Authorization: Bearer <key>" with a key of this bridge server.');
        }
        await next();
    };
}
