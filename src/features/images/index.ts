import type { Host } from '../../host/host';
import type { SettingsStore } from '../../settings/store';
import type { PresetCache } from '../../core/route';
import { ImageFlow } from './flow';
import { wireImagesSection } from './panel-section';
import { startImageTriggers } from './triggers';

/** Scene images: /genimage, the message button, auto mode and the panel section. */
export async function startImages(host: Host, store: SettingsStore, presets: PresetCache, panel: HTMLElement | null): Promise<ImageFlow> {
    const flow = new ImageFlow(host, store, presets);
    if (panel) wireImagesSection(host, store, panel);
    await startImageTriggers(host, store, flow);
    return flow;
}
