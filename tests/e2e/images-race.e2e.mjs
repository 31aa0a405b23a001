// rig-env: MOCK_CHUNK_DELAY_MS=500
// Scene images never race a generation, in real SillyTavern 1.12.6 with streaming on and a slow
// mock (a streamed reply takes ~2 s). Group Alice + Bob in auto mode: Alice's preview is accepted while Bob
// streams; her picture must wait for the turn, Bob's reply stay whole, Bob get his own picture, every mesid
// match its place, and the chat on disk equal the chat in memory. Then 1:1: a picture accepted during a
// stream goes in only after the stream ends, the streamed text intact.
import fs from 'node:fs';
import path from 'node:path';
import { startImageServer } from './image-server.mjs';
import { configureImages, imageServerFields, createChecks, installEnsemble, installRaceProbes, loadRig, openCharacter, runSuite, setupConnection } from './lib.mjs';

const st = await loadRig();
const checks = createChecks('images race');
const { check } = checks;
const WAITING = 'Waiting for SillyTavern to finish; the picture will be added then.';
const FULL_REPLY = /^\[model=[^\]\s]+ key=[^\]\s]+ n=\d+\] hello from \S+$/;
const PREVIEW = 'dialog.popup[open]:has(.ensemble-preview)';

const probes = (page) => page.evaluate(() => ({ inserts: window.__race.inserts, received: window.__race.received, now: window.__race.busy() }));

const project = (m) => ({ name: m.name, is_user: !!m.is_user, is_system: !!m.is_system, mes: m.mes, image: m.extra?.image ?? null });

const memory = (page) => page.evaluate(() => {
    const ctx = SillyTavern.getContext();
    return {
        chatId: ctx.getCurrentChatId(),
        groupId: ctx.groupId ?? null,
        messages: ctx.chat.map((m) => ({ name: m.name, is_user: !!m.is_user, is_system: !!m.is_system, mes: m.mes, image: m.extra?.image ?? null })),
        dom: [...document.querySelectorAll('#chat .mes')].map((el) => ({ mesid: Number(el.getAttribute('mesid')), text: (el.querySelector('.mes_text')?.textContent ?? '').replace(/\s+/g, ' ').trim() })),
    };
});

/** The chat as ST stored it: the group chat through ST's own API, a character chat from its file (header line dropped). */
async function disk(page, state) {
    if (state.groupId) {
        const r = await st.stApi(page, '/api/chats/group/get', { id: state.chatId });
        return Array.isArray(r.json) ? r.json.map(project) : null;
    }
    const file = path.join(st.ST_DATA, 'default-user', 'chats', 'Alice', `${state.chatId}.jsonl`);
    if (!fs.existsSync(file)) return null;
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(1).map((l) => project(JSON.parse(l)));
}

/** Waits until ST has been idle for a moment and its chat file equals the chat in memory; the last of both. */
async function settled(page, { timeout = 30_000 } = {}) {
    const deadline = Date.now() + timeout;
    let state;
    let stored;
    while (Date.now() < deadline) {
        const idle = await page.evaluate(() => Object.values(window.__race.busy()).every((v) => !v));
        state = await memory(page);
        stored = await disk(page, state);
        if (idle && JSON.stringify(stored) === JSON.stringify(state.messages)) return { state, stored, same: true };
        await st.sleep(250);
    }
    return { state, stored, same: false };
}

/** Presses the open preview's Accept; whether `name`'s reply was streaming at that instant. */
const acceptWhileStreaming = async (page, name) => {
    const streaming = await page.evaluate((n) => {
        const now = window.__race.busy().streaming && SillyTavern.getContext().chat.at(-1)?.name === n;
        document.querySelector('dialog.popup[open] .popup-button-ok')?.click();
        return now;
    }, name);
    await page.locator(PREVIEW).waitFor({ state: 'detached', timeout: 10_000 }).catch(() => {});
    return streaming;
};

