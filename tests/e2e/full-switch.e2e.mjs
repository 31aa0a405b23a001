// The fallback path in real SillyTavern 1.12.6: a Text Completion profile (vLLM → the rig's mock)
// can't be routed per request, so Ensemble switches ST's connection for that member, verifies it,
// and puts the user's profile back for unassigned members and after leaving the group.
// Alice → Mock-A (Chat Completion, routed), Bob → TC-vLLM (full switch), Carol unassigned (the user's "Mine").
import { createChecks, runSuite, installEnsemble, loadRig, setupConnection, waitForMock } from './lib.mjs';

const st = await loadRig();
const checks = createChecks('full switch');
const { check } = checks;
const TURNS = Number(process.env.E2E_SWITCH_TURNS || 3);

/** Text Completion → vLLM → the mock, through ST's API Connections UI, saved as profile TC-vLLM. */
async function createTextCompletionProfile(page) {
    await st.openApiDrawer(page);
    await page.locator('#main_api').selectOption('textgenerationwebui');
    await page.locator('#textgen_type').selectOption('vllm');
    await page.locator('#vllm_api_url_text').fill(st.MOCK_URL.replace(/\/v1$/, ''));
    await page.locator('#api_key_vllm').fill('sk-tc');
    await page.locator('#api_button_textgenerationwebui').click();
    await page.waitForFunction(() => SillyTavern.getContext().onlineStatus !== 'no_connection', null, { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelectorAll('#vllm_model option').length > 1, null, { timeout: 15_000 });
    await page.locator('#vllm_model').selectOption('gpt-b');
    await st.closeApiDrawer(page);
    await st.createProfile(page, 'TC-vLLM');
    await st.switchProfile(page, 'Mine');
    await page.waitForFunction(() => SillyTavern.getContext().mainApi === 'openai' && SillyTavern.getContext().onlineStatus !== 'no_connection', null, { timeout: 30_000 });
    await st.flushSettings(page);
}

await runSuite(st, checks, 'full switch', async (browser) => {
    const s = await st.openST(browser);
    const page = s.page;
    await setupConnection(st, page);
    await createTextCompletionProfile(page);
    await installEnsemble(st, page);
    check('TC-vLLM is a Text Completion profile', (await st.stState(page)).profiles.find((p) => p.name === 'TC-vLLM')?.mode === 'tc');
    await st.slash(page, '/ens-profile char=Alice Mock-A');
    await st.slash(page, '/ens-profile char=Bob TC-vLLM');
    const groupId = await st.createGroup(page, { name: 'Switching', members: ['Alice', 'Bob', 'Carol'], activation: 1 });
    await st.openGroup(page, groupId);

    const since = Date.now();
    let dropped = 0;
    for (let i = 0; i < TURNS; i++) {
        try {
            await st.sendAndWait(page, `switch turn ${i + 1}`, { expectReplies: 3, timeout: 90_000, settleMs: 300 });
        } catch (e) {
            dropped++;
            console.log(`  turn ${i + 1}: ${e.message.slice(0, 300)}`);
        }
    }
    check(`${TURNS} turns with a full switch each, none dropped`, dropped === 0, `${dropped} dropped`);
    const reqs = await waitForMock(st, { since, count: TURNS * 3, filter: (r) => /completions/.test(r.path ?? '') });
    const seen = reqs.map((r) => `${r.path.includes('chat') ? 'chat' : 'text'}:${r.model}:${r.key}`);
    const expected = Array.from({ length: TURNS }, () => ['chat:gpt-a:sk-a', 'text:gpt-b:sk-tc', 'chat:gpt-c:sk-mine']).flat();
    check('Alice routed (gpt-a/sk-a), Bob through the Text Completion profile, Carol through the user\'s own profile', JSON.stringify(seen) === JSON.stringify(expected), seen);

    const state = await st.stState(page);
    check('after the turns ST is back on the user\'s profile (Carol spoke last, unassigned)', state.selectedProfile === 'Mine' && state.mainApi === 'openai' && state.customModel === 'gpt-c',
        `${state.selectedProfile} ${state.mainApi} ${state.customModel}`);
    const errors = await page.evaluate(() => [...document.querySelectorAll('#toast-container .toast-error')].map((e) => e.textContent));
    check('no error toasts', errors.length === 0, errors);

    // Stop a turn while Bob's switch is the next step: the user's profile must come back.
    await st.slash(page, '/ens-profile char=Carol TC-vLLM');
    await page.locator('#send_textarea').fill('a turn that gets stopped');
    await page.locator('#send_but').click();
    await page.waitForFunction(() => (window.__harness?.events ?? []).some((e) => e.ev === 'connection_profile_loaded' && e.arg === 'TC-vLLM' && e.t > Date.now() - 20_000), null, { timeout: 30_000 });
    await st.slash(page, '/stop');
    await st.sleep(1500);
    await page.waitForFunction(() => !document.getElementById('send_but')?.classList.contains('displayNone'), null, { timeout: 30_000 });
    await page.waitForFunction(() => SillyTavern.getContext().extensionSettings.connectionManager.profiles
        .find((p) => p.id === SillyTavern.getContext().extensionSettings.connectionManager.selectedProfile)?.name === 'Mine', null, { timeout: 30_000 }).catch(() => {});
    const afterStop = await st.stState(page);
    check('a stopped turn restores the user\'s profile', afterStop.selectedProfile === 'Mine' && afterStop.mainApi === 'openai', `${afterStop.selectedProfile} ${afterStop.mainApi}`);

    // ST 1.12.6 itself leaves its abort errors uncaught when /stop lands inside a group turn.
    const stAbort = ['Generation was aborted.', 'AbortSignal was fired. Group generation stopped'];
    const pageErrors = s.pageErrors.map((e) => e.message).filter((m) => !stAbort.includes(m));
    check('no uncaught page errors (besides ST\'s own abort error after /stop)', pageErrors.length === 0, pageErrors.slice(0, 3));
    await st.closeSession(s);
}, { timeoutMs: 600_000 });
