import type { Host } from '../../host/host';
import { EnsembleError } from '../../shared/errors';
import { log } from '../../shared/log';
import { selectedProfileId } from './catalog';
import type { ConnectionProfile } from './schema';

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
            if (this.original === undefined) this.original = { profileId: before };
            if (before !== profile.id || !this.matches(profile)) {
                log.info(`switching ST's connection to profile ${profile.id}`);
                await this.select(profile.id, profile.name);
            }
            if (profile.mode === 'cc' && profile.model && this.host.currentModel() !== profile.model) {
                await this.host.setModel(profile.model);
                if (this.host.currentModel() !== profile.model) {
                    throw new EnsembleError('PROFILE_SWITCH_MISMATCH',
                        `ST kept model "${this.host.currentModel()}" instead of "${profile.model}" for profile "${profile.name}".`);
                }
            }
            await this.waitOnline(profile.name);
        });
    }

    /** Puts back the profile the user had before Ensemble's first switch. Safe to call at any time. */
    restore(): Promise<void> {
        return this.serial(async () => {
            if (this.original === undefined) return;
            const { profileId } = this.original;
            this.original = undefined;
            if (selectedProfileId(this.host) === profileId) return;
            log.info('restoring the user\'s connection profile');
            await this.select(profileId, 'your previous profile');
        });
    }

    private matches(profile: ConnectionProfile): boolean {
        return profile.mode !== 'cc' || !profile.model || this.host.currentModel() === profile.model;
    }

    private async select(id: string | null, label: string): Promise<void> {
        log.debug(`selecting profile ${id ?? '<None>'} (${label})`);
        await this.host.selectProfile(id, this.timeoutMs());
    }

    private async waitOnline(label: string): Promise<void> {
        const deadline = this.host.now() + this.timeoutMs();
        while (this.host.onlineStatus() === 'no_connection') {
            if (this.host.now() >= deadline) {
                throw new EnsembleError('PROFILE_SWITCH_OFFLINE', `ST could not connect with profile "${label}".`);
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