async function openPreview(page, { timeout = 60_000 } = {}) {
    const dlg = page.locator(PREVIEW);
    await dlg.waitFor({ state: 'visible', timeout });
    return dlg;
}

async function press(dlg, button) {
    await dlg.locator(`.popup-controls >> text="${button}"`).click();
    await dlg.waitFor({ state: 'detached', timeout: 10_000 }).catch(() => {});
}

const waitingNoticeShown = (page) => page.locator('#toast-container .toast-info', { hasText: WAITING }).first()
    .waitFor({ state: 'visible', timeout: 5_000 }).then(() => true, () => false);

const mesidsMatch = (state) => state.dom.length === state.messages.length && state.dom.every((d, i) => d.mesid === i);
const textsMatch = (state) => state.messages.every((m, i) => m.is_system || state.dom[i]?.text === m.mes.replace(/\s+/g, ' ').trim());
const outline = (messages) => messages.map((m) => `${m.name}${m.image ? ':picture' : m.is_user ? ':user' : `:${m.mes.slice(-18)}`}`);

await runSuite(st, checks, 'images race', async (browser) => {
    const images = await startImageServer({ mockBase: new URL(st.MOCK_URL).origin });
    try {
        const s = await st.openST(browser);
        const page = s.page;
        await setupConnection(st, page);
        await installEnsemble(st, page);
        await configureImages(st, page, imageServerFields(images, { auto: true }));
        await st.openAiDrawer(page);
        await page.locator('#stream_toggle').setChecked(true);
        await st.closeAiDrawer(page);
        await st.flushSettings(page);
        check('ST streams Chat Completion replies', await page.evaluate(async () => (await import('/scripts/openai.js')).oai_settings.stream_openai === true));

        // ---- Group Alice + Bob, auto mode: Alice's preview accepted while Bob streams ----
        const groupId = await st.createGroup(page, { name: 'Race', members: ['Alice', 'Bob'], activation: 1 });
        await st.openGroup(page, groupId);
        await installRaceProbes(page);
        const from = (await memory(page)).messages.length;
        await page.locator('#send_textarea').fill('Good morning, both of you.');
        await page.locator('#send_but').click();

        const dlg = await openPreview(page);
        const bobStreams = await page.waitForFunction(() => {
            const b = window.__race.busy();
            return b.streaming && SillyTavern.getContext().chat.at(-1)?.name === 'Bob';
        }, null, { timeout: 20_000, polling: 50 }).then(() => true, () => false);
        const busyLine = await dlg.locator('[data-ens="busy"]').isVisible();
        check('Alice\'s preview is open while Bob streams', bobStreams);
        check('the preview says the picture will be added when ST is idle', busyLine);
        check('Accept was pressed before Bob finished', await acceptWhileStreaming(page, 'Bob'));
        check('the notice says the picture waits for SillyTavern', await waitingNoticeShown(page));
        const early = await probes(page);
        check('nothing is inserted while Bob streams', early.inserts.every((i) => !i.sendPress && !i.streaming && !i.groupTurn), early.inserts);

        const bobPreview = await openPreview(page).catch(() => null);
        check('Bob\'s reply gets its own preview', !!bobPreview);
        if (bobPreview) await press(bobPreview, 'Accept');
        await page.waitForFunction((n) => SillyTavern.getContext().chat.length >= n + 5, from, { timeout: 30_000 }).catch(() => {});
        let { state, stored, same } = await settled(page);
        const turn = state.messages.slice(from);
        check('after the turn: Alice\'s reply, her picture, Bob\'s full reply, his picture', turn.length === 5
            && turn[0].is_user
            && turn[1].name === 'Alice' && !turn[1].is_system && FULL_REPLY.test(turn[1].mes)
            && turn[2].name === 'Alice' && turn[2].is_system && !!turn[2].image
            && turn[3].name === 'Bob' && !turn[3].is_system && !turn[3].image && FULL_REPLY.test(turn[3].mes)
            && turn[4].name === 'Bob' && turn[4].is_system && !!turn[4].image, outline(turn));
        let probe = await probes(page);
        const bobDone = probe.received.find((r) => r.name === 'Bob');
        check('both pictures went in while ST was idle, Alice\'s after Bob\'s stream ended', probe.inserts.length === 2
            && probe.inserts.every((i) => !i.sendPress && !i.streaming && !i.groupTurn)
            && probe.inserts[0].name === 'Alice' && !!bobDone && probe.inserts[0].t >= bobDone.t, { inserts: probe.inserts, bobDone });
        check('group: every .mes[mesid] matches its index', mesidsMatch(state), state.dom.map((d) => d.mesid));
        check('group: the page shows the text the chat holds', textsMatch(state), state.dom.map((d) => d.text.slice(-18)));
        check('group: the chat file on disk equals the chat in memory', same, { disk: stored && outline(stored), memory: outline(state.messages) });

        // ---- 1:1: a picture accepted during a stream goes in after it ----
        const groupInserts = probe.inserts.length;
        await configureImages(st, page, { auto: false });
        await openCharacter(page, 'Alice');
        await st.sendAndWait(page, 'Show me your ferns.', { expectReplies: 1 });
        const before = (await memory(page)).messages;
        const source = before.length - 1;
        await page.locator('#send_textarea').fill('And the greenhouse?');
        await page.locator('#send_but').click();
        await page.waitForFunction(() => window.__race.busy().streaming, null, { timeout: 20_000, polling: 50 }).catch(() => {});
        // As a script would (the menu's clicks cost more of the ~2 s stream than the picture does): /genimage on Alice's earlier reply.
        await page.evaluate((id) => { window.__genimage = SillyTavern.getContext().executeSlashCommandsWithOptions(`/genimage mesid=${id}`); }, source);
        await openPreview(page);
        check('1:1: Accept was pressed while Alice streams', await acceptWhileStreaming(page, 'Alice'));
        check('1:1: the notice says the picture waits for SillyTavern', await waitingNoticeShown(page));
        const returned = await page.evaluate(() => window.__genimage.then((r) => r?.pipe ?? null));
        check('1:1: /genimage returns the stored path once the picture is in', /^\/?user\/images\/Alice\/ensemble_\d+\.png$/.test(returned ?? ''), returned);
        ({ state, stored, same } = await settled(page));
        probe = await probes(page);
        const streamEnd = probe.received.at(-1);
        const insert = probe.inserts[groupInserts];
        check('1:1: the picture went in only after the stream ended', !!insert && !!streamEnd && !insert.sendPress && !insert.streaming && insert.t >= streamEnd.t, { insert, streamEnd });
        const tail = state.messages.slice(source);
        check('1:1: the picture sits right after its source, the streamed reply intact after the user\'s message', tail.length === 4
            && tail[0].name === 'Alice' && tail[0].mes === before[source].mes
            && tail[1].is_system && !!tail[1].image
            && tail[2].is_user && tail[2].mes === 'And the greenhouse?'
            && tail[3].name === 'Alice' && !tail[3].is_system && FULL_REPLY.test(tail[3].mes), outline(tail));
        check('1:1: every .mes[mesid] matches its index', mesidsMatch(state), state.dom.map((d) => d.mesid));
        check('1:1: the page shows the text the chat holds', textsMatch(state), state.dom.map((d) => d.text.slice(-18)));
        check('1:1: the chat file on disk equals the chat in memory', same, { disk: stored && outline(stored), memory: outline(state.messages) });
        check('no uncaught page errors', s.pageErrors.length === 0, s.pageErrors.map((e) => e.message).slice(0, 3));
        await st.closeSession(s);
    } finally {
        await images.stop();
    }
}, { timeoutMs: 900_000 });
