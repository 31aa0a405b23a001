import { vi } from 'vitest';
import type { HostCharacter, HostGroup, HostMessage } from '../../src/host/host';

/**
 * A fake of ST 1.12.6's page globals, for testing `src/host/st-*.ts` itself (the features are tested
 * against `FakeStHost`, which fakes the `Host` interface instead). It provides what src/host reads:
 * the `SillyTavern` global with `getContext()`, ST's event emitter, a stubbed `fetch`, and the ST
 * modules src/host imports at run time (served through the `vi.mock` of `st-modules` below).
 * Line numbers refer to /work/st/public at 1.12.6.
 */

type Listener = (...args: unknown[]) => unknown;

/** lib/eventemitter.js: `emit` awaits each listener in turn over a copy of the list; a throwing listener is logged and skipped. */
export class StEventEmitter {
    readonly events: Record<string, Listener[]> = {};
    /** What ST would `console.error` ("Error in event listener"). */
    readonly listenerErrors: { event: string; error: unknown }[] = [];

    on(event: string, listener: Listener): void {
        if (event === undefined) return; // ST: "Cannot listen to undefined event"
        (this.events[event] ??= []).push(listener);
    }

    removeListener(event: string, listener: Listener): void {
        const list = this.events[event];
        const idx = list?.indexOf(listener) ?? -1;
        if (list && idx > -1) list.splice(idx, 1);
    }

    async emit(event: string, ...args: unknown[]): Promise<void> {
        for (const listener of [...(this.events[event] ?? [])]) {
            try {
                await listener.apply(this, args);
            } catch (error) {
                this.listenerErrors.push({ event, error });
            }
        }
    }

    listenerCount(event: string): number {
        return this.events[event]?.length ?? 0;
    }
}

/** script.js `event_types` (line 404), the entries Ensemble maps. Note CHARACTER_DELETED's camelCase value. */
export const ST_EVENT_TYPES: Readonly<Record<string, string>> = {
    APP_READY: 'app_ready',
    MESSAGE_RECEIVED: 'message_received',
    CHAT_CHANGED: 'chat_id_changed',
    GENERATION_STARTED: 'generation_started',
    GENERATION_STOPPED: 'generation_stopped',
    GROUP_UPDATED: 'group_updated',
    CHARACTER_EDITED: 'character_edited',
    GROUP_MEMBER_DRAFTED: 'group_member_drafted',
    CHAT_COMPLETION_SETTINGS_READY: 'chat_completion_settings_ready',
    CHARACTER_DELETED: 'characterDeleted',
    STREAM_TOKEN_RECEIVED: 'stream_token_received',
    CONNECTION_PROFILE_LOADED: 'connection_profile_loaded',
};

/** A group as group-chats.js keeps it: `chat_id` names the open chat, `chats` lists them all. */
export interface StGroup extends HostGroup { chat_id?: string; chats: string[] }

/** ST's module-level state that `getContext()` snapshots (script.js line 8041). */
export interface StState {
    characters: HostCharacter[];
    groups: StGroup[];
    chat: HostMessage[];
    /** `this_chid`: a number, or the string ST got from a `chid` attribute (selectCharacterById, slash commands), or undefined. */
    this_chid: unknown;
    selected_group: string | null;
    menu_type: string;
    main_api: string;
    online_status: string;
    extension_settings: Record<string, unknown>;
    create_save: { extensions?: Record<string, unknown> };
}

export interface FetchCall { url: string; init: RequestInit | undefined }
type FetchHandler = (url: string, init: RequestInit | undefined) => Response | Promise<Response>;

export interface SlashCommandCall { name: string; callback: Listener; aliases: string[]; help: string }

