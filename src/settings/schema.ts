import * as z from '../shared/zod';

export const SETTINGS_VERSION = 1;

const nonEmpty = () => z.string().check(z.minLength(1));

/** A reference to a Connection Profile: by id, with the name kept as a fallback (ids differ across installs). */
export const ProfileRefSchema = z.object({
    id: z._default(z.nullable(nonEmpty()), null),
    name: z._default(z.nullable(nonEmpty()), null),
});
export type ProfileRef = z.infer<typeof ProfileRefSchema>;

export const ProfilesSettingsSchema = z.object({
    enabled: z._default(z.boolean(), true),
    /** Toast "member → profile" the first time a member speaks through a profile in a chat. */
    notify: z._default(z.boolean(), true),
    /** Put the user's own profile back when leaving a chat in which Ensemble had to switch globally. */
    restoreOnLeave: z._default(z.boolean(), true),
    /** Apply a character's profile in 1:1 chats too. */
    soloAuto: z._default(z.boolean(), false),
    fallback: z._default(z.nullable(ProfileRefSchema), null),
    /** Group id → default profile for members without their own. */
    groupDefaults: z._default(z.record(z.string(), ProfileRefSchema), () => ({})),
    /** Longest wait for a full connection switch before the turn is stopped. */
    switchTimeoutMs: z._default(z.int().check(z.minimum(1000), z.maximum(120_000)), 30_000),
    /** Multi-Model Chat's assignments were offered for import (asked once). */
    mmcImportOffered: z._default(z.boolean(), false),
});
export type ProfilesSettings = z.infer<typeof ProfilesSettingsSchema>;

export const SettingsSchema = z.object({
    version: z.literal(SETTINGS_VERSION),
    profiles: z.prefault(ProfilesSettingsSchema, {}),
});
export type Settings = z.infer<typeof SettingsSchema>;

export function defaultSettings(): Settings {
    return SettingsSchema.parse({ version: SETTINGS_VERSION });
}

/** Brings older stored shapes up to SETTINGS_VERSION. Unknown versions are left for the schema to reject. */
export function migrate(raw: unknown): unknown {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
    const obj = raw as Record<string, unknown>;
    // v0: the pre-release shape had no version field.
    if (!('version' in obj)) return { ...obj, version: 1 };
    return obj;
}
