/**
 * src/host/dom.ts and src/host/st-ui.ts: the DOM helpers and ST's toasts, popups and message menu, over
 * jsdom, the npm DOMPurify (ST ships the same library as a global) and a fake of ST's globals.
 *
 * Unit-tested here: createDom (fragment, query, onClick, observe), toast, confirm, popup, progress, addMessageButton.
 *
 * Also in e2e against ST's own Popup, toastr and message template: images.e2e.mjs
 * "the message button on #1 inserts the picture at #2" (addMessageButton), "the preview shows our data: image and
 * the prompt the LLM wrote" (popup); safety.e2e.mjs "the notification names member and profile as text" and
 * "no markup from names ever ran or rendered" (toast with escapeHtml).
 */
import DOMPurify from 'dompurify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDom } from '../../src/host/dom';
import { createUi } from '../../src/host/st-ui';
import { FakeSt } from '../fakes/st-globals';

afterEach(() => {
    vi.unstubAllGlobals();
    document.head.replaceChildren();
    document.body.replaceChildren();
});

const nextFrame = () => new Promise((r) => setTimeout(r, 40));

describe('createDom', () => {
    const dom = () => createDom(document, DOMPurify);

    it('fragment sanitises: no script, no handler attributes, markup kept', () => {
        const frag = dom().fragment('<b class="x">ok</b><img src="x" onerror="alert(1)"><script>alert(2)</script>');
        const box = document.createElement('div');
        box.append(frag);
        expect(box.innerHTML).toBe('<b class="x">ok</b><img src="x">');
    });

    it('query finds an element in the page', () => {
        document.body.innerHTML = '<div id="a"><span class="s">t</span></div>';
        expect(dom().query('#a .s')?.textContent).toBe('t');
        expect(dom().query('#missing')).toBeNull();
    });

    it('onClick is delegated: a click inside a matching element, re-rendered after registering, reaches the handler', () => {
        const hits: Element[] = [];
        dom().onClick('.ens-btn', (target) => hits.push(target));
        document.body.innerHTML = '<div class="ens-btn" id="b"><i id="icon"></i></div><div id="other"></div>';
        document.getElementById('icon')?.click();
        document.getElementById('other')?.click();
        expect(hits.map((h) => h.id)).toEqual(['b']);
    });

    it('observe runs the callback once per frame for style and class changes of the element', async () => {
        document.body.innerHTML = '<div id="panel"></div>';
        const cb = vi.fn();
        dom().observe('#panel', cb);
        const panel = document.getElementById('panel')!;
        panel.style.display = 'none';
        panel.classList.add('open');
        await nextFrame();
        expect(cb).toHaveBeenCalledTimes(1);
        panel.setAttribute('data-x', '1'); // not style or class
        await nextFrame();
        expect(cb).toHaveBeenCalledTimes(1);
        panel.style.display = 'block';
        await nextFrame();
        expect(cb).toHaveBeenCalledTimes(2);
    });

    it('observe on a missing element does nothing', async () => {
        const cb = vi.fn();
        expect(() => dom().observe('#missing', cb)).not.toThrow();
        document.body.innerHTML = '<div id="missing" style="display:none"></div>';
        await nextFrame();
        expect(cb).not.toHaveBeenCalled();
    });
});

