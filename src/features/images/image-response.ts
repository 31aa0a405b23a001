import { EnsembleError } from '../../shared/errors';
import { type MessageKey, type MessageVars, t, translatedError } from '../../shared/i18n';
import * as z from '../../shared/zod';
import { imageFromBase64, type ImageMime } from './image-bytes';
import { apiErrorMessage, isHtml, isHttpUrl } from './http';
import type { SseEvent } from './sse';

/** A picture from the image API: decoded and checked (`data`), or a link still to fetch (`url`, see resolveImageUrl). */
export type GeneratedImage =
    | { kind: 'data'; dataUrl: string; mime: ImageMime; bytes: number; revisedPrompt?: string }
    | { kind: 'url'; url: string; revisedPrompt?: string };

// Some OpenAI-compatible servers send the unused field as null rather than leaving it out.
const optText = () => z.optional(z.nullable(z.string()));

const ImageItemSchema = z.looseObject({ b64_json: optText(), url: optText(), revised_prompt: optText() });
type ImageItem = z.infer<typeof ImageItemSchema>;

/** `POST /images/generations` answer (OpenAI `ImagesResponse`), and the `{data:[…]}` event some servers stream. */
export const ImagesResponseSchema = z.looseObject({ data: z.array(ImageItemSchema) });

/** OpenAI streaming events (`stream: true`); the partial picture is only reported, so its fields are optional. */
export const PartialImageEventSchema = z.looseObject({
    type: z.literal('image_generation.partial_image'),
    b64_json: optText(),
    partial_image_index: z.optional(z.number()),
});
export const CompletedImageEventSchema = z.looseObject({
    type: z.literal('image_generation.completed'),
    b64_json: z.string(),
    revised_prompt: optText(),
});


function invalid(key: MessageKey, vars?: MessageVars): EnsembleError {
    return translatedError('IMAGE_API_INVALID', key, vars);
}

function firstIssue(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
    const issue = error.issues[0];
    if (!issue) return '';
    const path = issue.path.length ? issue.path.map(String).join('.') : t('ensemble.images.issueWholeAnswer');
    return ` (${path}: ${issue.message})`;
}

/** The scheme of a link, for messages, without the rest of it. */
function schemeOf(url: string): string {
    const m = /^\s*([a-z][a-z0-9+.-]*):/i.exec(url);
    return m?.[1] ? t('ensemble.images.schemeLink', { scheme: m[1].toLowerCase() }) : t('ensemble.images.relativeLink');
}

/** A link the preview may load: absolute http(s) only (`javascript:`, `data:`, `file:`, relative → IMAGE_UNSAFE). */
export function safeImageUrl(url: string, source = t('ensemble.images.subjectApiPictureLink')): string {
    if (!isHttpUrl(url.trim())) {
        throw translatedError('IMAGE_UNSAFE', 'ensemble.images.unsafeLink', { source, scheme: schemeOf(url) });
    }
    return new URL(url.trim()).href;
}

function toImage(item: ImageItem, index: number): GeneratedImage {
    const revised = item.revised_prompt ? { revisedPrompt: item.revised_prompt } : {};
    if (item.b64_json) return { ...imageFromBase64(item.b64_json, t('ensemble.images.subjectApiPicture', { number: index + 1 })), ...revised };
    if (item.url) return { kind: 'url', url: safeImageUrl(item.url), ...revised };
    throw invalid('ensemble.images.apiPictureEmpty', { number: index + 1 });
}

function fromData(items: ImageItem[], offset: number): GeneratedImage[] {
    return items.map((item, i) => toImage(item, offset + i));
}

function reportedError(body: unknown, text: string, streaming: boolean): EnsembleError | undefined {
    if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
    const error = apiErrorMessage(text) ?? t('ensemble.images.noDetails');
    return translatedError('IMAGE_API_HTTP', streaming ? 'ensemble.images.apiReportedStreaming' : 'ensemble.images.apiReported', { error });
}

/** A complete (non-streamed) answer. `contentType` lets an HTML page be named as such. */
export function parseImagesJson(text: string, contentType: string | null): GeneratedImage[] {
    if (isHtml(text, contentType)) {
        throw invalid('ensemble.images.apiHtml');
    }
    let body: unknown;
    try {
        body = JSON.parse(text);
    } catch {
        throw invalid(text.trim() ? 'ensemble.images.apiNotJson' : 'ensemble.images.apiEmptyAnswer');
    }
    const parsed = ImagesResponseSchema.safeParse(body);
    if (!parsed.success) {
        throw reportedError(body, text, false) ?? invalid('ensemble.images.apiNotImageResult', { issue: firstIssue(parsed.error) });
    }
    if (parsed.data.data.length === 0) throw translatedError('IMAGE_API_EMPTY', 'ensemble.images.apiNoPicture');
    return fromData(parsed.data.data, 0);
}

/**
 * Applies one streamed event: pictures are appended to `out`, partial pictures only reported
 * through `onPartial` (their index, 0-based). `[DONE]` and events of unknown `type` are ignored.
 */
export function applyImageEvent(ev: SseEvent, out: GeneratedImage[], onPartial: (index: number | undefined) => void): void {
    const data = ev.data.trim();
    if (data === '[DONE]' || data === '') return;
    let body: unknown;
    try {
        body = JSON.parse(data);
    } catch {
        throw invalid('ensemble.images.apiStreamNotJson');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw invalid('ensemble.images.apiStreamNotObject');
    }
    const obj = body as Record<string, unknown>;
    const type = typeof obj.type === 'string' ? obj.type : ev.event !== 'message' ? ev.event : undefined;
    const error = reportedError(body, data, true);
    if (error || type === 'error') throw error ?? translatedError('IMAGE_API_HTTP', 'ensemble.images.apiStreamError');
    if (type === 'image_generation.partial_image') {
        const p = PartialImageEventSchema.safeParse({ ...obj, type });
        if (!p.success) throw invalid('ensemble.images.apiStreamPartialMalformed', { issue: firstIssue(p.error) });
        onPartial(p.data.partial_image_index);
    } else if (type === 'image_generation.completed') {
        const c = CompletedImageEventSchema.safeParse({ ...obj, type });
        if (!c.success) throw invalid('ensemble.images.apiStreamCompletedMalformed', { issue: firstIssue(c.error) });
        out.push(...fromData([c.data], out.length));
    } else if ('data' in obj) {
        const d = ImagesResponseSchema.safeParse(obj);
        if (!d.success) throw invalid('ensemble.images.apiStreamNotImageResult', { issue: firstIssue(d.error) });
        out.push(...fromData(d.data.data, out.length));
    } else if (type === undefined) {
        throw invalid('ensemble.images.apiStreamNoType');
    }
}
