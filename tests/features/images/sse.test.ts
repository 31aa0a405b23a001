// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { AbortedError } from '../../../src/features/images/http';
import { SseDecoder, SseEventTooLargeError, readSse, type SseEvent } from '../../../src/features/images/sse';
import { chunked, seeded, splitBytes } from './fetch-fakes';

function decodeChunks(chunks: Uint8Array[], max?: number): SseEvent[] {
    const d = new SseDecoder(max);
    return [...chunks.flatMap((c) => d.push(c)), ...d.end()];
}
const decode = (text: string) => decodeChunks([new TextEncoder().encode(text)]);

async function collect(stream: ReadableStream<Uint8Array>, signal?: AbortSignal): Promise<SseEvent[]> {
    const out: SseEvent[] = [];
    for await (const ev of readSse(stream, signal)) out.push(ev);
    return out;
}

describe('SseDecoder', () => {
    it('delivers one event per blank line, with the default name "message"', () => {
        expect(decode('data: one\n\ndata: two\n\n')).toEqual([{ event: 'message', data: 'one' }, { event: 'message', data: 'two' }]);
    });

    it('joins several data lines of one event with newlines and keeps the event name', () => {
        expect(decode('event: image_generation.completed\ndata: {"a":\ndata: 1}\n\n')).toEqual([
            { event: 'image_generation.completed', data: '{"a":\n1}' },
        ]);
    });

    it('ignores comments, unknown fields and blank lines without data', () => {
        expect(decode(': keep-alive\n\nid: 7\nretry: 100\n\n\ndata: x\n\n')).toEqual([{ event: 'message', data: 'x' }]);
    });

    it('removes only one space after the colon and accepts no space at all', () => {
        expect(decode('data:a\n\ndata:  b\n\n').map((e) => e.data)).toEqual(['a', ' b']);
    });

    it('understands CRLF and lone CR line ends', () => {
        expect(decode('data: a\r\n\r\ndata: b\r\rdata: c\n\n').map((e) => e.data)).toEqual(['a', 'b', 'c']);
    });

    it('does not read the LF of a CRLF split across two chunks as a second, empty line', () => {
        // Were the LF taken for a blank line, "a" and "b" would arrive as two events.
        const events = decodeChunks(splitBytes('data: a\r\ndata: b\r\n\r\n', [8]));
        expect(events).toEqual([{ event: 'message', data: 'a\nb' }]);
    });

    it('still delivers the last event when the stream ends without a blank line', () => {
        expect(decode('data: last').map((e) => e.data)).toEqual(['last']);
    });

    it('keeps multi-byte characters cut between chunks intact', () => {
        const text = 'data: 猫が窓辺で眠る — Größe 🎨\n\n';
        const bytes = new TextEncoder().encode(text);
        for (let cut = 1; cut < bytes.length; cut++) {
            expect(decodeChunks(splitBytes(text, [cut]))[0]?.data, `cut at byte ${cut}`).toBe('猫が窓辺で眠る — Größe 🎨');
        }
    });

    it('gives the same events however a CRLF stream is cut, at every single position and pair of positions', () => {
        const text = ': hi\r\nevent: e\r\ndata: {"x":1}\r\ndata: more\r\n\r\ndata: [DONE]\r\n\r\n';
        const expected = [{ event: 'e', data: '{"x":1}\nmore' }, { event: 'message', data: '[DONE]' }];
        const n = new TextEncoder().encode(text).length;
        for (let a = 1; a < n; a++) {
            expect(decodeChunks(splitBytes(text, [a])), `cut at ${a}`).toEqual(expected);
            for (let b = a + 1; b < n; b += 3) expect(decodeChunks(splitBytes(text, [a, b])), `cuts at ${a},${b}`).toEqual(expected);
        }
    });

    it('gives the same events when fed one byte at a time', () => {
        const text = 'data: a\r\n\r\ndata: b\r\rdata: c\n\n';
        const cuts = Array.from({ length: text.length }, (_, i) => i);
        expect(decodeChunks(splitBytes(text, cuts)).map((e) => e.data)).toEqual(['a', 'b', 'c']);
    });

    it('throws SseEventTooLargeError when one line grows past the limit before it ends', () => {
        const d = new SseDecoder(100);
        d.push(new TextEncoder().encode(`data: ${'A'.repeat(60)}`));
        expect(() => d.push(new TextEncoder().encode('A'.repeat(60)))).toThrow(SseEventTooLargeError);
    });

    it('throws SseEventTooLargeError when many data lines add up past the limit', () => {
        const lines = Array.from({ length: 10 }, () => `data: ${'B'.repeat(20)}\n`).join('');
        expect(() => decodeChunks([new TextEncoder().encode(lines)], 100)).toThrow(SseEventTooLargeError);
        expect(decodeChunks([new TextEncoder().encode(`${lines}\n`)], 1000)).toHaveLength(1);
    });
});

describe('readSse', () => {
    it('reads events from a ReadableStream cut mid-line and mid-CRLF at pseudo-random places', async () => {
        const events = Array.from({ length: 20 }, (_, i) => `event: n${i}\r\ndata: {"i":${i},"s":"äöü 日本 🎉"}\r\n\r\n`).join('');
        const random = seeded(42);
        for (let round = 0; round < 25; round++) {
            const total = new TextEncoder().encode(events).length;
            const cuts = Array.from({ length: 1 + Math.floor(random() * 40) }, () => Math.floor(random() * total));
            const got = await collect(chunked(splitBytes(events, cuts)).stream);
            expect(got.map((e) => e.event)).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`));
            expect(got.map((e) => JSON.parse(e.data) as { i: number; s: string })[19]).toEqual({ i: 19, s: 'äöü 日本 🎉' });
        }
    });

    it('stops with AbortedError and cancels the stream when the signal aborts while waiting', async () => {
        const body = chunked(['data: first\n\n'], { stall: true });
        const ctl = new AbortController();
        const seen: string[] = [];
        const reading = (async () => {
            for await (const ev of readSse(body.stream, ctl.signal)) {
                seen.push(ev.data);
                setTimeout(() => ctl.abort(), 5);
            }
        })();
        await expect(reading).rejects.toBeInstanceOf(AbortedError);
        expect(seen).toEqual(['first']);
        expect(body.stats.cancelled).toBe(true);
    });

    it('cancels the stream when the consumer stops early', async () => {
        const body = chunked(['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n']);
        for await (const ev of readSse(body.stream)) if (ev.data === '1') break;
        expect(body.stats.cancelled).toBe(true);
        expect(body.stats.pulled).toBeLessThan(3);
    });
});
