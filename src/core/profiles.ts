import type { Host } from '../host/host';
import type { ProfileRef } from '../settings/schema';
import { log } from '../shared/log';
import { type ConnectionProfile, ConnectionManagerSchema, ConnectionProfileSchema } from './schema';

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
    return ref?.name ?? ref?.id ?? '(none)';
}
