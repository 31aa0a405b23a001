import { EnsembleError } from '../../shared/errors';
import { t, translatedError } from '../../shared/i18n';

/** Largest picture Ensemble accepts, decoded. */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

/** The only picture types Ensemble shows. SVG is excluded on purpose: it can carry script. */
export type ImageMime = 'image/png' | 'image/jpeg' | 'image/webp' | 'image/gif';

export interface ImageData {
    kind: 'data';
    dataUrl: string;
    mime: ImageMime;
    bytes: number;
}

const startsWith = (b: Uint8Array, sig: readonly number[], at = 0) =>
    b.length >= at + sig.length && sig.every((v, i) => b[at + i] === v);
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

/** The picture type from the file's first bytes (its magic number); null for anything else. */
export function sniffImageMime(bytes: Uint8Array): ImageMime | null {
    if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
    if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
    if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return 'image/gif';
    if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'image/webp';
    return null;
}

/** A short name for what non-picture data looks like, for the refusal message. */
function describeNonImage(bytes: Uint8Array): string {
    const head = new TextDecoder().decode(bytes.subarray(0, 512)).replace(/^\uFEFF/, '').trimStart().toLowerCase();
    if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return t('ensemble.images.nonImageSvg');
    if (/^<(!doctype html|html|head|body|script)/.test(head)) return t('ensemble.images.nonImageHtml');
    if (head.startsWith('<')) return t('ensemble.images.nonImageXml');
    return t('ensemble.images.nonImageData');
}

export const formatMb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function tooLarge(source: string, bytes: number | undefined, max: number): EnsembleError {
    return bytes === undefined
        ? translatedError('IMAGE_TOO_LARGE', 'ensemble.images.tooLargeUnknown', { source, max: formatMb(max) })
        : translatedError('IMAGE_TOO_LARGE', 'ensemble.images.tooLargeKnown', { source, size: formatMb(bytes), max: formatMb(max) });
}

/**
 * Checks decoded bytes and returns their type. `source` starts the message ("The image API's picture").
 * The declared type (a Content-Type header, a data-URL prefix) is never consulted.
 */
export function checkImageBytes(bytes: Uint8Array, source: string, max = MAX_IMAGE_BYTES): ImageMime {
    if (bytes.length > max) throw tooLarge(source, bytes.length, max);
    const mime = sniffImageMime(bytes);
    if (!mime) throw translatedError('IMAGE_UNSAFE', 'ensemble.images.notAPicture', { source, what: describeNonImage(bytes) });
    return mime;
}

/** Standard base64 of bytes, in slices so large pictures do not overflow the call stack. */
export function bytesToBase64(bytes: Uint8Array): string {
    const parts: string[] = [];
    const SLICE = 3 * 8192; // a multiple of 3, so each slice encodes without padding
    for (let i = 0; i < bytes.length; i += SLICE) {
        parts.push(btoa(String.fromCharCode(...bytes.subarray(i, i + SLICE))));
    }
    return parts.join('');
}

/** The bytes a base64 string of this length decodes to, at most (padding not counted exactly). */
export const base64DecodedLength = (b64: string) => Math.floor((b64.length * 3) / 4);

/**
 * Normalises what APIs put in `b64_json`: a bare base64 string, possibly with line breaks, base64url
 * characters, missing padding, or a `data:…;base64,` prefix (whose declared type is ignored).
 * Returns null when it is not base64.
 */
export function normaliseBase64(raw: string): string | null {
    let s = raw.trim();
    const prefix = /^data:[^,]*;base64,/i.exec(s);
    if (prefix) s = s.slice(prefix[0].length);
    s = s.replace(/\s+/g, '').replace(/-/g, '+').replace(/_/g, '/');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
    s = s.replace(/=+$/, '');
    if (s.length % 4 === 1) return null;
    return s + '='.repeat((4 - (s.length % 4)) % 4);
}

function base64ToBytes(b64: string): Uint8Array {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
}

/**
 * Turns an API's base64 picture into a `data:` URL of its sniffed type. The size is checked from the
 * string's length before anything is decoded, so a huge answer costs no second copy.
 */
export function imageFromBase64(raw: string, source: string, max = MAX_IMAGE_BYTES): ImageData {
    // Far too long even allowing for line breaks: refuse before scanning it at all.
    if (base64DecodedLength(raw) > max * 1.5) throw tooLarge(source, base64DecodedLength(raw), max);
    const b64 = normaliseBase64(raw);
    if (b64 === null) throw translatedError('IMAGE_API_INVALID', 'ensemble.images.notBase64', { source });
    const estimate = base64DecodedLength(b64) - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
    if (estimate > max) throw tooLarge(source, estimate, max);
    const bytes = base64ToBytes(b64);
    const mime = checkImageBytes(bytes, source, max);
    // atob accepted `b64` and it decodes to exactly the sniffed bytes, so it can be reused as is.
    return { kind: 'data', dataUrl: `data:${mime};base64,${b64}`, mime, bytes: bytes.length };
}

/** A `data:` URL for bytes already read (a downloaded picture). */
export function imageFromBytes(bytes: Uint8Array, source: string, max = MAX_IMAGE_BYTES): ImageData {
    const mime = checkImageBytes(bytes, source, max);
    return { kind: 'data', dataUrl: `data:${mime};base64,${bytesToBase64(bytes)}`, mime, bytes: bytes.length };
}
