/**
 * The one seam between Ensemble and SillyTavern. Feature code receives a `Host` and never touches
 * ST's globals (`SillyTavern`, `eventSource`, `$`, `document`). `st-host.ts` implements it over the
 * real ST 1.12.6; `tests/fakes/st-host.ts` implements it for unit tests.
 */

import type { Words } from '../shared/i18n';

/** A character as ST keeps it; only the fields Ensemble reads. `avatar` is the stable key. */
export interface HostCharacter {
    avatar: string;
    name: string;
    description?: string;
    personality?: string;
    scenario?: string;
    /** File name (without .jsonl) of the chat ST opens for this character. */
    chat?: string;
    data?: { extensions?: Record<string, unknown> };
}

/** A chat message as ST keeps it (`chat[i]`); only the fields Ensemble reads or writes. */
export interface HostMessage {
    name: string;
    is_user: boolean;
    is_system: boolean;
    mes: string;
    send_date?: string | number;
    force_avatar?: string;
    original_avatar?: string;
    extra?: Record<string, unknown>;
}

export interface PopupButton {
    text: string;
    result: number;
}

export interface PopupOptions {
    okButton?: string | false;
    cancelButton?: string | false;
    customButtons?: PopupButton[];
    wide?: boolean;
}

/** A long-running job's notice with a way to cancel it. */
export interface Progress {
    update(message: string): void;
    close(): void;
}

/** Where the user is: what to reopen after Ensemble borrowed the chat view. */
export type ChatRef =
    | { kind: 'character'; avatar: string; file: string }
    | { kind: 'group'; id: string; chatId: string }
    | { kind: 'none' };

/** How the bridge server's own background session reaches this page (its headless ST page): where to link, with what. */
export interface SessionLink {
    url: string;
    token: string;
    /** The session's id, used as this page's tab id. */
    id: string;
}

/** What a bridge request talks to: a character (by avatar file) or a group (by id). */
export type ChatTarget = { kind: 'character'; avatar: string } | { kind: 'group'; id: string };

/** The WebSocket the bridge client uses, reduced to what it needs (tests pass a fake). */
export interface HostSocket {
    send(text: string): void;
    close(code?: number, reason?: string): void;
    onopen: (() => void) | null;
    onmessage: ((data: unknown) => void) | null;
    onclose: ((code: number, reason: string) => void) | null;
}

export interface HostGroup {
    id: string;
    name: string;
    members: string[];
    disabled_members?: string[];
    /** The chat ST opens for this group (its "current chat"). */
    chat_id?: string;
}

/**
 * Events Ensemble listens to, with ST's arguments. Handlers may be async: like ST's own emitter,
 * the host awaits each handler in turn, so an awaited event (GROUP_MEMBER_DRAFTED, the *_SETTINGS_READY
 * events) waits for Ensemble before ST goes on.
 */
export interface HostEventMap {
    appReady: [];
    /** `type` is undefined for a plain Send, else normal, swipe, regenerate, continue, quiet, group_chat, … */
    generationStarted: [type: string | undefined];
    messageReceived: [messageId: number];
    /** Streaming: the reply so far (ST 1.12.6 passes the cumulative text, not a delta). */
    streamToken: [text: string];
    chatChanged: [chatId: string | undefined];
    groupMemberDrafted: [chId: number];
    /** The request body ST is about to POST; handlers may change it in place. */
    chatCompletionSettingsReady: [data: Record<string, unknown>];
    generationStopped: [];
    characterEdited: [];
    characterDeleted: [];
    connectionProfileLoaded: [name: string];
    groupUpdated: [];
}
export type HostEvent = keyof HostEventMap;
export type HostHandler<K extends HostEvent> = (...args: HostEventMap[K]) => unknown;

export type ToastLevel = 'info' | 'success' | 'warning' | 'error';

export interface SlashArgSpec {
    name: string;
    description: string;
    type: 'string' | 'bool' | 'number';
    required?: boolean;
    /** Values offered by ST's autocomplete. */
    enumValues?: () => string[];
}

export interface SlashCommandSpec {
    name: string;
    aliases?: string[];
    helpString: string;
    returns?: string;
    namedArgs?: SlashArgSpec[];
    unnamedArg?: Omit<SlashArgSpec, 'name'>;
    /** ST passes named values as strings, the unnamed argument as a string ('' when absent). */
    callback: (named: Record<string, string>, unnamed: string) => string | Promise<string>;
}

/** DOM access. Everything that turns a string into markup goes through DOMPurify here. */
/**
 * ST's own Image Generation extension (its folder `stable-diffusion`), as Ensemble uses it: a second picture source.
 * - `ready`: it can draw with the source the user chose there (`source`: ST's name for it, `openai`, `comfy`, …);
 * - `disabled`: turned off in ST's Manage Extensions;
 * - `missing`: not loaded (its `/imagine` command is not registered);
 * - `unconfigured`: its source lacks what ST itself checks before drawing (`needs`: an API key, a URL, or Extras' `sd` module).
 */
export type StImageStatus =
    | { state: 'ready'; source: string }
    | { state: 'disabled' }
    | { state: 'missing' }
    | { state: 'unconfigured'; source: string; needs: 'key' | 'url' | 'extras' };

