import type { Host } from '../../host/host';
import type { ChatMessage } from '../../protocol';
import { MODULE_NAME } from '../../shared/log';
import * as z from '../../shared/zod';

export const SESSIONS_KEY = `${MODULE_NAME}_bridge_sessions`;
/** Bridge chats remembered per model; the oldest are forgotten (their chat files stay in ST). */
export const MAX_SESSIONS_PER_MODEL = 200;

const SessionSchema = z.object({ file: z.string(), hash: z.string(), at: z.number() });
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

/** The conversation as a client sees it: user and assistant turns, trimmed. */
export function conversationHash(messages: readonly Pick<ChatMessage, 'role' | 'content'>[]): string {
    const turns = messages.filter((m) => m.role === 'user' || m.role === 'assistant').map((m) => `${m.role}\u0000${m.content.trim()}`);
    return hash53(turns.join('\u0001'));
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

    find(model: string, history: readonly ChatMessage[]): Session | undefined {
        const h = conversationHash(history);
        return this.sessions[model]?.find((s) => s.hash === h);
    }

    /** Records that `file` now holds `conversation` (history + the new turn and its reply). */
    remember(model: string, file: string, conversation: readonly ChatMessage[]): void {
        const list = (this.sessions[model] ?? []).filter((s) => s.file !== file);
        list.unshift({ file, hash: conversationHash(conversation), at: this.host.now() });
        this.sessions[model] = list.slice(0, MAX_SESSIONS_PER_MODEL);
        this.host.writeSettings(SESSIONS_KEY, this.sessions);
    }
}
