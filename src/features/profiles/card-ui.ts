import type { Host } from '../../host/host';
import { errorMessage } from '../../shared/errors';
import { t } from '../../shared/i18n';
import characterSection from '../../../templates/character-section.html';
import { fillProfileSelect, pickedProfile } from '../../core/profile-select';
import {
    cardRef, listProfiles, readCard, readNewCard, readNewCardRef, refOf, writeCardPatch, writeCardRef, writeNewCardPatch, writeNewCardRef,
} from '../../core/profiles';

/** Which card the Advanced Definitions popup is editing: the unsaved new one, an existing index, or none. */
function editedCard(host: Host): { kind: 'new' } | { kind: 'existing'; index: number } | null {
    if (host.menuType() === 'create') return { kind: 'new' };
    const index = host.characterId();
    return index === undefined || !host.characters()[index] ? null : { kind: 'existing', index };
}

/** The "Ensemble" drawer in a character's Advanced Definitions (#character_popup): profile and appearance. */
export function mountCardSection(host: Host): { refresh(): void } | null {
    const ok = host.dom.query('#character_popup_ok');
    if (!ok?.parentElement) return null;
    const frag = host.dom.fragment(characterSection);
    const select = frag.querySelector<HTMLSelectElement>('[data-ens="card-profile"]');
    const appearance = frag.querySelector<HTMLTextAreaElement>('[data-ens="card-appearance"]');
    if (!select || !appearance) return null;
    ok.parentElement.insertBefore(frag, ok);

    const refresh = () => {
        const card = editedCard(host);
        const profiles = listProfiles(host);
        select.disabled = card === null;
        const ref = card === null ? null : card.kind === 'new' ? readNewCardRef(host) : cardRef(host.characters()[card.index]);
        fillProfileSelect(select, profiles, ref);
        appearance.disabled = card === null;
        const stored = card === null ? null : card.kind === 'new' ? readNewCard(host) : readCard(host.characters()[card.index]);
        if (appearance.ownerDocument.activeElement !== appearance) appearance.value = stored?.appearance ?? '';
    };

    appearance.addEventListener('change', () => {
        const card = editedCard(host);
        if (card === null) return;
        const patch = { appearance: appearance.value.trim() || null };
        if (card.kind === 'new') return writeNewCardPatch(host, patch);
        writeCardPatch(host, card.index, patch).catch((err) => {
            host.toast('error', t('ensemble.profiles.appearanceSaveFailed', { error: errorMessage(err) }), 'Ensemble');
            refresh();
        });
    });

    select.addEventListener('change', () => {
        const card = editedCard(host);
        const picked = pickedProfile(select, listProfiles(host));
        if (card === null || picked === undefined) return;
        const ref = picked ? refOf(picked) : null;
        if (card.kind === 'new') {
            writeNewCardRef(host, ref);
            return;
        }
        writeCardRef(host, card.index, ref).catch((err) => {
            host.toast('error', t('ensemble.profiles.cardSaveFailed', { error: errorMessage(err) }), 'Ensemble');
            refresh();
        });
    });

    // ST 1.12.6 has no "popup opened" event: refresh when it is opened, and when the character changes.
    host.dom.onClick('#advanced_div', refresh);
    host.dom.observe('#character_popup', refresh);
    host.on('chatChanged', refresh);
    host.on('characterEdited', refresh);
    host.on('connectionProfileLoaded', refresh);
    refresh();
    return { refresh };
}
