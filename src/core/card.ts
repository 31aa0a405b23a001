import type { Host, HostCharacter } from '../host/host';
import type { ProfileRef, ProfilesSettings } from '../settings/schema';
import { MODULE_NAME, log } from '../shared/log';
import { findProfile, isEmptyRef } from './profiles';
import { type CardEnsemble, CardEnsembleSchema, type ConnectionProfile } from './schema';

/** `data.extensions.ensemble` of a card, validated; a malformed value reads as empty (and is not overwritten until the user assigns). */
export function readCard(ch: HostCharacter | undefined): CardEnsemble {
    const raw = ch?.data?.extensions?.[MODULE_NAME];
    if (raw === undefined || raw === null) return {};
    const parsed = CardEnsembleSchema.safeParse(raw);
    if (parsed.success) return parsed.data;
    log.warn(`ignoring malformed data.extensions.${MODULE_NAME} in card ${ch?.avatar ?? '?'}`);
    return {};
}

export function cardRef(ch: HostCharacter | undefined): ProfileRef | null {
    const card = readCard(ch);
    const ref = { id: card.profileId ?? null, name: card.profileName ?? null };
    return isEmptyRef(ref) ? null : ref;
}

function withRef(ref: ProfileRef | null): Partial<CardEnsemble> {
    // Explicit nulls: ST's server deep-merges, so an omitted key would keep the old value.
    return { profileId: ref?.id ?? null, profileName: ref?.name ?? null };
}

/** Changes some of the card's Ensemble fields and stores the card (travels with PNG/JSON export); the others are kept. */
export async function writeCardPatch(host: Host, index: number, patch: Partial<CardEnsemble>): Promise<void> {
    const ch = host.characters()[index];
    if (!ch) throw new Error(`no character at index ${index}`);
    await host.writeCharacterExtension(index, MODULE_NAME, { ...readCard(ch), ...patch });
}

/** The unsaved "Create character" form: ST posts these extensions when the card is created. */
export function writeNewCardPatch(host: Host, patch: Partial<CardEnsemble>): void {
    const ext = host.newCharacterExtensions();
    ext[MODULE_NAME] = { ...readNewCard(host), ...patch };
}

export function readNewCard(host: Host): CardEnsemble {
    const parsed = CardEnsembleSchema.safeParse(host.newCharacterExtensions()[MODULE_NAME] ?? {});
    return parsed.success ? parsed.data : {};
}

export const writeCardRef = (host: Host, index: number, ref: ProfileRef | null) => writeCardPatch(host, index, withRef(ref));
export const writeNewCardRef = (host: Host, ref: ProfileRef | null) => writeNewCardPatch(host, withRef(ref));

export function readNewCardRef(host: Host): ProfileRef | null {
    const card = readNewCard(host);
    const ref = { id: card.profileId ?? null, name: card.profileName ?? null };
    return isEmptyRef(ref) ? null : ref;
}

export type ResolutionSource = 'character' | 'group' | 'fallback' | 'none';

export interface Resolution {
    source: ResolutionSource;
    profile?: ConnectionProfile;
    /** Levels whose reference names a profile that no longer exists, in the order they were tried. */
    missing: { source: Exclude<ResolutionSource, 'none'>; ref: ProfileRef }[];
}

/** character → group default → global fallback → leave ST as it is. */
export function resolveProfile(
    profiles: readonly ConnectionProfile[],
    settings: ProfilesSettings,
    character: HostCharacter | undefined,
    groupId: string | null,
): Resolution {
    const levels: [Exclude<ResolutionSource, 'none'>, ProfileRef | null | undefined][] = [
        ['character', cardRef(character)],
        ['group', groupId ? settings.groupDefaults[groupId] : null],
        ['fallback', settings.fallback],
    ];
    const missing: Resolution['missing'] = [];
    for (const [source, ref] of levels) {
        if (isEmptyRef(ref) || !ref) continue;
        const profile = findProfile(profiles, ref);
        if (profile) return { source, profile, missing };
        missing.push({ source, ref });
    }
    return { source: 'none', missing };
}
