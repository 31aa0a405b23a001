import type { Host, HostCharacter } from '../../host/host';
import type { SettingsStore } from '../../settings/store';
import { errorMessage } from '../../shared/errors';
import { type MessageKey, inEnglish, t } from '../../shared/i18n';
import { log } from '../../shared/log';
import { type ConnectionProfile, type Resolution, type ResolutionSource, listProfiles, refLabel, resolveProfile } from '../../core/profiles';
import { type PresetCache, type RequestRouter, planFor } from '../../core/route';
import { Switcher } from './switcher';

/**
 * The warning for a missing profile, one whole sentence per case: which level's profile is gone, and what the
 * character speaks through instead (a lower level's profile, or ST's current connection). The resolution order
 * (character, group default, fallback) makes other pairs impossible.
 */
const MISSING_THEN: Record<Exclude<ResolutionSource, 'none'>, Partial<Record<ResolutionSource, MessageKey>>> = {
    character: {
        group: 'ensemble.profiles.missingCharacterUsingGroup',
        fallback: 'ensemble.profiles.missingCharacterUsingFallback',
        none: 'ensemble.profiles.missingCharacterUsingCurrent',
    },
    group: { fallback: 'ensemble.profiles.missingGroupUsingFallback', none: 'ensemble.profiles.missingGroupUsingCurrent' },
    fallback: { none: 'ensemble.profiles.missingFallbackUsingCurrent' },
};

/**
 * Sends each drafted group member's request through its profile.
 *
 * GROUP_MEMBER_DRAFTED (awaited by ST before the member's Generate) resolves the member's profile, once
 * for the turn, and decides the plan: a per-request route when the profile allows it (nothing global
 * changes), else a verified full switch. The profile is kept with the draft; the core's router asks
 * for it at CHAT_COMPLETION_SETTINGS_READY and rewrites that member's request body. Both run for every
 * generation type ST drafts for: normal, swipe, regenerate, continue, quiet, impersonate, /trigger.
 */
export class ProfilesController {
    readonly presets: PresetCache;
    readonly switcher: Switcher;
    /** The member ST drafted last and the profile resolved for it, valid while ST still has it selected (characterId) in a group. */
    private drafted: { chId: number; avatar: string; profile: ConnectionProfile | null } | null = null;
    /** Where a full switch happened (group id or solo avatar), to restore on leaving it. */
    private switchedFor: string | null = null;
    /** member→profile pairs already announced in this chat: one toast each, not one per turn. */
    private readonly announced = new Set<string>();
    /** Missing-profile warnings already shown in this chat (same reason: one toast, not one per turn). */
    private readonly warned = new Set<string>();

    constructor(private readonly host: Host, private readonly store: SettingsStore, private readonly router: RequestRouter) {
        this.presets = router.presets;
        this.switcher = new Switcher(host, () => store.get().profiles.switchTimeoutMs);
    }

    start(): void {
        this.host.on('groupMemberDrafted', (chId) => this.onDrafted(chId));
        this.router.setMemberSource(() => this.requestProfile());
        this.host.on('chatChanged', () => this.onChatChanged());
        this.host.on('generationStopped', () => void this.restoreIfSwitched('stopped'));
        this.host.on('connectionProfileLoaded', () => void this.presets.refresh());
    }

    private get settings() {
        return this.store.get().profiles;
    }

    private resolve(character: HostCharacter | undefined, groupId: string | null): Resolution {
        return resolveProfile(listProfiles(this.host), this.settings, character, groupId);
    }

    async onDrafted(chId: number): Promise<void> {
        this.drafted = null;
        if (!this.settings.enabled) return;
        const character = this.host.characters()[chId];
        if (!character) return;
        const groupId = this.host.groupId();
        const res = this.resolve(character, groupId);
        this.drafted = { chId, avatar: character.avatar, profile: res.profile ?? null };
        this.reportMissing(character, res);
        await this.prepare(character, res, groupId ?? character.avatar);
    }

