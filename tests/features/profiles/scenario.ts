import { RequestRouter } from '../../../src/core/route';
import { ProfilesController } from '../../../src/features/profiles/controller';
import type { ProfilesSettings } from '../../../src/settings/schema';
import { SettingsStore } from '../../../src/settings/store';
import { type FakeProfile, FakeStHost } from '../../fakes/st-host';

/**
 * A small ST install shared by the profiles tests: the user's own profile "Mine" is selected; Alice
 * speaks through A, Bob through B, Carol has none and group "Trio" defaults to C. Presets hold the keys.
 */
export const MINE: FakeProfile = { id: 'pu-id', name: 'Mine', mode: 'cc', api: 'custom', preset: 'PU', 'api-url': 'http://user.local/v1', model: 'user-model' };
export const A: FakeProfile = { id: 'pa-id', name: 'A', mode: 'cc', api: 'custom', preset: 'PA', 'api-url': 'http://a.local/v1', model: 'gpt-a' };
export const B: FakeProfile = { id: 'pb-id', name: 'B', mode: 'cc', api: 'custom', preset: 'PB', 'api-url': 'http://b.local/v1', model: 'gpt-b' };
export const C: FakeProfile = { id: 'pc-id', name: 'C', mode: 'cc', api: 'custom', preset: 'PC', 'api-url': 'http://c.local/v1', model: 'gpt-c' };
/** Text Completion: only a full switch can honour it. */
export const T: FakeProfile = { id: 'pt-id', name: 'T', mode: 'tc', api: 'ooba', 'api-url': 'http://t.local', model: 'llama' };
/** OpenAI source while ST is on Custom: a full switch. */
export const O: FakeProfile = { id: 'po-id', name: 'O', mode: 'cc', api: 'openai', preset: 'PO', model: 'gpt-4o' };

const customPreset = (key: string, temperature: number) => ({
    chat_completion_source: 'custom', custom_include_headers: `Authorization: Bearer ${key}`, temperature, openai_max_tokens: 500, stream_openai: false,
});

export const ALICE = 'alice.png';
export const BOB = 'bob.png';
export const CAROL = 'carol.png';
export const GROUP = 'g1';

export interface Scenario {
    fake: FakeStHost;
    store: SettingsStore;
    /** The connection core's router, started with the controller (startController). */
    router: RequestRouter;
    alice: number;
    bob: number;
    carol: number;
}

export function scenario(change: (s: ProfilesSettings) => void = () => undefined): Scenario {
    const fake = new FakeStHost();
    fake.st.presets = {
        PU: customPreset('sk-user', 1), PA: customPreset('sk-a', 0.1), PB: customPreset('sk-b', 0.2), PC: customPreset('sk-c', 0.3),
        PO: { chat_completion_source: 'openai', openai_model: 'gpt-4o', temperature: 0.7 },
    };
    for (const p of [MINE, A, B, C, T, O]) fake.addProfile(p);
    fake.cm.selectedProfile = MINE.id;
    Object.assign(fake.st.connection, { preset: 'PU', model: 'user-model', url: 'http://user.local/v1', headers: 'Authorization: Bearer sk-user' });

    const alice = fake.addCharacter('Alice', { avatar: ALICE, extensions: { ensemble: { profileId: A.id, profileName: A.name } } });
    const bob = fake.addCharacter('Bob', { avatar: BOB, extensions: { ensemble: { profileId: B.id, profileName: B.name } } });
    const carol = fake.addCharacter('Carol', { avatar: CAROL });
    fake.addGroup({ id: GROUP, name: 'Trio', members: [ALICE, BOB, CAROL] });

    const settings = { version: 1, profiles: { groupDefaults: { [GROUP]: { id: C.id, name: C.name } } } };
    fake.writeSettings('ensemble', settings);
    const store = new SettingsStore(fake);
    store.update((s) => change(s.profiles));
    return { fake, store, router: new RequestRouter(fake), alice, bob, carol };
}

export function startController({ fake, store, router }: Scenario): ProfilesController {
    router.start();
    const controller = new ProfilesController(fake, store, router);
    controller.start();
    return controller;
}

/** Points a character's card at a profile (or at a reference to nothing that exists). */
export function assign(fake: FakeStHost, index: number, ref: { profileId: string | null; profileName: string | null } | null): void {
    const ext = fake.st.characters[index]?.data?.extensions;
    if (!ext) throw new Error(`no character ${index}`);
    if (ref) ext.ensemble = ref; else delete ext.ensemble;
}
