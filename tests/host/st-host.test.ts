/**
 * src/host/st-host.ts over a fake of ST 1.12.6's globals (tests/fakes/st-globals.ts).
 *
 * Unit-tested here: characterId, groupId, menuType, mainApi, onlineStatus, isGroupGenerating,
 * chatCompletionSource, currentModel, newCharacterExtensions, writeCharacterExtension, readSettings,
 * writeSettings, removeSettings, localStore, connectionManager, on (and eventName), selectProfile (its
 * contract with the dropdown and the event), setModel, chatCompletionPresets, stopGeneration,
 * registerSlashCommand (classes on the context; the deprecated fallback).
 *
 * Left to e2e (they need ST's own code behind them):
 * - selectProfile through ST's real connection-manager dropdown, in the full-switch fallback:
 *   full-switch.e2e.mjs "${TURNS} turns with a full switch each, none dropped" and
 *   "after the turns ST is back on the user's profile (Carol spoke last, unassigned)".
 * - registerSlashCommand on 1.12.6, where the SlashCommand classes are imported from scripts/slash-commands/
 *   (slashCommandModules' import path): profiles.e2e.mjs "/ens-profile char=Bob Mock-B sets and returns the name".
 * - The run-time imports themselves (st-modules.ts importStModule/importStRoot, mocked here): images.e2e.mjs
 *   "the image API got its own key, the prompt LLM its own" (chatCompletionSource read from the real openai.js).
 * - characters and groups are ST's arrays, passed through unchanged.
 * - fetch, now and sleep are the browser's own.
 */
import DOMPurify from 'dompurify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Host, HostEvent, SlashCommandSpec } from '../../src/host/host';
import { createStHost } from '../../src/host/st-host';
import { EnsembleError } from '../../src/shared/errors';
import { FakeSt, json } from '../fakes/st-globals';

vi.mock('../../src/host/st-modules', async (importOriginal) =>
    (await import('../fakes/st-globals')).mockStModules(await importOriginal<Record<string, unknown>>()));

let st: FakeSt;

async function hostOver(fake: FakeSt): Promise<Host> {
    fake.install();
    vi.stubGlobal('DOMPurify', DOMPurify);
    return createStHost();
}

beforeEach(() => {
    st = new FakeSt();
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
    localStorage.clear();
    document.body.replaceChildren();
});

describe('characterId: ST\'s this_chid (number, string from a chid attribute, or nothing) as an index', () => {
    it.each([
        [0, 0],
        [3, 3],
        ['0', 0], // selectCharacterById keeps the string it was given (script.js line 1294)
        ['12', 12],
    ])('reads %j as %j', async (raw, expected) => {
        const host = await hostOver(st);
        st.state.this_chid = raw;
        expect(host.characterId()).toBe(expected);
    });

    it.each([undefined, null, '', -1, '-1', '1.5', 'abc', Number.NaN])('reads %j as no character', async (raw) => {
        // -1: ST parks this_chid there while it re-selects a renamed character (script.js line 5829).
        const host = await hostOver(st);
        st.state.this_chid = raw;
        expect(host.characterId()).toBeUndefined();
    });

    it('follows ST as the selection changes (a fresh context per call)', async () => {
        const host = await hostOver(st);
        st.state.this_chid = 1;
        expect(host.characterId()).toBe(1);
        st.state.this_chid = undefined;
        expect(host.characterId()).toBeUndefined();
    });
});

describe('scalar state', () => {
    it('groupId is the selected group, or null in a 1:1 chat and when ST has none', async () => {
        const host = await hostOver(st);
        expect(host.groupId()).toBeNull();
        st.state.selected_group = 'g-17';
        expect(host.groupId()).toBe('g-17');
        st.state.selected_group = undefined as unknown as null;
        expect(host.groupId()).toBeNull();
    });

    it('menuType, mainApi and onlineStatus read ST\'s current values', async () => {
        const host = await hostOver(st);
        st.state.menu_type = 'create';
        st.state.main_api = 'textgenerationwebui';
        st.state.online_status = 'gpt-4o';
        expect([host.menuType(), host.mainApi(), host.onlineStatus()]).toEqual(['create', 'textgenerationwebui', 'gpt-4o']);
    });

    it('menuType is empty when the context has none', async () => {
        const host = await hostOver(st);
        st.state.menu_type = undefined as unknown as string;
        expect(host.menuType()).toBe('');
    });
});

