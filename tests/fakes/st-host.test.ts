import { describe, expect, it } from 'vitest';
import { EnsembleError } from '../../src/shared/errors';
import { FakeStHost } from './st-host';

/** The fake's own behaviour; each case is a fact of ST 1.12.6 (its file in the name). */
describe('FakeStHost events (public/lib/eventemitter.js)', () => {
    it('awaits each async listener before calling the next', async () => {
        const fake = new FakeStHost();
        const order: string[] = [];
        fake.on('chatChanged', async () => {
            await fake.sleep(10);
            await Promise.resolve();
            order.push('slow');
        });
        fake.on('chatChanged', () => { order.push('fast'); });
        await fake.emit('chatChanged', 'x');
        expect(order).toEqual(['slow', 'fast']);
    });

    it('passes the arguments to every listener', async () => {
        const fake = new FakeStHost();
        const seen: unknown[] = [];
        fake.on('groupMemberDrafted', (chId) => { seen.push(chId); });
        await fake.emit('groupMemberDrafted', 3);
        expect(seen).toEqual([3]);
    });

    it('swallows a throwing listener, records it, and still runs later listeners', async () => {
        const fake = new FakeStHost();
        let later = false;
        fake.on('appReady', async () => { throw new Error('boom'); });
        fake.on('appReady', () => { later = true; });
        await expect(fake.emit('appReady')).resolves.toBeUndefined();
        expect(later).toBe(true);
        expect(fake.listenerErrors).toHaveLength(1);
        expect(String(fake.listenerErrors[0]?.error)).toContain('boom');
    });

    it('emits over a copy: a listener added during an emit runs only on the next one', async () => {
        const fake = new FakeStHost();
        let added = 0;
        fake.on('groupUpdated', () => { fake.on('groupUpdated', () => { added++; }); });
        await fake.emit('groupUpdated');
        expect(added).toBe(0);
        await fake.emit('groupUpdated');
        expect(added).toBe(1);
    });

    it('stopGeneration records the call and emits generationStopped without awaiting it (script.js stopGeneration)', async () => {
        const fake = new FakeStHost();
        let stoppedSeen = false;
        fake.on('generationStopped', async () => {
            await new Promise((r) => setTimeout(r, 0));
            stoppedSeen = true;
        });
        fake.stopGeneration();
        expect(fake.counts.stops).toBe(1);
        expect(stoppedSeen).toBe(false);
        await fake.idle();
        expect(stoppedSeen).toBe(true);
    });
});

describe('FakeStHost characters (extensions.js writeExtensionField)', () => {
    it('replaces the client-side extension value but deep-merges the card file', async () => {
        const fake = new FakeStHost();
        const i = fake.addCharacter('Alice');
        await fake.writeCharacterExtension(i, 'ensemble', { profileId: 'p1', n: 1 });
        await fake.writeCharacterExtension(i, 'ensemble', { other: true });
        expect(fake.st.characters[i]?.data?.extensions?.ensemble).toEqual({ other: true });
        expect(fake.cardFile('Alice.png').data?.extensions?.ensemble).toEqual({ profileId: 'p1', n: 1, other: true });
    });

    it('clears a field in the file only with an explicit null', async () => {
        const fake = new FakeStHost();
        const i = fake.addCharacter('Alice');
        await fake.writeCharacterExtension(i, 'ensemble', { profileId: 'p1' });
        await fake.writeCharacterExtension(i, 'ensemble', { profileId: null });
        expect(fake.cardFile('Alice.png').data?.extensions?.ensemble).toEqual({ profileId: null });
    });

    it('keeps other extensions of the card', async () => {
        const fake = new FakeStHost();
        const i = fake.addCharacter('Alice', { extensions: { talkativeness: '0.5' } });
        await fake.writeCharacterExtension(i, 'ensemble', { profileId: 'p1' });
        expect(fake.st.characters[i]?.data?.extensions).toEqual({ talkativeness: '0.5', ensemble: { profileId: 'p1' } });
        expect(fake.cardFile('Alice.png').data?.extensions?.talkativeness).toBe('0.5');
    });

    it('rejects keys with a dot (ST splits the path on dots)', async () => {
        const fake = new FakeStHost();
        const i = fake.addCharacter('Alice');
        await expect(fake.writeCharacterExtension(i, 'ensemble.profile', 'x')).rejects.toThrow(/dots/);
        expect(fake.cardWrites).toHaveLength(0);
    });

    it('ignores a missing index like ST (only a console warning)', async () => {
        const fake = new FakeStHost();
        await expect(fake.writeCharacterExtension(7, 'ensemble', {})).resolves.toBeUndefined();
        expect(fake.cardWrites).toHaveLength(0);
    });
});

