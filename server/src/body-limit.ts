import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { EnsembleError } from '../../src/shared/errors';
import { isApiError } from './errors';

/**
 * hono's bodyLimit, with its Content-Length branch taken first: hono reads `c.req.raw.body` before
 * looking at the header, which makes @hono/node-server build a full web Request and ReadableStream
 * for every request (over a tenth of the server's CPU per completion in bench/bridge.mjs). With a
 * Content-Length, Node's parser already holds the body to that length, so the header check is
 * enough and c.req.text() reads the body directly. Chunked bodies still go through hono's counter.
 */
export function limitBody(maxSize: number): MiddlewareHandler {
    const tooLarge = (): never => { throw new EnsembleError('payload_too_large', `The request body is larger than ${maxSize} bytes.`); };
    const counted = bodyLimit({ maxSize, onError: tooLarge });
    return async (c, next) => {
        const length = c.req.header('content-length');
        if (length === undefined || c.req.header('transfer-encoding') !== undefined) {
            let reading = true;
            try {
                return await counted(c, () => { reading = false; return next(); });
            } catch (err) {
                // hono's counter reads the whole body before the handler runs: a client that went away
                // mid-upload (or broke the chunked framing) fails here, like c.req.text() in completions.
                if (!reading || isApiError(err)) throw err;
                throw new EnsembleError('invalid_request', 'The request body could not be read.', { cause: err });
            }
        }
        if (!/^\d+$/.test(length) || Number(length) > maxSize) return tooLarge();
        await next();
    };
}
