/**
 * Connection Profiles as the core knows them: ST's catalog (connection-manager's settings), references
 * to a profile, the card's Ensemble block that holds one, and which profile a character speaks through.
 */
import type { Host, HostCharacter } from '../host/host';
import type { ProfileRef, ProfilesSettings } from '../settings/schema';
import { t, translatedError } from '../shared/i18n';
import { MODULE_NAME, log } from '../shared/log';
import * as z from '../shared/zod';

const optString = () => z.optional(z.string());

/** One entry of ST's `extension_settings.connectionManager.profiles` (connection-manager/index.js). */
export const ConnectionProfileSchema = z.looseObject({
    id: z.string().check(z.minLength(1)),
    name: z.string(),
    mode: z.enum(['cc', 'tc']),
    api: optString(),
    preset: optString(),
    'api-url': optString(),
    model: optString(),
    proxy: optString(),
});
export type ConnectionProfile = z.infer<typeof ConnectionProfileSchema>;

export const ConnectionManagerSchema = z.object({
    selectedProfile: z.optional(z.nullable(z.string())),
    profiles: z._default(z.array(z.unknown()), () => []),
});

/**
 * What Ensemble keeps in a character card, `data.extensions.ensemble`. Loose, so fields other
 * Ensemble features store there travel along untouched.
 */
export const CardEnsembleSchema = z.looseObject({
    profileId: z.optional(z.nullable(z.string())),
    profileName: z.optional(z.nullable(z.string())),
    /** How the character looks, added to every image prompt for this character. */
    appearance: z.optional(z.nullable(z.string().check(z.maxLength(4000)))),
});
export type CardEnsemble = z.infer<typeof CardEnsembleSchema>;

/** ST's Connection Profiles, validated where they enter. Broken entries are skipped with a console warning. */
export function listProfiles(host: Host): ConnectionProfile[] {
    const cm = ConnectionManagerSchema.safeParse(host.connectionManager() ?? {});
    if (!cm.success) {
        log.warn('connectionManager settings are not in the expected shape; no profiles available');
        return [];
    }
    const out: ConnectionProfile[] = [];
    for (const raw of cm.data.profiles) {
        const p = ConnectionProfileSchema.safeParse(raw);
        if (p.success) out.push(p.data);
        else log.warn('skipping a malformed Connection Profile entry');
    }
    return out;
}

export function selectedProfileId(host: Host): string | null {
    const cm = ConnectionManagerSchema.safeParse(host.connectionManager() ?? {});
    return cm.success ? (cm.data.selectedProfile ?? null) : null;
}

/**
 * Finds the profile a reference names: by id first, then by exact name (a card imported from
 * another install carries a foreign id). Never fuzzy: a near name is a different profile.
 */
export function findProfile(profiles: readonly ConnectionProfile[], ref: ProfileRef | null | undefined): ConnectionProfile | undefined {
    if (!ref) return undefined;
    if (ref.id) {
        const byId = profiles.find((p) => p.id === ref.id);
        if (byId) return byId;
    }
    if (ref.name) return profiles.find((p) => p.name === ref.name);
    return undefined;
}

/** A reference that names nothing at all (as opposed to one naming a missing profile). */
export function isEmptyRef(ref: ProfileRef | null | undefined): boolean {
    return !ref || (!ref.id && !ref.name);
}

export function refOf(profile: ConnectionProfile): ProfileRef {
    return { id: profile.id, name: profile.name };
}

/** Human label for a reference, for toasts and the UI. */
export function refLabel(ref: ProfileRef | null | undefined): string {
    return ref?.name ?? ref?.id ?? t('ensemble.core.none');
}

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
    if (!ch) throw translatedError('CHARACTER_NOT_FOUND', 'ensemble.errors.characterIndexNotFound', { index });
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
