import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadLanguage } from '../../src/app';
import { LOCALES, activeLocale, localize, resetLocale, t, useLocale } from '../../src/shared/i18n';
import { FakeStHost } from '../fakes/st-host';

const dir = join(__dirname, '../../i18n');
const read = (file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, string>;
const english = read('en.json');
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

afterEach(() => resetLocale());

describe('translation files', () => {
    it('ships exactly the promised locales besides English', () => {
        const files = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).sort();
        expect(files).toEqual(['en', ...LOCALES].sort());
    });

    it.each(LOCALES)('%s has exactly English\'s keys, each a non-empty text with the same placeholders', (locale) => {
        const data = read(`${locale}.json`);
        const missing = Object.keys(english).filter((k) => !(k in data));
        const extra = Object.keys(data).filter((k) => !(k in english));
        expect({ missing, extra }).toEqual({ missing: [], extra: [] });
        for (const [key, text] of Object.entries(data)) {
            expect(typeof text, key).toBe('string');
            expect(text.trim(), key).not.toBe('');
            expect(placeholders(text), key).toEqual(placeholders(english[key]!));
        }
    });

    it.each(LOCALES)('%s translates every sentence (only names, codes and single words may read as in English)', (locale) => {
        const data = read(`${locale}.json`);
        const sentence = /\p{L}{3,}\s+\p{L}{3,}/u;
        const untranslated = Object.keys(english).filter((k) => data[k] === english[k] && sentence.test(english[k]!.replace(/\{\w+\}/g, '')) && !/^[\p{Lu}\s—-]+$/u.test(english[k]!.replace(/[^\p{L}\s—-]/gu, '')));
        expect(untranslated).toEqual([]);
    });

    it('every key in the templates exists in English, and every English key is used', () => {
        const templates = readdirSync(join(__dirname, '../../templates')).map((f) => readFileSync(join(__dirname, '../../templates', f), 'utf8')).join('\n');
        const sources = [] as string[];
        const walk = (d: string) => {
            for (const e of readdirSync(d, { withFileTypes: true })) {
                if (e.isDirectory()) walk(join(d, e.name));
                else if (e.name.endsWith('.ts')) sources.push(readFileSync(join(d, e.name), 'utf8'));
            }
        };
        walk(join(__dirname, '../../src'));
        const inTemplates = [...templates.matchAll(/data-i18n="([^"]+)"/g)].flatMap((m) => m[1]!.split(';')).map((e) => e.replace(/^\[\S+\]/, '').trim());
        expect(inTemplates.filter((k) => !(k in english))).toEqual([]);
        const code = sources.join('\n');
        const unused = Object.keys(english).filter((k) => !inTemplates.includes(k) && !code.includes(`'${k}'`));
        expect(unused).toEqual([]);
    });
});

describe('lookup', () => {
    it('falls back to English per string and fills placeholders without translating values', () => {
        useLocale('de-de', { 'ensemble.panel.title': 'Ensemble (de)' });
        expect(t('ensemble.panel.title')).toBe('Ensemble (de)');
        expect(activeLocale()).toBe('de-de');
        resetLocale();
        expect(t('ensemble.panel.title')).toBe('Ensemble');
    });

    it('refuses a malformed file whole and ignores keys English does not know', () => {
        expect(useLocale('fr-fr', { 'ensemble.panel.title': 3 })).toBe(false);
        expect(activeLocale()).toBe('en');
        expect(useLocale('fr-fr', { 'ensemble.nope': 'x', 'ensemble.panel.title': 'Titre' })).toBe(true);
        expect(t('ensemble.panel.title')).toBe('Titre');
    });

    it('translates data-i18n text and attributes in markup the host builds', () => {
        useLocale('ja-jp', { 'ensemble.panel.title': '合奏' });
        const host = new FakeStHost();
        const frag = host.dom.fragment('<b data-i18n="ensemble.panel.title">Ensemble</b><i data-i18n="[title]ensemble.panel.title;[aria-label]ensemble.panel.title"></i>');
        const [b, i] = [...frag.children];
        expect(b!.textContent).toBe('合奏');
        expect(i!.getAttribute('title')).toBe('合奏');
        expect(i!.getAttribute('aria-label')).toBe('合奏');
        const el = host.document.createElement('span');
        el.setAttribute('data-i18n', 'ensemble.panel.title');
        localize(el);
        expect(el.textContent).toBe('合奏');
    });
});

describe('loadLanguage', () => {
    it('reads the file of ST\'s language, and stays English for a language Ensemble does not ship', async () => {
        const host = new FakeStHost();
        host.locale = 'zh-cn';
        host.localeFiles.set('zh-cn', { 'ensemble.panel.title': '合奏团' });
        await loadLanguage(host);
        expect(t('ensemble.panel.title')).toBe('合奏团');
        resetLocale();
        host.locale = 'it-it';
        host.localeFiles.set('it-it', { 'ensemble.panel.title': 'Insieme' });
        await loadLanguage(host);
        expect(activeLocale()).toBe('en');
    });
});
