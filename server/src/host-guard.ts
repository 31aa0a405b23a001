import type { MiddlewareHandler } from 'hono';
import { EnsembleError } from '../../src/shared/errors';
import { type ApiError, clip } from './errors';
import { printable } from './log';
import { hostAllowed } from './origins';

/** The refusal for a `Host` outside the allowlist, on HTTP and on the WebSocket upgrade alike. */
export function hostRefused(header: string | undefined): ApiError {
    const shown = header ? `'${clip(printable(header), 80)}'` : 'no Host header';
    return new EnsembleError('host_not_allowed', `This bridge server does not answer requests for ${shown}: it answers loopback names and the names given with --allowed-host.`);
}

/**
 * Refuses requests whose `Host` is not a loopback name or an allowed name (DNS rebinding: a page
 * whose name resolves to 127.0.0.1 must not read the API), before CORS, auth or any route runs.
 */
export function hostGuard(names: readonly string[]): MiddlewareHandler {
    return async (c, next) => {
        const header = c.req.header('host');
        if (!hostAllowed(header, names)) throw hostRefused(header);
        await next();
    };
}
