import { translatedError } from '../shared/i18n';
import type { HostMessage } from './host';
import { ctx } from './st-context';
import { importStRoot } from './st-modules';

interface ScriptModule {
    generateRaw(prompt: string, api: string, instructOverride: boolean, quietToLoud: boolean, systemPrompt: string, responseLength: number): Promise<string>;
}

/** Shifts the `mesid` of every shown message after `index` by one, as ST's private updateViewMessageIds does. */
function shiftShownIds(doc: Document, index: number): void {
    const shown = [...doc.querySelectorAll<HTMLElement>('#chat .mes')];
    for (const el of shown.reverse()) {
        const id = Number(el.getAttribute('mesid'));
        if (!Number.isInteger(id) || id <= index) continue;
        el.setAttribute('mesid', String(id + 1));
        const label = el.querySelector('.mesIDDisplay');
        if (label) label.textContent = `#${id + 1}`;
    }
}

function markLast(doc: Document): void {
    const all = doc.querySelectorAll('#chat .mes');
    all.forEach((el) => el.classList.remove('last_mes'));
    all[all.length - 1]?.classList.add('last_mes');
}

/** Chat reading and writing through ST's own functions. */
export function createChatAccess(doc: Document) {
    return {
        chat: () => ctx().chat,
        chatId: () => ctx().getCurrentChatId() || undefined,

        async insertMessageAfter(index: number, message: HostMessage): Promise<number> {
            const c = ctx();
            if (!Number.isInteger(index) || index < 0 || index >= c.chat.length) {
                throw translatedError('MESSAGE_NOT_FOUND', 'ensemble.errors.messageNotFound', { index });
            }
            const id = index + 1;
            c.chat.splice(id, 0, message);
            // ST's copy-message flow: splice, render in place, renumber. addOneMessage can't insert after #0
            // (it tests `insertAfter` for truthiness), so render before the following message instead.
            shiftShownIds(doc, index);
            const next = doc.querySelector(`#chat .mes[mesid="${id + 1}"]`);
            const source = doc.querySelector(`#chat .mes[mesid="${index}"]`);
            if (next) c.addOneMessage(message, { insertBefore: id + 1, forceId: id, scroll: false });
            else if (source) c.addOneMessage(message, { forceId: id, scroll: false });
            markLast(doc);
            await c.saveChat();
            return id;
        },

        async uploadImage(dataUrl: string, folder: string, filename: string): Promise<string> {
            const res = await fetch('/api/images/upload', {
                method: 'POST',
                headers: ctx().getRequestHeaders(),
                body: JSON.stringify({ image: dataUrl, ch_name: folder, filename }),
            });
            const body = (await res.json().catch(() => null)) as { path?: unknown; error?: unknown } | null;
            if (!res.ok || typeof body?.path !== 'string') {
                throw typeof body?.error === 'string'
                    ? translatedError('IMAGE_SAVE_FAILED', 'ensemble.errors.imageSaveFailedDetail', { status: res.status, error: body.error })
                    : translatedError('IMAGE_SAVE_FAILED', 'ensemble.errors.imageSaveFailed', { status: res.status });
            }
            return body.path;
        },

        async chatCompletion(body: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
            const res = await fetch('/api/backends/chat-completions/generate', {
                method: 'POST', headers: ctx().getRequestHeaders(), body: JSON.stringify(body), signal,
            });
            if (!res.ok) throw translatedError('PROMPT_LLM_FAILED', 'ensemble.errors.chatCompletionFailed', { status: res.status });
            return res.json().catch(() => {
                throw translatedError('PROMPT_LLM_FAILED', 'ensemble.errors.chatCompletionNotJson');
            });
        },

        async generateRaw(prompt: string, systemPrompt: string, maxTokens: number): Promise<string> {
            const script = await importStRoot<ScriptModule>('script.js');
            return script.generateRaw(prompt, '', false, false, systemPrompt, maxTokens);
        },
    };
}
