import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mountCardSection } from '../../../src/features/profiles/card-ui';
import { registerProfileCommands } from '../../../src/features/profiles/commands';
import { EnsembleError, errorMessage } from '../../../src/shared/errors';
import { resetLocale, translatedError, useLocale } from '../../../src/shared/i18n';
import { ALICE, GROUP, MINE, O, assign, scenario, startController } from './scenario';

/** The profiles feature in another language: its markup, toasts, errors and slash-command help follow ST's. */
beforeEach(() => {
    for (const level of ['info', 'debug', 'warn'] as const) vi.spyOn(console, level).mockImplementation(() => undefined);
    useLocale('de-de', {
        'ensemble.profiles.cardProfile': 'Verbindungsprofil',
        'ensemble.profiles.cardAppearancePlaceholder': 'Wie die Figur aussieht',
        'ensemble.core.none': '(keins)',
        'ensemble.core.missingProfile': '⚠ fehlt: {name}',
        'ensemble.profiles.turnStopped': 'Zug von {name} gestoppt: {reason}',
        'ensemble.errors.profileSwitchOffline': 'ST konnte mit Profil „{profile}“ nicht verbinden.',
        'ensemble.profiles.argChar': 'Name oder Avatar-Datei der Figur',
        'ensemble.profiles.cmdProfileHelp': 'Ensemble: Profil zeigen oder setzen. Beispiele: {setExample}, {showExample}, {clearExample}, {groupExample}.',
    });
});
afterEach(() => {
    resetLocale();
    vi.restoreAllMocks();
});

describe('profiles in the user\'s language', () => {
    it('the card section: labels, placeholder and the "(none)" / missing entries', () => {
        const s = scenario();
        assign(s.fake, s.alice, { profileId: 'gone', profileName: 'Gone' });
        Object.assign(s.fake.st, { characterId: 0, menuType: 'character_edit' });
        mountCardSection(s.fake);
        const section = s.fake.document.getElementById('ensemble_card_section')!;
        expect(section.querySelector('label span')?.textContent).toBe('Verbindungsprofil');
        expect(section.querySelector('textarea')?.getAttribute('placeholder')).toBe('Wie die Figur aussieht');
        const select = section.querySelector('select')!;
        expect(select.options[0]?.textContent).toBe('(keins)');
        expect(select.selectedOptions[0]?.textContent).toBe('⚠ fehlt: Gone');
    });

    it('a stopped turn: one sentence, the host\'s error in the same language, names as they are', async () => {
        const s = scenario();
        assign(s.fake, s.alice, { profileId: O.id, profileName: O.name });
        startController(s);
        s.fake.traps.offlineAfterSwitch = true;
        await s.fake.openGroup(GROUP);
        await s.fake.runGroupTurn({ members: [ALICE] });
        await s.fake.idle();
        expect(s.fake.toastsOf('error')[0]).toBe('Zug von Alice gestoppt: ST konnte mit Profil „O“ nicht verbinden.');
        expect(s.fake.cm.selectedProfile).toBe(MINE.id);
    });

    it('slash-command help and argument descriptions, with the examples left as code', async () => {
        const s = scenario();
        await registerProfileCommands(s.fake, s.store);
        const spec = s.fake.slashCommands.get('ens-profile')!;
        expect(spec.helpString).toMatch(/^Ensemble: Profil zeigen oder setzen\. Beispiele: <code>\/ens-profile char=Alice Claude<\/code>/);
        expect(spec.namedArgs?.find((a) => a.name === 'char')?.description).toBe('Name oder Avatar-Datei der Figur');
        // A key the locale lacks reads in English.
        expect(spec.returns).toBe('the assigned profile name, or an empty string');
    });
});

describe('errors the user reads', () => {
    it('keep English in message (logs) and give the user\'s language to errorMessage', () => {
        const err = translatedError('PROFILE_SWITCH_OFFLINE', 'ensemble.errors.profileSwitchOffline', { profile: 'X' });
        expect(err).toBeInstanceOf(EnsembleError);
        expect(err.code).toBe('PROFILE_SWITCH_OFFLINE');
        expect(err.message).toBe('ST could not connect with profile "X".');
        expect(errorMessage(err)).toBe('ST konnte mit Profil „X“ nicht verbinden.');
        expect(errorMessage(new EnsembleError('ST_NO_REPLY', 'plain'))).toBe('plain');
        expect(errorMessage(new Error('other'))).toBe('other');
    });
});
