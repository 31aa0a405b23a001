import type { Host } from '../../host/host';
import type { SettingsStore } from '../../settings/store';
import groupSection from '../../../templates/group-section.html';
import { fillProfileSelect, pickedProfile } from '../../core/profile-select';
import { listProfiles, refOf } from '../../core/profiles';

/** The group's id while ST's group editor shows an existing group; null otherwise (a new group has no id yet). */
function editedGroupId(host: Host): string | null {
    return host.menuType() === 'group_edit' ? host.groupId() : null;
}

/** "Ensemble default profile" row in ST's group editor; stored per group id in Ensemble's settings. */
export function mountGroupSection(host: Host, store: SettingsStore): { refresh(): void } | null {
    const anchor = host.dom.query('#rm_group_buttons');
    if (!anchor?.parentElement) return null;
    const frag = host.dom.fragment(groupSection);
    const row = frag.querySelector<HTMLElement>('#ensemble_group_section');
    const select = frag.querySelector<HTMLSelectElement>('[data-ens="group-profile"]');
    if (!row || !select) return null;
    anchor.parentElement.insertBefore(frag, anchor.nextSibling);

    const refresh = () => {
        const groupId = editedGroupId(host);
        row.hidden = groupId === null;
        if (groupId === null) return;
        fillProfileSelect(select, listProfiles(host), store.get().profiles.groupDefaults[groupId]);
    };

    select.addEventListener('change', () => {
        const groupId = editedGroupId(host);
        const picked = pickedProfile(select, listProfiles(host));
        if (groupId === null || picked === undefined) return;
        store.update((s) => {
            if (picked) s.profiles.groupDefaults[groupId] = refOf(picked);
            else delete s.profiles.groupDefaults[groupId];
        });
    });

    host.dom.observe('#rm_group_chats_block', refresh);
    host.on('chatChanged', refresh);
    host.on('groupUpdated', refresh);
    host.on('connectionProfileLoaded', refresh);
    refresh();
    return { refresh };
}
