import { EnsembleError } from '../../shared/errors';
import { abortable } from './http';

/** One server-sent event: its `event:` name ('message' when absent) and its `data:` lines joined by "\n". */
export interface SseEvent {
    event: string;
    data: string;
}

/** Thrown when one event grows past the decoder's limit (an endless line, or an endless event). */
export class SseEventTooLargeError extends EnsembleError<'SSE_EVENT_TOO_LARGE'> {
    constructor() {
        super('SSE_EVENT_TOO_LARGE', 'server-sent event too large');
        this.name = 'SseEventTooLargeError';
    }
}

/**
 * Incremental decoder for `text/event-stream` (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
 * Lines end in LF, CRLF or a lone CR, and a chunk may end anywhere: inside a line, between the CR
 * and LF of one CRLF (so a LF that starts the next chunk is not a second, empty line), or inside a
 * multi-byte character (the TextDecoder's `stream` mode keeps those bytes for the next chunk).
 * Comments (`:…`) and fields other than `data` and `event` are ignored. Unlike the spec, an event
 * left without its closing blank line when the stream ends is still delivered: some servers omit it.
 */
export class SseDecoder {
    private readonly text = new TextDecoder();
    private pending: string[] = [];
    private pendingSize = 0;
    private skipLf = false;
    private data: string[] = [];
    private dataSize = 0;
    private event = '';

    constructor(private readonly maxEventChars = Number.POSITIVE_INFINITY) {}

    push(chunk: Uint8Array): SseEvent[] {
        return this.lines(this.text.decode(chunk, { stream: true }), false);
    }

    end(): SseEvent[] {
        const out = this.lines(this.text.decode(), true);
        const last = this.dispatch();
        return last ? [...out, last] : out;
    }

    private lines(text: string, final: boolean): SseEvent[] {
        if (this.skipLf && text) {
            if (text.startsWith('\n')) text = text.slice(1);
            this.skipLf = false;
        }
        const out: SseEvent[] = [];
        const eol = /\r\n|\r|\n/g;
        let start = 0;
        // Only the new text is searched and an unfinished line is kept in pieces, so a long line costs O(n).
        for (let m = eol.exec(text); m; m = eol.exec(text)) {
            // A CR that ends the chunk may be the first half of a CRLF split across chunks.
            if (m[0] === '\r' && m.index === text.length - 1) this.skipLf = true;
            const ev = this.line(this.takePending() + text.slice(start, m.index));
            if (ev) out.push(ev);
            start = m.index + m[0].length;
        }
        if (start < text.length) {
            this.pending.push(text.slice(start));
            this.pendingSize += text.length - start;
        }
        if (final && this.pendingSize > 0) {
            const ev = this.line(this.takePending());
            if (ev) out.push(ev);
        }
        if (this.pendingSize + this.dataSize > this.maxEventChars) throw new SseEventTooLargeError();
        return out;
    }

    private takePending(): string {
        const s = this.pending.join('');
        this.pending = [];
        this.pendingSize = 0;
        return s;
    }

    private line(line: string): SseEvent | undefined {
        if (line === '') return this.dispatch();
        if (line.startsWith(':')) return undefined;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') {
            this.data.push(value);
            this.dataSize += value.length + 1;
            if (this.dataSize > this.maxEventChars) throw new SseEventTooLargeError();
        } else if (field === 'event') {
            this.event = value;
        }
        return undefined;
    }

    private dispatch(): SseEvent | undefined {
        const ev = this.data.length ? { event: this.event || 'message', data: this.data.join('\n') } : undefined;
        this.data = [];
        this.dataSize = 0;
        this.event = '';
        return ev;
    }
}

/**
 * The events of a byte stream, as they arrive. Each read is abortable by `signal` (rejecting with
 * AbortedError); the stream is cancelled when the loop ends early, by error or abort.
 */
export async function* readSse(body: ReadableStream<Uint8Array>, signal?: AbortSignal, maxEventChars?: number): AsyncGenerator<SseEvent> {
    const decoder = new SseDecoder(maxEventChars);
    const reader = body.getReader();
    let finished = false;
    try {
        for (;;) {
            const { done, value } = await abortable(reader.read(), signal);
            if (done) break;
            yield* decoder.push(value);
        }
        finished = true;
        yield* decoder.end();
    } finally {
        if (!finished) void reader.cancel().catch(() => undefined);
    }
}
