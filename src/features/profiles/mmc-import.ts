import * as z from '../../shared/zod';
import type { Host } from '../../host/host';
import type { SettingsStore } from '../../settings/store';
import { errorMessage } from '../../shared/errors';
import { t } from '../../shared/i18n';
import { cardRef, findProfile, listProfiles, refOf, writeCardRef } from '../../core/profiles';

export const MMC_KEY = 'multi_model_chat';

/** A Multi-Model Chat assignment: a profile name (or id), or an object naming one. */
const MmcValueSchema = z.union([
    z.string().check(z.minLength(1)),
    z.looseObject({ profileId: z.optional(z.string()), profileName: z.optional(z.string()), profile: z.optional(z.string()), name: z.optional(z.string()) }),
]);
const MmcSettingsSchema = z.looseObject({
    characterProfiles: z._default(z.record(z.string(), z.unknown()), () => ({})),
    groupDefaults: z._default(z.record(z.string(), z.unknown()), () => ({})),
});

function refFromValue(raw: unknown): { id: string | null; name: string | null } | null {
    const v = MmcValueSchema.safeParse(raw);
    if (!v.success) return null;
    if (typeof v.data === 'string') return { id: v.data, name: v.data };
    const name = v.data.profileName ?? v.data.profile ?? v.data.name ?? null;
    return { id: v.data.profileId ?? name, name };
}

export interface ImportReport {
    characters: number;
    groups: number;
    skipped: string[];
}

/** How many assignments Multi-Model Chat left in ST's settings (0 when none or unreadable). */
export function mmcEntryCount(host: Host): number {
    const parsed = MmcSettingsSchema.safeParse(host.readSettings(MMC_KEY));
    return parsed.success ? Object.keys(parsed.data.characterProfiles).length + Object.keys(parsed.data.groupDefaults).length : 0;
}

/**
 * Copies Multi-Model Chat's assignments into cards (characters, keyed by avatar or name) and group
 * defaults (keyed by id or name). Never overwrites an assignment Ensemble already has.
 */
export async function importMmc(host: Host, store: SettingsStore): Promise<ImportReport> {
    const report: ImportReport = { characters: 0, groups: 0, skipped: [] };
    const parsed = MmcSettingsSchema.safeParse(host.readSettings(MMC_KEY));
    if (!parsed.success) {
        report.skipped.push(t('ensemble.profiles.mmcUnreadable'));
        return report;
    }
    const profiles = listProfiles(host);
    const chars = host.characters();
    for (const [key, value] of Object.entries(parsed.data.characterProfiles)) {
        const index = chars.findIndex((c) => c.avatar === key);
        const byName = chars.flatMap((c, i) => (c.name === key ? [i] : []));
        const target = index >= 0 ? index : byName.length === 1 ? byName[0]! : -1;
        const profile = findProfile(profiles, refFromValue(value));
        if (target < 0) { report.skipped.push(t('ensemble.profiles.mmcSkipNoCharacter', { name: key })); continue; }
        if (!profile) { report.skipped.push(t('ensemble.profiles.mmcSkipNoProfile', { name: key })); continue; }
        if (cardRef(chars[target])) { report.skipped.push(t('ensemble.profiles.mmcSkipAssigned', { name: key })); continue; }
        try {
            await writeCardRef(host, target, refOf(profile));
            report.characters++;
        } catch (err) {
            report.skipped.push(t('ensemble.profiles.mmcSkipError', { name: key, error: errorMessage(err) }));
        }
    }
    const groupUpdates: [string, ReturnType<typeof refOf>][] = [];
    for (const [key, value] of Object.entries(parsed.data.groupDefaults)) {
        const group = host.groups().find((g) => g.id === key) ?? host.groups().find((g) => g.name === key);
        const profile = findProfile(profiles, refFromValue(value));
        if (!group) { report.skipped.push(t('ensemble.profiles.mmcSkipNoGroup', { name: key })); continue; }
        if (!profile) { report.skipped.push(t('ensemble.profiles.mmcSkipGroupNoProfile', { name: key })); continue; }
        if (store.get().profiles.groupDefaults[group.id]) { report.skipped.push(t('ensemble.profiles.mmcSkipGroupAssigned', { name: key })); continue; }
        groupUpdates.push([group.id, refOf(profile)]);
    }
    store.update((s) => {
        for (const [id, ref] of groupUpdates) s.profiles.groupDefaults[id] = ref;
        s.profiles.mmcImportOffered = true;
    });
    report.groups = groupUpdates.length;
    return report;
}

/** Asks the user, then imports and reports in a toast. */
export async function offerMmcImport(host: Host, store: SettingsStore, { force = false } = {}): Promise<ImportReport | null> {
    const count = mmcEntryCount(host);
    if (count === 0) {
        if (force) host.toast('info', t('ensemble.profiles.mmcNone'), 'Ensemble');
        return null;
    }
    if (!force && store.get().profiles.mmcImportOffered) return null;
    const yes = await host.confirm(t('ensemble.profiles.mmcConfirmTitle'), t('ensemble.profiles.mmcConfirmText', { count }));
    // Asked is asked: a reload during the import must not ask again.
    store.update((s) => { s.profiles.mmcImportOffered = true; });
    if (!yes) return null;
    const report = await importMmc(host, store);
    const counts = { characters: report.characters, groups: report.groups };
    if (report.skipped.length) host.toast('warning', t('ensemble.profiles.mmcImportedSkipped', { ...counts, skipped: report.skipped.join('\n') }), 'Ensemble');
    else host.toast('success', t('ensemble.profiles.mmcImported', counts), 'Ensemble');
    return report;
}
