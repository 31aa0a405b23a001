// Accessibility of Ensemble's own UI in real SillyTavern 1.12.6, checked with axe-core (WCAG 2.x A/AA and best
// practices): the settings panel with every sub-drawer open (each prompt-source variant), the image preview popup
// (two pictures, so the pick-one buttons show), the picture button in a message's menu, a character's Advanced
// Definitions and the group editor. Each state is audited on its own, limited to Ensemble's elements: ST's markup
// around them is not ours to judge here. Per state one line, `AXE  <state>: critical N · serious N · moderate N ·
// minor N | rules: … | needs review: …`, then one on contrast (how many texts measured, the lowest ratio, what axe could
// not determine); a state passes with no serious or critical violation. Full results: .e2e-out/a11y-<state>.json.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { startImageServer } from './image-server.mjs';
import { configureImages, imageServerFields, createChecks, installEnsemble, loadRig, openCharacter, openEnsembleSection, outDir, runSuite, setupConnection } from './lib.mjs';

const st = await loadRig();
const checks = createChecks('a11y');
const { check } = checks;
const MOCK_ORIGIN = new URL(st.MOCK_URL).origin;
const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const TALL = 4000;
const IMPACTS = ['critical', 'serious', 'moderate', 'minor'];

const AXE_OPTIONS = {
    resultTypes: ['violations'],
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    // Rules about the whole page's structure (landmarks, a first heading, a skip link): ST's page, not our fragments.
    rules: { region: { enabled: false }, 'page-has-heading-one': { enabled: false }, 'landmark-one-main': { enabled: false }, bypass: { enabled: false } },
};

/** Runs axe on `include` (selectors of Ensemble's elements only), prints one line per state and checks it. */
async function audit(page, state, include) {
    // Contrast is measured only on what is on screen: a tall window lets the drawers and the popup show all of ours.
    const viewport = page.viewportSize();
    await page.setViewportSize({ width: viewport.width, height: TALL });
    if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ path: AXE_PATH });
    await page.evaluate(() => globalThis.toastr?.clear());
    await st.sleep(400); // slides and toasts settle: contrast is measured on what is shown
    const found = await page.evaluate((sel) => sel.filter((s) => document.querySelector(s)), include);
    const result = await page.evaluate(async ({ include, options }) => {
        const r = await window.axe.run({ include: include.map((s) => [s]) }, options);
        const shape = (v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => ({
                target: n.target.join(' '), html: n.html.slice(0, 200), summary: n.failureSummary,
                related: [...n.any, ...n.all, ...n.none].flatMap((c) => c.relatedNodes.map((r) => r.html.slice(0, 160))),
                data: [...n.any, ...n.all, ...n.none].map((c) => c.data).filter(Boolean),
            })),
        });
        // resultTypes keeps one node per passed or undetermined rule: contrast runs again in full, to show what it measured.
        // Two nudges, neither changing a colour: ST's arrow picture on its dropdowns hidden (it sits beside the text, and
        // axe gives up on any background picture), and an open popup given the top z-index (a modal <dialog> already is
        // on top, in the browser's top layer, which axe's own stacking does not know, so it calls the text overlapped).
        const nudge = Object.assign(document.createElement('style'), {
            textContent: 'select { background-image: none !important; } dialog[open] { z-index: 2147483647 !important; }',
        });
        document.head.append(nudge);
        const c = await window.axe.run({ include: include.map((s) => [s]) }, { runOnly: ['color-contrast'] }).finally(() => nudge.remove());
        const nodes = (k) => c[k].flatMap((v) => v.nodes.map((n) => ({ target: n.target.join(' '), ...n.any[0]?.data })));
        const contrast = { passes: nodes('passes'), incomplete: nodes('incomplete'), violations: nodes('violations') };
        return { violations: r.violations.map(shape), incomplete: r.incomplete.map(shape), passes: r.passes.map((v) => v.id), contrast };
    }, { include: found, options: AXE_OPTIONS });
    await page.setViewportSize(viewport);
    const { violations } = result;
    fs.writeFileSync(path.join(outDir(), `a11y-${state.replace(/[^a-z0-9]+/gi, '-')}.json`), JSON.stringify(result, null, 2));
    const byImpact = Object.fromEntries(IMPACTS.map((i) => [i, violations.filter((v) => v.impact === i).length]));
    const rules = violations.map((v) => `${v.id}(${v.impact}, ${v.nodes.length} node${v.nodes.length === 1 ? '' : 's'})`).join(', ') || 'none';
    // Contrast has its own line below, from the full run.
    const review = result.incomplete.filter((v) => v.id !== 'color-contrast').map((v) => v.id).join(', ') || 'none';
    console.log(`AXE  ${state}: ${IMPACTS.map((i) => `${i} ${byImpact[i]}`).join(' · ')} | rules: ${rules} | needs review: ${review}`);
    const { contrast } = result;
    const measured = contrast.passes.filter((n) => n.contrastRatio);
    const lowest = measured.reduce((m, n) => (m && m.contrastRatio <= n.contrastRatio ? m : n), null);
    const reasons = [...new Set(contrast.incomplete.map((n) => `${n.target} (${n.messageKey})`))].join(', ') || 'none';
    console.log(`     contrast: ${measured.length} measured, lowest ${lowest ? `${lowest.contrastRatio}:1 (${lowest.fgColor} on ${lowest.bgColor}, ${lowest.target})` : '-'}; `
        + `${contrast.passes.length - measured.length} not shown; ${contrast.violations.length} too low; undetermined: ${reasons}`);
    const grave = violations.filter((v) => v.impact === 'critical' || v.impact === 'serious');
    for (const v of grave) for (const n of v.nodes) console.log(`     ${v.id}: ${n.target} — ${n.summary.replace(/\s+/g, ' ').slice(0, 300)}`);
    check(`${state}: audited (${found.join(', ') || 'nothing found'})`, found.length === include.length, include.filter((s) => !found.includes(s)));
    check(`${state}: no serious or critical violation`, grave.length === 0, grave.map((v) => v.id).join(', '));
    return violations;
}

