import type { Host, HostGroup, ToastLevel } from '../../src/host/host';
import { type FakeProfile, buildChatCompletionBody } from './st-connection';
import { renderProfileOptions } from './st-dom';
import { jsonCopy } from './st-host-base';
import { FakeStBridge } from './st-host-bridge';

export type { FakeConnection, FakeProfile } from './st-connection';
export { FakeSocket } from './st-host-bridge';
export type { FakeRequest, FakeTraps } from './st-host-base';

/**
 * A SillyTavern 1.12.6 for unit tests: the `Host` of FakeStBase plus what plays ST's side of a test:
 * adding characters, groups and profiles, opening chats, running a group turn the way
 * group-chats.js does, running slash commands, and waiting for un-awaited events.
 */
export class FakeStHost extends FakeStBridge implements Host {
    addCharacter(name: string, { avatar = `${name}.png`, extensions = {} as Record<string, unknown> } = {}): number {
        this.st.characters.push({ avatar, name, data: { extensions } });
        this.files.set(avatar, jsonCopy({ name, avatar, data: { extensions } }));
        return this.st.characters.length - 1;
    }

    addGroup(group: HostGroup): void {
        this.st.groups.push(group);
    }

    addProfile(profile: FakeProfile): void {
        this.cm.profiles.push(profile);
        renderProfileOptions(this.document, this.cm.profiles, this.cm.selectedProfile);
    }

    /** The card as stored on the server (PNG `chara` chunk), after ST's deep merges. */
    cardFile(avatar: string): { data?: { extensions?: Record<string, unknown> } } & Record<string, unknown> {
        const file = this.files.get(avatar);
        if (!file) throw new Error(`no card file ${avatar}`);
        return jsonCopy(file);
    }

    /**
     * group-chats.js generateGroupWrapper: exits when offline; per member, stops if aborted, selects it
     * (characterId = chId, a number), awaits GROUP_MEMBER_DRAFTED, then Generates; finally deselects.
     */
    async runGroupTurn({ members, type = 'normal' }: { members: (string | number)[]; type?: string }): Promise<{ stopped: boolean }> {
        if (!this.st.groupId) throw new Error('runGroupTurn needs an open group (openGroup)');
        if (this.onlineStatus() === 'no_connection') return { stopped: false };
        const ids = members.map((m) => (typeof m === 'number' ? m : this.indexOf(m)));
        const generateType = ['swipe', 'impersonate', 'quiet', 'continue'].includes(type) ? type : 'group_chat';
        this.aborted = false;
        this.groupGenerating = true;
        try {
            for (const chId of ids) {
                if (this.aborted) return { stopped: true };
                this.st.characterId = chId;
                this.drafted.push(chId);
                await this.emit('groupMemberDrafted', chId);
                await this.send(generateType);
            }
            return { stopped: false };
        } finally {
            this.st.characterId = undefined;
            this.groupGenerating = false;
        }
    }

    readonly clipboard: string[] = [];
    readonly downloads: { fileName: string; text: string }[] = [];
    /** What the next pickTextFile returns (null: the user cancelled). */
    readonly pickedFiles: ({ name: string; text: string } | null)[] = [];
    /** Cards ST's import received, in order. */
    readonly importedCards: { fileName: string; card: unknown }[] = [];
    importFails = false;
    refreshes = 0;

    async copyText(text: string): Promise<void> {
        this.clipboard.push(text);
    }

    async downloadText(fileName: string, text: string): Promise<void> {
        this.downloads.push({ fileName, text });
    }

    async pickTextFile(): Promise<{ name: string; text: string } | null> {
        return this.pickedFiles.shift() ?? null;
    }

