import type { HostCharacter, HostGroup, HostMessage } from './host';

/* ST's globals, typed only as far as src/host uses them (ST ships them untyped). */
export interface StEventSource {
    on(event: string, fn: (...args: unknown[]) => unknown): void;
    removeListener(event: string, fn: (...args: unknown[]) => unknown): void;
}

export interface StContext {
    characters: HostCharacter[];
    groups: HostGroup[];
    groupId: string | null;
    characterId: unknown;
    chat: HostMessage[];
    chatId?: string;
    getCurrentChatId(): string | undefined;
    menuType: string;
    mainApi: string;
    onlineStatus: string;
    createCharacterData: { extensions?: Record<string, unknown> };
    extensionSettings: Record<string, unknown>;
    eventSource: StEventSource;
    eventTypes: Record<string, string>;
    saveSettingsDebounced(): void;
    saveChat(): Promise<void>;
    addOneMessage(mes: HostMessage, opts: Record<string, unknown>): void;
    writeExtensionField(id: number, key: string, value: unknown): Promise<void>;
    getRequestHeaders(): Record<string, string>;
    stopGeneration(): boolean;
    callGenericPopup(content: unknown, type: number, input?: string, opts?: Record<string, unknown>): Promise<unknown>;
    POPUP_TYPE: Record<string, number>;
    POPUP_RESULT: Record<string, number | null>;
    SlashCommandParser: { addCommandObject(cmd: unknown): void; commands: Record<string, { callback(named: Record<string, string>, value: string): unknown }> };
    registerSlashCommand?(name: string, cb: (named: Record<string, string>, value: string) => unknown, aliases: string[], help: string): void;
}

export interface Toastr {
    [level: string]: (message: string, title?: string, opts?: Record<string, unknown>) => { remove?(): void } | undefined;
}

declare const SillyTavern: { getContext(): StContext };

/** A fresh context per call: ST returns snapshots of scalars. */
export const ctx = (): StContext => SillyTavern.getContext();