describe('FakeStHost settings, slash commands, toasts, popups', () => {
    it('reads and writes extension settings and counts saves (extensions.js extension_settings)', () => {
        const fake = new FakeStHost();
        fake.writeSettings('ensemble', { version: 1 });
        expect(fake.readSettings('ensemble')).toEqual({ version: 1 });
        expect(fake.counts.settingsSaves).toBe(1);
        expect(fake.connectionManager()).toBe(fake.st.extensionSettings.connectionManager);
    });

    it('passes named values as strings and the unnamed argument as \'\' when absent (slash-commands.js)', async () => {
        const fake = new FakeStHost();
        const calls: [Record<string, string>, string][] = [];
        await fake.registerSlashCommand({ name: 'x', aliases: ['y'], helpString: '', callback: (n, u) => { calls.push([n, u]); return 'ok'; } });
        expect(await fake.runSlash('y', { clear: true, n: 2 })).toBe('ok');
        expect(calls).toEqual([[{ clear: 'true', n: '2' }, '']]);
        await expect(fake.runSlash('nope')).rejects.toThrow(/not registered/);
    });

    it('records toasts and answers confirm from the queue, false when empty (popup.js)', async () => {
        const fake = new FakeStHost();
        fake.toast('warning', 'careful', 'T');
        fake.confirmAnswers.push(true);
        expect(await fake.confirm('A?', 'text')).toBe(true);
        expect(await fake.confirm('B?', 'text')).toBe(false);
        expect(fake.toasts).toEqual([{ level: 'warning', message: 'careful', title: 'T' }]);
        expect(fake.confirms.map((c) => c.title)).toEqual(['A?', 'B?']);
    });

    it('builds the ST page fixtures and sanitises fragments through DOMPurify (index.html, templates.js)', () => {
        const fake = new FakeStHost();
        for (const id of ['extensions_settings2', 'advanced_div', 'rm_group_buttons', 'connection_profiles']) {
            expect(fake.dom.query(`#${id}`), id).not.toBeNull();
        }
        expect(fake.dom.query('#character_popup_ok')?.parentElement?.id).toBe('character_popup');
        expect(fake.dom.query('#rm_group_buttons')?.parentElement?.id).toBe('rm_group_chats_block');
        const frag = fake.dom.fragment('<b>ok</b><img src=x onerror="alert(1)"><script>alert(2)</script>');
        expect(frag.querySelector('b')?.textContent).toBe('ok');
        expect(frag.querySelector('img')?.getAttribute('onerror')).toBeNull();
        expect(frag.querySelector('script')).toBeNull();
    });

    it('can start without fixtures, to test features when ST\'s markup is missing', () => {
        expect(new FakeStHost({ fixtures: false }).dom.query('#character_popup_ok')).toBeNull();
    });

    it('sleeps in virtual time: a 30 s wait costs no real time', async () => {
        const fake = new FakeStHost();
        const start = fake.now();
        const real = Date.now();
        await fake.sleep(30_000);
        expect(fake.now() - start).toBe(30_000);
        expect(Date.now() - real).toBeLessThan(1000);
    });
});

