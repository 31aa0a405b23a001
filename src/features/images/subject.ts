import type { Host, HostCharacter, HostMessage } from '../../host/host';
import { translatedError } from '../../shared/i18n';
import { readCard } from '../../core/profiles';
import type { PromptSubject } from './prompt';

/** Ensemble's own picture messages (and anyone's: ST's image generation uses the same field). */
export const isImageMessage = (m: HostMessage | undefined): boolean => typeof m?.extra?.image === 'string' && m.extra.image !== '';

/** A character's reply: not the user's, not hidden or system, not a picture. */
export const isCharacterReply = (m: HostMessage | undefined): m is HostMessage => !!m && !m.is_user && !m.is_system && !isImageMessage(m);

export function lastCharacterReply(chat: readonly HostMessage[]): number | undefined {
    for (let i = chat.length - 1; i >= 0; i--) if (isCharacterReply(chat[i])) return i;
    return undefined;
}

/** The card behind a message: group replies carry the avatar file; 1:1 chats have the selected character. */
export function characterOf(host: Host, message: HostMessage): HostCharacter | undefined {
    const chars = host.characters();
    if (message.original_avatar) {
        const byAvatar = chars.find((c) => c.avatar === message.original_avatar);
        if (byAvatar) return byAvatar;
    }
    if (!host.groupId()) {
        const id = host.characterId();
        const selected = id === undefined ? undefined : chars[id];
        if (selected?.name === message.name) return selected;
    }
    const byName = chars.filter((c) => c.name === message.name);
    return byName.length === 1 ? byName[0] : undefined;
}

export interface Target {
    index: number;
    message: HostMessage;
    character: HostCharacter | undefined;
    subject: PromptSubject;
}

/** The message to picture (`index`, or the last character reply) and what the prompt LLM is told about it. */
export function targetOf(host: Host, index: number | undefined): Target {
    const chat = host.chat();
    const i = index ?? lastCharacterReply(chat);
    if (i === undefined) throw translatedError('MESSAGE_NOT_FOUND', 'ensemble.images.noCharacterMessage');
    const message = chat[i];
    if (!message) throw translatedError('MESSAGE_NOT_FOUND', 'ensemble.images.noSuchMessage', { index: i });
    if (!isCharacterReply(message)) throw translatedError('MESSAGE_NOT_FOUND', 'ensemble.images.notCharacterReply', { index: i });
    const character = characterOf(host, message);
    const appearance = readCard(character).appearance ?? undefined;
    return {
        index: i,
        message,
        character,
        subject: {
            message: message.mes,
            characterName: character?.name ?? message.name,
            card: character ? { description: character.description, personality: character.personality, scenario: character.scenario } : undefined,
            appearance: appearance || undefined,
        },
    };
}
