// Shared helpers for the end-to-end suites: real SillyTavern 1.12.6 (../shared/st-rig) in headless Chromium.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RIG = process.env.ST_RIG || path.resolve(ROOT, '..', 'shared', 'st-rig');
export const EXT_NAME = 'Ensemble';

export async function loadRig() {
    return import(path.join(RIG, 'drive.mjs'));
}

/** PASS/FAIL lines and a tally; a failed check does not stop the suite, so one run shows every failure. */
export function createChecks(suite) {
    const results = [];
    const check = (name, ok, detail = '') => {
        results.push({ name, ok: !!ok, detail });
        console.log(`${ok ? 'PASS' : 'FAIL'}  ${suite}: ${name}${detail ? `  — ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` : ''}`);
        return !!ok;
    };
    return { check, results, failed: () => results.filter((r) => !r.ok).length };
}

/** Installs the working tree (committed or not, without node_modules) through ST's own "Install extension". */
export async function installEnsemble(st, page) {
    const prep = st.prepareBareRepo(ROOT, EXT_NAME, { snapshot: true });
    const server = await st.startGitServer(prep.root);
    try {
        const r = await st.installExtensionViaUi(page, `${server.base}/${EXT_NAME}.git`);
        if (!r.ok) throw new Error(`install failed: ${r.toast}`);
        await page.waitForFunction(() => !!document.getElementById('ensemble_settings'), null, { timeout: 20_000 });
        return r;
    } finally {
        await server.stop();
    }
}

/** Opens character `name`'s current chat the way the user does (ST's selectCharacterById), and waits for it. */
export async function openCharacter(page, name) {
    await page.evaluate(async (n) => {
        const ctx = SillyTavern.getContext();
        await ctx.selectCharacterById(String(ctx.characters.findIndex((c) => c.name === n)));
    }, name);
    await page.waitForFunction(() => !SillyTavern.getContext().groupId && SillyTavern.getContext().characterId !== undefined);
}

/** Waits until the mock has logged `count` chat requests since `since`. */
export async function waitForMock(st, { since, count, timeout = 20_000, filter = (r) => r.path?.includes('chat/completions') }) {
    const deadline = Date.now() + timeout;
    let reqs = [];
    while (Date.now() < deadline) {
        reqs = (await st.mockRequests({ since })).filter(filter);
        if (reqs.length >= count) return reqs;
        await st.sleep(100);
    }
    return reqs;
}

export function outDir() {
    const dir = path.join(ROOT, '.e2e-out');
    fs.mkdirSync(dir, { recursive: true });
    return dir;
}

/**
 * Alice, Bob and Carol; Custom (OpenAI-compatible) → the rig's mock; one preset + profile per key:
 * Mock-A (gpt-a, sk-a), Mock-B (gpt-b, sk-b), Mock-C (gpt-c, sk-c) and the user's own "Mine"
 * (gpt-c, sk-mine), which ends selected. Keys travel in each preset's include-headers.
 */
export async function setupConnection(st, page) {
    for (const c of st.DEFAULT_CHARACTERS) await st.createCharacter(page, c);
    await st.configureCustomOpenAI(page, { model: 'gpt-a', key: 'sk-a' });
    for (const [name, model, key] of [['Mock-A', 'gpt-a', 'sk-a'], ['Mock-B', 'gpt-b', 'sk-b'], ['Mock-C', 'gpt-c', 'sk-c'], ['Mine', 'gpt-c', 'sk-mine']]) {
        await st.setCustomModel(page, model);
        await st.savePresetWithKeyHeader(page, name, key);
        await st.createProfile(page, name);
    }
    await st.switchProfile(page, 'Mine');
    await st.flushSettings(page);
}

/**
 * Runs one suite's body with a browser, a global time limit and one closing verdict: an exception
 * is a failed check, and the process exits 1 if any check failed.
 */
