import type { Host } from '../../host/host';
import { translatedError } from '../../shared/i18n';
import { log } from '../../shared/log';
import { type ConnectionProfile, listProfiles, selectedProfileId } from '../../core/profiles';

/**
 * The fallback path: a full, global switch of ST's connection for profiles a per-request route
 * can't carry. Unlike ST 1.12.6's `/profile`, it selects by id (no fuzzy match), then verifies
 * what it got: the model (a Custom reconnect can keep the old one) and that ST is online (a
 * reconnecting ST drops the turn silently). Remembers what the user had, to restore it.
 */
export class Switcher {
    /** The user's own selection before Ensemble's first switch; undefined while nothing is switched. */
    private original: { profileId: string | null } | undefined;
    private queue: Promise<unknown> = Promise.resolve();

    constructor(private readonly host: Host, private readonly timeoutMs: () => number) {}

    get switched(): boolean {
        return this.original !== undefined;
    }

    switchTo(profile: ConnectionProfile): Promise<void> {
        return this.serial(async () => {
            const before = selectedProfileId(this.host);
            if (this.original === undefined) {
                // ST applies nothing for "<None>", so without a profile of the user's own there is nothing to restore to.
                if (before === null) {
                    throw translatedError('PROFILE_SWITCH_NO_RESTORE', 'ensemble.errors.profileSwitchNoRestore', { profile: profile.name });
                }
                this.original = { profileId: before };
            }
            await this.apply(profile);
        });
    }

    /** Puts back the profile the user had before Ensemble's first switch. Safe to call at any time. */
    restore(): Promise<void> {
        return this.serial(async () => {
            if (this.original === undefined) return;
            const { profileId } = this.original;
            this.original = undefined;
            const own = listProfiles(this.host).find((p) => p.id === profileId);
            if (!own) throw translatedError('PROFILE_MISSING', 'ensemble.errors.profileMissing');
            log.info('restoring the user\'s connection profile');
            await this.apply(own);
        });
    }

    /** Selects `profile` unless ST is on it already, then checks the model and waits until ST is online. */
    private async apply(profile: ConnectionProfile): Promise<void> {
        if (selectedProfileId(this.host) !== profile.id || !this.matches(profile)) {
            log.info(`switching ST's connection to profile ${profile.id}`);
            await this.select(profile.id, profile.name);
        }
        if (profile.mode === 'cc' && profile.model && this.host.currentModel() !== profile.model) {
            await this.host.setModel(profile.model);
            if (this.host.currentModel() !== profile.model) {
                throw translatedError('PROFILE_SWITCH_MISMATCH', 'ensemble.errors.profileSwitchMismatch',
                    { kept: this.host.currentModel(), model: profile.model, profile: profile.name });
            }
        }
        await this.waitOnline(profile.name);
    }

    private matches(profile: ConnectionProfile): boolean {
        return profile.mode !== 'cc' || !profile.model || this.host.currentModel() === profile.model;
    }

    private async select(id: string, label: string): Promise<void> {
        log.debug(`selecting profile ${id} (${label})`);
        await this.host.selectProfile(id, this.timeoutMs());
    }

    private async waitOnline(label: string): Promise<void> {
        const deadline = this.host.now() + this.timeoutMs();
        while (this.host.onlineStatus() === 'no_connection') {
            if (this.host.now() >= deadline) {
                throw translatedError('PROFILE_SWITCH_OFFLINE', 'ensemble.errors.profileSwitchOffline', { profile: label });
            }
            await this.host.sleep(100);
        }
    }

    private serial<T>(job: () => Promise<T>): Promise<T> {
        const run = this.queue.then(job, job);
        this.queue = run.catch(() => undefined);
        return run;
    }
}