describe('openai.js and group-chats.js, imported once at start', () => {
    it('chatCompletionSource reads oai_settings live', async () => {
        const host = await hostOver(st);
        expect(host.chatCompletionSource()).toBe('openai');
        (st.modules['openai.js']!.oai_settings as { chat_completion_source: string }).chat_completion_source = 'custom';
        expect(host.chatCompletionSource()).toBe('custom');
    });

    it('currentModel asks openai.js under Chat Completion, and is empty under another API', async () => {
        const host = await hostOver(st);
        st.state.main_api = 'openai';
        expect(host.currentModel()).toBe('gpt-4o');
        st.state.main_api = 'textgenerationwebui';
        expect(host.currentModel()).toBe('');
    });

    it('isGroupGenerating follows group-chats.js is_group_generating', async () => {
        const host = await hostOver(st);
        expect(host.isGroupGenerating()).toBe(false);
        st.modules['group-chats.js']!.is_group_generating = true;
        expect(host.isGroupGenerating()).toBe(true);
    });

    it('without openai.js: the host still starts, source and model read empty, and it says why', async () => {
        delete st.modules['openai.js'];
        const host = await hostOver(st);
        expect(host.chatCompletionSource()).toBe('');
        expect(host.currentModel()).toBe('');
        const warnings = vi.mocked(console.warn).mock.calls.map((c) => String(c[1]));
        expect(warnings).toEqual(['could not import openai.js; Chat Completion source reads as unknown']);
    });
});

describe('settings', () => {
    it('writeSettings puts the value in ST\'s extension_settings and asks ST to save', async () => {
        const host = await hostOver(st);
        host.writeSettings('ensemble', { a: 1 });
        expect(st.state.extension_settings.ensemble).toEqual({ a: 1 });
        expect(st.calls.saveSettingsDebounced).toBe(1);
        expect(host.readSettings('ensemble')).toEqual({ a: 1 });
    });

    it('readSettings returns what is stored, unvalidated, and undefined when absent', async () => {
        const host = await hostOver(st);
        st.state.extension_settings.ensemble = 'not an object';
        expect(host.readSettings('ensemble')).toBe('not an object');
        expect(host.readSettings('other')).toBeUndefined();
    });

    it('removeSettings deletes the key and saves; an absent key saves nothing', async () => {
        const host = await hostOver(st);
        st.state.extension_settings.old = { x: 1 };
        host.removeSettings('old');
        expect('old' in st.state.extension_settings).toBe(false);
        expect(st.calls.saveSettingsDebounced).toBe(1);
        host.removeSettings('old');
        expect(st.calls.saveSettingsDebounced).toBe(1);
    });

    it('connectionManager is extension_settings.connectionManager as stored', async () => {
        const host = await hostOver(st);
        const cm = { profiles: [{ id: 'p1', name: 'A' }], selectedProfile: 'p1' };
        st.state.extension_settings.connectionManager = cm;
        expect(host.connectionManager()).toBe(cm);
    });

    it('newCharacterExtensions is the unsaved character\'s extensions object, created when missing', async () => {
        const host = await hostOver(st);
        const ext = host.newCharacterExtensions();
        ext.ensemble = { profile: 'p1' };
        expect(st.state.create_save.extensions).toEqual({ ensemble: { profile: 'p1' } });
        expect(host.newCharacterExtensions()).toBe(ext);
    });

    it('writeCharacterExtension goes through ST\'s writeExtensionField', async () => {
        const host = await hostOver(st);
        await host.writeCharacterExtension(2, 'ensemble', { profile: 'p1' });
        expect(st.calls.writeExtensionField).toEqual([{ id: 2, key: 'ensemble', value: { profile: 'p1' } }]);
    });
});

