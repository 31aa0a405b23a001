import type { Host } from '../../host/host';
import type { SettingsStore } from '../../settings/store';
import { t } from '../../shared/i18n';
import type { ImageFlow } from './flow';
import { isCharacterReply } from './subject';

export const BUTTON_CLASS = 'ensemble_genimage';

/** Generation types whose reply is a new message (not a swipe, continue, regenerate or impersonation). */
const NEW_REPLY_TYPES = new Set([undefined, 'normal', 'group_chat']);

/**
 * `/genimage` (aliases `/generateimage`, `/imggen`), the message-menu button, and auto mode.
 */
export async function startImageTriggers(host: Host, store: SettingsStore, flow: ImageFlow): Promise<void> {
    host.addMessageButton({ className: BUTTON_CLASS, title: t('ensemble.images.messageButton'), icon: 'fa-image' }, (id) => {
        void flow.run({ messageId: id });
    });

    // Auto mode: MESSAGE_RECEIVED also fires for greetings, /sendas and swipes, so it counts only when it
    // follows a generation that makes a new reply. The pending type is consumed by the first message.
    let pending: { type: string | undefined } | null = null;
    // One picture at a time: replies that arrive meanwhile (other group members) wait their turn.
    let queue: Promise<unknown> = Promise.resolve();
    host.on('generationStarted', (type) => { pending = { type }; });
    host.on('chatChanged', () => { pending = null; });
    host.on('messageReceived', (id) => {
        const started = pending;
        pending = null;
        if (!store.get().images.auto || !started || !NEW_REPLY_TYPES.has(started.type)) return;
        const message = host.chat()[id];
        if (!isCharacterReply(message)) return;
        // Not awaited: ST's turn goes on while the picture is made. Found again by identity when its turn
        // comes, as earlier pictures shift the indexes.
        queue = queue.then(() => {
            const index = host.chat().indexOf(message);
            return index < 0 ? '' : flow.run({ messageId: index });
        });
    });

    await host.registerSlashCommand({
        name: 'genimage',
        aliases: ['generateimage', 'imggen'],
        helpString: t('ensemble.images.commandHelp'),
        returns: t('ensemble.images.commandReturns'),
        namedArgs: [
            { name: 'mesid', description: t('ensemble.images.commandArgMesid'), type: 'number' },
            { name: 'prompt', description: t('ensemble.images.commandArgPrompt'), type: 'string' },
            { name: 'quiet', description: t('ensemble.images.commandArgQuiet'), type: 'bool' },
        ],
        callback: async (named) => {
            const mesid = named.mesid === undefined || named.mesid === '' ? undefined : Number(named.mesid);
            if (mesid !== undefined && !Number.isInteger(mesid)) {
                host.toast('error', t('ensemble.images.commandBadMesid', { value: named.mesid ?? '' }), '/genimage');
                return '';
            }
            return flow.run({ messageId: mesid, prompt: named.prompt, quiet: named.quiet === 'true' });
        },
    });
}
