import { afterEach, describe, expect, it } from 'vitest';
import { PREVIEW_RESULT, type PreviewImage, showPreview } from '../../../src/features/images/preview';
import { FakeStHost } from '../../fakes/st-host';

const image = (n: number): PreviewImage => ({ kind: 'data', dataUrl: `data:image/png;base64,AAA${n}`, mime: 'image/png', bytes: n });
const key = (el: HTMLElement, k: string) => el.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true }));

let fake: FakeStHost;
afterEach(() => { fake.document.body.replaceChildren(); });

/** Shows the preview and answers it with `answer`, run on its content once in the page (as in ST's popup). */
function open(images: PreviewImage[], answer: (content: HTMLElement) => number | null) {
    fake = new FakeStHost();
    fake.popupAnswers.push((content: HTMLElement) => {
        fake.document.body.append(content);
        return answer(content);
    });
    return showPreview(fake, images, 'a fern');
}

describe('image preview from the keyboard', () => {
    it('marks the prompt field to take the focus when ST\'s popup opens', async () => {
        let focusTarget: Element | null = null;
        await open([image(1)], (content) => {
            focusTarget = content.querySelector('[autofocus]');
            return PREVIEW_RESULT.discard;
        });
        expect(focusTarget).not.toBeNull();
        expect((focusTarget as unknown as HTMLElement).dataset.ens).toBe('prompt');
    });

    it('Escape (ST\'s popup answers null) discards', async () => {
        expect(await open([image(1)], () => null)).toEqual({ action: 'discard' });
    });

    it('one picture is no extra tab stop', async () => {
        let img: HTMLImageElement | null = null;
        await open([image(1)], (content) => {
            img = content.querySelector('img');
            return PREVIEW_RESULT.accept;
        });
        expect(img!.tabIndex).toBe(-1);
        expect(img!.getAttribute('role')).toBeNull();
    });

    it('with several pictures each is a tab stop, and Enter or Space picks it', async () => {
        let state: { tab: number[]; pressed: (string | null)[] } | null = null;
        const choice = await open([image(1), image(2), image(3)], (content) => {
            const imgs = [...content.querySelectorAll<HTMLImageElement>('img')];
            key(imgs[2]!, 'Enter');
            key(imgs[1]!, ' ');
            key(imgs[0]!, 'Tab');
            state = { tab: imgs.map((i) => i.tabIndex), pressed: imgs.map((i) => i.getAttribute('aria-pressed')) };
            expect(imgs.map((i) => i.getAttribute('role'))).toEqual(['button', 'button', 'button']);
            expect(imgs.map((i) => i.alt)).toEqual(['Image 1', 'Image 2', 'Image 3']);
            return PREVIEW_RESULT.accept;
        });
        expect(state).toEqual({ tab: [0, 0, 0], pressed: ['false', 'true', 'false'] });
        expect(choice).toEqual({ action: 'accept', index: 1, prompt: 'a fern' });
    });
});