describe('localStore', () => {
    it('round-trips values as JSON in localStorage', async () => {
        const host = await hostOver(st);
        host.localStore.set('ens_key', { n: 1, list: ['a'] });
        expect(localStorage.getItem('ens_key')).toBe('{"n":1,"list":["a"]}');
        expect(host.localStore.get('ens_key')).toEqual({ n: 1, list: ['a'] });
        host.localStore.remove('ens_key');
        expect(localStorage.getItem('ens_key')).toBeNull();
    });

    it('reads a missing key or text that is not JSON as undefined', async () => {
        const host = await hostOver(st);
        expect(host.localStore.get('absent')).toBeUndefined();
        localStorage.setItem('broken', '{not json');
        expect(host.localStore.get('broken')).toBeUndefined();
    });
});

describe('on: Ensemble\'s events onto ST\'s emitter', () => {
    const mapping: [HostEvent, string][] = [
        ['appReady', 'app_ready'],
        ['chatChanged', 'chat_id_changed'],
        ['groupMemberDrafted', 'group_member_drafted'],
        ['chatCompletionSettingsReady', 'chat_completion_settings_ready'],
        ['generationStarted', 'generation_started'],
        ['messageReceived', 'message_received'],
        ['streamToken', 'stream_token_received'],
        ['generationStopped', 'generation_stopped'],
        ['characterEdited', 'character_edited'],
        ['characterDeleted', 'characterDeleted'],
        ['connectionProfileLoaded', 'connection_profile_loaded'],
        ['groupUpdated', 'group_updated'],
    ];

    it.each(mapping)('%s listens to ST\'s "%s" and gets its arguments', async (event, stName) => {
        const host = await hostOver(st);
        const seen: unknown[][] = [];
        host.on(event, ((...args: unknown[]) => { seen.push(args); }) as never);
        expect(st.eventSource.listenerCount(stName)).toBe(1);
        await st.eventSource.emit(stName, 'a', 2);
        expect(seen).toEqual([['a', 2]]);
    });

    it('ST\'s emit waits for an async handler (an awaited event waits for Ensemble)', async () => {
        const host = await hostOver(st);
        const body: Record<string, unknown> = { model: 'x' };
        host.on('chatCompletionSettingsReady', async (data) => {
            await new Promise((r) => setTimeout(r, 5));
            data.model = 'routed';
        });
        await st.eventSource.emit('chat_completion_settings_ready', body);
        expect(body.model).toBe('routed');
    });

    it('a throwing handler is logged, not passed to ST, and later listeners still run', async () => {
        const host = await hostOver(st);
        let later = false;
        host.on('chatChanged', async () => { throw new Error('boom'); });
        st.eventSource.on('chat_id_changed', () => { later = true; });
        await expect(st.eventSource.emit('chat_id_changed', 'c1')).resolves.toBeUndefined();
        expect(later).toBe(true);
        expect(st.eventSource.listenerErrors).toEqual([]);
        const [prefix, text, err] = vi.mocked(console.error).mock.calls[0] ?? [];
        expect([prefix, text, String(err)]).toEqual(['[Ensemble]', 'handler for chat_id_changed failed', 'Error: boom']);
    });

    it('an event this ST lacks is HOST_UNSUPPORTED, naming it', async () => {
        delete st.eventTypes.CONNECTION_PROFILE_LOADED;
        const host = await hostOver(st);
        let caught: unknown;
        try {
            host.on('connectionProfileLoaded', () => undefined);
        } catch (err) {
            caught = err;
        }
        expect(caught).toBeInstanceOf(EnsembleError);
        expect((caught as EnsembleError).code).toBe('HOST_UNSUPPORTED');
        expect((caught as EnsembleError).message).toBe('This SillyTavern has no CONNECTION_PROFILE_LOADED event.');
        expect(st.eventSource.listenerCount('undefined')).toBe(0);
    });
});