    /** Makes ST ready to send `character`'s next request through its resolved profile. */
    private async prepare(character: HostCharacter, res: Resolution, scope: string): Promise<void> {
        if (!res.profile) {
            // Unassigned: this member speaks through what the user had, or not at all.
            if (!(await this.restoreIfSwitched('unassigned member'))) this.stopTurn(character, t('ensemble.profiles.ownNotRestored'));
            return;
        }
        let plan = planFor(res.profile, { mainApi: this.host.mainApi(), source: this.host.chatCompletionSource() });
        if (plan.kind === 'switch' && this.switcher.switched && res.profile.mode === 'cc') {
            // Back on the user's own connection first: from there this profile may route, and so may
            // the members after it, instead of one full switch each.
            if (!(await this.restoreIfSwitched('routable profile'))) return this.stopTurn(character, t('ensemble.profiles.ownNotRestored'));
            plan = planFor(res.profile, { mainApi: this.host.mainApi(), source: this.host.chatCompletionSource() });
        }
        if (plan.kind === 'route') {
            // Usually cached already; the first draft after a preset was created reads it once.
            await this.presets.get(res.profile.preset);
            this.announce(character, res.profile);
            return;
        }
        try {
            log.info(`full switch for ${character.avatar}: ${inEnglish(plan.reason)}`);
            await this.switcher.switchTo(res.profile);
            this.switchedFor = scope;
            this.announce(character, res.profile);
        } catch (err) {
            this.stopTurn(character, errorMessage(err));
            await this.restoreIfSwitched('failed switch');
        }
    }

    /** Never a silent drop: say why, then stop ST's turn (the group loop checks the signal before the next member). */
    private stopTurn(character: HostCharacter, why: string): void {
        this.host.toast('error', t('ensemble.profiles.turnStopped', { name: character.name, reason: why }), 'Ensemble');
        this.drafted = null;
        this.host.stopGeneration();
    }

    /**
     * The profile of the request ST is building, for the router: the drafted member's, as resolved at its
     * draft (only inside ST's group loop, for that member: viewing a member's card also selects it); in a
     * 1:1 chat, opted in, the character's (no draft event there, so it is resolved here, once per request).
     */
    private requestProfile(): ConnectionProfile | null {
        if (!this.settings.enabled) return null;
        const groupId = this.host.groupId();
        const chId = this.host.characterId();
        if (chId === undefined) return null;
        const character = this.host.characters()[chId];
        if (!character) return null;
        if (groupId) {
            if (!this.host.isGroupGenerating()) return null;
            if (!this.drafted || this.drafted.chId !== chId || this.drafted.avatar !== character.avatar) return null;
            return this.drafted.profile;
        }
        return this.settings.soloAuto ? (this.resolve(character, null).profile ?? null) : null;
    }

    private async onChatChanged(): Promise<void> {
        this.drafted = null;
        this.announced.clear();
        this.warned.clear();
        void this.presets.refresh();
        const groupId = this.host.groupId();
        const chId = this.host.characterId();
        const character = chId === undefined ? undefined : this.host.characters()[chId];
        const scope = groupId ?? character?.avatar ?? null;
        if (this.switcher.switched && scope !== this.switchedFor && this.settings.restoreOnLeave) {
            await this.restoreIfSwitched('left the chat');
        }
        // 1:1 chats have no draft event: a profile that needs a full switch is applied on entry.
        if (!groupId && character && this.settings.enabled && this.settings.soloAuto) {
            const res = this.resolve(character, null);
            this.reportMissing(character, res);
            if (res.profile) await this.prepare(character, res, character.avatar);
        }
    }

    /** Puts the user's profile back if Ensemble switched away from it; false (with a toast) if that failed. */
    private async restoreIfSwitched(why: string): Promise<boolean> {
        if (!this.switcher.switched) return true;
        log.info(`restoring connection (${why})`);
        this.switchedFor = null;
        try {
            await this.switcher.restore();
            return true;
        } catch (err) {
            this.host.toast('error', t('ensemble.profiles.restoreFailed', { error: errorMessage(err) }), 'Ensemble');
            return false;
        }
    }

    private reportMissing(character: HostCharacter, res: Resolution): void {
        for (const m of res.missing) {
            const key = `${character.avatar}\n${m.source}\n${refLabel(m.ref)}`;
            if (this.warned.has(key)) continue;
            this.warned.add(key);
            const text = MISSING_THEN[m.source][res.source];
            if (!text) continue;
            this.host.toast('warning', t(text, { name: character.name, missing: refLabel(m.ref), profile: res.profile?.name ?? '' }), 'Ensemble');
        }
    }

    private announce(character: HostCharacter, profile: ConnectionProfile): void {
        const key = `${character.avatar}\n${profile.id}`;
        if (!this.settings.notify || this.announced.has(key)) return;
        this.announced.add(key);
        this.host.toast('info', t('ensemble.profiles.speaksThrough', { name: character.name, profile: profile.name }), 'Ensemble');
    }
}
