import { EnsembleError } from '../shared/errors';
import { translatedError } from '../shared/i18n';
import { log } from '../shared/log';
import { createDom, type Purifier } from './dom';
import type { Host, HostEvent, SessionLink, SlashCommandSpec } from './host';
import { createBridgeAccess } from './st-bridge';
import { createFileAccess } from './st-files';
import { createChatAccess } from './st-chat';
import { ctx } from './st-context';
import { createSettingsGuard } from './st-settings-guard';
import { createStImageGeneration } from './st-image-generation';
import { createUi } from './st-ui';
import { importStModule, slashCommandModules } from './st-modules';

interface OpenAiModule { oai_settings: { chat_completion_source: string }; getChatCompletionModel(): string }
interface GroupChatsModule { is_group_generating: boolean }

/** ST's own DOMPurify (index.html loads it for every page), so the bundle does not carry a second copy. */
declare const DOMPurify: Purifier;

const EVENT_KEYS: Record<HostEvent, string> = {
    appReady: 'APP_READY',
    chatChanged: 'CHAT_CHANGED',
    groupMemberDrafted: 'GROUP_MEMBER_DRAFTED',
    chatCompletionSettingsReady: 'CHAT_COMPLETION_SETTINGS_READY',
    generationStarted: 'GENERATION_STARTED',
    messageReceived: 'MESSAGE_RECEIVED',
    streamToken: 'STREAM_TOKEN_RECEIVED',
    generationStopped: 'GENERATION_STOPPED',
    characterEdited: 'CHARACTER_EDITED',
    characterDeleted: 'CHARACTER_DELETED',
    connectionProfileLoaded: 'CONNECTION_PROFILE_LOADED',
    groupUpdated: 'GROUP_UPDATED',
};


function eventName(event: HostEvent): string {
    const name = ctx().eventTypes[EVENT_KEYS[event]];
    if (!name) throw translatedError('HOST_UNSUPPORTED', 'ensemble.errors.hostNoEvent', { event: EVENT_KEYS[event] });
    return name;
}

/**
 * Creates the host over the running ST. Call after ST loaded the extension; `openai.js` is imported
 * once here (1.12.6 exposes the Chat Completion source and model only as module exports).
 */
export async function createStHost(): Promise<Host> {
    const [openai, groupChats] = await Promise.all([
        importStModule<OpenAiModule>('openai.js').catch((err) => {
            log.warn('could not import openai.js; Chat Completion source reads as unknown', err);
            return null;
        }),
        importStModule<GroupChatsModule>('group-chats.js').catch((err) => {
            log.warn('could not import group-chats.js; group turns are not detected', err);
            return null;
        }),
    ]);

    const dom = createDom(document, DOMPurify);
    const settingsGuard = createSettingsGuard();
    const host: Host = {
        on(event, handler) {
            const name = eventName(event);
            ctx().eventSource.on(name, async (...args: unknown[]) => {
                try {
                    return await (handler as (...a: unknown[]) => unknown)(...args);
                } catch (err) {
                    log.error(`handler for ${name} failed`, err);
                }
            });
        },
        characters: () => ctx().characters,
        groups: () => ctx().groups,
        groupId: () => ctx().groupId ?? null,
        // A live ES module binding: reads ST's current value on every call.
        isGroupGenerating: () => groupChats?.is_group_generating === true,
        characterId() {
            const raw = ctx().characterId;
            if (raw === undefined || raw === null || raw === '') return undefined;
            const n = Number(String(raw));
            return Number.isInteger(n) && n >= 0 ? n : undefined;
        },
        menuType: () => ctx().menuType ?? '',
        mainApi: () => ctx().mainApi,
        onlineStatus: () => ctx().onlineStatus,
        chatCompletionSource: () => openai?.oai_settings.chat_completion_source ?? '',
        newCharacterExtensions() {
            const data = ctx().createCharacterData;
            data.extensions ??= {};
            return data.extensions;
        },
        writeCharacterExtension: (index, key, value) => ctx().writeExtensionField(index, key, value),
        readSettings: (key) => ctx().extensionSettings[key],
        writeSettings(key, value) {
            const c = ctx();
            c.extensionSettings[key] = value;
            c.saveSettingsDebounced();
        },
        holdSettingsSaves: () => settingsGuard.hold(),
        sessionLink: () => sessionLink(),
        reportSessionProblem: (message) => reportSessionProblem(message),
        removeSettings(key) {
            const c = ctx();
            if (!(key in c.extensionSettings)) return;
            delete c.extensionSettings[key];
            c.saveSettingsDebounced();
        },
        // ST's i18n.js: localStorage 'language', else navigator.language, lower-cased; read once at ST's load.
        uiLocale: () => String(localStorage.getItem('language') || navigator.language || 'en').toLowerCase(),
        pageOrigin: () => location.origin,
        async readLocaleFile(locale) {
            const res = await fetch(new URL(`../i18n/${encodeURIComponent(locale)}.json`, import.meta.url));
            if (res.status === 404) return null;
            if (!res.ok) throw new EnsembleError('ST_REQUEST_FAILED', `translation ${locale}: HTTP ${res.status}`);
            return (await res.json()) as unknown;
        },
        localStore: {
            get(key) {
                const text = localStorage.getItem(key);
                if (text === null) return undefined;
                try {
                    return JSON.parse(text) as unknown;
                } catch {
                    return undefined;
                }
            },
            set: (key, value) => localStorage.setItem(key, JSON.stringify(value)),
            remove: (key) => localStorage.removeItem(key),
        },
        connectionManager: () => ctx().extensionSettings.connectionManager,
        selectProfile: (id, timeoutMs) => selectProfile(id, timeoutMs),
        async setModel(model) {
            await ctx().SlashCommandParser.commands.model?.callback({ quiet: 'true' }, model);
        },
        currentModel: () => (ctx().mainApi === 'openai' && openai ? openai.getChatCompletionModel() : ''),
        async chatCompletionPresets() {
            const res = await fetch('/api/settings/get', { method: 'POST', headers: ctx().getRequestHeaders(), body: '{}' });
            if (!res.ok) throw new EnsembleError('ST_REQUEST_FAILED', `settings read failed: HTTP ${res.status}`);
            const body = (await res.json()) as { openai_settings?: unknown; openai_setting_names?: unknown };
            const names = Array.isArray(body.openai_setting_names) ? body.openai_setting_names : [];
            const values = Array.isArray(body.openai_settings) ? body.openai_settings : [];
            const out: Record<string, unknown> = {};
            names.forEach((name, i) => {
                try {
                    out[String(name)] = typeof values[i] === 'string' ? JSON.parse(values[i]) : values[i];
                } catch {
                    log.warn(`preset ${String(name)} is not valid JSON`);
                }
            });
            return out;
        },
        stopGeneration: () => void ctx().stopGeneration(),
        registerSlashCommand: (spec) => registerSlashCommand(spec),
        stImageGeneration: createStImageGeneration(),
        dom,
        ...createUi(document, dom),
        ...createChatAccess(document),
        ...createBridgeAccess(document),
        ...createFileAccess(document),
        fetch: (input, init) => fetch(input, init),
        now: () => Date.now(),
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    };
    return host;
}