describe('selectProfile: through the dropdown, done at CONNECTION_PROFILE_LOADED', () => {
    /** connection-manager's change handler: applies, then emits the event with the profile's name. */
    function dropdown(onChange: (value: string) => void): HTMLSelectElement {
        const select = document.createElement('select');
        select.id = 'connection_profiles';
        for (const v of ['', 'p1']) select.append(Object.assign(document.createElement('option'), { value: v, textContent: v || '<None>' }));
        select.addEventListener('change', () => onChange(select.value));
        document.body.append(select);
        return select;
    }

    it('selects the profile, resolves when ST reports it loaded, and stops listening', async () => {
        const host = await hostOver(st);
        const picked: string[] = [];
        dropdown((v) => {
            picked.push(v);
            setTimeout(() => void st.eventSource.emit('connection_profile_loaded', 'A'), 5);
        });
        await host.selectProfile('p1', 1000);
        expect(picked).toEqual(['p1']);
        expect(st.eventSource.listenerCount('connection_profile_loaded')).toBe(0);
    });

    it('null selects <None> (the empty value)', async () => {
        const host = await hostOver(st);
        const picked: string[] = [];
        const select = dropdown((v) => {
            picked.push(v);
            void st.eventSource.emit('connection_profile_loaded', '');
        });
        select.value = 'p1';
        await host.selectProfile(null, 1000);
        expect(picked).toEqual(['']);
    });

    it('times out with PROFILE_SWITCH_TIMEOUT when ST never reports, and stops listening', async () => {
        const host = await hostOver(st);
        dropdown(() => undefined);
        await expect(host.selectProfile('p1', 20)).rejects.toMatchObject({ code: 'PROFILE_SWITCH_TIMEOUT' });
        expect(st.eventSource.listenerCount('connection_profile_loaded')).toBe(0);
    });

    it('without ST\'s Connection Profiles dropdown: HOST_UNSUPPORTED', async () => {
        const host = await hostOver(st);
        await expect(host.selectProfile('p1', 1000)).rejects.toMatchObject({ code: 'HOST_UNSUPPORTED' });
    });
});

describe('model and presets', () => {
    it('setModel runs ST\'s /model command quietly', async () => {
        const host = await hostOver(st);
        const calls: unknown[][] = [];
        st.commands.model = { callback: (named, value) => { calls.push([named, value]); return value; } };
        await host.setModel('gpt-b');
        expect(calls).toEqual([[{ quiet: 'true' }, 'gpt-b']]);
    });

    it('setModel does nothing when ST has no /model command', async () => {
        const host = await hostOver(st);
        await expect(host.setModel('gpt-b')).resolves.toBeUndefined();
    });

    it('chatCompletionPresets pairs /api/settings/get\'s names with their parsed presets, skipping bad JSON', async () => {
        const host = await hostOver(st);
        st.onFetch = (url) => (url === '/api/settings/get'
            ? json({ openai_setting_names: ['Default', 'Broken', 'Obj'], openai_settings: ['{"temp_openai":0.7}', '{oops', { temp_openai: 1 }] })
            : new Response('', { status: 404 }));
        expect(await host.chatCompletionPresets()).toEqual({ Default: { temp_openai: 0.7 }, Obj: { temp_openai: 1 } });
        expect(st.calls.fetch[0]?.init).toMatchObject({ method: 'POST', body: '{}', headers: { 'X-CSRF-Token': 'token' } });
        expect(vi.mocked(console.warn).mock.calls.map((c) => c[1])).toContain('preset Broken is not valid JSON');
    });

    it('chatCompletionPresets is empty when the answer has no lists, and throws on an HTTP error', async () => {
        const host = await hostOver(st);
        st.onFetch = () => json({});
        expect(await host.chatCompletionPresets()).toEqual({});
        st.onFetch = () => new Response('', { status: 500 });
        await expect(host.chatCompletionPresets()).rejects.toThrow('settings read failed: HTTP 500');
    });

    it('stopGeneration calls ST\'s stopGeneration', async () => {
        const host = await hostOver(st);
        host.stopGeneration();
        expect(st.calls.stopGeneration).toBe(1);
    });
});

