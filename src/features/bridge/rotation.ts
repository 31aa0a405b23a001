import type { Host } from '../../host/host';
import type { SettingsStore } from '../../settings/store';
import { type ConnectionProfile, findProfile, listProfiles } from '../../core/profiles';

/**
 * The optional pool of Connection Profiles bridge requests take turns on (round-robin), each request
 * routed per request like a group member's. Profiles no longer found are skipped.
 */
export class Rotation {
    private next = 0;
    private current: ConnectionProfile | null = null;

    constructor(private readonly host: Host, private readonly store: SettingsStore) {}

    /** Picks the profile for the request that starts now (null: ST's own connection). */
    begin(): ConnectionProfile | null {
        const profiles = listProfiles(this.host);
        const pool = this.store.get().bridge.rotation.map((ref) => findProfile(profiles, ref)).filter((p): p is ConnectionProfile => !!p);
        this.current = pool.length ? pool[this.next++ % pool.length] ?? null : null;
        return this.current;
    }

    end(): void {
        this.current = null;
    }

    /** The profile of the bridge request in progress, for the core's request router (an override). */
    active(): ConnectionProfile | null {
        return this.current;
    }
}
