import type { Host } from '../../host/host';
import { EnsembleError } from '../../shared/errors';
import { t } from '../../shared/i18n';
import { every } from '../../shared/wait';
import previewHtml from '../../../templates/image-preview.html';
import type { GeneratedImage } from './image-api';

export const PREVIEW_RESULT = { discard: 0, accept: 1, regenerate: 2, newPrompt: 3 } as const;

export type PreviewChoice =
    | { action: 'accept'; index: number; prompt: string }
    | { action: 'regenerate'; prompt: string }
    | { action: 'newPrompt' }
    | { action: 'discard' };

/**
 * What the preview may show: our own data URLs, an http(s) URL the API gave that CORS kept us from reading, or a
 * picture ST's Image Generation already stored (its path under the user's images, served by ST).
 */
export type PreviewImage =
    | Extract<GeneratedImage, { kind: 'data' }>
    | { kind: 'url'; url: string; corsBlocked: true }
    | { kind: 'stored'; path: string };

/**
 * The preview in ST's popup: the image(s), the editable prompt, and Accept / Regenerate / New prompt /
 * Discard. With several images a click selects one. Image sources are set as properties on elements
 * we create, never as markup. While ST generates, a line says an accepted picture waits for it.
 */
export async function showPreview(host: Host, images: readonly PreviewImage[], prompt: string): Promise<PreviewChoice> {
    const frag = host.dom.fragment(previewHtml);
    const root = frag.querySelector<HTMLElement>('.ensemble-preview');
    const box = frag.querySelector<HTMLElement>('[data-ens="images"]');
    const note = frag.querySelector<HTMLElement>('[data-ens="note"]');
    const busy = frag.querySelector<HTMLElement>('[data-ens="busy"]');
    const text = frag.querySelector<HTMLTextAreaElement>('[data-ens="prompt"]');
    if (!root || !box || !note || !busy || !text) throw new EnsembleError('TEMPLATE_INVALID', 'preview template is incomplete');
    text.value = prompt;
    // ST's popup (a <dialog>) focuses the element marked autofocus when it opens; set here, DOMPurify drops the attribute.
    text.autofocus = true;
    let selected = 0;
    const select = (i: number) => {
        selected = i;
        shown.forEach((s, j) => {
            s.classList.toggle('selected', j === i);
            if (shown.length > 1) s.setAttribute('aria-pressed', String(j === i));
        });
    };
    const shown = images.map((img, i) => {
        const el = root.ownerDocument.createElement('img');
        el.src = img.kind === 'data' ? img.dataUrl : img.kind === 'stored' ? img.path : img.url;
        el.referrerPolicy = 'no-referrer';
        el.alt = t('ensemble.images.previewImageAlt', { number: i + 1 });
        el.addEventListener('click', () => select(i));
        if (images.length > 1) {
            // A choice to make: reachable with Tab, picked with Enter or Space like a toggle button.
            el.tabIndex = 0;
            el.setAttribute('role', 'button');
            el.addEventListener('keydown', (e) => {
                if (e.key !== 'Enter' && e.key !== ' ') return;
                e.preventDefault();
                select(i);
            });
        }
        return el;
    });
    select(0);
    box.append(...shown);
    if (images.some((i) => i.kind === 'url')) {
        note.textContent = t('ensemble.images.previewCorsNote');
        note.hidden = false;
    } else if (images.some((i) => i.kind === 'stored')) {
        note.textContent = t('ensemble.images.previewStoredNote');
        note.hidden = false;
    } else if (images.length > 1) {
        note.textContent = t('ensemble.images.previewPick');
        note.hidden = false;
    }
    // While ST generates, a line says Accept will wait for it (the flow never inserts during a generation).
    const open = new AbortController();
    every(250, () => { busy.hidden = !host.isGenerating(); }, open.signal);
    const result = await host.popup(root, {
        okButton: t('ensemble.images.previewAccept'),
        cancelButton: t('ensemble.images.previewDiscard'),
        customButtons: [
            { text: t('ensemble.images.previewRegenerate'), result: PREVIEW_RESULT.regenerate },
            { text: t('ensemble.images.previewNewPrompt'), result: PREVIEW_RESULT.newPrompt },
        ],
        wide: true,
    }).finally(() => open.abort());
    switch (result) {
        case PREVIEW_RESULT.accept: return { action: 'accept', index: selected, prompt: text.value.trim() || prompt };
        case PREVIEW_RESULT.regenerate: return { action: 'regenerate', prompt: text.value.trim() || prompt };
        case PREVIEW_RESULT.newPrompt: return { action: 'newPrompt' };
        default: return { action: 'discard' };
    }
}
