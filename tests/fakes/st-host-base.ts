import DOMPurify from 'dompurify';
import { createDom } from '../../src/host/dom';
import type {
    Host, HostCharacter, HostDom, HostEvent, HostEventMap, HostGroup, HostHandler, SlashCommandSpec, ToastLevel,
} from '../../src/host/host';
import { EnsembleError } from '../../src/shared/errors';
import {
    type FakeConnectionManager, type FakeProfile, type FakeTextCompletion,
    applyConnectionProfile, deepMerge, defaultConnection,
} from './st-connection';
import { buildStFixtures, renderProfileOptions } from './st-dom';
import { FakeEventEmitter } from './st-events';

/** ST 1.12.6 behaviours that bite, switchable per test. */
export interface FakeTraps {
    /** connection-manager: a Custom reconnect keeps the old model; after a profile switch the model is what it was before. */
    staleModelAfterSwitch: boolean;
    /** `/model` (setModel) changes nothing. */
    stickyModel: boolean;
    /** connection-manager: the backend does not answer; after a switch ST reads 'no_connection'. A number: for that many virtual ms. */
    offlineAfterSwitch: boolean | number;
    /** connection-manager: an aborted or stuck applyConnectionProfile never emits CONNECTION_PROFILE_LOADED. */
    switchNeverEmits: boolean;
}

export interface FakeRequest {
    /** The speaker ST had selected (characterId), or null. */
    avatar: string | null;
    type: string;
    mainApi: string;
    /** The body as ST would POST it, after every CHAT_COMPLETION_SETTINGS_READY listener ran. */
    body: Record<string, unknown>;
}

const NONE = '<None>';
export const jsonCopy = <T>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

/**
 * The `Host` side of the fake SillyTavern 1.12.6: every Host method with ST's own semantics (each
 * noted with the ST file it follows). ST's state is public under `st`; calls are recorded for assertions.
 * `FakeStHost` (st-host.ts) adds what plays ST's part in a test: turns, chats, fixtures.
 */
export abstract class FakeStBase implements Partial<Host> {
    readonly st = {
        characters: [] as HostCharacter[],
        groups: [] as HostGroup[],
        groupId: null as string | null,
        characterId: undefined as number | undefined,
        menuType: '',
        mainApi: 'openai',
        onlineStatus: 'Valid',
        createCharacterData: { extensions: {} as Record<string, unknown> },
        extensionSettings: { connectionManager: { selectedProfile: null, profiles: [] } as FakeConnectionManager } as Record<string, unknown>,
        connection: defaultConnection(),
        textCompletion: { api: '', url: '', model: '' } as FakeTextCompletion,
        /** Chat Completion presets on the server, by name (openai_setting_names / openai_settings). */
        presets: {} as Record<string, Record<string, unknown>>,
    };
    traps: FakeTraps = { staleModelAfterSwitch: false, stickyModel: false, offlineAfterSwitch: false, switchNeverEmits: false };

    readonly toasts: { level: ToastLevel; message: string; title: string | undefined }[] = [];
    /** Answers for `confirm`, first in first out; an empty queue answers false. */
    readonly confirmAnswers: boolean[] = [];
    readonly confirms: { title: string; text: string }[] = [];
    readonly slashCommands = new Map<string, SlashCommandSpec>();
    readonly requests: FakeRequest[] = [];
    /** Generations ST dropped silently because it was offline (script.js L3446). */
    readonly dropped: { avatar: string | null; type: string }[] = [];
    readonly drafted: number[] = [];
    readonly profileSelections: (string | null)[] = [];
    readonly modelCalls: string[] = [];
    readonly cardWrites: { index: number; key: string; value: unknown }[] = [];
    counts = { settingsSaves: 0, presetReads: 0, stops: 0 };

    readonly document: Document;
    readonly dom: HostDom;
    private readonly events = new FakeEventEmitter();
    protected readonly files = new Map<string, Record<string, unknown>>();
    protected readonly pending = new Set<Promise<unknown>>();
    time = 1_000_000;
    protected offlineUntil = 0;
    /** The abort signal of the generation in progress (script.js: stopGeneration aborts it, the group loop checks it). */
    protected aborted = false;
    /** group-chats.js `is_group_generating`: true only inside generateGroupWrapper's member loop. */
    protected groupGenerating = false;

