import en from '../../i18n/en.json';
import { EnsembleError, type EnsembleErrorOptions, type ExtensionErrorCode } from './errors';
import { log } from './log';
import * as z from './zod';

/**
 * Ensemble's words in the user's language. ST picks the language (its "UI Language", else the browser's); Ensemble
 * follows it. English lives in `i18n/en.json` and is bundled; the other languages are `i18n/<locale>.json` beside it,
 * fetched once at start. Each string falls back to English on its own, so a locale that lacks a key still reads.
 *
 * Templates use ST's own convention, `data-i18n="key"` (the text) or `data-i18n="[title]key"` (an attribute), several
 * joined by `;`. Keys are namespaced (`ensemble.…`) so ST's own dictionary never matches one.
 * Only Ensemble's own words go through here: names, prompts and anything a model wrote are shown as they are.
 */

export type MessageKey = keyof typeof en;
export type MessageVars = Record<string, string | number>;

/** The locales Ensemble ships besides English (file names under `i18n/`). */
export const LOCALES = ['zh-cn', 'zh-tw', 'ja-jp', 'ko-kr', 'ru-ru', 'es-es', 'de-de', 'fr-fr', 'pt-pt'] as const;
export type Locale = (typeof LOCALES)[number];

const englishTexts: Record<string, string> = en;
let current: Record<string, string> = {};
let currentLocale = 'en';

/** A locale file as it must be on disk: flat key → text. */
export const LocaleFileSchema = z.record(z.string(), z.string());

export function isShippedLocale(locale: string): locale is Locale {
    return (LOCALES as readonly string[]).includes(locale);
}

/** The loaded language ('en' when English or no shipped file matched). */
export function activeLocale(): string {
    return currentLocale;
}

/**
 * Sets the language from a locale file's parsed JSON. Invalid files are refused whole (English stays) and keys
 * English does not know are ignored; both are logged, never shown as broken text.
 */
export function useLocale(locale: string, data: unknown): boolean {
    const parsed = LocaleFileSchema.safeParse(data);
    if (!parsed.success) {
        log.warn(`translation ${locale} is not a flat key → text file; using English`);
        current = {};
        currentLocale = 'en';
        return false;
    }
    const known: Record<string, string> = {};
    for (const [key, text] of Object.entries(parsed.data)) if (key in englishTexts && text !== '') known[key] = text;
    current = known;
    currentLocale = locale;
    return true;
}

/** Back to English (tests). */
export function resetLocale(): void {
    current = {};
    currentLocale = 'en';
}

/**
 * A sentence not yet put into words: the user reads it with `say` (their language), an API client with `inEnglish`.
 * For text that goes both to Ensemble's panel and, through the bridge server, to API clients.
 */
export interface Words {
    key: MessageKey;
    vars?: MessageVars;
}

/** `words` in the user's language. */
export function say(words: Words): string {
    return t(words.key, words.vars);
}

/** `words` in English, whatever the user's language: what the bridge sends on to API clients. */
export function inEnglish(words: Words): string {
    return english(words.key, words.vars);
}

export function sameWords(a: Words | null, b: Words | null): boolean {
    return a === b || (!!a && !!b && a.key === b.key && JSON.stringify(a.vars ?? {}) === JSON.stringify(b.vars ?? {}));
}

/** The text for `key` in the user's language, `{name}` placeholders filled from `vars` (values are never translated). */
export function t(key: MessageKey, vars?: MessageVars): string {
    return fill(current[key] ?? englishTexts[key] ?? key, vars);
}

function fill(text: string, vars?: MessageVars): string {
    if (!vars) return text;
    return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

/** English text for `key` whatever the user's language: what an error keeps in `message`, for logs. */
export function english(key: MessageKey, vars?: MessageVars): string {
    return fill(englishTexts[key] ?? key, vars);
}

/**
 * An error the user will read: `message` in English (for logs), `userMessage` in their language
 * (what `errorMessage()` gives toasts and the panel). Same key, same values in both.
 */
export function translatedError<C extends ExtensionErrorCode>(code: C, key: MessageKey, vars?: MessageVars, options?: Omit<EnsembleErrorOptions, 'userMessage'>): EnsembleError<C> {
    return new EnsembleError(code, english(key, vars), { ...options, userMessage: t(key, vars) });
}

/** Whether `key` names a string Ensemble has (for keys that come from markup). */
export function isMessageKey(key: string): key is MessageKey {
    return key in englishTexts;
}

/** Translates every `[data-i18n]` element under `root` (and root itself), ST's attribute syntax. */
export function localize(root: Element | DocumentFragment): void {
    const elements = [...root.querySelectorAll<HTMLElement>('[data-i18n]')];
    if (root instanceof Element && root.hasAttribute('data-i18n')) elements.unshift(root as HTMLElement);
    for (const element of elements) {
        for (const entry of (element.getAttribute('data-i18n') ?? '').split(';')) {
            const match = /^\[(\S+)\](.+)$/.exec(entry.trim());
            const key = (match ? match[2]! : entry).trim();
            if (!isMessageKey(key)) {
                if (key) log.warn(`no text for ${key}`);
                continue;
            }
            if (match) element.setAttribute(match[1]!, t(key));
            else element.textContent = t(key);
        }
    }
}
