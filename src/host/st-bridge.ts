import { EnsembleError } from '../shared/errors';
import type { ChatRef, HostMessage, HostSocket } from './host';
import { ctx } from './st-context';
import { importStModule, importStRoot } from './st-modules';

interface ScriptModule {
    is_send_press: boolean;
    /** True while saveChatConditional runs (after every reply, and for our own inserts). */
    isChatSaving: boolean;
    /** The running stream, which holds the message index it fixed when it began; null when none. */
    streamingProcessor: { isFinished: boolean; isStopped: boolean } | null;
    sendMessageAsUser(text: string, bias: string): Promise<void>;
    openCharacterChat(file: string): Promise<void>;
    name1: string;
}
interface GroupModule { is_group_generating: boolean; openGroupChat(id: string, chatId: string): Promise<void>; openGroupById(id: string): Promise<void> }

/** Waits until `ok()` holds, polling; throws after `ms`. */
async function until(ok: () => boolean, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms;
    while (!ok()) {
        if (Date.now() > end) throw new EnsembleError('HOST_UNSUPPORTED', `ST did not ${what} within ${Math.round(ms / 1000)} s.`);
        await new Promise((r) => setTimeout(r, 50));
    }
}

/** What the bridge needs from ST: chats opened and restored through ST's own functions, and generation. */
export function createBridgeAccess(doc: Document) {
    const script = () => importStRoot<ScriptModule>('script.js');
    const groups = () => importStModule<GroupModule>('group-chats.js');
    let scriptModule: ScriptModule | null = null;
    let groupModule: GroupModule | null = null;
    void script().then((m) => { scriptModule = m; });
    void groups().then((m) => { groupModule = m; });

    const selectCharacter = async (index: number) => {
        const c = ctx();
        if (c.groupId || Number(c.characterId) !== index || c.characterId === undefined) {
            await (c as unknown as { selectCharacterById(id: string): Promise<void> }).selectCharacterById(String(index));
            await until(() => !ctx().groupId && Number(ctx().characterId) === index, 15_000, 'open the character');
        }
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
            if (ref.kind === 'group') {
                const g = await groups();
                if (ctx().groupId !== ref.id) await g.openGroupById(ref.id);
                if (ctx().getCurrentChatId() !== ref.chatId) await g.openGroupChat(ref.id, ref.chatId);
                return;
            }
            if (ref.kind !== 'character') return;
            const index = ctx().characters.findIndex((c) => c.avatar === ref.avatar);
            if (index < 0) return;
            await selectCharacter(index);
            // openCharacterChat also re-saves the card, so its "current chat" points at this file again.
            if (ctx().getCurrentChatId() !== ref.file || (ctx().characters[index] as { chat?: string }).chat !== ref.file) {
                await (await script()).openCharacterChat(ref.file);
            }
        },

        async openCharacterChatFile(index: number, file: string, seed: HostMessage[] | null): Promise<void> {
            await selectCharacter(index);
            const c = ctx();
            const ch = c.characters[index];
            if (!ch) throw new EnsembleError('CHARACTER_NOT_FOUND', `There is no character #${index}.`);
            if (seed) {
                const s = await script();
                const header = { user_name: s.name1, character_name: ch.name, create_date: new Date().toISOString(), chat_metadata: { ensemble_bridge: true } };
                const res = await fetch('/api/chats/save', {
                    method: 'POST', headers: c.getRequestHeaders(),
                    body: JSON.stringify({ ch_name: ch.name, file_name: file, chat: [header, ...seed.map((m) => (m.is_user ? { ...m, name: s.name1 } : m))], avatar_url: ch.avatar }),
                });
                if (!res.ok) throw new EnsembleError('HOST_UNSUPPORTED', `ST could not create the bridge chat (HTTP ${res.status}).`);
            }
            await (await script()).openCharacterChat(file);
            await until(() => ctx().getCurrentChatId() === file, 15_000, 'open the bridge chat');
        },

        async openGroupChatFile(groupId: string, chatId: string, seed: HostMessage[] | null): Promise<void> {
            const g = await groups();
            const group = (ctx().groups as unknown as { id: string; chats: string[] }[]).find((x) => x.id === groupId);
            if (!group) throw new EnsembleError('HOST_UNSUPPORTED', `There is no group ${groupId}.`);
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
                if (!res.ok) throw new EnsembleError('HOST_UNSUPPORTED', `ST could not create the bridge group chat (HTTP ${res.status}).`);
                // openGroupChat only opens chats in the group's list; it saves the group (with the list) itself.
                if (!group.chats.includes(chatId)) group.chats.push(chatId);
            }
            if (ctx().groupId !== groupId) await g.openGroupById(groupId);
            if (ctx().getCurrentChatId() !== chatId) await g.openGroupChat(groupId, chatId);
            await until(() => ctx().groupId === groupId && ctx().getCurrentChatId() === chatId, 15_000, 'open the bridge group chat');
        },

        async sendAndGenerate(text: string): Promise<HostMessage[]> {
            const s = await script();
            await s.sendMessageAsUser(text, '');
            const chat = ctx().chat;
            const sent = chat.length - 1;
            await (ctx() as unknown as { generate(type: string): Promise<unknown> }).generate('normal');
            const replies = ctx().chat.slice(sent + 1).filter((m) => !m.is_user && !m.is_system);
            if (!replies.length) throw new EnsembleError('HOST_UNSUPPORTED', 'ST finished without a reply.');
            return replies;
        },
    };
}