export interface StImageGeneration {
    /** Reads ST's state only; writes nothing. */
    status(): Promise<StImageStatus>;
    /**
     * Draws `prompt` as given (ST's free mode, its prompt prefix and negative prompt added, never sent to an LLM
     * again), quietly (no message posted). ST stores the picture under the user's images and this returns its
     * path. Rejects with an EnsembleError: ST_IMAGE_DISABLED, ST_IMAGE_MISSING, ST_IMAGE_FAILED (ST drew nothing;
     * ST showed its own toast), or IMAGE_CANCELLED when `signal` aborted (a picture ST stored anyway stays on disk).
     */
    draw(prompt: string, signal?: AbortSignal): Promise<string>;
}

export interface HostDom {
    /** Sanitised markup as a fragment; callers fill in any outside text with `textContent`. */
    fragment(html: string): DocumentFragment;
    query<E extends Element = HTMLElement>(selector: string): E | null;
    /** Delegated click handler on the whole page (survives ST re-rendering the target). */
    onClick(selector: string, handler: (target: Element) => void): void;
    /** Runs `cb` when the element `selector` is shown or hidden (its style or class changes). Debounced to a frame. */
    observe(selector: string, cb: () => void): void;
}

export interface Host {
    on<K extends HostEvent>(event: K, handler: HostHandler<K>): void;

    characters(): readonly HostCharacter[];
    groups(): readonly HostGroup[];
    /** The open group's id, or null in a 1:1 chat or none. */
    groupId(): string | null;
    /** True while ST runs a group turn (its member loop), false otherwise. */
    isGroupGenerating(): boolean;
    /** Index into `characters()` ST currently has selected, as a number (ST mixes strings and numbers). */
    characterId(): number | undefined;
    /** `characters`, `character_edit`, `create`, `group_edit`, `group_create` or ''. */
    menuType(): string;
    /** `openai` for Chat Completion, `textgenerationwebui`, `kobold`, … */
    mainApi(): string;
    /** `no_connection` while disconnected. */
    onlineStatus(): string;
    /** The Chat Completion source in force (`custom`, `openai`, `claude`, …). */
    chatCompletionSource(): string;
    /** The live `extensions` object of ST's unsaved "Create character" form. */
    newCharacterExtensions(): Record<string, unknown>;
    writeCharacterExtension(index: number, key: string, value: unknown): Promise<void>;

    /** `extension_settings[key]`, as stored (unvalidated). */
    readSettings(key: string): unknown;
    writeSettings(key: string, value: unknown): void;
    /**
     * Holds back ST's settings saves from this page until the returned release is called; then saves once, only
     * if a setting changed meanwhile beyond ST's own navigation (the user's action in this tab). For work that
     * moves through chats on the user's behalf (the bridge), so a page that loaded earlier never writes its
     * stale copy of ST's settings over what the user saved elsewhere.
     */
    holdSettingsSaves(): Promise<() => Promise<void>>;
    /**
     * When this page is one of the bridge server's own background sessions, how to link to it (handed over by
     * the server through a page binding, never in a URL); null in a user's page.
     */
    sessionLink(): Promise<SessionLink | null>;
    /** In a background session: tells the server why Ensemble could not start or serve here. */
    reportSessionProblem(message: string): void;
    /** Deletes `extension_settings[key]` and saves ST's settings. */
    removeSettings(key: string): void;
    /**
     * The language ST shows (its "UI Language", kept in this browser, else the browser's own), lower-case as ST's
     * locale files are named: `zh-cn`, `en`, `en-us`, …
     */
    uiLocale(): string;
    /** Ensemble's translation file `i18n/<locale>.json` as parsed JSON (unvalidated); null when there is none. */
    readLocaleFile(locale: string): Promise<unknown>;
    /** The origin this ST page was opened at (`http://127.0.0.1:8000`): it tells which name the user reaches this machine by. */
    pageOrigin(): string;
    /** This browser's own storage (survives a reload or a crash of the page; never sent to ST's server). Values unvalidated. */
    readonly localStore: { get(key: string): unknown; set(key: string, value: unknown): void; remove(key: string): void };

    /** `extension_settings.connectionManager` as stored (unvalidated). */
    connectionManager(): unknown;
    /**
     * Select a Connection Profile the way the user does (ST's profile dropdown), and resolve once
     * ST reports it loaded. `null` selects "<None>". Rejects with an EnsembleError
     * PROFILE_SWITCH_TIMEOUT when ST has not reported it within `timeoutMs`.
     */
    selectProfile(id: string | null, timeoutMs: number): Promise<void>;
    /** ST's `/model` command, exact name. */
    setModel(model: string): Promise<void>;
    /** The model ST would send now (Chat Completion: of the current source). */
    currentModel(): string;
    /** Chat Completion presets by name, read from the server (ST 1.12.6 keeps them module-private). */
    chatCompletionPresets(): Promise<Record<string, unknown>>;

    stopGeneration(): void;