    /** Each fake gets its own document, so click handlers delegated in one test never fire in another. */
    constructor({ fixtures = true }: { fixtures?: boolean } = {}) {
        this.document = document.implementation.createHTMLDocument('SillyTavern');
        if (fixtures) buildStFixtures(this.document);
        this.dom = createDom(this.document, DOMPurify(window));
    }

    // ---- events (eventemitter.js) ----

    on<K extends HostEvent>(event: K, handler: HostHandler<K>): void {
        this.events.on(event, handler);
    }

    listenerCount(event: HostEvent): number {
        return this.events.listenerCount(event);
    }

    /** eventemitter.js emit: awaits each listener in turn over a copy of the list; a throwing listener is recorded and skipped. */
    emit<K extends HostEvent>(event: K, ...args: HostEventMap[K]): Promise<void> {
        return this.events.emit(event, ...args);
    }

    get emitted() {
        return this.events.emitted;
    }

    get listenerErrors() {
        return this.events.listenerErrors;
    }

    protected track(p: Promise<unknown>): void {
        const t = p.finally(() => this.pending.delete(t));
        this.pending.add(t);
    }

    // ---- state ----

    characters = () => this.st.characters;
    groups = () => this.st.groups;
    groupId = () => this.st.groupId;
    isGroupGenerating = () => this.groupGenerating;
    characterId = () => this.st.characterId;
    menuType = () => this.st.menuType;
    mainApi = () => this.st.mainApi;
    chatCompletionSource = () => this.st.connection.source;
    onlineStatus(): string {
        return this.time < this.offlineUntil ? 'no_connection' : this.st.onlineStatus;
    }
    newCharacterExtensions(): Record<string, unknown> {
        return this.st.createCharacterData.extensions;
    }

    get cm(): FakeConnectionManager {
        return this.st.extensionSettings.connectionManager as FakeConnectionManager;
    }

    // ---- characters (script.js) ----

    /**
     * writeExtensionField: the client replaces `data.extensions[key]` (the path is split on dots), the
     * server's card file deep-merges `{data: {extensions: {[key]: value}}}`. A missing index only warns in ST.
     */
    async writeCharacterExtension(index: number, key: string, value: unknown): Promise<void> {
        if (key.includes('.')) throw new Error(`writeExtensionField splits "${key}" on dots`);
        const ch = this.st.characters[index];
        if (!ch) return;
        this.cardWrites.push({ index, key, value });
        if (!this.files.has(ch.avatar)) this.files.set(ch.avatar, jsonCopy(ch) as unknown as Record<string, unknown>);
        ch.data ??= {};
        ch.data.extensions ??= {};
        ch.data.extensions[key] = value;
        await Promise.resolve(); // the POST to /api/characters/merge-attributes
        const file = this.files.get(ch.avatar) ?? {};
        this.files.set(ch.avatar, deepMerge(file, jsonCopy({ data: { extensions: { [key]: value } } })));
    }

    // ---- settings (extensions.js) ----

    readSettings(key: string): unknown {
        return this.st.extensionSettings[key];
    }

    writeSettings(key: string, value: unknown): void {
        this.st.extensionSettings[key] = value;
        this.counts.settingsSaves++;
    }

    /** How many holds on ST's settings saves are open (holdSettingsSaves). */
    settingsHolds = 0;
    /** Holds taken so far, released or not. */
    settingsHoldsTaken = 0;
    async holdSettingsSaves(): Promise<() => Promise<void>> {
        this.settingsHolds++;
        this.settingsHoldsTaken++;
        let released = false;
        return async () => {
            if (!released) this.settingsHolds--;
            released = true;
        };
    }

    /** Set to make this fake one of the bridge server's background sessions. */
    session: { url: string; token: string; id: string } | null = null;
    readonly sessionProblems: string[] = [];
    async sessionLink() {
        return this.session;
    }
    reportSessionProblem(message: string): void {
        this.sessionProblems.push(message);
    }

    removeSettings(key: string): void {
        if (!(key in this.st.extensionSettings)) return;
        delete this.st.extensionSettings[key];
        this.counts.settingsSaves++;
    }

