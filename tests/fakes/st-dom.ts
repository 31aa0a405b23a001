/**
 * The parts of ST 1.12.6's page (public/index.html) Ensemble mounts into, as bare elements.
 * ST's index.html: Advanced Definitions (#character_popup), #extensions_settings2, and connection-manager's select#connection_profiles.
 */
export function buildStFixtures(doc: Document): void {
    const el = (tag: string, id: string, ...children: Element[]) => {
        const e = doc.createElement(tag);
        e.id = id;
        e.append(...children);
        return e;
    };
    doc.body.replaceChildren(
        el('div', 'extensions_settings'),
        el('div', 'extensions_settings2'),
        // index.html: #advanced_div sits in the editor form; the popup is body-level and shown with display: flex.
        el('form', 'form_create', el('div', 'advanced_div')),
        el('div', 'character_popup', el('div', 'character_popup_text'), el('div', 'character_popup_ok')),
        el('div', 'rm_group_chats_block', el('div', 'rm_group_buttons')),
        el('div', 'rm_api_block', el('select', 'connection_profiles')),
    );
    const popup = doc.getElementById('character_popup');
    if (popup) popup.style.display = 'none';
}

/** Fills select#connection_profiles like connection-manager's renderConnectionProfiles: `<None>` (''), then one option per profile. */
export function renderProfileOptions(doc: Document, profiles: readonly { id: string; name: string }[], selected: string | null): void {
    const select = doc.getElementById('connection_profiles') as HTMLSelectElement | null;
    if (!select) return;
    const option = (value: string, text: string) => {
        const o = doc.createElement('option');
        o.value = value;
        o.textContent = text;
        return o;
    };
    select.replaceChildren(option('', '<None>'), ...profiles.map((p) => option(p.id, p.name)));
    select.value = selected ?? '';
}
