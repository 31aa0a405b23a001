import type { ProfileRef } from '../settings/schema';
import { textOption } from '../shared/dom-options';
import { t } from '../shared/i18n';
import { type ConnectionProfile, findProfile, isEmptyRef, refLabel } from './profiles';

const NONE = '';
const MISSING = '__ensemble_missing__';

/**
 * Fills a profile dropdown: "(none)", every profile by id with its name as text, and, when the
 * reference names a profile that no longer exists, a selected "missing" entry so the user sees it.
 * Names go in as text, never markup.
 */
export function fillProfileSelect(select: HTMLSelectElement, profiles: readonly ConnectionProfile[], ref: ProfileRef | null | undefined): void {
    const option = (value: string, text: string) => textOption(select, value, text);
    select.replaceChildren(option(NONE, t('ensemble.core.none')), ...profiles.map((p) => option(p.id, p.name)));
    const found = findProfile(profiles, ref);
    if (found) {
        select.value = found.id;
    } else if (!isEmptyRef(ref)) {
        const missing = option(MISSING, t('ensemble.core.missingProfile', { name: refLabel(ref) }));
        missing.className = 'ensemble-missing';
        select.append(missing);
        select.value = MISSING;
    } else {
        select.value = NONE;
    }
}

/** What the user picked: a profile, `null` for "(none)", or `undefined` for the missing entry (no change). */
export function pickedProfile(select: HTMLSelectElement, profiles: readonly ConnectionProfile[]): ConnectionProfile | null | undefined {
    if (select.value === MISSING) return undefined;
    if (select.value === NONE) return null;
    return profiles.find((p) => p.id === select.value) ?? undefined;
}
