import type { Host, SessionLink } from '../../host/host';
import type { SettingsStore } from '../../settings/store';
import { textOption } from '../../shared/dom-options';
import bridgeSection from '../../../templates/bridge-section.html';
import { type Catalog, buildCatalog } from './catalog';
import { BridgeClient, type BridgeStatus } from './client';
import { BridgeExecutor } from './executor';
import { listProfiles, refOf } from '../../core/profiles';
import { Rotation } from './rotation';
import { BridgeJournal } from './journal';
import { ChatIndexDataSchema } from '../../protocol/conversations';
import { MODULE_NAME, log } from '../../shared/log';
import * as z from '../../shared/zod';
import { compilePatterns } from './side-tasks';
import { VERSION } from '../../shared/version';
import type { RequestRouter } from '../../core/route';
import { startNextChat } from './nextchat';
import { say, t } from '../../shared/i18n';

/** Where versions before the server kept the index of bridge chats: ST's settings (migrated once, then removed). */
export const OLD_INDEX_KEY = `${MODULE_NAME}_bridge_sessions`;
/** How often a linked tab asks ST whether its session still works (another tab may have taken it over). */
const SESSION_CHECK_MS = 10_000;

function describe(status: BridgeStatus, executor: BridgeExecutor, sessions: number): string {
    switch (status.state) {
        case 'connected':
            if (sessions > 0) return t(sessions === 1 ? 'ensemble.bridge.statusStandbyOne' : 'ensemble.bridge.statusStandbyMany', { count: sessions });
            if (executor.unavailable) return t('ensemble.bridge.statusNotServing', { reason: say(executor.unavailable) });
            if (executor.queued) return t(executor.busy ? 'ensemble.bridge.statusConnectedBusyQueued' : 'ensemble.bridge.statusConnectedQueued', { count: executor.queued });
            return t(executor.busy ? 'ensemble.bridge.statusConnectedBusy' : 'ensemble.bridge.statusConnected');
        case 'connecting': return t('ensemble.bridge.statusConnecting');
        case 'waiting': return t('ensemble.bridge.statusRetrying', { seconds: status.retryIn ?? 0, error: status.lastError });
        case 'refused': return t('ensemble.bridge.statusRefused', { error: status.lastError });
        default: return status.lastError ? t('ensemble.bridge.statusOffError', { error: status.lastError }) : t('ensemble.bridge.statusOff');
    }
}