await runSuite(st, checks, 'a11y', async (browser) => {
    const images = await startImageServer({ mockBase: MOCK_ORIGIN });
    try {
        const { page } = await st.openST(browser);
        await setupConnection(st, page);
        await installEnsemble(st, page);
        await configureImages(st, page, imageServerFields(images, { n: 2 }));

        // 1. The panel, every sub-drawer open; the prompt writer's fields differ per source, so each source once.
        for (const name of ['profiles', 'images', 'bridge', 'nextchat']) await openEnsembleSection(st, page, name);
        await audit(page, 'panel (prompt via endpoint)', ['#ensemble_settings']);
        await page.locator('#ensemble_settings [data-ens-image="promptSource"]').selectOption('profile');
        await audit(page, 'panel (prompt via profile)', ['#ensemble_settings']);
        await page.locator('#ensemble_settings [data-ens-image="promptSource"]').selectOption('endpoint');
        await st.closeExtensionsDrawer(page);

        // 2. The image preview: a reply to picture, /genimage, two pictures to pick from.
        await openCharacter(page, 'Alice');
        await st.sendAndWait(page, 'Show me your ferns.', { expectReplies: 1 });
        // (The picture button Ensemble adds to a message's menu, shown.)
        await page.locator('#chat .mes[mesid="1"] .extraMesButtonsHint').click();
        await page.locator('#chat .mes[mesid="1"] .ensemble_genimage').waitFor({ state: 'visible', timeout: 10_000 });
        await audit(page, 'message menu button', ['#chat .mes[mesid="1"] .ensemble_genimage']);
        const run = st.slash(page, '/genimage', { timeout: 60_000 }).catch(() => null);
        const dialog = page.locator('dialog.popup[open]:has(.ensemble-preview)');
        await dialog.waitFor({ state: 'visible', timeout: 30_000 });
        await page.locator('dialog.popup[open] .ensemble-preview-images img').nth(1).waitFor({ timeout: 10_000 });
        await audit(page, 'image preview', ['dialog.popup[open] .ensemble-preview']);
        await dialog.locator('.popup-controls >> text="Discard"').click();
        await dialog.waitFor({ state: 'detached', timeout: 10_000 }).catch(() => {});
        await run;

        // 3. Alice's Advanced Definitions.
        await st.openCharactersDrawer(page);
        await page.locator('#advanced_div').click();
        await page.locator('#ensemble_card_section select').waitFor({ state: 'visible', timeout: 10_000 });
        await audit(page, 'character Advanced Definitions', ['#ensemble_card_section']);
        await page.locator('#character_cross').click();
        await st.closeCharactersDrawer(page);

        // 4. The group editor.
        const groupId = await st.createGroup(page, { name: 'Auditors', members: ['Alice', 'Bob'] });
        await st.openGroup(page, groupId);
        await st.openCharactersDrawer(page);
        await page.locator('#ensemble_group_section select').waitFor({ state: 'visible', timeout: 10_000 });
        await audit(page, 'group editor', ['#ensemble_group_section']);
        await st.closeCharactersDrawer(page);
    } finally {
        await images.stop();
    }
});
