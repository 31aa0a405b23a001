/** An `<option>` for `select`, its text set as text (names from outside never become markup). */
export function textOption(select: HTMLSelectElement, value: string, text: string, selected = false): HTMLOptionElement {
    const o = select.ownerDocument.createElement('option');
    o.value = value;
    o.textContent = text;
    o.selected = selected;
    return o;
}
