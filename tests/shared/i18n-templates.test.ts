import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * No word of a template may stay English-only: every text and every worded title / aria-label / placeholder / alt
 * is covered by a `data-i18n` on its own element, and the English kept in the markup is en.json's text for that key.
 */

const dir = join(__dirname, '../../templates');
const english = JSON.parse(readFileSync(join(__dirname, '../../i18n/en.json'), 'utf8')) as Record<string, string>;

/**
 * Template parts whose translation is still being done elsewhere, by file: CSS selectors of the skipped subtrees,
 * or '*' for the whole file. Empty once every template is translated.
 */
const NOT_YET_TRANSLATED: Record<string, readonly string[]> = {};

const ATTRIBUTES = ['title', 'aria-label', 'placeholder', 'alt'] as const;

/** Words, not values: a URL, a size like 1024x1024 or a number needs no translation. */
const hasWords = (text: string) => /\p{L}{2,}/u.test(text.replace(/\b[a-z]+:\/\/\S*/gi, ''));
const squash = (text: string) => text.replace(/\s+/g, ' ').trim();

/** `data-i18n` entries of an element: '' → text key, attribute name → key. */
function entries(element: Element): Map<string, string> {
    const out = new Map<string, string>();
    for (const entry of (element.getAttribute('data-i18n') ?? '').split(';')) {
        const match = /^\[(\S+)\](.+)$/.exec(entry.trim());
        if (match) out.set(match[1]!, match[2]!.trim());
        else if (entry.trim()) out.set('', entry.trim());
    }
    return out;
}

/** What is wrong with one template: untranslated text, attributes, and markup/en.json disagreements. */
function untranslated(file: string, html: string, skip: readonly string[] = NOT_YET_TRANSLATED[file] ?? []): string[] {
    if (skip.includes('*')) return [];
    const template = document.createElement('template');
    template.innerHTML = html;
    const problems: string[] = [];
    for (const element of template.content.querySelectorAll('*')) {
        if (skip.some((selector) => element.closest(selector))) continue;
        // Code (command names, values) and anything marked translate="no" is shown as it is.
        if (element.closest('code, [translate="no"]')) continue;
        const keys = entries(element);
        const where = `${file}: <${element.tagName.toLowerCase()}${element.className ? ` class="${element.className}"` : ''}>`;
        const ownText = squash([...element.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join(' '));
        if (hasWords(ownText)) {
            const key = keys.get('');
            if (!key) problems.push(`${where} "${ownText}" has no data-i18n`);
            else if (element.children.length) problems.push(`${where} "${ownText}": data-i18n would wipe its child elements; wrap the text in a span`);
            else if (squash(english[key] ?? '') !== ownText) problems.push(`${where} "${ownText}" differs from en.json's ${key}: "${english[key]}"`);
        }
        for (const attribute of ATTRIBUTES) {
            const value = element.getAttribute(attribute);
            if (value === null || !hasWords(value)) continue;
            const key = keys.get(attribute);
            if (!key) problems.push(`${where} ${attribute}="${value}" has no [${attribute}] in data-i18n`);
            else if (english[key] !== value) problems.push(`${where} ${attribute}="${value}" differs from en.json's ${key}: "${english[key]}"`);
        }
    }
    return problems;
}

describe('templates', () => {
    it.each(readdirSync(dir).filter((f) => f.endsWith('.html')))('%s has no English-only words', (file) => {
        expect(untranslated(file, readFileSync(join(dir, file), 'utf8'))).toEqual([]);
    });

    it('the check finds a text, an attribute and a stale fallback left untranslated, and skips code and translate="no"', () => {
        const html = '<div><b>Plain words</b><i title="A tooltip" data-i18n="[aria-label]ensemble.panel.title"></i>'
            + '<span data-i18n="ensemble.panel.title">Old text</span><input placeholder="http://127.0.0.1:5001/v1">'
            + '<label data-i18n="ensemble.panel.title">Ensemble<input></label>'
            + '<code>/ens-profile</code><span translate="no">b64_json</span><b data-i18n="ensemble.panel.title">Ensemble</b></div>';
        expect(untranslated('x.html', html, [])).toEqual([
            'x.html: <b> "Plain words" has no data-i18n',
            'x.html: <i> title="A tooltip" has no [title] in data-i18n',
            'x.html: <span> "Old text" differs from en.json\'s ensemble.panel.title: "Ensemble"',
            'x.html: <label> "Ensemble": data-i18n would wipe its child elements; wrap the text in a span',
        ]);
        expect(untranslated('x.html', html, ['div'])).toEqual([]);
    });
});
