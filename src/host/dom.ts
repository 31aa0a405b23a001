import { localize } from '../shared/i18n';
import type { HostDom } from './host';

/** The part of DOMPurify used here: ST ships it as a global, tests pass the npm package. */
export interface Purifier {
    sanitize(html: string, config: { RETURN_DOM_FRAGMENT: true }): DocumentFragment;
}

/**
 * The only place Ensemble turns a string into markup: everything goes through DOMPurify first.
 * Outside text (names, profile names, LLM output) is never put in markup; callers set it with
 * `textContent` on the nodes they get back. Ensemble's own words in it (`data-i18n`) come out in the user's language.
 */
export function createDom(doc: Document, purify: Purifier): HostDom {
    return {
        fragment(html) {
            const fragment = purify.sanitize(html, { RETURN_DOM_FRAGMENT: true });
            localize(fragment);
            return fragment;
        },
        query<E extends Element = HTMLElement>(selector: string) {
            return doc.querySelector<E>(selector);
        },
        onClick(selector, handler) {
            doc.addEventListener('click', (e) => {
                const target = (e.target as Element | null)?.closest?.(selector);
                if (target) handler(target);
            });
        },
        observe(selector, cb) {
            let scheduled = false;
            const run = () => {
                scheduled = false;
                cb();
            };
            const observer = new MutationObserver(() => {
                if (scheduled) return;
                scheduled = true;
                (doc.defaultView?.requestAnimationFrame ?? setTimeout)(run);
            });
            const el = doc.querySelector(selector);
            if (el) observer.observe(el, { attributes: true, attributeFilter: ['style', 'class'] });
        },
    };
}