    /** The browser's localStorage: JSON text per key, as the real one keeps it. */
    /** ST's UI language as the page would report it; tests set it. */
    locale = 'en';
    /** Translation files the extension folder holds, by locale; tests add them. */
    readonly localeFiles = new Map<string, unknown>();
    uiLocale(): string {
        return this.locale;
    }
    async readLocaleFile(locale: string): Promise<unknown> {
        return this.localeFiles.get(locale) ?? null;
    }
    /** The origin the page was opened at; tests set it. */
    stOrigin = 'http://127.0.0.1:8000';
    pageOrigin(): string {
        return this.stOrigin;
    }
    readonly localItems = new Map<string, string>();
    readonly localStore = {
        get: (key: string): unknown => {
            const text = this.localItems.get(key);
            return text === undefined ? undefined : JSON.parse(text) as unknown;
        },
        set: (key: string, value: unknown) => { this.localItems.set(key, JSON.stringify(value)); },
        remove: (key: string) => { this.localItems.delete(key); },
    };

    // ---- connection (connection-manager) ----

    connectionManager(): unknown {
        return this.st.extensionSettings.connectionManager;
    }

    /**
     * The `change` handler of select#connection_profiles: records the selection, applies the profile's
     * commands in ST's order, then emits CONNECTION_PROFILE_LOADED(name). `null` selects `<None>`, which
     * applies nothing. An id with no option leaves the select empty and ST's safety net emits `<None>`.
     */
    async selectProfile(id: string | null, timeoutMs: number): Promise<void> {
        this.profileSelections.push(id);
        const profile = id === null ? undefined : this.cm.profiles.find((p) => p.id === id);
        if (id !== null && !profile) return this.emit('connectionProfileLoaded', NONE);
        this.cm.selectedProfile = id;
        renderProfileOptions(this.document, this.cm.profiles, id);
        if (this.traps.switchNeverEmits) {
            await this.sleep(timeoutMs);
            throw new EnsembleError('PROFILE_SWITCH_TIMEOUT', `ST did not finish loading the connection profile within ${timeoutMs / 1000} s.`);
        }
        if (profile) await this.applyProfile(profile);
        await this.emit('connectionProfileLoaded', profile?.name ?? NONE);
    }

    private async applyProfile(profile: FakeProfile): Promise<void> {
        const modelBefore = this.st.connection.model;
        await applyConnectionProfile(this.st, profile, this.traps.stickyModel);
        if (this.traps.staleModelAfterSwitch) this.st.connection.model = modelBefore;
        const offline = this.traps.offlineAfterSwitch;
        if (offline === true) this.st.onlineStatus = 'no_connection';
        else if (typeof offline === 'number' && offline > 0) this.offlineUntil = this.time + offline;
    }

    async setModel(model: string): Promise<void> {
        this.modelCalls.push(model);
        if (!this.traps.stickyModel) this.st.connection.model = model;
    }

    currentModel(): string {
        return this.st.mainApi === 'openai' ? this.st.connection.model : '';
    }

    async chatCompletionPresets(): Promise<Record<string, unknown>> {
        this.counts.presetReads++;
        return jsonCopy(this.st.presets);
    }

    // ---- generation (script.js, group-chats.js) ----

    /** script.js stopGeneration: aborts the running generation and emits GENERATION_STOPPED without awaiting it. */
    stopGeneration(): void {
        this.counts.stops++;
        this.aborted = true;
        this.track(this.emit('generationStopped'));
    }

    // ---- slash commands, toasts, popups (slash-commands.js, popup.js) ----

    async registerSlashCommand(spec: SlashCommandSpec): Promise<void> {
        for (const name of [spec.name, ...(spec.aliases ?? [])]) this.slashCommands.set(name, spec);
    }

    toast(level: ToastLevel, message: string, title?: string): void {
        this.toasts.push({ level, message, title });
    }

    async confirm(title: string, text: string): Promise<boolean> {
        this.confirms.push({ title, text });
        return this.confirmAnswers.shift() ?? false;
    }

    // ---- clock: sleeping moves virtual time forward at once, so a 30 s timeout costs no real time ----

    now(): number {
        return this.time;
    }

    async sleep(ms: number): Promise<void> {
        this.time += Math.max(0, ms);
    }
}
