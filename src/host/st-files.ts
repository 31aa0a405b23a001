import { translatedError } from '../shared/i18n';
import { ctx } from './st-context';
import { importStModule, importStRoot } from './st-modules';

/** Files in and out of the browser (downloads, a file picked by the user) and ST's character import. */
export function createFileAccess(doc: Document) {
    return {
        async copyText(text: string): Promise<void> {
            try {
                await navigator.clipboard.writeText(text);
            } catch {
                // Pages served over plain http on another host than localhost have no async clipboard.
                const area = doc.createElement('textarea');
                area.value = text;
                area.style.position = 'fixed';
                area.style.opacity = '0';
                doc.body.append(area);
                area.select();
                const ok = doc.execCommand('copy');
                area.remove();
                if (!ok) throw translatedError('CLIPBOARD_DENIED', 'ensemble.errors.clipboardDenied');
            }
        },

        /** ST's own download helper (utils.js). */
        async downloadText(fileName: string, text: string, mime = 'application/json'): Promise<void> {
            (await importStModule<{ download(content: string, name: string, type: string): void }>('utils.js')).download(text, fileName, mime);
        },

        pickTextFile(accept: string): Promise<{ name: string; text: string } | null> {
            return new Promise((resolve, reject) => {
                const input = doc.createElement('input');
                input.type = 'file';
                input.accept = accept;
                input.hidden = true;
                doc.body.append(input);
                const done = () => input.remove();
                input.addEventListener('cancel', done, { once: true });
                input.addEventListener('change', () => {
                    done();
                    const file = input.files?.[0];
                    if (!file) return resolve(null);
                    if (file.size > 20 * 1024 * 1024) return reject(translatedError('FILE_TOO_LARGE', 'ensemble.errors.fileTooLarge', { name: file.name, megabytes: 20 }));
                    file.text().then((text) => resolve({ name: file.name, text }), reject);
                }, { once: true });
                input.addEventListener('cancel', () => resolve(null), { once: true });
                input.click();
            });
        },

        /** ST's /api/characters/import with a JSON (V2) card, as its own Import button sends it; the new avatar's file name. */
        async importCharacterCard(fileName: string, card: unknown): Promise<string> {
            const form = new FormData();
            form.append('avatar', new File([JSON.stringify(card)], fileName, { type: 'application/json' }));
            form.append('file_type', 'json');
            const headers = ctx().getRequestHeaders() as Record<string, string>;
            delete headers['Content-Type'];
            const res = await fetch('/api/characters/import', { method: 'POST', headers, body: form, cache: 'no-cache' });
            const body = (await res.json().catch(() => ({}))) as { file_name?: unknown; error?: unknown };
            if (!res.ok || body.error || typeof body.file_name !== 'string') {
                throw translatedError('ST_REQUEST_FAILED', 'ensemble.errors.stImportFailed', { name: fileName, status: res.status });
            }
            return `${body.file_name}.png`;
        },

        /** Reloads ST's character list (after an import), as ST does after its own. */
        async refreshCharacters(): Promise<void> {
            // Not on ST 1.12.6's context: script.js exports it.
            await (await importStRoot<{ getCharacters(): Promise<void> }>('script.js')).getCharacters();
        },
    };
}