/** The binding the bridge server's session browser puts in its pages (Playwright's exposeBinding). */
type SessionBinding = (what: 'config' | 'problem', detail?: string) => Promise<unknown>;
const sessionBinding = () => (window as unknown as { __ensembleSession?: SessionBinding }).__ensembleSession;

export async function sessionLink(): Promise<SessionLink | null> {
    const binding = sessionBinding();
    if (typeof binding !== 'function') return null;
    const v = await binding('config') as Partial<SessionLink> | null;
    return v && typeof v.url === 'string' && typeof v.token === 'string' && typeof v.id === 'string' ? { url: v.url, token: v.token, id: v.id } : null;
}

export function reportSessionProblem(message: string): void {
    void sessionBinding()?.('problem', message);
}

/** Selects through ST's own dropdown, so ST's connection manager applies and records it as usual. */
function selectProfile(id: string | null, timeoutMs: number): Promise<void> {
    const select = document.getElementById('connection_profiles') as HTMLSelectElement | null;
    if (!select) return Promise.reject(translatedError('HOST_UNSUPPORTED', 'ensemble.errors.hostNoProfiles'));
    const { eventSource } = ctx();
    const name = eventName('connectionProfileLoaded');
    return new Promise<void>((resolve, reject) => {
        const done = (err?: Error) => {
            clearTimeout(timer);
            eventSource.removeListener(name, onLoaded);
            if (err) reject(err); else resolve();
        };
        const onLoaded = () => done();
        const timer = setTimeout(() => done(translatedError('PROFILE_SWITCH_TIMEOUT', 'ensemble.errors.profileSwitchTimeout',
            { seconds: Math.round(timeoutMs / 1000) })), timeoutMs);
        eventSource.on(name, onLoaded);
        select.value = id ?? '';
        select.dispatchEvent(new Event('change'));
    });
}

async function registerSlashCommand(spec: SlashCommandSpec): Promise<void> {
    const c = ctx();
    const m = await slashCommandModules(c as unknown as Record<string, unknown>);
    if (!m) {
        // Older hosts: the deprecated string-help registration still gives a working command.
        c.registerSlashCommand?.(spec.name, (named, value) => spec.callback(named, value ?? ''), spec.aliases ?? [], spec.helpString);
        return;
    }
    const typeOf = (t: string) => m.ARGUMENT_TYPE[t.toUpperCase() === 'BOOL' ? 'BOOLEAN' : t.toUpperCase()] ?? m.ARGUMENT_TYPE.STRING;
    const enumProvider = (values?: () => string[]) => (values ? () => values().map((v) => new m.SlashCommandEnumValue(v)) : undefined);
    c.SlashCommandParser.addCommandObject(m.SlashCommand.fromProps({
        name: spec.name,
        aliases: spec.aliases ?? [],
        returns: spec.returns,
        helpString: spec.helpString,
        callback: async (named: Record<string, unknown>, unnamed: unknown) => {
            const strings: Record<string, string> = {};
            for (const [k, v] of Object.entries(named)) if (typeof v === 'string') strings[k] = v;
            return spec.callback(strings, typeof unnamed === 'string' ? unnamed : '');
        },
        namedArgumentList: (spec.namedArgs ?? []).map((a) => m.SlashCommandNamedArgument.fromProps({
            name: a.name, description: a.description, typeList: [typeOf(a.type)], isRequired: !!a.required,
            enumProvider: enumProvider(a.enumValues),
        })),
        unnamedArgumentList: spec.unnamedArg ? [m.SlashCommandArgument.fromProps({
            description: spec.unnamedArg.description, typeList: [typeOf(spec.unnamedArg.type)], isRequired: !!spec.unnamedArg.required,
            enumProvider: enumProvider(spec.unnamedArg.enumValues),
        })] : [],
    }));
}
