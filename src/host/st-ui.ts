import type { HostDom, PopupOptions, Progress, ToastLevel } from './host';
import { t } from '../shared/i18n';
import { ctx, type Toastr } from './st-context';

declare const toastr: Toastr;

/** Toasts, popups and the message menu, through ST's own UI pieces. */
export function createUi(doc: Document, dom: HostDom) {
    return {
        toast(level: ToastLevel, message: string, title?: string) {
            // escapeHtml: names, prompts and API messages come from outside.
            toastr[level]?.(message, title, { escapeHtml: true });
        },

        async confirm(title: string, text: string): Promise<boolean> {
            const c = ctx();
            const body = doc.createElement('div');
            const h = doc.createElement('h3');
            h.textContent = title;
            const p = doc.createElement('p');
            p.style.whiteSpace = 'pre-wrap';
            p.textContent = text;
            body.append(h, p);
            const result = await c.callGenericPopup(body, c.POPUP_TYPE.CONFIRM ?? 2);
            return result === (c.POPUP_RESULT.AFFIRMATIVE ?? 1);
        },

        async popup(content: HTMLElement, options: PopupOptions): Promise<number | null> {
            const c = ctx();
            const result = await c.callGenericPopup(content, c.POPUP_TYPE.TEXT ?? 1, '', {
                okButton: options.okButton ?? t('ensemble.host.ok'),
                cancelButton: options.cancelButton ?? false,
                customButtons: options.customButtons,
                wide: options.wide ?? false,
                allowVerticalScrolling: true,
            });
            return typeof result === 'number' ? result : null;
        },

        progress(message: string, onCancel: () => void): Progress {
            const toast = toastr.info?.(message, t('ensemble.host.progressTitle'), {
                escapeHtml: true, timeOut: 0, extendedTimeOut: 0, tapToDismiss: true, onclick: onCancel,
            }) as unknown as { find?(sel: string): { text(t: string): void }; remove?(): void } | undefined;
            return {
                update: (text) => toast?.find?.('.toast-message')?.text(text),
                close: () => toastr.clear?.(toast as never),
            };
        },

        addMessageButton(options: { className: string; title: string; icon: string }, onClick: (messageId: number) => void) {
            const make = () => {
                const button = doc.createElement('div');
                button.className = `mes_button ${options.className} fa-solid ${options.icon} interactable`;
                button.title = options.title;
                // ST's interactable class gives Enter; the role and name tell a screen reader it is a named button.
                button.setAttribute('role', 'button');
                button.setAttribute('aria-label', options.title);
                button.tabIndex = 0;
                return button;
            };
            // The template reaches every message ST renders from now on; the rest are patched once.
            doc.querySelector('#message_template .extraMesButtons')?.prepend(make());
            for (const menu of doc.querySelectorAll('#chat .mes .extraMesButtons')) {
                if (!menu.querySelector(`.${options.className}`)) menu.prepend(make());
            }
            dom.onClick(`.${options.className}`, (target) => {
                const id = Number(target.closest('.mes')?.getAttribute('mesid'));
                if (Number.isInteger(id)) onClick(id);
            });
        },
    };
}
