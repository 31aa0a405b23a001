import type { Host } from '../../host/host';
import type { ChatMessage } from '../../protocol';
import { MODULE_NAME } from '../../shared/log';
import * as z from '../../shared/zod';

export const SESSIONS_KEY = `${MODULE_NAME}_bridge_sessions`;
/** Bridge chats remembered per model; the oldest are forgotten (their chat files stay in ST). */
export const MAX_SESSIONS_PER_MODEL = 1000;
/**
 * Clients that send only the last few turns (NextChat: the last 4 stored messages) are matched by the
 * hash of that tail: the last 2, 3 or 4 turns. Fewer than 2 turns is too little to tell conversations apart.
 */
export const TAIL_SIZES = [2, 3, 4] as const;

const SessionSchema = z.object({
    file: z.string(), hash: z.string(), at: z.number(),
    /** Hashes of the last 2, 3 and 4 turns (TAIL_SIZES); sessions stored before tails existed have none. */
    tails: z._default(z.array(z.string()), () => []),
});
const SessionsSchema = z.record(z.string(), z.array(SessionSchema));
type Session = z.infer<typeof SessionSchema>;

/** cyrb53: a fast, well-spread 53-bit string hash (not for security: only to recognise a conversation). */
function hash53(text: string, seed = 0): string {
    let h1 = 0xdeadbeef ^ seed;
    let h2 = 0x41c6ce57 ^ seed;
    for (let i = 0; i < text.length; i++) {
        const ch = text.charCodeAt(i);
        h1 = Math.imul(h1 ^ ch, 2654435761);
        h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

type Turn = Pick<ChatMessage, 'role' | 'content'>;
/** The turns that identify a conversation: user and assistant, trimmed (system messages never count). */
const turnsOf = (messages: readonly Turn[]) => messages.filter((m) => m.role === 'user' || m.role === 'assistant').map((m) => `${m.role}\u0000${m.content.trim()}`);

/** Hashes of the last 2, 3 and 4 turns ('' where the conversation is shorter). */
function tailHashes(turns: readonly string[]): string[] {
    return TAIL_SIZES.map((n) => (turns.length >= n ? hash53(turns.slice(-n).join('\u0001')) : ''));
}

/**
 * Which ST bridge chat holds which conversation, so a request whose earlier messages match one
 * continues it (only the newest user turn is added). Kept in ST's settings, validated on read.
 */
export class SessionIndex {
    private sessions: Record<string, Session[]>;

    constructor(private readonly host: Host) {
        const parsed = SessionsSchema.safeParse(host.readSettings(SESSIONS_KEY) ?? {});
        this.sessions = parsed.success ? parsed.data : {};
    }

    /**
     * The bridge chat whose conversation is `history`: the whole of it, or (a client that sends only a window)
     * whose last 4, 3 or 2 turns are the history's last ones. The most recently used wins; the whole-history
     * match first. Two conversations that end in the same turns are taken for one (documented).
     */
    find(model: string, history: readonly Turn[]): Session | undefined {
        const list = this.sessions[model];
        if (!list?.length) return undefined;
        const turns = turnsOf(history);
        const whole = hash53(turns.join('\u0001'));
        const exact = list.find((s) => s.hash === whole);
        if (exact) return exact;
        // Longest tail first: the more turns agree, the surer the match.
        for (let slot = TAIL_SIZES.length - 1; slot >= 0; slot--) {
            const n = TAIL_SIZES[slot] ?? 0;
            if (turns.length < n) continue;
            const tail = hash53(turns.slice(-n).join('\u0001'));
            const hit = list.find((s) => s.tails[slot] === tail);
            if (hit) return hit;
        }
        return undefined;
    }

    /** Records that `file` now holds `conversation` (history + the new turn and its reply). */
    remember(model: string, file: string, conversation: readonly Turn[]): void {
        const list = (this.sessions[model] ?? []).filter((s) => s.file !== file);
        const turns = turnsOf(conversation);
        list.unshift({ file, hash: hash53(turns.join('\u0001')), at: this.host.now(), tails: tailHashes(turns) });
        this.sessions[model] = list.slice(0, MAX_SESSIONS_PER_MODEL);
        this.host.writeSettings(SESSIONS_KEY, this.sessions);
    }
}
