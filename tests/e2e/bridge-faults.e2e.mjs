// rig-env: MOCK_CHUNK_DELAY_MS=1500
// Bridge faults in real SillyTavern 1.12.6, with a slow mock (each streamed reply takes ~6 s):
// the HTTP client going away stops the generation in ST; the ST tab reloading mid-request gives the
// client an error, not a hang; the extension comes back by itself.
import OpenAI from 'openai';
import { API_KEY, connectBridge, startBridgeServer } from './bridge-server.mjs';
import { createChecks, installEnsemble, loadRig, openEnsembleSection, runSuite } from './lib.mjs';

const st = await loadRig();
const checks = createChecks('bridge faults');
const { check } = checks;

await runSuite(st, checks, 'bridge faults', async (browser) => {
    const server = await startBridgeServer(st);
    try {
        let s = await st.openST(browser);
        let page = s.page;
        await st.createCharacter(page, st.DEFAULT_CHARACTERS[0]);
        await st.configureCustomOpenAI(page, { model: 'gpt-a', key: 'sk-a' });
        await installEnsemble(st, page);
        await connectBridge(st, page, server.port);
        await openEnsembleSection(st, page, 'bridge');
        await page.locator('[data-ens-bridge="autoConnect"]').check();
        await st.closeExtensionsDrawer(page);
        await st.flushSettings(page);
        const client = new OpenAI({ apiKey: API_KEY, baseURL: `${server.base}/v1`, maxRetries: 0, timeout: 60_000 });

        // 1. The client aborts after the first streamed text: ST must stop generating.
        const abort = new AbortController();
        const t0 = Date.now();
        let got = '';
        try {
            const stream = await client.chat.completions.create({ model: 'st-char-Alice', stream: true, messages: [{ role: 'user', content: 'A long answer, please.' }] }, { signal: abort.signal });
            for await (const chunk of stream) {
                got += chunk.choices[0]?.delta?.content ?? '';
                if (got.trim()) abort.abort();
            }
        } catch { /* aborted */ }
        await page.waitForFunction((t) => (window.__harness?.events ?? []).some((e) => e.ev === 'generation_stopped' && e.t >= t), t0, { timeout: 10_000 }).catch(() => {});
        const stopped = await page.evaluate((t) => (window.__harness?.events ?? []).some((e) => e.ev === 'generation_stopped' && e.t >= t), t0);
        await page.waitForFunction(() => !document.getElementById('send_but')?.classList.contains('displayNone'), null, { timeout: 15_000 });
        check('the client going away stops the generation in ST', stopped && Date.now() - t0 < 6_000, `${got} after ${Date.now() - t0} ms`);
        const next = await client.chat.completions.create({ model: 'st-char-Alice', messages: [{ role: 'user', content: 'Short one?' }] });
        check('the tab is free again right after', /hello from/.test(next.choices[0]?.message?.content ?? ''));

        // 2. The ST tab reloads mid-request: the client gets an error, never a hang.
        const since = Date.now();
        const pending = client.chat.completions.create({ model: 'st-char-Alice', messages: [{ role: 'user', content: 'Interrupted?' }] })
            .then(() => 'answered', (e) => `error ${e.status ?? ''} ${e.message}`);
        for (let i = 0; i < 100 && !(await st.mockRequests({ since })).some((r) => r.path?.includes('chat/completions')); i++) await st.sleep(100);
        const tReload = Date.now();
        await page.reload({ waitUntil: 'domcontentloaded' });
        const outcome = await Promise.race([pending, st.sleep(20_000).then(() => 'hang')]);
        check('the ST tab reloading mid-request gives the client an error, not a hang', /^error 50[23]/.test(outcome) && Date.now() - tReload < 20_000, outcome);
        await st.waitForReady(page);
        s = { ...s, page };
        await page.waitForFunction(() => /^connected/.test(document.querySelector('[data-ens="bridge-status"]')?.textContent ?? ''), null, { timeout: 30_000 });
        const after = await client.chat.completions.create({ model: 'st-char-Alice', messages: [{ role: 'user', content: 'Back?' }] });
        check('after the reload the extension reconnects by itself and answers', /hello from/.test(after.choices[0]?.message?.content ?? ''));
        await st.closeSession(s);
    } finally {
        await server.stop();
    }
}, { timeoutMs: 600_000 });
