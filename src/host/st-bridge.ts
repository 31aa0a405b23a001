import { type MessageKey, type Words, translatedError } from '../shared/i18n';
import type { ChatRef, ChatTarget, HostMessage, HostSocket } from './host';
import { ctx } from './st-context';
import { importStModule, importStRoot } from './st-modules';

interface ScriptModule {
    is_send_press: boolean;
    /** True while saveChatConditional runs (after every reply, and for our own inserts). */
    isChatSaving: boolean;
    /** The running stream, which holds the message index it fixed when it began; null when none. */
    streamingProcessor: { isFinished: boolean; isStopped: boolean } | null;
    sendMessageAsUser(text: string, bias: string): Promise<void>;
    reloadCurrentChat(): Promise<void>;
    name1: string;
}
interface GroupModule {
    is_group_generating: boolean;
    openGroupById(id: string): Promise<void>;
    editGroup(id: string, immediately: boolean, reload: boolean): Promise<void>;
}
interface StGroup { id: string; chat_id?: string; chats: string[] }

/**
 * What ST's server answers a POST from a page whose CSRF token it no longer accepts, or a logged-out page. As words:
 * the bridge panel says them in the user's language, the server passes them on (in English) to the client whose
 * request this tab refused.
 */
export const SESSION_PROBLEMS = {
    takenOver: (): Words => ({ key: 'ensemble.host.sessionTakenOver' }),
    refused: (status: number): Words => ({ key: 'ensemble.host.sessionRefused', vars: { status } }),
    loggedOut: (): Words => ({ key: 'ensemble.host.sessionLoggedOut' }),
    unreachable: (): Words => ({ key: 'ensemble.host.sessionUnreachable' }),
} as const;

/** Waits until `ok()` holds, polling; throws after `ms`. */
async function until(ok: () => boolean, ms: number, timeout: MessageKey): Promise<void> {
    const end = Date.now() + ms;
    while (!ok()) {
        if (Date.now() > end) throw translatedError('ST_TIMEOUT', timeout, { seconds: Math.round(ms / 1000) });
        await new Promise((r) => setTimeout(r, 50));
    }
}