describe('createUi', () => {
    let st: FakeSt;
    let toastr: Record<string, ReturnType<typeof vi.fn>>;
    const popupCalls: unknown[][] = [];
    let popupResult: unknown = null;

    beforeEach(() => {
        st = new FakeSt();
        popupCalls.length = 0;
        st.extraContext.callGenericPopup = async (...args: unknown[]) => { popupCalls.push(args); return popupResult; };
        st.install();
        toastr = { info: vi.fn(), success: vi.fn(), warning: vi.fn(), error: vi.fn(), clear: vi.fn() };
        vi.stubGlobal('toastr', toastr);
    });

    const ui = () => createUi(document, createDom(document, DOMPurify));

    it('toast asks toastr to escape the text', () => {
        ui().toast('warning', '<b>Bob</b> has no profile', 'Ensemble');
        expect(toastr.warning).toHaveBeenCalledWith('<b>Bob</b> has no profile', 'Ensemble', { escapeHtml: true });
    });

    it('confirm shows title and text as text in ST\'s CONFIRM popup, and is true only for AFFIRMATIVE', async () => {
        popupResult = 1;
        expect(await ui().confirm('Delete <i>it</i>?', 'line 1\nline 2')).toBe(true);
        const [body, type] = popupCalls[0] as [HTMLElement, number];
        expect(type).toBe(2);
        expect(body.querySelector('h3')?.textContent).toBe('Delete <i>it</i>?');
        expect(body.querySelector('i')).toBeNull();
        expect(body.querySelector('p')?.textContent).toBe('line 1\nline 2');
        popupResult = 0;
        expect(await ui().confirm('t', 'x')).toBe(false);
        popupResult = null; // Escape
        expect(await ui().confirm('t', 'x')).toBe(false);
    });

    it('popup passes its options with defaults to a TEXT popup and returns the button\'s result, null for Escape', async () => {
        const content = document.createElement('div');
        popupResult = 7;
        expect(await ui().popup(content, { customButtons: [{ text: 'Save', result: 7 }] })).toBe(7);
        expect(popupCalls[0]).toEqual([content, 1, '', {
            okButton: 'OK', cancelButton: false, customButtons: [{ text: 'Save', result: 7 }], wide: false, allowVerticalScrolling: true,
        }]);
        popupResult = null;
        expect(await ui().popup(content, { okButton: false, wide: true })).toBeNull();
        expect(popupCalls[1]?.[3]).toMatchObject({ okButton: false, wide: true });
    });

    it('progress is a sticky info toast that cancels on click, updates its text and clears', () => {
        const text = vi.fn();
        const toast = { find: vi.fn(() => ({ text })) };
        toastr.info!.mockReturnValue(toast);
        const onCancel = vi.fn();
        const p = ui().progress('Drawing…', onCancel);
        const [message, title, opts] = toastr.info!.mock.calls[0] as [string, string, Record<string, unknown>];
        expect([message, title]).toEqual(['Drawing…', 'Ensemble — click to cancel']);
        expect(opts).toMatchObject({ escapeHtml: true, timeOut: 0, extendedTimeOut: 0, tapToDismiss: true });
        (opts.onclick as () => void)();
        expect(onCancel).toHaveBeenCalledTimes(1);
        p.update('Saving…');
        expect(toast.find).toHaveBeenCalledWith('.toast-message');
        expect(text).toHaveBeenCalledWith('Saving…');
        p.close();
        expect(toastr.clear).toHaveBeenCalledWith(toast);
    });

    it('addMessageButton adds to ST\'s message template and each shown message once, and reports the message id', () => {
        document.body.innerHTML = `
            <div id="message_template"><div class="mes"><div class="extraMesButtons"></div></div></div>
            <div id="chat">
                <div class="mes" mesid="0"><div class="extraMesButtons"><div class="mes_button other"></div></div></div>
                <div class="mes" mesid="1"><div class="extraMesButtons"></div></div>
                <div class="mes" mesid="2"><div class="extraMesButtons"><div class="mes_button ens_img"></div></div></div>
            </div>`;
        const clicked: number[] = [];
        const u = ui();
        u.addMessageButton({ className: 'ens_img', title: 'Picture', icon: 'fa-image' }, (id) => clicked.push(id));
        // The template, #0 and #1 get one; #2 (rendered from the template after it got one) keeps its own.
        expect([...document.querySelectorAll('.mes')].map((m) => m.querySelectorAll('.ens_img').length)).toEqual([1, 1, 1, 1]);
        const first = document.querySelector('#chat .mes[mesid="0"] .extraMesButtons')?.firstElementChild as HTMLElement;
        expect([first.className, first.title, first.tabIndex]).toEqual(['mes_button ens_img fa-solid fa-image interactable', 'Picture', 0]);
        expect([first.getAttribute('role'), first.getAttribute('aria-label')]).toEqual(['button', 'Picture']);
        document.querySelector<HTMLElement>('#chat .mes[mesid="1"] .ens_img')?.click();
        document.querySelector<HTMLElement>('#chat .mes[mesid="2"] .ens_img')?.click();
        expect(clicked).toEqual([1, 2]);
    });
});
