import type { ModelInfo } from '../../../protocol';

/**
 * The values NextChat needs to use the bridge, from what the extension knows: the bridge address (or the
 * API address the server shared in `welcome`), its key, and the catalog.
 */

/** The API's base URL as NextChat wants it (no `/v1`): the shared one, else the bridge address as http(s). */
export function apiBase(bridgeUrl: string, shared?: string): string {
    if (shared) return shared.replace(/\/+$/, '').replace(/\/v1$/, '');
    try {
        const u = new URL(bridgeUrl);
        const protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
        return `${protocol}//${u.host}`;
    } catch {
        return '';
    }
}

/** NextChat's list syntax uses `,` between entries and `=` before a display name: neither may appear in one. */
const displayName = (name: string) => name.replace(/[,=@]/g, ' ').replace(/\s+/g, ' ').trim();

/**
 * NextChat's `CUSTOM_MODELS` (server env, or Settings → Custom Models): only the bridge's models, each
 * under the OpenAI provider (the one that calls `{base}/v1/chat/completions`), shown by its ST name.
 */
export function customModels(models: readonly ModelInfo[]): string {
    const entries = models.map((m) => {
        const shown = displayName(m.name);
        return `+${m.id}@OpenAI${shown ? `=${shown}` : ''}`;
    });
    return ['-all', ...entries].join(',');
}

/** NextChat's fast link: opening it fills in the custom endpoint and key (browser mode). */
export function fastLink(nextchatUrl: string, base: string, key: string): string {
    const settings = JSON.stringify({ key, url: base });
    return `${nextchatUrl.trim().replace(/\/+$/, '')}/#/?settings=${encodeURIComponent(settings)}`;
}

/** NextChat's server mode: its environment. */
export function serverEnv(base: string, key: string, models: readonly ModelInfo[]): string {
    return [`BASE_URL=${base}`, `OPENAI_API_KEY=${key}`, `CUSTOM_MODELS=${customModels(models)}`].join('\n');
}

/** The NextChat page's origin, for the server's --cors-origin; '' when the address is not a URL. */
export function originOf(url: string): string {
    try {
        return new URL(url.trim()).origin;
    } catch {
        return '';
    }
}