/** The bridge: the panel section, the WebSocket client, the catalog and the executor. */
export function startBridge(host: Host, store: SettingsStore, panel: HTMLElement | null, router: RequestRouter, session: SessionLink | null = null): BridgeClient {
    const rotation = new Rotation(host, store);
    router.addOverride(() => rotation.active());
    let catalog: Catalog = buildCatalog(host);
    /** The API address and key the server shared on connect (memory only: never written to settings). */
    let serverApi: { url: string; key?: string } | null = null;
    let sentCatalog = '';
    const statusEl: { el: HTMLElement | null } = { el: null };
    // The executor reports through the client, which exists once constructed below.
    let client: BridgeClient | null = null;
    const journal = new BridgeJournal(host);
    /** Background sessions the server says serve the bridge now (this tab then stands by). */
    let standby = 0;
    const executor = new BridgeExecutor(host, () => catalog, journal, (f) => {
        client?.send(f);
        if (f.type === 'status') render();
    }, rotation, () => compilePatterns(store.get().bridge.sideTaskPatterns), session ? 'session' : 'tab');
    const sendCatalog = (force = false) => {
        catalog = buildCatalog(host);
        const json = JSON.stringify(catalog.models);
        if (!force && json === sentCatalog) return;
        if (client?.send({ type: 'catalog', models: catalog.models })) sentCatalog = json;
    };
    function render() {
        if (statusEl.el && client) statusEl.el.textContent = describe(client.status, executor, standby);
    }
    const make = () => {
        const s = store.get().bridge;
        client?.disconnect();
        client = new BridgeClient(host, {
            // A background session links with what the server handed it, never with (or into) ST's settings.
            ...(session ? { url: session.url, token: session.token, tab: session.id, session: true } : { url: s.url, token: s.token }),
            version: VERSION,
            onWelcome: (api) => {
                serverApi = api ?? null;
                sendCatalog(true);
                if (!session) void journal.repair();
                void executor.checkSession().finally(render);
                client?.send({ type: 'status', busy: executor.busy, queued: executor.queued });
                const old = oldIndex();
                if (old && !session) client?.send({ type: 'import_chats', chats: old });
                nextchat.render();
            },
            onFrame: (frame) => {
                if (frame.type === 'request') executor.enqueue(frame);
                else if (frame.type === 'cancel') executor.cancel(frame.id);
                else if (frame.type === 'standby') {
                    standby = frame.sessions;
                    render();
                }
                // The server has the old index now: ST's settings no longer carry it.
                else host.removeSettings(OLD_INDEX_KEY);
            },
            onStatus: render,
        });
        return client;
    };

    /** The index an older version kept in ST's settings, validated; a malformed one is dropped (its chats stay in ST). */
    function oldIndex() {
        const raw = host.readSettings(OLD_INDEX_KEY);
        if (raw === undefined) return null;
        const parsed = ChatIndexDataSchema.safeParse(raw);
        if (parsed.success) return parsed.data;
        log.warn('bridge: the old index of bridge chats in ST\'s settings is malformed; removing it (the chats stay in SillyTavern)', z.prettifyError(parsed.error));
        host.removeSettings(OLD_INDEX_KEY);
        return null;
    }

    for (const ev of ['chatChanged', 'characterEdited', 'characterDeleted', 'groupUpdated'] as const) host.on(ev, () => sendCatalog());
    setInterval(() => sendCatalog(), 30_000);
    setInterval(() => {
        if (client?.status.state === 'connected' && !executor.busy) void executor.checkSession().finally(render);
    }, SESSION_CHECK_MS);
    // ST loads its characters after its extensions: the catalog sent on an early link is empty until then.
    host.on('appReady', () => {
        sendCatalog();
        if (!session) void journal.repair();
    });

    if (panel) {
        const frag = host.dom.fragment(bridgeSection);
        const section = frag.querySelector<HTMLElement>('[data-ens-section="bridge"]');
        panel.querySelector('[data-ens-slot="bridge"]')?.append(frag);
        if (section) {
            statusEl.el = section.querySelector('[data-ens="bridge-status"]');
            for (const field of section.querySelectorAll<HTMLInputElement>('[data-ens-bridge]')) {
                const key = field.dataset.ensBridge as 'url' | 'token' | 'autoConnect';
                if (field.type === 'checkbox') field.checked = store.get().bridge[key] === true;
                else field.value = String(store.get().bridge[key] ?? '');
                field.addEventListener('change', () => {
                    store.update((s) => {
                        if (key === 'autoConnect') s.bridge.autoConnect = field.checked;
                        else s.bridge[key] = field.value.trim();
                    });
                });
            }
            const pool = section.querySelector<HTMLSelectElement>('[data-ens="bridge-rotation"]');
            if (pool) wireRotation(host, store, pool);
            section.querySelector('[data-ens="bridge-connect"]')?.addEventListener('click', () => make().connect());
            section.querySelector('[data-ens="bridge-disconnect"]')?.addEventListener('click', () => client?.disconnect());
        }
    }
    const nextchat = startNextChat(host, store, panel?.querySelector('[data-ens-slot="nextchat"]') ?? null, {
        models: () => catalog.models,
        modelOf: (avatar) => [...catalog.targets].find(([, t]) => t.kind === 'character' && t.avatar === avatar)?.[0],
        serverApi: () => serverApi,
    });
    const first = make();
    if (session || (store.get().bridge.autoConnect && store.get().bridge.token)) first.connect();
    return first;
}

/** The rotation pool as a multi-select of ST's Connection Profiles (names as text, ids as values). */
function wireRotation(host: Host, store: SettingsStore, select: HTMLSelectElement): void {
    const render = () => {
        const chosen = new Set(store.get().bridge.rotation.map((r) => r.id));
        select.replaceChildren(...listProfiles(host).map((p) => textOption(select, p.id, p.name, chosen.has(p.id))));
    };
    select.addEventListener('change', () => {
        const picked = listProfiles(host).filter((p) => [...select.selectedOptions].some((o) => o.value === p.id));
        store.update((s) => { s.bridge.rotation = picked.map(refOf); });
    });
    host.on('connectionProfileLoaded', render);
    render();
}