export class FakeSt {
    readonly state: StState = {
        characters: [],
        groups: [],
        chat: [],
        this_chid: undefined,
        selected_group: null,
        menu_type: '',
        main_api: 'openai',
        online_status: 'no_connection',
        extension_settings: {},
        create_save: {},
    };
    readonly eventSource = new StEventEmitter();
    readonly eventTypes: Record<string, string> = { ...ST_EVENT_TYPES };
    readonly calls = {
        saveSettingsDebounced: 0,
        saveChat: 0,
        stopGeneration: 0,
        addOneMessage: [] as { mes: HostMessage; opts: Record<string, unknown> }[],
        writeExtensionField: [] as { id: number; key: string; value: unknown }[],
        selectCharacterById: [] as string[],
        addCommandObject: [] as unknown[],
        registerSlashCommand: [] as SlashCommandCall[],
        fetch: [] as FetchCall[],
    };
    /** `SlashCommandParser.commands`, e.g. `model` for setModel. */
    readonly commands: Record<string, { callback(named: Record<string, string>, value: string): unknown }> = {};
    /** Extra context members (newer ST's SlashCommand classes, for instance). */
    readonly extraContext: Record<string, unknown> = {};
    /**
     * ST modules by their path under `/scripts/` (as `importStModule` takes it; `../script.js` for the root).
     * Plain objects, so a test sets a "live binding" such as `is_send_press` by assigning it. Absent → the import rejects.
     */
    readonly modules: Record<string, Record<string, unknown>> = {
        'openai.js': {
            oai_settings: { chat_completion_source: 'openai' },
            getChatCompletionModel: () => 'gpt-4o',
        },
        'group-chats.js': {
            is_group_generating: false,
            // group-chats.js openGroupById: selects the group, deselects the character.
            openGroupById: vi.fn(async (id: string) => {
                this.state.selected_group = id;
                this.state.this_chid = undefined;
            }),
            editGroup: vi.fn(async () => undefined),
        },
        '../script.js': {
            is_send_press: false,
            name1: 'User',
            generateRaw: vi.fn(async () => 'raw'),
            reloadCurrentChat: vi.fn(async () => undefined),
            sendMessageAsUser: vi.fn(async () => undefined),
        },
    };
    /** The context's `generate` (script.js Generate). */
    readonly generate = vi.fn(async (_type: string): Promise<unknown> => undefined);
    /** Answers `fetch`; unmatched requests get ST's 404 for an unknown route. */
    onFetch: FetchHandler = () => new Response('Not found', { status: 404 });

    /** script.js `getCurrentChatId` (line 779). */
    getCurrentChatId(): string | undefined {
        const s = this.state;
        if (s.selected_group) return s.groups.find((g) => g.id == s.selected_group)?.chat_id;
        if (s.this_chid !== undefined) return s.characters[s.this_chid as number]?.chat;
        return undefined;
    }

    /** A fresh object per call, as ST's: scalars are snapshots, arrays and objects are ST's own. */
    getContext(): Record<string, unknown> {
        const s = this.state;
        return {
            chat: s.chat,
            characters: s.characters,
            groups: s.groups,
            characterId: s.this_chid,
            groupId: s.selected_group,
            getCurrentChatId: () => this.getCurrentChatId(),
            getRequestHeaders: () => ({ 'Content-Type': 'application/json', 'X-CSRF-Token': 'token' }),
            saveSettingsDebounced: () => { this.calls.saveSettingsDebounced++; },
            onlineStatus: s.online_status,
            eventSource: this.eventSource,
            eventTypes: this.eventTypes,
            addOneMessage: (mes: HostMessage, opts: Record<string, unknown>) => this.addOneMessage(mes, opts),
            generate: this.generate,
            stopGeneration: () => { this.calls.stopGeneration++; return true; },
            saveChat: async () => { this.calls.saveChat++; },
            SlashCommandParser: {
                commands: this.commands,
                addCommandObject: (cmd: unknown) => { this.calls.addCommandObject.push(cmd); },
            },
            registerSlashCommand: (name: string, callback: Listener, aliases: string[], help: string) => {
                this.calls.registerSlashCommand.push({ name, callback, aliases, help });
            },
            mainApi: s.main_api,
            extensionSettings: s.extension_settings,
            writeExtensionField: async (id: number, key: string, value: unknown) => { this.calls.writeExtensionField.push({ id, key, value }); },
            selectCharacterById: async (id: string) => {
                this.calls.selectCharacterById.push(id);
                s.selected_group = null;
                s.this_chid = id; // script.js line 1294 keeps the string
            },
            menuType: s.menu_type,
            createCharacterData: s.create_save,
            POPUP_TYPE: { TEXT: 1, CONFIRM: 2, INPUT: 3 },
            POPUP_RESULT: { AFFIRMATIVE: 1, NEGATIVE: 0, CANCELLED: null },
            ...this.extraContext,
        };
    }