describe('FakeStHost Connection Profiles (connection-manager/index.js)', () => {
    const profileA = { id: 'pa', name: 'A', mode: 'cc' as const, api: 'custom', preset: 'PA', 'api-url': 'http://a.local/v1', model: 'gpt-a' };

    function withProfileA(): FakeStHost {
        const fake = new FakeStHost();
        fake.st.presets.PA = { chat_completion_source: 'custom', custom_model: 'preset-model', custom_url: 'http://pa.local', custom_include_headers: 'Authorization: Bearer sk-a', temperature: 0.2 };
        fake.addProfile(profileA);
        return fake;
    }

    it('selecting a profile applies preset, URL and model, records it, then emits its name', async () => {
        const fake = withProfileA();
        const loaded: string[] = [];
        fake.on('connectionProfileLoaded', (name) => { loaded.push(name); });
        await fake.selectProfile('pa', 30_000);
        expect(fake.cm.selectedProfile).toBe('pa');
        expect(fake.st.connection).toMatchObject({ source: 'custom', model: 'gpt-a', url: 'http://a.local/v1', headers: 'Authorization: Bearer sk-a', temperature: 0.2 });
        expect(loaded).toEqual(['A']);
        expect((fake.document.getElementById('connection_profiles') as HTMLSelectElement).value).toBe('pa');
    });

    it('selecting null deselects and emits <None> but leaves the connection as it is', async () => {
        const fake = withProfileA();
        await fake.selectProfile('pa', 30_000);
        const loaded: string[] = [];
        fake.on('connectionProfileLoaded', (name) => { loaded.push(name); });
        await fake.selectProfile(null, 30_000);
        expect(fake.cm.selectedProfile).toBeNull();
        expect(fake.st.connection.model).toBe('gpt-a');
        expect(loaded).toEqual(['<None>']);
    });

    it('a Text Completion profile moves ST off Chat Completion, so currentModel reads empty', async () => {
        const fake = new FakeStHost();
        fake.addProfile({ id: 'pt', name: 'T', mode: 'tc', api: 'ooba', 'api-url': 'http://t.local', model: 'llama' });
        await fake.selectProfile('pt', 30_000);
        expect(fake.st.mainApi).toBe('textgenerationwebui');
        expect(fake.st.textCompletion).toEqual({ api: 'ooba', url: 'http://t.local', model: 'llama' });
        expect(fake.currentModel()).toBe('');
    });

    it('trap staleModelAfterSwitch keeps the previous model; setModel then fixes it', async () => {
        const fake = withProfileA();
        fake.traps.staleModelAfterSwitch = true;
        await fake.selectProfile('pa', 30_000);
        expect(fake.currentModel()).toBe('user-model');
        await fake.setModel('gpt-a');
        expect(fake.currentModel()).toBe('gpt-a');
        expect(fake.modelCalls).toEqual(['gpt-a']);
    });

    it('trap stickyModel makes setModel a no-op', async () => {
        const fake = new FakeStHost();
        fake.traps.stickyModel = true;
        await fake.setModel('other');
        expect(fake.currentModel()).toBe('user-model');
    });

    it('trap offlineAfterSwitch leaves ST offline, for good or for a virtual time', async () => {
        const fake = withProfileA();
        fake.traps.offlineAfterSwitch = 500;
        await fake.selectProfile('pa', 30_000);
        expect(fake.onlineStatus()).toBe('no_connection');
        await fake.sleep(500);
        expect(fake.onlineStatus()).toBe('Valid');
        fake.traps.offlineAfterSwitch = true;
        await fake.selectProfile('pa', 30_000);
        await fake.sleep(60_000);
        expect(fake.onlineStatus()).toBe('no_connection');
    });

    it('trap switchNeverEmits rejects with PROFILE_SWITCH_TIMEOUT after timeoutMs of virtual time', async () => {
        const fake = withProfileA();
        fake.traps.switchNeverEmits = true;
        const start = fake.now();
        const err = await fake.selectProfile('pa', 30_000).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(EnsembleError);
        expect((err as EnsembleError).code).toBe('PROFILE_SWITCH_TIMEOUT');
        expect(fake.now() - start).toBe(30_000);
        expect(fake.emitted.some((e) => e.event === 'connectionProfileLoaded')).toBe(false);
    });

    it('an id with no option in the dropdown changes nothing and emits <None> (ST\'s safety net)', async () => {
        const fake = withProfileA();
        await fake.selectProfile('gone', 30_000);
        expect(fake.cm.selectedProfile).toBeNull();
        expect(fake.emitted.at(-1)).toEqual({ event: 'connectionProfileLoaded', args: ['<None>'] });
    });

    it('reads presets as /api/settings/get returns them (fresh copies each time, as st-host.ts parses them) and counts reads', async () => {
        const fake = withProfileA();
        const first = await fake.chatCompletionPresets();
        (first.PA as Record<string, unknown>).custom_model = 'mutated';
        expect((await fake.chatCompletionPresets()).PA).toMatchObject({ custom_model: 'preset-model' });
        expect(fake.counts.presetReads).toBe(2);
    });
});