    /** ST's live chat array. Change it only through the methods below. */
    chat(): HostMessage[];
    /** File name of the open chat (without .jsonl), or undefined with no chat open. */
    chatId(): string | undefined;
    /**
     * Inserts `message` right after `index` the way ST's own "copy message" does: into `chat`,
     * rendered in place, every later message's `mesid` shifted by one, then the chat saved.
     * Returns the new message's index.
     */
    insertMessageAfter(index: number, message: HostMessage): Promise<number>;
    /** ST's /api/images/upload: stores a data URL under the user's images/<folder>/; returns its path. */
    uploadImage(dataUrl: string, folder: string, filename: string): Promise<string>;
    /** ST's own Image Generation extension as a picture source. */
    readonly stImageGeneration: StImageGeneration;
    /** ST's own Chat Completion endpoint with a request body Ensemble built; the parsed JSON answer, unvalidated. */
    chatCompletion(body: Record<string, unknown>, signal?: AbortSignal): Promise<unknown>;
    /** ST's generateRaw through its current connection: no chat context. */
    generateRaw(prompt: string, systemPrompt: string, maxTokens: number): Promise<string>;
    /** `fetch` for calls Ensemble makes itself (image APIs, its own prompt endpoint). */
    readonly fetch: typeof fetch;
    /** ST's Popup; resolves to the button's result (Escape → null). */
    popup(content: HTMLElement, options: PopupOptions): Promise<number | null>;
    /** A sticky notice; clicking it calls onCancel. */
    progress(message: string, onCancel: () => void): Progress;
    /**
     * A button in every character message's "…" menu (ST's `#message_template`, so new messages get it,
     * plus the messages already shown). `onClick` receives the message index.
     */
    addMessageButton(options: { className: string; title: string; icon: string }, onClick: (messageId: number) => void): void;

    /** A WebSocket to `url` (the bridge server). */
    openSocket(url: string): HostSocket;
    /**
     * True while ST generates or is about to write the chat because of it: a reply (streamed or not) until
     * ST's save after it is done, a whole group turn (gaps between members included), continue, swipe,
     * regenerate, impersonate, a quiet generation, a chat save in progress. Only when false may the chat
     * be changed: a running stream holds the message index it fixed when it began.
     */
    isGenerating(): boolean;
    currentChatRef(): ChatRef;
    /**
     * Puts the user back at `ref`: that chat shown (through ST's own selection, which writes nothing), or ST's
     * welcome screen for `none`.
     */
    openChatRef(ref: ChatRef): Promise<void>;
    /**
     * Opens chat `file` of character `index`, first writing it with `seed` when given (ST's /api/chats/save:
     * a new file, never an existing one the user has). The character's "current chat" points at `file` in
     * ST's memory only: the card on disk is not written, and no other chat file is created.
     */
    openCharacterChatFile(index: number, file: string, seed: HostMessage[] | null): Promise<void>;
    /**
     * Opens chat `chatId` of group `groupId`, first writing it with `seed` when given (ST's /api/chats/group/save,
     * a new id added to the group's chat list; an empty seed lets ST add the members' greetings, as for a new chat).
     * ST saves the group with every message, so its "current chat" on disk follows: restore it with saveChatPointer.
     */
    openGroupChatFile(groupId: string, chatId: string, seed: HostMessage[] | null): Promise<void>;
    /** The target's "current chat" as ST has it in memory; undefined for an unknown target. */
    chatPointer(target: ChatTarget): string | undefined;
    /** Points the target's "current chat" at `file` in ST's memory only. */
    setChatPointer(target: ChatTarget, file: string): void;
    /** Points the target's "current chat" at `file` in memory and on disk (the card's or the group's file). */
    saveChatPointer(target: ChatTarget, file: string): Promise<void>;
    /**
     * Whether ST's server still takes this page's requests: null when it does, else why not (another tab in this
     * browser took over the session, the login expired, the server is down), as words to say to the user or a client.
     */
    sessionProblem(): Promise<Words | null>;
    /**
     * Posts `text` as the user's message in the open chat and runs ST's normal generation (a group turn in a
     * group chat); the messages ST added after the user's, in order (one per member who spoke).
     */
    sendAndGenerate(text: string): Promise<HostMessage[]>;
    registerSlashCommand(spec: SlashCommandSpec): Promise<void>;
    /** Puts `text` on the clipboard (with a fallback for pages without the async clipboard). */
    copyText(text: string): Promise<void>;
    /** Saves `text` as a download named `fileName`. */
    downloadText(fileName: string, text: string, mime?: string): Promise<void>;
    /** Lets the user pick a file; its name and text, or null when cancelled. */
    pickTextFile(accept: string): Promise<{ name: string; text: string } | null>;
    /** ST's character import with a JSON (V2) card; the new character's avatar file name. Call refreshCharacters after. */
    importCharacterCard(fileName: string, card: unknown): Promise<string>;
    /** Reloads ST's character list. */
    refreshCharacters(): Promise<void>;
    toast(level: ToastLevel, message: string, title?: string): void;
    confirm(title: string, text: string): Promise<boolean>;
    readonly dom: HostDom;
    now(): number;
    sleep(ms: number): Promise<void>;
}