    /**
     * script.js `addOneMessage` (line 2232), its placement only: `mesid` is `forceId ?? chat.length - 1`; appended
     * unless `insertAfter`/`insertBefore` is truthy (so `insertAfter: 0` appends, as in ST).
     */
    addOneMessage(mes: HostMessage, opts: Record<string, unknown>): void {
        this.calls.addOneMessage.push({ mes, opts });
        const doc = document;
        const id = typeof opts.forceId === 'number' ? opts.forceId : this.state.chat.length - 1;
        const el = renderMessage(doc, id, mes.mes);
        const chat = doc.getElementById('chat');
        if (!chat) return;
        if (!opts.insertAfter && !opts.insertBefore) chat.append(el);
        else if (opts.insertAfter) chat.querySelector(`.mes[mesid="${String(opts.insertAfter)}"]`)?.after(el);
        else chat.querySelector(`.mes[mesid="${String(opts.insertBefore)}"]`)?.before(el);
    }

    /** Renders `state.chat` into `#chat` as ST's printMessages does (`.mes[mesid]` with a `.mesIDDisplay` label, last one `.last_mes`). */
    renderChat(doc: Document = document): HTMLElement {
        const chat = doc.getElementById('chat') ?? doc.body.appendChild(Object.assign(doc.createElement('div'), { id: 'chat' }));
        chat.replaceChildren(...this.state.chat.map((m, i) => renderMessage(doc, i, m.mes)));
        chat.lastElementChild?.classList.add('last_mes');
        return chat;
    }

    async importModule(path: string): Promise<unknown> {
        const m = this.modules[path];
        if (!m) throw new TypeError(`Failed to fetch dynamically imported module: ${path}`);
        return m;
    }

    /** Makes this fake the page's ST: the `SillyTavern` and `fetch` globals, and the modules `st-modules` imports. */
    install(): this {
        vi.stubGlobal('SillyTavern', { getContext: () => this.getContext() });
        vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
            const url = String(input);
            this.calls.fetch.push({ url, init });
            return this.onFetch(url, init);
        });
        current.fake = this;
        return this;
    }
}

function renderMessage(doc: Document, id: number, text: string): HTMLElement {
    const el = doc.createElement('div');
    el.className = 'mes';
    el.setAttribute('mesid', String(id));
    const label = doc.createElement('div');
    label.className = 'mesIDDisplay';
    label.textContent = `#${id}`;
    const body = doc.createElement('div');
    body.className = 'mes_text';
    body.textContent = text;
    el.append(label, body);
    return el;
}

/** The FakeSt the mocked st-modules serves (one page per test). */
const current: { fake: FakeSt | null } = { fake: null };

/**
 * The `vi.mock` factory body for `src/host/st-modules`: the imports go to the installed FakeSt's `modules`,
 * everything else (slashCommandModules) stays real. Use as
 * `vi.mock('../../src/host/st-modules', async (orig) => (await import('../fakes/st-globals')).mockStModules(await orig()))`.
 */
export function mockStModules(original: Record<string, unknown>): Record<string, unknown> {
    const load = (path: string) => {
        if (!current.fake) return Promise.reject(new Error('FakeSt not installed'));
        return current.fake.importModule(path);
    };
    return {
        ...original,
        importStModule: (path: string) => load(path),
        importStRoot: (file: string) => load(`../${file}`),
    };
}

/** A JSON response as ST's server sends it. */
export const json = (body: unknown, status = 200): Response =>
    new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

export const character = (name: string, chat?: string): HostCharacter => ({ name, avatar: `${name}.png`, ...(chat ? { chat } : {}) });
export const message = (name: string, mes: string, isUser = false): HostMessage => ({ name, mes, is_user: isUser, is_system: false });
