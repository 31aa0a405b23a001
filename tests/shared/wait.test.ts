import { describe, expect, it } from 'vitest';
import { every, waitUntil } from '../../src/shared/wait';

describe('waitUntil', () => {
    it('resolves at once when the condition already holds', async () => {
        let asked = 0;
        await waitUntil(() => { asked++; return true; }, { intervalMs: 10_000 });
        expect(asked).toBe(1);
    });

    it('asks again on a real timer until the condition holds', async () => {
        let ready = false;
        setTimeout(() => { ready = true; }, 60);
        const t0 = Date.now();
        await waitUntil(() => ready, { intervalMs: 10 });
        expect(Date.now() - t0).toBeGreaterThanOrEqual(50);
    });

    it('rejects with the caller\'s error when the signal aborts, and stops asking', async () => {
        const abort = new AbortController();
        let asked = 0;
        const wait = waitUntil(() => { asked++; return false; }, { signal: abort.signal, intervalMs: 10, cancelled: () => new Error('stopped by the user') });
        setTimeout(() => abort.abort(), 40);
        await expect(wait).rejects.toThrow('stopped by the user');
        const after = asked;
        await new Promise((r) => setTimeout(r, 50));
        expect(asked).toBe(after);
    });

    it('rejects at once on a signal aborted before the wait', async () => {
        const abort = new AbortController();
        abort.abort();
        await expect(waitUntil(() => true, { signal: abort.signal })).rejects.toThrow('cancelled');
    });

    it('passes on an error the condition throws', async () => {
        await expect(waitUntil(() => { throw new Error('ST went away'); })).rejects.toThrow('ST went away');
    });
});

describe('every', () => {
    it('ticks now, then on its interval, until the signal aborts', async () => {
        const abort = new AbortController();
        let ticks = 0;
        every(10, () => { ticks++; }, abort.signal);
        expect(ticks).toBe(1);
        await new Promise((r) => setTimeout(r, 55));
        abort.abort();
        const stopped = ticks;
        expect(stopped).toBeGreaterThanOrEqual(3);
        await new Promise((r) => setTimeout(r, 40));
        expect(ticks).toBe(stopped);
    });
});
