/**
 * Every template in templates/, as DOMPurify leaves it (what ST shows): each form control has an accessible
 * name, each icon-only button has one (aria-label) and a tooltip (title), and style.css takes its colours
 * from ST's theme. The names follow the part of the accessible-name rules these templates use:
 * aria-labelledby, aria-label, then the control's <label> (wrapping or `for`), without the control's own text.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeStHost } from '../fakes/st-host';

const DIR = path.resolve(__dirname, '../../templates');
const TEMPLATES = readdirSync(DIR).filter((f) => f.endsWith('.html')).sort();

function mounted(file: string): HTMLElement {
    const fake = new FakeStHost();
    const box = fake.document.createElement('div');
    box.append(fake.dom.fragment(readFileSync(path.join(DIR, file), 'utf8')));
    fake.document.body.append(box);
    return box;
}

/** A label's own words: its text without that of the controls inside it (a select's options). */
function labelText(label: HTMLLabelElement): string {
    const copy = label.cloneNode(true) as HTMLElement;
    for (const c of copy.querySelectorAll('input, select, textarea')) c.remove();
    return copy.textContent?.replace(/\s+/g, ' ').trim() ?? '';
}

function accessibleName(el: HTMLElement): string {
    const ids = el.getAttribute('aria-labelledby');
    if (ids) return ids.split(/\s+/).map((id) => el.ownerDocument.getElementById(id)?.textContent ?? '').join(' ').trim();
    const aria = el.getAttribute('aria-label')?.trim();
    if (aria) return aria;
    const labels = (el as HTMLInputElement).labels;
    return labels ? [...labels].map(labelText).join(' ').trim() : '';
}

const describeControl = (el: Element) => el.outerHTML.slice(0, 100);

describe.each(TEMPLATES)('templates/%s', (file) => {
    it('names every input, select and textarea', () => {
        const root = mounted(file);
        const unnamed = [...root.querySelectorAll<HTMLElement>('input, select, textarea')].filter((c) => accessibleName(c) === '').map(describeControl);
        expect(unnamed).toEqual([]);
    });

    it('gives every icon-only button an aria-label and a title', () => {
        const root = mounted(file);
        const buttons = [...root.querySelectorAll<HTMLElement>('.menu_button, [role="button"], .inline-drawer-icon:not(.not_focusable)')];
        const iconOnly = buttons.filter((b) => (b.textContent ?? '').trim() === '');
        const unnamed = iconOnly.filter((b) => !b.getAttribute('aria-label')?.trim() || !b.getAttribute('title')?.trim()).map(describeControl);
        expect(unnamed).toEqual([]);
    });

    it('marks every clickable div as a button', () => {
        const root = mounted(file);
        const bare = [...root.querySelectorAll<HTMLElement>('.menu_button, .inline-drawer-icon:not(.not_focusable)')].filter((b) => b.getAttribute('role') !== 'button').map(describeControl);
        expect(bare).toEqual([]);
    });
});

describe('style.css', () => {
    it('uses no fixed colours: only ST\'s theme variables', () => {
        const css = readFileSync(path.resolve(__dirname, '../../style.css'), 'utf8');
        expect(css.match(/#[0-9a-f]{3,8}\b|\b(rgba?|hsla?)\(/gi) ?? []).toEqual([]);
        expect(css).toMatch(/var\(--SmartThemeBorderColor\)/);
    });
});
