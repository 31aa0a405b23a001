/**
 * Waiting on SillyTavern. Real timers, never `Host.sleep`: the wait is for ST's own work (a stream, a
 * group turn, a save), which must get to run meanwhile, and a fake host's virtual clock would skip it.
 */
import { EnsembleError } from './errors';

export interface WaitOptions {
    /** Aborting it ends the wait at once, rejecting with `cancelled()`. */
    signal?: AbortSignal;
    /** How often `ok` is asked. */
    intervalMs?: number;
    /** What the wait rejects with when `signal` aborts. */
    cancelled?: () => Error;
}

const abortError = () => new EnsembleError('WAIT_CANCELLED', 'The wait was cancelled.');

/**
 * Resolves once `ok()` holds; at once when it already does. There is no time limit: the caller offers a
 * way to cancel (an AbortSignal) instead of giving up on its own.
 */
export function waitUntil(ok: () => boolean, { signal, intervalMs = 100, cancelled = abortError }: WaitOptions = {}): Promise<void> {
    return new Promise((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const onAbort = () => {
            clearTimeout(timer);
            reject(cancelled());
        };
        const check = () => {
            if (signal?.aborted) return onAbort();
            let done: boolean;
            try {
                done = ok();
            } catch (err) {
                signal?.removeEventListener('abort', onAbort);
                return reject(err);
            }
            if (!done) {
                timer = setTimeout(check, intervalMs);
                return;
            }
            signal?.removeEventListener('abort', onAbort);
            resolve();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        check();
    });
}

/** Calls `tick` now and then every `intervalMs` until `signal` aborts. */
export function every(intervalMs: number, tick: () => void, signal: AbortSignal): void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = () => {
        if (signal.aborted) return;
        tick();
        timer = setTimeout(run, intervalMs);
    };
    signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
    run();
}
