import type { Host, HostCharacter } from '../../../host/host';
import type { ModelInfo } from '../../../protocol';
import type { SettingsStore } from '../../../settings/store';
import { errorMessage } from '../../../shared/errors';
import { textOption } from '../../../shared/dom-options';
import { t, translatedError } from '../../../shared/i18n';
import * as z from '../../../shared/zod';
import nextchatSection from '../../../../templates/nextchat-section.html';
import { patternError } from '../side-tasks';
import { type CardV2Data, CardV2DataSchema, characterToMask, maskToCard, masksFileName, parseMaskFile } from './masks';
import { apiBase, customModels, defaultNextChatUrl, fastLink, loopbackMismatch, originOf, serverEnv } from './setup';

export interface NextChatSources {
    /** The bridge catalog's models (ids as NextChat must name them). */
    models(): readonly ModelInfo[];
    /** The model id of a character, by avatar. */
    modelOf(avatar: string): string | undefined;
    /** What the server shared in `welcome`, or null before the first. */
    serverApi(): { url: string; key?: string } | null;
}

const title = () => t('ensemble.nextchat.toastTitle');

/**
 * A character as a V2 card: ST's `data` (everything in it rides along: character_book, …) under ST's name,
 * validated once here, where it leaves ST. Throws with the place of the problem for a malformed card.
 */
export function cardOf(ch: HostCharacter): CardV2Data & { avatar: string } {
    const parsed = CardV2DataSchema.safeParse({ ...(ch.data ?? {}), name: ch.name });
    if (!parsed.success) throw translatedError('CARD_INVALID', 'ensemble.nextchat.cardMalformed', { name: ch.name, error: z.prettifyError(parsed.error) });
    return { ...structuredClone(parsed.data), avatar: ch.avatar };
}

/** Export of one or all characters as NextChat masks (JSON download). */
export async function exportMasks(host: Host, sources: NextChatSources, avatars: readonly string[]): Promise<void> {
    const chars = avatars.map((a) => host.characters().find((c) => c.avatar === a)).filter((c): c is HostCharacter => !!c);
    if (!chars.length) {
        host.toast('warning', t('ensemble.nextchat.nothingToExport'), title());
        return;
    }
    const now = host.now();
    let masks;
    try {
        masks = chars.map((c) => characterToMask(cardOf(c), { now, model: sources.modelOf(c.avatar) }));
    } catch (err) {
        host.toast('error', t('ensemble.nextchat.exportFailed', { error: errorMessage(err) }), title());
        return;
    }
    const json = JSON.stringify(masks.length === 1 ? masks[0] : masks, null, 2);
    await host.downloadText(masksFileName(chars.map((c) => c.name)), json);
    host.toast('success', masks.length === 1
        ? t('ensemble.nextchat.exportedOne', { name: chars[0]?.name ?? '' })
        : t('ensemble.nextchat.exportedMany', { count: masks.length }), title());
}

/** Mask JSON (one mask or an array) → ST characters. Nothing is created unless the whole file is valid. */
export async function importMasks(host: Host, file: { name: string; text: string }): Promise<string[]> {
    const parsed = parseMaskFile(file.text);
    if (!parsed.ok) {
        host.toast('error', t('ensemble.nextchat.notMaskFile', { file: file.name, error: parsed.error }), title());
        return [];
    }
    const cards = parsed.masks.map((m) => maskToCard(m));
    const created: string[] = [];
    try {
        for (const card of cards) {
            await host.importCharacterCard(`${card.data.name || 'mask'}.json`, card);
            created.push(card.data.name);
        }
    } catch (err) {
        const missed = cards.slice(created.length).map((c) => c.data.name);
        host.toast('error', t('ensemble.nextchat.importStopped', {
            error: errorMessage(err), imported: created.join(', ') || t('ensemble.nextchat.importedNone'), missed: missed.join(', '),
        }), title());
    } finally {
        if (created.length) await host.refreshCharacters();
    }
    if (created.length === cards.length) {
        const key = created.length === 1 ? 'ensemble.nextchat.importedOne' : 'ensemble.nextchat.importedMany';
        host.toast('success', t(key, { count: created.length, names: created.join(', ') }), title());
    }
    return created;
}

