import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mountCardSection } from '../../../src/features/profiles/card-ui';
import { mountGroupSection } from '../../../src/features/profiles/group-ui';
import { FakeStHost } from '../../fakes/st-host';
import { A, B, C, GROUP, MINE, assign, scenario } from './scenario';

const change = (el: HTMLSelectElement, value: string) => {
    el.value = value;
    el.dispatchEvent(new Event('change'));
};
const options = (select: HTMLSelectElement) => [...select.options].map((o) => [o.value, o.textContent]);

function cardSection(setup: (s: ReturnType<typeof scenario>) => void = () => undefined) {
    const s = scenario();
    setup(s);
    const mounted = mountCardSection(s.fake);
    const select = s.fake.document.querySelector<HTMLSelectElement>('[data-ens="card-profile"]');
    if (!mounted || !select) throw new Error('card section not mounted');
    return { ...s, select, refresh: mounted.refresh };
}
const editing = (index: number) => (s: ReturnType<typeof scenario>) => Object.assign(s.fake.st, { characterId: index, menuType: 'character_edit' });

beforeEach(() => { vi.spyOn(console, 'warn').mockImplementation(() => undefined); });
afterEach(() => { vi.restoreAllMocks(); });

describe('card section (Advanced Definitions)', () => {
    it('mounts as a drawer right before #character_popup_ok', () => {
        const { fake } = cardSection();
        const ok = fake.document.getElementById('character_popup_ok');
        expect(ok?.previousElementSibling?.id).toBe('ensemble_card_section');
        expect(ok?.parentElement?.id).toBe('character_popup');
    });

    it('lists "(none)" and every profile by id with its name as text, selecting the card\'s profile', () => {
        const { select } = cardSection(editing(0));
        expect(options(select)).toEqual([['', '(none)'], [MINE.id, 'Mine'], [A.id, 'A'], [B.id, 'B'], [C.id, 'C'], ['pt-id', 'T'], ['po-id', 'O']]);
        expect(select.value).toBe(A.id);
        expect(select.disabled).toBe(false);
    });

    it('is disabled while no character is being edited', () => {
        const { select } = cardSection();
        expect(select.disabled).toBe(true);
    });

    it('shows a deleted profile as "⚠ missing: NAME", selected', () => {
        const { select } = cardSection((s) => {
            assign(s.fake, s.alice, { profileId: 'gone-id', profileName: 'Gone' });
            editing(s.alice)(s);
        });
        expect(select.selectedOptions[0]?.textContent).toBe('⚠ missing: Gone');
    });

    it('writes the picked profile into the card through writeExtensionField', async () => {
        const { fake, select, carol } = cardSection((s) => editing(s.carol)(s));
        change(select, B.id);
        expect(fake.cardWrites).toEqual([{ index: carol, key: 'ensemble', value: { profileId: B.id, profileName: B.name } }]);
        await fake.idle();
        expect(fake.cardFile('carol.png').data?.extensions?.ensemble).toEqual({ profileId: B.id, profileName: B.name });
    });

    it('writes explicit nulls for "(none)" and nothing for the missing entry', async () => {
        const { fake, select } = cardSection((s) => {
            assign(s.fake, s.alice, { profileId: 'gone-id', profileName: 'Gone' });
            editing(s.alice)(s);
        });
        select.dispatchEvent(new Event('change'));
        expect(fake.cardWrites).toEqual([]);
        change(select, '');
        expect(fake.cardWrites[0]?.value).toEqual({ profileId: null, profileName: null });
    });

    it('in "Create character" writes createCharacterData.extensions.ensemble, not the previous character', () => {
        // ST's character editor: menuType 'create' while characterId still points at the previously edited character.
        const { fake, select } = cardSection((s) => Object.assign(s.fake.st, { characterId: s.alice, menuType: 'create' }));
        expect(select.value).toBe('');
        change(select, C.id);
        expect(fake.st.createCharacterData.extensions.ensemble).toEqual({ profileId: C.id, profileName: C.name });
        expect(fake.cardWrites).toEqual([]);
    });

    it('refreshes when the Advanced Definitions button is clicked and when the chat changes', async () => {
        const { fake, select, bob } = cardSection(editing(0));
        fake.st.characterId = bob;
        fake.document.getElementById('advanced_div')?.click();
        expect(select.value).toBe(B.id);
        await fake.openCharacter(2);
        expect(select.value).toBe('');
    });

    it('renders names with HTML as text only', () => {
        const evil = '<img src=x onerror=alert(1)>';
        const { fake, select } = cardSection((s) => {
            s.fake.cm.profiles[0]!.name = evil;
            editing(s.alice)(s);
        });
        expect(select.options[1]?.textContent).toBe(evil);
        expect(fake.document.querySelector('#ensemble_card_section img')).toBeNull();
    });

    it('is not mounted when ST\'s popup is missing', () => {
        expect(mountCardSection(new FakeStHost({ fixtures: false }))).toBeNull();
    });
});

describe('group section (group editor)', () => {
    function groupSection() {
        const s = scenario();
        const mounted = mountGroupSection(s.fake, s.store);
        const row = s.fake.document.getElementById('ensemble_group_section');
        const select = s.fake.document.querySelector<HTMLSelectElement>('[data-ens="group-profile"]');
        if (!mounted || !row || !select) throw new Error('group section not mounted');
        return { ...s, row, select };
    }

    it('mounts right after #rm_group_buttons', () => {
        const { fake } = groupSection();
        expect(fake.document.getElementById('rm_group_buttons')?.nextElementSibling?.id).toBe('ensemble_group_section');
    });

    it('is hidden unless an existing group is being edited (menuType group_edit)', async () => {
        const { fake, row, select } = groupSection();
        expect(row.hidden).toBe(true);
        await fake.openGroup(GROUP);
        expect(row.hidden).toBe(false);
        expect(select.value).toBe(C.id);
        fake.st.menuType = 'group_create';
        await fake.emit('groupUpdated');
        expect(row.hidden).toBe(true);
    });

    it('stores the picked default per group id, and removes it on "(none)"', async () => {
        const { fake, store, select } = groupSection();
        await fake.openGroup(GROUP);
        change(select, A.id);
        expect(store.get().profiles.groupDefaults[GROUP]).toEqual({ id: A.id, name: A.name });
        change(select, '');
        expect(store.get().profiles.groupDefaults).toEqual({});
    });
});
