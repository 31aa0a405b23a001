import type { RateLimit } from './key-scope';

/**
 * A sliding-window log per key: at most `requests` in any `perSeconds` window. Each key keeps at most
 * `requests` timestamps; refused requests are not recorded, so a client retrying early does not
 * push its own window back.
 */
export class RateLimiter {
    private readonly hits = new WeakMap<object, number[]>();

    constructor(private readonly now: () => number = Date.now) {}

    /** Records a request for `key`: 0 when it may go ahead, else the whole seconds until one may. */
    take(key: object, limit: RateLimit): number {
        const now = this.now();
        const windowMs = limit.perSeconds * 1000;
        const log = this.hits.get(key) ?? [];
        this.hits.set(key, log);
        while (log.length && (log[0] as number) <= now - windowMs) log.shift();
        if (log.length >= limit.requests) return Math.max(1, Math.ceil(((log[0] as number) + windowMs - now) / 1000));
        log.push(now);
        return 0;
    }
}
