/** Host and Origin rules: loopback by default, explicit allowlists otherwise. */

const LOOPBACK_NAMES = new Set(['localhost', '::1', '[::1]']);

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
    const h = host.trim().toLowerCase();
    return LOOPBACK_NAMES.has(h) || /^127(\.\d{1,3}){3}$/.test(h);
}

/** `https://Example.com:443/x` → `https://example.com`; throws with a readable message for anything else. */
export function normalizeOrigin(text: string): string {
    let url: URL;
    try {
        url = new URL(text.trim());
    } catch {
        throw new Error(`"${text}" is not an origin (expected e.g. http://127.0.0.1:8000).`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`"${text}" is not an http(s) origin.`);
    return url.origin;
}

/**
 * Whether a WebSocket from `origin` may link. `allow === null` means the default: any http(s) page
 * served from loopback (ST's usual address), any port. No Origin header means a non-browser client:
 * Origin only protects against web pages, which always send one; the link token guards the rest.
 */
export function originAllowed(origin: string | undefined, allow: readonly string[] | null): boolean {
    if (origin === undefined) return true;
    let url: URL;
    try {
        url = new URL(origin);
    } catch {
        return false; // includes the literal "null" of sandboxed frames and file:// pages
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    if (allow === null) return isLoopbackHost(url.hostname);
    return allow.includes(url.origin);
}
