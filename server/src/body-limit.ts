import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError } from './errors';

/**
 * hono's bodyLimit, with its Content-Length branch taken first: hono reads `c.req.raw.body` before
 * looking at the header, which makes @hono/node-server build a full web Request and ReadableStream
 * for every request (over a tenth of the server's CPU per completion in bench/bridge.mjs). With a
 * Content-Length, Node's parser already holds the body to that length, so the header check is
 * enough and c.req.text() reads the body directly. Chunked bodies still go through hono's counter.
 */
export function limitBody(maxSize: number): MiddlewareHandler {
    const tooLarge = (): never => { throw new ApiError('payload_too_large', `The request body is larger than ${maxSize} bytes.`); };
    const counted = bodyLimit({ maxSize, onError: tooLarge });
    return async (c, next) => {
        const length = c.req.header('content-length');
        if (length === undefined || c.req.header('transfer-encoding') !== undefined) return counted(c, next);
        if (!/^\d+$/.test(length) || Number(length) > maxSize) return tooLarge();
        await next();
    };
}
