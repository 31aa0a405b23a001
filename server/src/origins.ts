/** Host and Origin rules: loopback by default, explicit allowlists otherwise. */
import { EnsembleError } from '../../src/shared/errors';
import * as z from '../../src/shared/zod';

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
        throw new EnsembleError('CONFIG_INVALID', `"${text}" is not an origin (expected e.g. http://127.0.0.1:8000).`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new EnsembleError('CONFIG_INVALID', `"${text}" is not an http(s) origin.`);
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

/** A DNS name or IPv4 address, or an IPv6 address (bracketed or not): no port, no user, no path. */
const HostNameSchema = z.string().check(z.regex(/^(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\]|[0-9a-f]*:[0-9a-f:.]*)$/i));
/** A `Host` header: such a name (IPv6 bracketed) and an optional port. */
const HostHeaderSchema = z.string().check(z.regex(/^(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i));

/** `[::1]` → `::1`, `LocalHost` → `localhost`: the form names are compared in. */
const bare = (name: string) => name.toLowerCase().replace(/^\[(.*)\]$/, '$1');

/** A host name for --allowed-host, in comparable form; throws with a readable message for anything else. */
export function normalizeHostName(text: string): string {
    const parsed = HostNameSchema.safeParse(text.trim());
    if (!parsed.success) throw new EnsembleError('CONFIG_INVALID', `"${text}" is not a host name (expected e.g. bridge.lan or 192.168.1.5, without port).`);
    return bare(parsed.data);
}

/** The name a `Host` header asks for, in comparable form; null when the header is missing or malformed. */
export function hostOfHeader(header: string | undefined): string | null {
    const parsed = HostHeaderSchema.safeParse(header ?? '');
    if (!parsed.success) return null;
    return bare(parsed.data.replace(/:\d+$/, ''));
}

/**
 * Whether a request's `Host` header names this server: a loopback name (any port) or one of `names`
 * (normalized with normalizeHostName). A DNS-rebinding page reaches the server under its own name,
 * and its browser sends that name: refusing it keeps such pages from reading any answer.
 */
export function hostAllowed(header: string | undefined, names: readonly string[]): boolean {
    const host = hostOfHeader(header);
    return host !== null && (isLoopbackHost(host) || names.includes(host));
}