export async function runSuite(st, checks, name, body, { timeoutMs = 600_000 } = {}) {
    const browser = await st.launch();
    const hard = setTimeout(() => { console.log(`FAIL  ${name}: global timeout`); process.exit(1); }, timeoutMs);
    try {
        await body(browser);
    } catch (e) {
        checks.check('suite ran to the end', false, String(e?.stack || e).slice(0, 800));
    } finally {
        clearTimeout(hard);
        await browser.close();
    }
    process.exit(checks.failed() ? 1 : 0);
}

/** Sets a Scene images field through the real panel (fill + change, as a user's blur does). */
async function setImageField(page, name, value) {
    const field = page.locator(`#ensemble_settings [data-ens-image="${name}"]`);
    const tag = await field.evaluate((el) => `${el.tagName}:${el.type}`);
    if (tag.startsWith('SELECT')) await field.selectOption(String(value));
    else if (tag.endsWith(':checkbox')) await field.setChecked(Boolean(value));
    else {
        await field.fill(String(value));
        await field.dispatchEvent('change');
    }
}

/**
 * Opens ST's Extensions drawer, Ensemble's drawer and the sub-drawer `name` (profiles, images, bridge, nextchat),
 * each only if closed: a field in a collapsed sub-drawer is hidden, so Playwright's fill and click would wait on it.
 */
export async function openEnsembleSection(st, page, name) {
    await st.openExtensionsDrawer(page);
    const content = page.locator('#ensemble_settings .inline-drawer-content');
    if (!(await content.isVisible())) await page.locator('#ensemble_settings .inline-drawer-toggle').click();
    await content.waitFor({ state: 'visible' });
    const toggle = page.locator(`#ensemble_settings [data-ens-drawer="${name}"] > .ensemble-subdrawer-toggle`);
    if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
}

/**
 * Scene images pointed at the suites' image server (tests/e2e/image-server.mjs): its prompt LLM (gpt-c, its own key)
 * and its image API (img-model, 256x256, no retries); `extra` adds or overrides fields.
 */
export function imageServerFields(images, extra = {}) {
    return {
        promptSource: 'endpoint', 'promptEndpoint.url': `${images.base}/v1`, 'promptEndpoint.model': 'gpt-c', 'promptEndpoint.key': 'sk-prompt',
        imageUrl: `${images.base}/v1`, imageModel: 'img-model', imageKey: 'sk-image', size: '256x256', retries: 0, ...extra,
    };
}

export async function configureImages(st, page, fields) {
    await openEnsembleSection(st, page, 'images');
    for (const [k, v] of Object.entries(fields)) await setImageField(page, k, v);
    await st.closeExtensionsDrawer(page);
}

/**
 * Page-side probes: every insert of an Ensemble picture into `chat` (ST's one array, never replaced) with
 * what ST was doing at that instant, and every MESSAGE_RECEIVED with its time (a stream's end). Read them
 * from `window.__race`; `window.__race.busy()` is what ST is doing now.
 */
export async function installRaceProbes(page) {
    await page.evaluate(async () => {
        const script = await import('/script.js');
        const groups = await import('/scripts/group-chats.js');
        const ctx = SillyTavern.getContext();
        const busy = () => ({
            sendPress: !!script.is_send_press,
            streaming: !!script.streamingProcessor && !script.streamingProcessor.isFinished,
            groupTurn: !!groups.is_group_generating,
        });
        window.__race = { inserts: [], received: [], busy };
        const splice = Array.prototype.splice;
        Object.defineProperty(ctx.chat, 'splice', {
            configurable: true, writable: true, enumerable: false,
            value(start, count, ...items) {
                for (const m of items) if (m?.extra?.ensemble) window.__race.inserts.push({ t: Date.now(), at: start, name: m.name, ...busy() });
                return splice.call(this, start, count, ...items);
            },
        });
        ctx.eventSource.on(ctx.eventTypes.MESSAGE_RECEIVED, (id) => {
            window.__race.received.push({ t: Date.now(), id, name: ctx.chat[id]?.name ?? null });
        });
    });
}
