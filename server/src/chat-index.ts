import fs from 'node:fs';
import path from 'node:path';
import { ChatIndexDataSchema, ConversationIndex, type ChatIndexData } from '../../src/protocol/conversations';
import { EnsembleError } from '../../src/shared/errors';
import * as z from '../../src/shared/zod';
import type { Logger } from './log';

export const CHAT_INDEX_FILE = 'bridge-chats.json';

const FileSchema = z.object({ version: z.literal(1), chats: ChatIndexDataSchema });

/**
 * The one index of bridge chats for every linked tab, in the server's data folder next to its secrets.
 * Read once at start (validated); written after each change through a private temp file and a rename,
 * so the file is never half-written. A file that can't be read is moved aside (never deleted) and the
 * index starts fresh, with one clear log line.
 */
export class ChatIndexStore {
    readonly index: ConversationIndex;
    private dirty = false;
    private writing: Promise<void> | null = null;

    private constructor(private readonly file: string | null, data: ChatIndexData, private readonly log: Logger) {
        this.index = new ConversationIndex(data);
    }

    /** In memory only (tests, or a server without a data folder). */
    static memory(log: Logger): ChatIndexStore {
        return new ChatIndexStore(null, {}, log);
    }

    static open(file: string, log: Logger): ChatIndexStore {
        return new ChatIndexStore(file, ChatIndexStore.read(file, log), log);
    }

    private static read(file: string, log: Logger): ChatIndexData {
        let text: string;
        try {
            text = fs.readFileSync(file, 'utf8');
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
            throw new EnsembleError('CHAT_INDEX_UNREADABLE', `${file} could not be read: ${(err as Error).message}`);
        }
        let problem: string;
        try {
            const parsed = FileSchema.safeParse(JSON.parse(text));
            if (parsed.success) return parsed.data.chats;
            problem = z.prettifyError(parsed.error).split('\n').slice(0, 3).join('; ');
        } catch {
            problem = 'not valid JSON';
        }
        const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        fs.renameSync(file, aside);
        log.error(`${file} was unreadable (${problem}); kept it as ${path.basename(aside)} and started a fresh index of bridge chats `
            + '(those conversations continue in new bridge chats; nothing in SillyTavern was touched).');
        return {};
    }

    /** Call after changing `index`: the file follows as soon as the previous write finished. */
    changed(): void {
        if (!this.file) return;
        this.dirty = true;
        this.writing ??= this.writeLoop();
    }

    /** Resolves once every change so far is on disk. */
    async flush(): Promise<void> {
        while (this.writing) await this.writing;
    }

    private async writeLoop(): Promise<void> {
        const file = this.file as string;
        try {
            while (this.dirty) {
                this.dirty = false;
                const text = `${JSON.stringify({ version: 1, chats: this.index.data() })}\n`;
                const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
                try {
                    await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
                    await fs.promises.writeFile(tmp, text, { mode: 0o600 });
                    await fs.promises.rename(tmp, file);
                } catch (err) {
                    this.log.error(`could not write ${file}: ${(err as Error).message}; the index stays in memory and is written with the next change`);
                    return;
                }
            }
        } finally {
            this.writing = null;
        }
    }
}
