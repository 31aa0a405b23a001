import type { Host } from '../host/host';
import settingsHtml from '../../templates/settings.html';

/** Mounts Ensemble's drawer in ST's extension settings; returns its root, or null if ST's panel is missing. */
export function mountPanel(host: Host, warning?: string): HTMLElement | null {
    const container = host.dom.query('#extensions_settings2') ?? host.dom.query('#extensions_settings');
    if (!container) return null;
    const frag = host.dom.fragment(settingsHtml);
    const root = frag.querySelector<HTMLElement>('#ensemble_settings');
    if (!root) return null;
    container.append(frag);
    const box = root.querySelector<HTMLElement>('[data-ens="warning"]');
    if (box && warning) {
        box.textContent = warning;
        box.hidden = false;
    }
    return root;
}
