/**
 * Which ST bridge chat holds which conversation, so that a request whose earlier messages match one
 * continues it (only the newest user turn is added in ST). Pure logic, shared by the bridge server,
 * which keeps the one index for every linked tab in its data folder, and by the extension, which
 * migrates the index older versions kept in ST's settings. No DOM and no Node APIs in this module.
 */
import * as z from '../shared/zod';

/** Bridge chats remembered per model; the oldest are forgotten (their chat files stay in ST). */
export const MAX_CHATS_PER_MODEL = 1000;
/**
 * Clients that send only the last few turns (NextChat: the last 4 stored messages) are matched by the
 * hash of that tail: the last 2, 3 or 4 turns. Fewer than 2 turns is too little to tell conversations apart.
 */
export const TAIL_SIZES = [2, 3, 4] as const;

export const ChatEntrySchema = z.object({
    file: z.string().check(z.minLength(1), z.maxLength(300)),
    hash: z.string().check(z.maxLength(40)),
    at: z.number(),
    /** Hashes of the last 2, 3 and 4 turns (TAIL_SIZES); entries stored before tails existed have none. */
    tails: z._default(z.array(z.string().check(z.maxLength(40))).check(z.maxLength(TAIL_SIZES.length)), () => []),
});
/** model id → its bridge chats, most recently used first. */
export const ChatIndexDataSchema = z.record(z.string().check(z.maxLength(200)), z.array(ChatEntrySchema));
export type ChatEntry = z.infer<typeof ChatEntrySchema>;
export type ChatIndexData = z.infer<typeof ChatIndexDataSchema>;

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

/** A message as the index reads it (the protocol's ChatMessage has these two fields). */
export interface Turn { role: string; content: string }
/** The turns that identify a conversation: user and assistant, trimmed (system messages never count). */
const turnsOf = (messages: readonly Turn[]) => messages.filter((m) => m.role === 'user' || m.role === 'assistant').map((m) => `${m.role}\u0000${m.content.trim()}`);

/** Hashes of the last 2, 3 and 4 turns ('' where the conversation is shorter). */
function tailHashes(turns: readonly string[]): string[] {
    return TAIL_SIZES.map((n) => (turns.length >= n ? hash53(turns.slice(-n).join('\u0001')) : ''));
}

export class ConversationIndex {
    constructor(private chats: ChatIndexData = {}, private readonly now: () => number = Date.now) {}

    /**
     * The bridge chat whose conversation is `history`: the whole of it, or (a client that sends only a window)
     * whose last 4, 3 or 2 turns are the history's last ones. The most recently used wins; the whole-history
     * match first. Two conversations that end in the same turns are taken for one (documented).
     */
    find(model: string, history: readonly Turn[]): ChatEntry | undefined {
        const list = this.chats[model];
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

    /** The chat a request continues: its messages up to (not including) its last turn, the new user message. */
    findFor(model: string, messages: readonly Turn[]): ChatEntry | undefined {
        const turns = messages.filter((m) => m.role === 'user' || m.role === 'assistant');
        return this.find(model, turns.slice(0, -1));
    }

    /** Records that `file` now holds `conversation` (history + the new turn and its reply). */
    remember(model: string, file: string, conversation: readonly Turn[]): void {
        const list = (this.chats[model] ?? []).filter((s) => s.file !== file);
        const turns = turnsOf(conversation);
        list.unshift({ file, hash: hash53(turns.join('\u0001')), at: this.now(), tails: tailHashes(turns) });
        this.chats[model] = list.slice(0, MAX_CHATS_PER_MODEL);
    }

    /**
     * Adds entries from another index (older versions kept one per ST tab, in ST's settings). An entry for a
     * file the index already knows keeps whichever was used last; each model stays most recent first, capped.
     * Returns how many entries were new.
     */
    merge(other: ChatIndexData): number {
        let added = 0;
        for (const [model, entries] of Object.entries(other)) {
            const byFile = new Map((this.chats[model] ?? []).map((e) => [e.file, e]));
            for (const e of entries) {
                const mine = byFile.get(e.file);
                if (!mine) added++;
                if (!mine || mine.at < e.at) byFile.set(e.file, e);
            }
            this.chats[model] = [...byFile.values()].sort((a, b) => b.at - a.at).slice(0, MAX_CHATS_PER_MODEL);
        }
        return added;
    }

    data(): ChatIndexData {
        return this.chats;
    }

    get size(): number {
        return Object.values(this.chats).reduce((n, list) => n + list.length, 0);
    }
}
