import type { Host, HostCharacter } from '../../host/host';
import type { ProfileRef } from '../../settings/schema';
import type { SettingsStore } from '../../settings/store';
import { errorMessage } from '../../shared/errors';
import { t } from '../../shared/i18n';
import { type ConnectionProfile, cardRef, findProfile, listProfiles, refLabel, refOf, writeCardRef } from '../../core/profiles';

const isTrue = (v: string | undefined) => v === 'true' || v === 'on' || v === '1';

/** By exact name, else by avatar file (names can repeat; avatars can't). Ambiguous names are an error. */
export function findCharacter(host: Host, name: string): { index: number; character: HostCharacter } | string {
    const chars = host.characters();
    const byAvatar = chars.findIndex((c) => c.avatar === name);
    if (byAvatar >= 0) return { index: byAvatar, character: chars[byAvatar]! };
    const matches = chars.flatMap((c, index) => (c.name === name ? [index] : []));
    if (matches.length === 1) return { index: matches[0]!, character: chars[matches[0]!]! };
    if (matches.length > 1) return t('ensemble.profiles.characterAmbiguous', { name, avatars: matches.map((i) => chars[i]!.avatar).join(', ') });
    return t('ensemble.profiles.characterNotFound', { name });
}

/** The profile's name as it is now (it may have been renamed since it was stored), else the stored label. */
function currentName(profiles: readonly ConnectionProfile[], ref: ProfileRef | null | undefined): string {
    return ref ? (findProfile(profiles, ref)?.name ?? refLabel(ref)) : '';
}

function findProfileByText(profiles: readonly ConnectionProfile[], text: string): ConnectionProfile | undefined {
    return findProfile(profiles, { id: text, name: text });
}

export function registerProfileCommands(host: Host, store: SettingsStore): Promise<void[]> {
    const fail = (message: string) => {
        host.toast('error', message, '/ens-profile');
        return '';
    };
    const profileNames = () => listProfiles(host).map((p) => p.name);

    const ensProfile = async (named: Record<string, string>, unnamed: string): Promise<string> => {
        const profileText = unnamed.trim();
        const clear = isTrue(named.clear);
        const profiles = listProfiles(host);
        const profile = profileText ? findProfileByText(profiles, profileText) : undefined;
        if (profileText && !profile) return fail(t('ensemble.profiles.profileNotFound', { name: profileText }));
        if (named.char && named.group) return fail(t('ensemble.profiles.charOrGroup'));

        if (named.char) {
            const found = findCharacter(host, named.char);
            if (typeof found === 'string') return fail(found);
            if (!profile && !clear) return currentName(profiles, cardRef(found.character));
            try {
                await writeCardRef(host, found.index, profile ? refOf(profile) : null);
            } catch (err) {
                return fail(t('ensemble.profiles.cardOfSaveFailed', { name: found.character.name, error: errorMessage(err) }));
            }
            return profile?.name ?? '';
        }
        if (named.group) {
            const group = host.groups().find((g) => g.name === named.group) ?? host.groups().find((g) => g.id === named.group);
            if (!group) return fail(t('ensemble.profiles.groupNotFound', { name: named.group }));
            const current = store.get().profiles.groupDefaults[group.id];
            if (!profile && !clear) return currentName(profiles, current);
            store.update((s) => {
                if (profile) s.profiles.groupDefaults[group.id] = refOf(profile);
                else delete s.profiles.groupDefaults[group.id];
            });
            return profile?.name ?? '';
        }
        return fail(t('ensemble.profiles.nameTarget'));
    };

    const ensProfiles = (): string => {
        const settings = store.get().profiles;
        const profiles = listProfiles(host);
        const label = (ref: ProfileRef) => currentName(profiles, ref);
        const characters: Record<string, { name: string; profile: string }> = {};
        for (const c of host.characters()) {
            const ref = cardRef(c);
            if (ref) characters[c.avatar] = { name: c.name, profile: label(ref) };
        }
        const groups: Record<string, { name: string; profile: string }> = {};
        for (const [id, ref] of Object.entries(settings.groupDefaults)) {
            groups[id] = { name: host.groups().find((g) => g.id === id)?.name ?? '', profile: label(ref) };
        }
        return JSON.stringify({ characters, groups, fallback: settings.fallback ? label(settings.fallback) : null });
    };

    return Promise.all([
        host.registerSlashCommand({
            name: 'ens-profile',
            helpString: t('ensemble.profiles.cmdProfileHelp', {
                setExample: '<code>/ens-profile char=Alice Claude</code>',
                showExample: '<code>/ens-profile char=Alice</code>',
                clearExample: '<code>/ens-profile char=Alice clear=true</code>',
                groupExample: '<code>/ens-profile group="Alice &amp; Bob" Local</code>',
            }),
            returns: t('ensemble.profiles.cmdProfileReturns'),
            namedArgs: [
                { name: 'char', description: t('ensemble.profiles.argChar'), type: 'string', enumValues: () => host.characters().map((c) => c.name) },
                { name: 'group', description: t('ensemble.profiles.argGroup'), type: 'string', enumValues: () => host.groups().map((g) => g.name) },
                { name: 'clear', description: t('ensemble.profiles.argClear'), type: 'bool' },
            ],
            unnamedArg: { description: t('ensemble.profiles.argProfile'), type: 'string', enumValues: profileNames },
            callback: ensProfile,
        }),
        host.registerSlashCommand({
            name: 'ens-profiles',
            helpString: t('ensemble.profiles.cmdProfilesHelp'),
            returns: t('ensemble.profiles.cmdProfilesReturns'),
            callback: ensProfiles,
        }),
    ]);
}
