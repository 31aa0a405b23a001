import type { Host } from '../host/host';
import { MODULE_NAME } from '../shared/log';
import * as z from '../shared/zod';
import settingsHtml from '../../templates/settings.html';

/**
 * Which sub-drawers the user collapsed, in this browser's localStorage: it is how this screen looks here, not a
 * setting, so a click on a header never saves ST's settings (nor syncs to the user's other devices).
 */
export const DRAWERS_KEY = `${MODULE_NAME}_panel_drawers`;

/** Sub-drawer name (`data-ens-drawer`) → collapsed. A name not stored is open: everything shows on first use. */
const DrawerStateSchema = z.record(z.string(), z.boolean());

function readDrawerState(host: Host): Record<string, boolean> {
    const parsed = DrawerStateSchema.safeParse(host.localStore.get(DRAWERS_KEY));
    return parsed.success ? parsed.data : {};
}

function setOpen(toggle: HTMLElement, content: HTMLElement, open: boolean): void {
    toggle.setAttribute('aria-expanded', String(open));
    const icon = toggle.querySelector('.inline-drawer-icon');
    for (const [cls, on] of [['up', open], ['fa-circle-chevron-up', open], ['down', !open], ['fa-circle-chevron-down', !open]] as const) icon?.classList.toggle(cls, on);
    content.hidden = !open;
}

/**
 * Do not switch the sub-drawers to ST's `.inline-drawer-toggle` / `.inline-drawer-content`: ST's one click handler
 * slides `closest('.inline-drawer').find('.inline-drawer-content')`, every content below the header, so each click
 * on Ensemble's own header would flip all the sub-drawers too. They keep ST's header and icon look; this toggles them.
 */
function wireSubDrawers(host: Host, root: HTMLElement): void {
    const state = readDrawerState(host);
    for (const drawer of root.querySelectorAll<HTMLElement>('[data-ens-drawer]')) {
        const name = drawer.dataset.ensDrawer ?? '';
        const toggle = drawer.querySelector<HTMLElement>(':scope > .ensemble-subdrawer-toggle');
        const content = drawer.querySelector<HTMLElement>(':scope > .ensemble-subdrawer-content');
        if (!toggle || !content) continue;
        setOpen(toggle, content, state[name] !== true);
        const flip = () => {
            const open = content.hidden;
            setOpen(toggle, content, open);
            host.localStore.set(DRAWERS_KEY, { ...readDrawerState(host), [name]: !open });
        };
        toggle.addEventListener('click', flip);
        toggle.addEventListener('keydown', (e) => {
            if (e.key !== 'Enter' && e.key !== ' ') return;
            e.preventDefault();
            flip();
        });
    }
}

/**
 * Mounts Ensemble's drawer in ST's extension settings; returns its root, or null if ST's panel is missing.
 * One sub-drawer per feature; a feature that builds its own section puts it in `[data-ens-slot="<feature>"]`.
 */
export function mountPanel(host: Host, warning?: string): HTMLElement | null {
    const container = host.dom.query('#extensions_settings2') ?? host.dom.query('#extensions_settings');
    if (!container) return null;
    const frag = host.dom.fragment(settingsHtml);
    const root = frag.querySelector<HTMLElement>('#ensemble_settings');
    if (!root) return null;
    container.append(frag);
    wireSubDrawers(host, root);
    const box = root.querySelector<HTMLElement>('[data-ens="warning"]');
    if (box && warning) {
        box.textContent = warning;
        box.hidden = false;
    }
    return root;
}