    /** ST's JSON import: a V2 card becomes a character named by data.name, under a free avatar name. */
    async importCharacterCard(fileName: string, card: unknown): Promise<string> {
        if (this.importFails) throw new Error('fake ST: import failed');
        this.importedCards.push({ fileName, card: jsonCopy(card) });
        const data = (card as { data: { name: string; extensions?: Record<string, unknown> } }).data;
        let avatar = `${data.name}.png`;
        for (let n = 1; this.st.characters.some((c) => c.avatar === avatar); n++) avatar = `${data.name}${n}.png`;
        this.pendingImports.push({ avatar, name: data.name, data: jsonCopy(data) });
        return avatar;
    }

    /** Imported characters show up in `characters()` only after a refresh, as in ST. */
    private readonly pendingImports: { avatar: string; name: string; data: { extensions?: Record<string, unknown> } }[] = [];

    async refreshCharacters(): Promise<void> {
        this.refreshes++;
        for (const c of this.pendingImports.splice(0)) this.st.characters.push(c);
    }

    protected override async memberRequest(): Promise<void> {
        await this.send('group_chat');
    }

    /** Generate outside a group loop (1:1 chat, or a request no member was drafted for): a fresh abort signal. */
    async generate(type = 'normal'): Promise<void> {
        this.aborted = false;
        await this.send(type);
    }

    /** Generate + sendOpenAIRequest: offline → silent return; aborted → nothing sent; else build, emit, POST. */
    private async send(type: string): Promise<void> {
        const chId = this.st.characterId;
        const avatar = (chId === undefined ? undefined : this.st.characters[chId]?.avatar) ?? null;
        if (this.onlineStatus() === 'no_connection') {
            this.dropped.push({ avatar, type });
            return;
        }
        if (this.aborted) return;
        let body: Record<string, unknown>;
        if (this.st.mainApi === 'openai') {
            body = buildChatCompletionBody(this.st.connection, [{ role: 'user', content: `turn of ${avatar ?? 'nobody'}` }]);
            await this.emit('chatCompletionSettingsReady', body);
        } else {
            body = { ...this.st.textCompletion };
        }
        if (this.aborted) return;
        this.requests.push({ avatar, type, mainApi: this.st.mainApi, body: jsonCopy(body) });
    }

    private indexOf(avatar: string): number {
        const i = this.st.characters.findIndex((c) => c.avatar === avatar);
        if (i < 0) throw new Error(`no character ${avatar}`);
        return i;
    }

    /** Opens a group chat: ST deselects the character (characterId undefined in groups, group-chats.js openGroupById) and emits CHAT_CHANGED. */
    async openGroup(id: string): Promise<void> {
        const group = this.st.groups.find((g) => g.id === id);
        if (!group) throw new Error(`no group ${id}`);
        Object.assign(this.st, { groupId: id, characterId: undefined, menuType: 'group_edit' });
        await this.emit('chatChanged', `${group.name} - chat`);
    }

    async openCharacter(index: number): Promise<void> {
        const ch = this.st.characters[index];
        if (!ch) throw new Error(`no character at ${index}`);
        Object.assign(this.st, { groupId: null, characterId: index, menuType: 'character_edit' });
        await this.emit('chatChanged', `${ch.name} - chat`);
    }

    /** Runs a command as ST's parser does: named values arrive as strings, the unnamed argument is '' when absent. */
    async runSlash(name: string, named: Record<string, string | number | boolean> = {}, unnamed?: string): Promise<string> {
        const spec = this.slashCommands.get(name);
        if (!spec) throw new Error(`/${name} is not registered`);
        const strings = Object.fromEntries(Object.entries(named).map(([k, v]) => [k, String(v)]));
        return spec.callback(strings, unnamed ?? '');
    }

    toastsOf(level: ToastLevel): string[] {
        return this.toasts.filter((t) => t.level === level).map((t) => t.message);
    }

    /** Resolves once every un-awaited emit the fake started and every pending microtask chain has finished. */
    async idle(): Promise<void> {
        do {
            await Promise.all([...this.pending]);
            await new Promise((r) => setTimeout(r, 0));
        } while (this.pending.size > 0);
    }

    /** Moves the virtual clock forward (no timers run; the fake has none). */
    advance(ms: number): void {
        this.time += ms;
    }
}
