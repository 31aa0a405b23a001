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

/** NextChat's usual port (its development server and Docker image listen there). */
export const NEXTCHAT_PORT = 3000;

/**
 * The names a browser reaches this machine by: `localhost`, `127.x.x.x`, `[::1]` (as URL hostnames, lower-case);
 * null for any other host. Each is its own origin to the browser, although all reach the same server.
 */
export function loopbackName(hostname: string): string | null {
    const h = hostname.toLowerCase();
    return h === 'localhost' || h === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(h) ? h : null;
}

const hostnameOf = (url: string): string => {
    try {
        return new URL(url.trim()).hostname;
    } catch {
        return '';
    }
};

/**
 * The NextChat address used while the user has entered none: NextChat's usual port on the loopback name this ST
 * page was opened at (`http://127.0.0.1:3000` for an ST at 127.0.0.1), so NextChat opened the same way has the
 * origin the setup help names; `localhost` when ST was opened at another name.
 */
export function defaultNextChatUrl(stOrigin: string): string {
    return `http://${loopbackName(hostnameOf(stOrigin)) ?? 'localhost'}:${NEXTCHAT_PORT}`;
}

export interface LoopbackMismatch {
    /** The loopback names of the NextChat address and of ST's page. */
    nextchat: string;
    st: string;
    /** The NextChat address's origin, and the same address under ST's name. */
    origin: string;
    alternative: string;
}

/**
 * When the NextChat address and ST's page name this machine by different loopback names (`localhost` against
 * `127.0.0.1`): a user who opens NextChat the way they opened ST gets another origin than `--cors-origin` allows.
 * Null when the names agree or either is not a loopback name.
 */
export function loopbackMismatch(nextchatUrl: string, stOrigin: string): LoopbackMismatch | null {
    const nextchat = loopbackName(hostnameOf(nextchatUrl));
    const st = loopbackName(hostnameOf(stOrigin));
    if (!nextchat || !st || nextchat === st) return null;
    const moved = new URL(nextchatUrl.trim());
    moved.hostname = st;
    return { nextchat, st, origin: originOf(nextchatUrl), alternative: moved.origin };
}
