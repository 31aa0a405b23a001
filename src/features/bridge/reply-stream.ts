import type { HostMessage } from '../../host/host';

/**
 * The documented shape of a group model's reply: every member's message, in the order they spoke,
 * each led by the speaker's name in bold, separated by a blank line:
 *
 *     **Alice:** Hello there.
 *
 *     **Bob:** Hi!
 */
export const speakerHeader = (name: string, first: boolean) => `${first ? '' : '\n\n'}**${name}:** `;

export function formatGroupReply(messages: readonly Pick<HostMessage, 'name' | 'mes'>[]): string {
    return messages.map((m, i) => speakerHeader(m.name, i === 0) + m.mes).join('');
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A group reply (as a client sends it back in its history) split into the members' messages. Text before
 * the first known speaker goes to `fallback` (the group's first member): nothing the client sent is lost.
 */
export function parseGroupReply(text: string, members: readonly string[], fallback: string): { name: string; mes: string }[] {
    if (!members.length) return [{ name: fallback, mes: text }];
    const names = [...members].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|');
    const header = new RegExp(`(?:^|\\n\\n)\\*\\*(${names}):\\*\\* `, 'g');
    const out: { name: string; mes: string }[] = [];
    let name = fallback;
    let from = 0;
    for (const m of text.matchAll(header)) {
        const before = text.slice(from, m.index);
        if (m.index > 0 || before) out.push({ name, mes: before });
        name = m[1] ?? fallback;
        from = m.index + m[0].length;
    }
    out.push({ name, mes: text.slice(from) });
    return out.filter((p, i) => p.mes.trim() || i === out.length - 1);
}

/**
 * Turns ST's generation into protocol deltas. STREAM_TOKEN_RECEIVED carries the current message's whole
 * text so far, so each message is diffed against what was sent of it; in a group each message gets its
 * speaker's header before its first text. `finish` sends whatever ST did not stream.
 */
export class ReplyStream {
    /** Everything sent so far, headers included. */
    sent = '';
    private part: { header: string; text: string; started: boolean } | null;

    constructor(private readonly group: boolean, private readonly emit: (text: string) => void) {
        this.part = group ? null : { header: '', text: '', started: false };
    }

    /** A group member was drafted: its message comes next. */
    member(name: string): void {
        if (this.group) this.part = { header: speakerHeader(name, this.sent === ''), text: '', started: false };
    }

    token(cumulative: string): void {
        const p = this.part;
        if (!p || !cumulative.startsWith(p.text) || cumulative.length === p.text.length) return;
        this.push(p, cumulative);
    }

    /** A group member's message is complete (MESSAGE_RECEIVED): send what the tokens did not carry. */
    message(m: Pick<HostMessage, 'name' | 'mes'>): void {
        if (!this.group) return;
        const part = this.part ?? { header: speakerHeader(m.name, this.sent === ''), text: '', started: false };
        if (m.mes.startsWith(part.text) && (m.mes.length > part.text.length || !part.started)) this.push(part, m.mes);
        this.part = null;
    }

    /** The whole reply as the client gets it in `done`: sends the rest when the deltas are a prefix of it. */
    finish(full: string): void {
        if (full.startsWith(this.sent) && full.length > this.sent.length) {
            const rest = full.slice(this.sent.length);
            this.sent = full;
            this.emit(rest);
        }
    }

    private push(p: { header: string; text: string; started: boolean }, cumulative: string): void {
        const out = (p.started ? '' : p.header) + cumulative.slice(p.text.length);
        p.started = true;
        p.text = cumulative;
        this.sent += out;
        this.emit(out);
    }
}
