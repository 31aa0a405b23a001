import type { ChatRef, ChatTarget, Host } from '../../host/host';
import { errorMessage } from '../../shared/errors';
import { t } from '../../shared/i18n';
import { log, MODULE_NAME } from '../../shared/log';
import * as z from '../../shared/zod';

export const JOURNAL_KEY = `${MODULE_NAME}_bridge_journal`;
/** A running request refreshes its entry this often… */
export const JOURNAL_BEAT_MS = 1_000;
/** …so an entry older than this was left by a page that is gone (reloaded, crashed or closed). */
export const JOURNAL_STALE_MS = 4_000;

const TargetSchema = z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('character'), avatar: z.string() }),
    z.object({ kind: z.literal('group'), id: z.string() }),
]);
const PlaceSchema = z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('character'), avatar: z.string(), file: z.string() }),
    z.object({ kind: z.literal('group'), id: z.string(), chatId: z.string() }),
    z.object({ kind: z.literal('none') }),
]);
const EntrySchema = z.object({
    /** The request's target, and its own "current chat" before the bridge borrowed it. */
    target: TargetSchema,
    own: z.string(),
    /** Where the user was. */
    back: PlaceSchema,
    at: z.number(),
});
export type JournalEntry = z.infer<typeof EntrySchema>;

/**
 * A small record, in this browser's own storage, of what a bridge request changed while it runs: its target,
 * the target's own chat pointer and the user's place. It is written before the first chat switch and removed
 * once both are put back, so a page that was reloaded, crashed or closed mid-request leaves it behind, and
 * the next start repairs from it.
 */
export class BridgeJournal {
    private beat: ReturnType<typeof setInterval> | null = null;

    constructor(private readonly host: Host) {}

    begin(target: ChatTarget, own: string, back: ChatRef): void {
        const entry: JournalEntry = { target, own, back, at: this.host.now() };
        this.host.localStore.set(JOURNAL_KEY, entry);
        this.stopBeat();
        this.beat = setInterval(() => this.host.localStore.set(JOURNAL_KEY, { ...entry, at: this.host.now() }), JOURNAL_BEAT_MS);
    }

    end(): void {
        this.stopBeat();
        this.host.localStore.remove(JOURNAL_KEY);
    }

    get active(): boolean {
        return this.beat !== null;
    }

    /**
     * Repairs what an interrupted request left: the target's "current chat" is its own again (in memory and on
     * disk), and the user is back where they were, ST's welcome screen included. An entry another live page of
     * this browser is still refreshing is left alone; a malformed one is dropped with a warning. Returns
     * whether it repaired something.
     */
    repair(): Promise<boolean> {
        // APP_READY and the bridge's link may both ask at start: one repair at a time.
        this.repairing ??= this.repairOnce().finally(() => { this.repairing = null; });
        return this.repairing;
    }

    private repairing: Promise<boolean> | null = null;

    private async repairOnce(): Promise<boolean> {
        if (this.active) return false;
        const raw = this.host.localStore.get(JOURNAL_KEY);
        if (raw === undefined) return false;
        const parsed = EntrySchema.safeParse(raw);
        if (!parsed.success) {
            log.warn('bridge journal: dropping a malformed entry', z.prettifyError(parsed.error));
            this.host.localStore.remove(JOURNAL_KEY);
            return false;
        }
        const entry = parsed.data;
        const age = this.host.now() - entry.at;
        if (age < JOURNAL_STALE_MS) {
            // Perhaps another tab of this browser is mid-request: look again once it would have gone stale.
            setTimeout(() => void this.repair(), JOURNAL_STALE_MS - age + 100);
            return false;
        }
        try {
            if (this.host.chatPointer(entry.target) !== entry.own && entry.own) await this.host.saveChatPointer(entry.target, entry.own);
            await this.host.openChatRef(entry.back);
            this.host.localStore.remove(JOURNAL_KEY);
            this.host.toast('info', t('ensemble.bridge.journalRepaired'), t('ensemble.bridge.toastTitle'));
            return true;
        } catch (err) {
            this.host.toast('warning', t('ensemble.bridge.journalRepairFailed', { error: errorMessage(err) }), t('ensemble.bridge.toastTitle'));
            return false;
        }
    }

    private stopBeat(): void {
        if (this.beat) clearInterval(this.beat);
        this.beat = null;
    }
}