/** What the bridge needs from ST: chats opened and restored through ST's own functions, and generation. */
export function createBridgeAccess(doc: Document) {
    const script = () => importStRoot<ScriptModule>('script.js');
    const groups = () => importStModule<GroupModule>('group-chats.js');
    let scriptModule: ScriptModule | null = null;
    let groupModule: GroupModule | null = null;
    // Read synchronously by isGenerating; a module that fails to import leaves it reading false (createStHost warns).
    script().then((m) => { scriptModule = m; }, () => undefined);
    groups().then((m) => { groupModule = m; }, () => undefined);

    const characterIndex = (avatar: string) => ctx().characters.findIndex((c) => c.avatar === avatar);
    const group = (id: string) => (ctx().groups as unknown as StGroup[]).find((g) => g.id === id);

    /**
     * Shows character `index`'s chat that `characters[index].chat` names, through ST's own selection
     * (selectCharacterById, or reloadCurrentChat when it is already selected): neither writes the card.
     */
    const showCharacter = async (index: number, file: string) => {
        const c = ctx();
        if (!c.groupId && Number(c.characterId) === index && c.characterId !== undefined) await (await script()).reloadCurrentChat();
        else await (c as unknown as { selectCharacterById(id: string): Promise<void> }).selectCharacterById(String(index));
        await until(() => !ctx().groupId && Number(ctx().characterId) === index && ctx().getCurrentChatId() === file, 15_000, 'ensemble.errors.stTimeoutOpenChat');
    };
    /** The same for a group, whose `chat_id` names the chat. */
    const showGroup = async (id: string, chatId: string) => {
        if (ctx().groupId === id) await (await script()).reloadCurrentChat();
        else await (await groups()).openGroupById(id);
        await until(() => ctx().groupId === id && ctx().getCurrentChatId() === chatId, 15_000, 'ensemble.errors.stTimeoutOpenGroupChat');
    };

    return {
        openSocket(url: string): HostSocket {
            const ws = new WebSocket(url);
            const socket: HostSocket = {
                send: (text) => ws.send(text),
                close: (code, reason) => ws.close(code, reason),
                onopen: null,
                onmessage: null,
                onclose: null,
            };
            ws.onopen = () => socket.onopen?.();
            ws.onmessage = (e) => socket.onmessage?.(e.data);
            ws.onclose = (e) => socket.onclose?.(e.code, e.reason);
            return socket;
        },

        isGenerating(): boolean {
            const stop = doc.getElementById('mes_stop');
            const stopShown = !!stop && stop.style.display !== 'none' && getComputedStyle(stop).display !== 'none';
            const stream = scriptModule?.streamingProcessor;
            // is_send_press covers a reply until ST's save after it is done (unblockGeneration comes last);
            // is_group_generating covers the whole member loop, gaps between members included. A stream and
            // a save in progress are checked on their own too, so no path that lowers is_send_press early (or
            // never raises it: quiet generations, saves from commands) lets a change of the chat through.
            return !!scriptModule?.is_send_press || !!groupModule?.is_group_generating || stopShown
                || (!!stream && !stream.isFinished && !stream.isStopped) || !!scriptModule?.isChatSaving;
        },

        currentChatRef(): ChatRef {
            const c = ctx();
            if (c.groupId) return { kind: 'group', id: c.groupId, chatId: c.getCurrentChatId() ?? '' };
            const index = c.characterId === undefined ? NaN : Number(c.characterId);
            const ch = Number.isInteger(index) ? c.characters[index] : undefined;
            return ch ? { kind: 'character', avatar: ch.avatar, file: c.getCurrentChatId() ?? '' } : { kind: 'none' };
        },

        async openChatRef(ref: ChatRef): Promise<void> {
            if (ref.kind === 'none') {
                if (ctx().getCurrentChatId() === undefined && !ctx().groupId && ctx().characterId === undefined) return;
                // ST's own "Close chat" (its /closechat command clicks the same item): back to the welcome screen.
                doc.getElementById('option_close_chat')?.click();
                await until(() => ctx().characterId === undefined && !ctx().groupId, 15_000, 'ensemble.errors.stTimeoutCloseChat');
                return;
            }
            if (ref.kind === 'group') {
                const g = group(ref.id);
                if (!g) return;
                if (ctx().groupId === ref.id && ctx().getCurrentChatId() === ref.chatId) return;
                g.chat_id = ref.chatId;
                await showGroup(ref.id, ref.chatId);
                return;
            }
            const index = characterIndex(ref.avatar);
            const ch = ctx().characters[index];
            if (!ch) return;
            if (!ctx().groupId && Number(ctx().characterId) === index && ctx().getCurrentChatId() === ref.file) return;
            ch.chat = ref.file;
            await showCharacter(index, ref.file);
        },

        chatPointer(target: ChatTarget): string | undefined {
            return target.kind === 'group' ? group(target.id)?.chat_id : ctx().characters[characterIndex(target.avatar)]?.chat;
        },

        setChatPointer(target: ChatTarget, file: string): void {
            if (target.kind === 'group') {
                const g = group(target.id);
                if (g) g.chat_id = file;
                return;
            }
            const ch = ctx().characters[characterIndex(target.avatar)];
            if (ch) ch.chat = file;
        },

        async saveChatPointer(target: ChatTarget, file: string): Promise<void> {
            if (target.kind === 'group') {
                const g = group(target.id);
                if (!g) return;
                g.chat_id = file;
                // ST's own group save (the file holds the chat list too, which keeps the bridge chats listed).
                await (await groups()).editGroup(target.id, true, false);
                return;
            }
            const ch = ctx().characters[characterIndex(target.avatar)];
            if (!ch) return;
            ch.chat = file;
            // Only the card's `chat` field, merged by ST's server into the card it has on disk.
            const res = await fetch('/api/characters/merge-attributes', {
                method: 'POST', headers: ctx().getRequestHeaders(), body: JSON.stringify({ avatar: ch.avatar, chat: file }),
            });
            if (!res.ok) throw translatedError('ST_REQUEST_FAILED', 'ensemble.errors.stChatUpdateFailed', { name: ch.name, status: res.status });
        },

        async sessionProblem(): Promise<Words | null> {
            // A POST is what ST's CSRF check guards; /api/ping has no POST route, so a usable session gets 404.
            let res: Response;
            try {
                res = await fetch('/api/ping', { method: 'POST', headers: ctx().getRequestHeaders(), body: '{}' });
            } catch {
                return SESSION_PROBLEMS.unreachable();
            }
            if (res.status === 401) return SESSION_PROBLEMS.loggedOut();
            if (res.status !== 403) return null;
            const text = await res.text().catch(() => '');
            return /csrf/i.test(text) ? SESSION_PROBLEMS.takenOver() : SESSION_PROBLEMS.refused(res.status);
        },

        async openCharacterChatFile(index: number, file: string, seed: HostMessage[] | null): Promise<void> {
            const c = ctx();
            const ch = c.characters[index];
            if (!ch) throw translatedError('CHARACTER_NOT_FOUND', 'ensemble.errors.characterIndexNotFound', { index });
            if (seed) {
                const s = await script();
                const header = { user_name: s.name1, character_name: ch.name, create_date: new Date().toISOString(), chat_metadata: { ensemble_bridge: true } };
                const res = await fetch('/api/chats/save', {
                    method: 'POST', headers: c.getRequestHeaders(),
                    body: JSON.stringify({ ch_name: ch.name, file_name: file, chat: [header, ...seed.map((m) => (m.is_user ? { ...m, name: s.name1 } : m))], avatar_url: ch.avatar }),
                });
                if (!res.ok) throw translatedError('ST_REQUEST_FAILED', 'ensemble.errors.stBridgeChatFailed', { status: res.status });
            }
            // In memory only: ST's selection loads the chat the pointer names. Opening the character first would load
            // (and, for a character never opened, create) its own chat; openCharacterChat would rewrite the card.
            ch.chat = file;
            await showCharacter(index, file);
        },

        async openGroupChatFile(groupId: string, chatId: string, seed: HostMessage[] | null): Promise<void> {
            const g = group(groupId);
            if (!g) throw translatedError('GROUP_NOT_FOUND', 'ensemble.errors.groupIdNotFound', { id: groupId });
            if (seed) {
                const s = await script();
                // As ST writes group messages: the user under their persona name, members with their avatar.
                const chat = seed.map((m) => {
                    if (m.is_user) return { ...m, name: s.name1 };
                    const avatar = ctx().characters.find((c) => c.name === m.name)?.avatar;
                    return avatar ? { ...m, original_avatar: avatar, force_avatar: `/thumbnail?type=avatar&file=${encodeURIComponent(avatar)}` } : m;
                });
                const res = await fetch('/api/chats/group/save', {
                    method: 'POST', headers: ctx().getRequestHeaders(), body: JSON.stringify({ id: chatId, chat }),
                });
                if (!res.ok) throw translatedError('ST_REQUEST_FAILED', 'ensemble.errors.stBridgeGroupChatFailed', { status: res.status });
            }
            // Listed like ST's own "new chat" does; ST writes the list with the group when it saves a message.
            if (!g.chats.includes(chatId)) g.chats.push(chatId);
            g.chat_id = chatId;
            await showGroup(groupId, chatId);
        },

        async sendAndGenerate(text: string): Promise<HostMessage[]> {
            const s = await script();
            await s.sendMessageAsUser(text, '');
            const chat = ctx().chat;
            const sent = chat.length - 1;
            await (ctx() as unknown as { generate(type: string): Promise<unknown> }).generate('normal');
            const replies = ctx().chat.slice(sent + 1).filter((m) => !m.is_user && !m.is_system);
            if (!replies.length) throw translatedError('ST_NO_REPLY', 'ensemble.errors.stNoReply');
            return replies;
        },
    };
}