/** The panel's NextChat section: setup values with copy buttons, side-task patterns, mask export and import. */
export function startNextChat(host: Host, store: SettingsStore, container: Element | null, sources: NextChatSources): { render(): void } {
    if (!container) return { render: () => undefined };
    const frag = host.dom.fragment(nextchatSection);
    const section = frag.querySelector<HTMLElement>('[data-ens-section="nextchat"]');
    container.append(frag);
    if (!section) return { render: () => undefined };
    const field = <E extends HTMLElement = HTMLInputElement>(name: string) => section.querySelector<E>(`[data-ens-nc="${name}"]`);
    /** The address the user entered; while they have entered none (''), the default for how this ST was opened. */
    const nextchatUrl = () => store.get().bridge.nextchatUrl || defaultNextChatUrl(host.pageOrigin());

    const values = () => {
        const s = store.get().bridge;
        const shared = sources.serverApi();
        const base = apiBase(s.url, shared?.url);
        const key = shared?.key ?? '';
        const models = sources.models();
        return {
            endpoint: base, key, models: customModels(models),
            link: key ? fastLink(nextchatUrl(), base, key) : '', env: serverEnv(base, key || t('ensemble.nextchat.envKeyPlaceholder'), models),
        };
    };

    const render = () => {
        const v = values();
        for (const name of ['endpoint', 'key', 'models', 'link'] as const) {
            const el = field(name);
            if (el) el.value = v[name];
        }
        const key = field('key');
        if (key) key.placeholder = t('ensemble.nextchat.keyPlaceholder');
        const cors = field<HTMLElement>('cors');
        if (cors) cors.textContent = `--cors-origin ${originOf(nextchatUrl()) || t('ensemble.nextchat.corsAddressPlaceholder')}`;
        const warning = field<HTMLElement>('origin-warning');
        if (warning) {
            const mismatch = loopbackMismatch(nextchatUrl(), host.pageOrigin());
            warning.hidden = !mismatch;
            warning.textContent = mismatch ? t('ensemble.nextchat.originMismatch', { ...mismatch }) : '';
        }
        const select = field<HTMLSelectElement>('character');
        if (select) {
            const chosen = select.value;
            select.replaceChildren(...host.characters().map((c) => textOption(select, c.avatar, c.name)));
            if (chosen && host.characters().some((c) => c.avatar === chosen)) select.value = chosen;
        }
    };

    for (const button of section.querySelectorAll<HTMLElement>('[data-ens-copy]')) {
        button.addEventListener('click', () => {
            const name = button.dataset.ensCopy as keyof ReturnType<typeof values>;
            const text = values()[name];
            if (!text) {
                host.toast('warning', t(name === 'key' || name === 'link' ? 'ensemble.nextchat.connectFirst' : 'ensemble.nextchat.nothingToCopy'), title());
                return;
            }
            host.copyText(text).then(
                () => host.toast('success', t('ensemble.nextchat.copied'), title()),
                (err: unknown) => host.toast('error', t('ensemble.nextchat.copyFailed', { error: errorMessage(err) }), title()),
            );
        });
    }

    const url = field('nextchatUrl');
    if (url) {
        url.value = nextchatUrl();
        url.addEventListener('change', () => {
            // Only what the user enters is stored; emptying the field goes back to the default.
            store.update((s) => { s.bridge.nextchatUrl = url.value.trim(); });
            url.value = nextchatUrl();
            render();
        });
    }

    const patterns = field<HTMLTextAreaElement>('patterns');
    if (patterns) {
        patterns.value = store.get().bridge.sideTaskPatterns.join('\n');
        patterns.addEventListener('change', () => {
            const lines = patterns.value.split('\n').map((l) => l.trim()).filter(Boolean);
            const bad = lines.map((l) => [l, patternError(l)] as const).find(([, e]) => e);
            if (bad) {
                host.toast('error', t('ensemble.nextchat.patternInvalid', { pattern: bad[0], error: bad[1] ?? '' }), title());
                return;
            }
            store.update((s) => { s.bridge.sideTaskPatterns = lines; });
        });
    }

    section.querySelector('[data-ens-nc-action="export"]')?.addEventListener('click', () => {
        const avatar = field<HTMLSelectElement>('character')?.value;
        void exportMasks(host, sources, avatar ? [avatar] : []);
    });
    section.querySelector('[data-ens-nc-action="export-all"]')?.addEventListener('click', () => {
        void exportMasks(host, sources, host.characters().map((c) => c.avatar));
    });
    section.querySelector('[data-ens-nc-action="import"]')?.addEventListener('click', () => {
        host.pickTextFile('.json,application/json')
            .then((file) => (file ? importMasks(host, file) : undefined))
            .catch((err: unknown) => host.toast('error', t('ensemble.nextchat.importFailed', { error: errorMessage(err) }), title()));
    });

    for (const ev of ['characterEdited', 'characterDeleted', 'chatChanged'] as const) host.on(ev, render);
    render();
    return { render };
}