describe('registerSlashCommand', () => {
    const spec = (callback: SlashCommandSpec['callback']): SlashCommandSpec => ({
        name: 'ens-test',
        aliases: ['et'],
        helpString: 'Test command.',
        returns: 'the name',
        namedArgs: [
            { name: 'char', description: 'who', type: 'string', required: true, enumValues: () => ['Alice', 'Bob'] },
            { name: 'quiet', description: 'no toast', type: 'bool' },
            { name: 'n', description: 'count', type: 'number' },
        ],
        unnamedArg: { description: 'profile', type: 'string' },
        callback,
    });

    /** Newer ST puts the classes on the context; `fromProps` here just keeps what it was given. */
    function classesOnContext(fake: FakeSt) {
        class SlashCommandEnumValue { constructor(readonly value: string) {} }
        Object.assign(fake.extraContext, {
            SlashCommand: { fromProps: (p: Record<string, unknown>) => ({ command: p }) },
            SlashCommandArgument: { fromProps: (p: Record<string, unknown>) => ({ unnamed: p }) },
            SlashCommandNamedArgument: { fromProps: (p: Record<string, unknown>) => ({ named: p }) },
            SlashCommandEnumValue,
            ARGUMENT_TYPE: { STRING: 'string', NUMBER: 'number', BOOLEAN: 'bool' },
        });
        return SlashCommandEnumValue;
    }

    it('builds the command from ST\'s classes: argument types, required flags and enum values', async () => {
        const EnumValue = classesOnContext(st);
        const host = await hostOver(st);
        await host.registerSlashCommand(spec(() => ''));
        const { command } = st.calls.addCommandObject[0] as { command: Record<string, unknown> };
        expect(command).toMatchObject({ name: 'ens-test', aliases: ['et'], helpString: 'Test command.', returns: 'the name' });
        const named = (command.namedArgumentList as { named: Record<string, unknown> }[]).map((a) => a.named);
        expect(named.map((a) => [a.name, a.typeList, a.isRequired])).toEqual([
            ['char', ['string'], true], ['quiet', ['bool'], false], ['n', ['number'], false],
        ]);
        const values = (named[0]!.enumProvider as () => unknown[])();
        expect(values.every((v) => v instanceof EnumValue)).toBe(true);
        expect(values.map((v) => (v as { value: string }).value)).toEqual(['Alice', 'Bob']);
        expect(named[1]!.enumProvider).toBeUndefined();
        const unnamed = (command.unnamedArgumentList as { unnamed: Record<string, unknown> }[]).map((a) => a.unnamed);
        expect(unnamed).toMatchObject([{ description: 'profile', typeList: ['string'], isRequired: false }]);
    });

    it('the callback gets ST\'s string arguments only, and \'\' for a missing unnamed one', async () => {
        classesOnContext(st);
        const host = await hostOver(st);
        const got: unknown[][] = [];
        await host.registerSlashCommand(spec((named, unnamed) => { got.push([named, unnamed]); return 'ok'; }));
        const { command } = st.calls.addCommandObject[0] as { command: { callback(named: unknown, unnamed: unknown): Promise<string> } };
        // ST adds its own non-string entries (_scope, _abortController, …) to the named arguments.
        expect(await command.callback({ char: 'Bob', _scope: {}, _hasUnnamedArgument: false }, undefined)).toBe('ok');
        expect(await command.callback({}, 'Mock-B')).toBe('ok');
        expect(got).toEqual([[{ char: 'Bob' }, ''], [{}, 'Mock-B']]);
    });

    it('without the classes (neither on the context nor importable), uses the deprecated registerSlashCommand', async () => {
        const host = await hostOver(st);
        const got: unknown[][] = [];
        await host.registerSlashCommand(spec((named, unnamed) => { got.push([named, unnamed]); return 'done'; }));
        expect(st.calls.addCommandObject).toEqual([]);
        const [reg] = st.calls.registerSlashCommand;
        expect([reg?.name, reg?.aliases, reg?.help]).toEqual(['ens-test', ['et'], 'Test command.']);
        expect(await reg?.callback({ char: 'Bob' }, undefined)).toBe('done');
        expect(got).toEqual([[{ char: 'Bob' }, '']]);
    });
});
