import type { ChatMessage } from '../../protocol';
import { t } from '../../shared/i18n';

/** Side tasks: requests a client makes for itself (a title, a summary); the default patterns are in settings/schema.ts. */

/** Why `source` is not a usable pattern, or null when it is. */
export function patternError(source: string): string | null {
    if (!source.trim()) return t('ensemble.nextchat.patternEmpty');
    try {
        new RegExp(source, 'iu');
        return null;
    } catch (err) {
        return err instanceof Error ? err.message : String(err);
    }
}

export function compilePatterns(sources: readonly string[]): RegExp[] {
    return sources.filter((s) => patternError(s) === null).map((s) => new RegExp(s, 'iu'));
}

export function isSideTask(messages: readonly ChatMessage[], patterns: readonly RegExp[]): boolean {
    const last = messages.at(-1);
    return !!last && patterns.some((p) => p.test(last.content.trim()));
}

/**
 * A side task as one prompt for ST's generateRaw (no chat, no card): the task is the system prompt,
 * the messages before it a plain transcript.
 */
export function sideTaskPrompt(messages: readonly ChatMessage[]): { system: string; prompt: string } {
    const task = messages.at(-1)?.content ?? '';
    const prompt = messages.slice(0, -1).map((m) => `${m.role}: ${m.content}`).join('\n\n');
    return { system: task, prompt: prompt || task };
}
