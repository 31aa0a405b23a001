import { t, translatedError } from '../../shared/i18n';
import { MAX_IMAGE_BYTES, imageFromBytes, tooLarge, type ImageData } from './image-bytes';
import { safeImageUrl } from './image-response';
import { AbortedError, BodyTooLargeError, abortable, hostOf, readBytes } from './http';

/** A downloaded, checked picture; or the link kept as is because the browser's CORS rules hid the answer. */
export type ResolvedImage = ImageData | { kind: 'url'; url: string; corsBlocked: true };

export interface ResolveImageDeps {
    fetch: typeof fetch;
    signal?: AbortSignal;
    /** Defaults to MAX_IMAGE_BYTES. */
    maxBytes?: number;
}

/**
 * Downloads a picture link the image API returned and turns it into a checked `data:` URL, so the
 * chat keeps the picture after the link expires. Only http(s) links are fetched (no cookies sent).
 * Browsers reject a cross-origin answer without CORS headers with a bare TypeError, which looks the
 * same as a network failure: both give `corsBlocked: true` and the caller keeps the link.
 * Size is checked from Content-Length before reading, then counted while reading.
 */
export async function resolveImageUrl(url: string, deps: ResolveImageDeps): Promise<ResolvedImage> {
    const href = safeImageUrl(url, t('ensemble.images.subjectPictureLink'));
    const max = deps.maxBytes ?? MAX_IMAGE_BYTES;
    const source = t('ensemble.images.subjectPictureAt', { host: hostOf(href) });
    const cancelled = () => translatedError('IMAGE_CANCELLED', 'ensemble.images.downloadCancelled');
    let res: Response;
    try {
        res = await abortable(deps.fetch(href, { mode: 'cors', credentials: 'omit', signal: deps.signal }), deps.signal);
    } catch (err) {
        if (deps.signal?.aborted || err instanceof AbortedError) throw cancelled();
        if (err instanceof TypeError) return { kind: 'url', url: href, corsBlocked: true };
        throw translatedError('IMAGE_API_UNREACHABLE', 'ensemble.images.downloadUnreachable', { host: hostOf(href) }, { cause: err });
    }
    if (!res.ok) {
        void res.body?.cancel().catch(() => undefined);
        throw translatedError('IMAGE_API_HTTP', 'ensemble.images.downloadHttp', { host: hostOf(href), status: res.status });
    }
    let bytes: Uint8Array;
    try {
        bytes = await readBytes(res, max, deps.signal);
    } catch (err) {
        if (deps.signal?.aborted || err instanceof AbortedError) throw cancelled();
        if (err instanceof BodyTooLargeError) throw tooLarge(source, err.declared, max);
        throw translatedError('IMAGE_API_UNREACHABLE', 'ensemble.images.downloadBrokeOff', { host: hostOf(href) }, { cause: err });
    }
    return imageFromBytes(bytes, source, max);
}
