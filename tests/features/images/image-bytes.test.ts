// @vitest-environment node
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
    MAX_IMAGE_BYTES, bytesToBase64, checkImageBytes, imageFromBase64, imageFromBytes, normaliseBase64, sniffImageMime,
} from '../../../src/features/images/image-bytes';
import { EnsembleError } from '../../../src/shared/errors';
import { GIF, HTML_PAGE, JPEG, PNG, SVG_WITH_SCRIPT, WEBP, b64 } from './fetch-fakes';

const codeOf = (fn: () => unknown): string | undefined => {
    try {
        fn();
    } catch (err) {
        return err instanceof EnsembleError ? err.code : `not an EnsembleError: ${String(err)}`;
    }
    return undefined;
};

afterEach(() => vi.restoreAllMocks());

describe('sniffImageMime', () => {
    it('recognises PNG, JPEG, GIF and WEBP by their magic bytes', () => {
        expect(sniffImageMime(PNG())).toBe('image/png');
        expect(sniffImageMime(JPEG())).toBe('image/jpeg');
        expect(sniffImageMime(GIF())).toBe('image/gif');
        expect(sniffImageMime(new Uint8Array([...new TextEncoder().encode('GIF87a'), 0, 0]))).toBe('image/gif');
        expect(sniffImageMime(WEBP())).toBe('image/webp');
    });

    it('does not take a RIFF file that is not WEBP (a WAV) for a picture', () => {
        const wav = WEBP();
        wav.set(new TextEncoder().encode('WAVE'), 8);
        expect(sniffImageMime(wav)).toBeNull();
    });

    it('returns null for SVG, HTML, truncated headers and empty data', () => {
        expect(sniffImageMime(SVG_WITH_SCRIPT)).toBeNull();
        expect(sniffImageMime(HTML_PAGE)).toBeNull();
        expect(sniffImageMime(PNG().subarray(0, 5))).toBeNull();
        expect(sniffImageMime(new Uint8Array(0))).toBeNull();
    });
});

describe('checkImageBytes', () => {
    it('refuses an SVG carrying script as IMAGE_UNSAFE and names it', () => {
        expect(() => checkImageBytes(SVG_WITH_SCRIPT, 'The picture')).toThrow(/SVG document, not a picture/);
        expect(codeOf(() => checkImageBytes(SVG_WITH_SCRIPT, 'The picture'))).toBe('IMAGE_UNSAFE');
    });

    it('refuses an SVG behind an XML declaration and a BOM', () => {
        const svg = new TextEncoder().encode('\uFEFF<?xml version="1.0"?>\n<svg onload="alert(1)"/>');
        expect(() => checkImageBytes(svg, 'The picture')).toThrow(/SVG document/);
    });

    it('refuses an HTML page as IMAGE_UNSAFE', () => {
        expect(() => checkImageBytes(HTML_PAGE, 'The picture')).toThrow(/HTML page/);
        expect(codeOf(() => checkImageBytes(HTML_PAGE, 'The picture'))).toBe('IMAGE_UNSAFE');
    });

    it('refuses unknown binary data as IMAGE_UNSAFE', () => {
        expect(codeOf(() => checkImageBytes(new Uint8Array([0x25, 0x50, 0x44, 0x46, 1, 2, 3]), 'x'))).toBe('IMAGE_UNSAFE');
    });

    it('refuses a picture over the limit as IMAGE_TOO_LARGE, saying both sizes', () => {
        expect(() => checkImageBytes(PNG(2048), 'The picture', 1024)).toThrow('The picture is 0.0 MB, over the 0.0 MB limit.');
        expect(codeOf(() => checkImageBytes(PNG(MAX_IMAGE_BYTES + 1), 'The picture'))).toBe('IMAGE_TOO_LARGE');
        expect(checkImageBytes(PNG(1024), 'The picture', 1024)).toBe('image/png');
    });
});

describe('bytesToBase64', () => {
    it('matches node’s encoder for every length across slice boundaries', () => {
        for (const n of [0, 1, 2, 3, 4, 5, 24575, 24576, 24577, 24578, 100_001]) {
            const data = PNG(n).subarray(0, n);
            expect(bytesToBase64(data), `length ${n}`).toBe(b64(data));
        }
    });
});

describe('normaliseBase64', () => {
    it('drops a data: prefix, line breaks and spaces, maps base64url and restores padding', () => {
        const data = new Uint8Array([0xfb, 0xff, 0xfe, 0x01]);
        const std = b64(data); // "+//+AQ=="
        const url = std.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
        expect(normaliseBase64(url)).toBe(std);
        expect(normaliseBase64(`data:image/svg+xml;base64,${std}`)).toBe(std);
        expect(normaliseBase64(` ${std.slice(0, 3)}\r\n${std.slice(3)} `)).toBe(std);
    });

    it('returns null for text that is not base64', () => {
        expect(normaliseBase64('not base64!')).toBeNull();
        expect(normaliseBase64('AAAAA')).toBeNull(); // 5 characters cannot be base64
        expect(normaliseBase64('AA=A')).toBeNull();
    });
});

describe('imageFromBase64', () => {
    it('builds a data URL from the sniffed type and reports the decoded size', () => {
        const img = imageFromBase64(b64(PNG(300)), 'The picture');
        expect(img).toEqual({ kind: 'data', dataUrl: `data:image/png;base64,${b64(PNG(300))}`, mime: 'image/png', bytes: 300 });
    });

    it('never trusts a declared type: a JPEG sent as data:image/png becomes image/jpeg', () => {
        const img = imageFromBase64(`data:image/png;base64,${b64(JPEG(90))}`, 'The picture');
        expect(img.mime).toBe('image/jpeg');
        expect(img.dataUrl.startsWith('data:image/jpeg;base64,')).toBe(true);
        expect(Buffer.from(img.dataUrl.split(',')[1] ?? '', 'base64')).toEqual(Buffer.from(JPEG(90)));
    });

    it('refuses an SVG with script even when declared as a PNG', () => {
        expect(codeOf(() => imageFromBase64(`data:image/png;base64,${b64(SVG_WITH_SCRIPT)}`, 'The picture'))).toBe('IMAGE_UNSAFE');
    });

    it('refuses a string that is not base64 as IMAGE_API_INVALID', () => {
        expect(codeOf(() => imageFromBase64('<html>', 'The picture'))).toBe('IMAGE_API_INVALID');
    });

    it('refuses a huge base64 string (a 50 MB picture) from its length, without decoding it', () => {
        const atob = vi.spyOn(globalThis, 'atob');
        const huge = 'A'.repeat(Math.ceil((50 * 1024 * 1024 * 4) / 3));
        expect(() => imageFromBase64(huge, 'The picture')).toThrow(/50\.0 MB, over the 20\.0 MB limit/);
        expect(codeOf(() => imageFromBase64(huge, 'The picture'))).toBe('IMAGE_TOO_LARGE');
        expect(atob).not.toHaveBeenCalled();
    });

    it('accepts a picture of exactly the limit, and refuses one byte more', () => {
        expect(imageFromBase64(b64(PNG(4096)), 'p', 4096).bytes).toBe(4096);
        expect(codeOf(() => imageFromBase64(b64(PNG(4097)), 'p', 4096))).toBe('IMAGE_TOO_LARGE');
    });
});

describe('imageFromBytes', () => {
    it('encodes downloaded bytes into a data URL of the sniffed type', () => {
        const gif = GIF(1000);
        expect(imageFromBytes(gif, 'The picture')).toEqual({ kind: 'data', dataUrl: `data:image/gif;base64,${b64(gif)}`, mime: 'image/gif', bytes: 1000 });
    });
});
