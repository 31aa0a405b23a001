// @vitest-environment node
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../src/protocol/index';
import { describeIssues, modelAllowed, ApiKeyEntrySchema } from '../../server/src/key-scope';
import { RateLimiter } from '../../server/src/rate-limit';
import { keyFinder } from '../../server/src/secrets';
import { ask, eventually, KEY, startTestServer, TOKEN, type TestServer } from './harness';
import { ALICE, BOB, FakeExtension } from './peer';

const PARTY = { id: 'st-group-Party', name: 'Party', kind: 'group' as const };
const ALICE_ONLY = 'alice-only-key-0123456789';
const CHARACTERS = 'characters-key-0123456789';
const LIMITED = 'limited-key-0123456789';

let t: TestServer;
afterEach(async () => { await t?.close(); });

const start = () => startTestServer({
    apiKeys: [
        KEY,
        { key: ALICE_ONLY, name: 'discord-bot', models: [ALICE.id] },
        { key: CHARACTERS, models: ['st-char-*'] },
        { key: LIMITED, name: 'limited', rateLimit: { requests: 2, perSeconds: 1 } },
    ],
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const ids = async (key: string) => ((await (await t.fetch('/v1/models', { headers: bearer(key) })).json()).data as { id: string }[]).map((m) => m.id);
const chat = (key: string, body: object) => t.fetch('/v1/chat/completions', { method: 'POST', headers: { ...bearer(key), 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('scoped API keys', () => {
    it('/v1/models lists only what the key may use: ids, prefixes, or everything', async () => {
        t = await start();
        await t.link({ models: [ALICE, BOB, PARTY] });
        expect(await ids(KEY)).toEqual([ALICE.id, BOB.id, PARTY.id]);
        expect(await ids(ALICE_ONLY)).toEqual([ALICE.id]);
        expect(await ids(CHARACTERS)).toEqual([ALICE.id, BOB.id]);
        expect(await ids(LIMITED)).toEqual([ALICE.id, BOB.id, PARTY.id]);
    });

    it('answers a model outside the scope exactly as a model no tab offers (404 model_not_found), stream or not', async () => {
        t = await start();
        const aliceTab = await t.link({ tab: 'alice', models: [ALICE] });
        // Bob is offered by no tab yet: the answer for an unknown model.
        const unknown = await chat(KEY, ask('hi', BOB.id));
        const unknownStream = await chat(KEY, { ...ask('hi', BOB.id), stream: true });
        const bobTab = await t.link({ tab: 'bob', models: [BOB] });
        for (const [hidden, missing] of [[await chat(ALICE_ONLY, ask('hi', BOB.id)), unknown], [await chat(ALICE_ONLY, { ...ask('hi', BOB.id), stream: true }), unknownStream]] as const) {
            expect(hidden.status).toBe(404);
            expect(missing.status).toBe(404);
            expect(await hidden.json()).toEqual(await missing.json());
        }
        expect((await chat(ALICE_ONLY, ask('group?', PARTY.id))).status).toBe(404);
        expect(bobTab.requests).toEqual([]);
        // The model it may use still works, and the full key still reaches Bob.
        expect((await (await chat(ALICE_ONLY, ask('hi', ALICE.id))).json()).choices[0].message.content).toBe('echo:hi');
        expect(aliceTab.requests).toHaveLength(1);
        expect((await chat(KEY, ask('hi', BOB.id))).status).toBe(200);
    });

    it('with no tab linked, answers 503 no_tab as for any model', async () => {
        t = await start();
        const res = await chat(ALICE_ONLY, ask('hi', BOB.id));
        expect(res.status).toBe(503);
        expect((await res.json()).error.code).toBe('no_tab');
    });

    it('answers 429 with Retry-After past the key\'s rate limit, leaves other keys alone, and frees up with time', async () => {
        t = await start();
        await t.link();
        expect((await chat(LIMITED, ask('one', ALICE.id))).status).toBe(200);
        expect((await t.fetch('/v1/models', { headers: bearer(LIMITED) })).status).toBe(200); // every /v1 request counts
        const refused = await chat(LIMITED, ask('three', ALICE.id));
        expect(refused.status).toBe(429);
        expect(refused.headers.get('retry-after')).toBe('1');
        expect(await refused.json()).toEqual({ error: { message: expect.stringContaining('2 requests per 1 s'), type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' } });
        // The openai SDK sees a RateLimitError.
        const err = await t.client(LIMITED).models.list().catch((e: unknown) => e);
        expect((err as { status?: number }).status).toBe(429);
        for (let i = 0; i < 5; i++) expect((await chat(KEY, ask(`full ${i}`, ALICE.id))).status).toBe(200);
        await eventually(async () => (await chat(LIMITED, ask('later', ALICE.id))).status === 200, 3000, 'the window to free up');
        expect(t.logs.join('\n')).not.toMatch(/key-0123456789|test-key/);
    });

    it('shares only a key with full access with linked tabs', async () => {
        t = await startTestServer({ apiKeys: [{ key: ALICE_ONLY, models: [ALICE.id] }, { key: LIMITED, rateLimit: { requests: 1, perSeconds: 9 } }, KEY] });
        const peer = await FakeExtension.open(t.server.bridgeUrl);
        peer.send({ type: 'hello', v: PROTOCOL_VERSION, token: TOKEN, tab: 'x', version: 'test' });
        expect((await peer.next('welcome')).api).toEqual({ url: t.server.url, key: KEY });
        peer.close();
    });
});

describe('key scope rules', () => {
    it('matches model ids exactly and prefixes ending in *', () => {
        expect(modelAllowed({ key: 'k' }, 'st-group-Any')).toBe(true);
        expect(modelAllowed({ key: 'k', models: ['*'] }, 'st-group-Any')).toBe(true);
        expect(modelAllowed({ key: 'k', models: ['st-char-Alice'] }, 'st-char-Alice')).toBe(true);
        expect(modelAllowed({ key: 'k', models: ['st-char-Alice'] }, 'st-char-Alice2')).toBe(false);
        expect(modelAllowed({ key: 'k', models: ['st-char-A*', 'st-group-Party'] }, 'st-char-Anna')).toBe(true);
        expect(modelAllowed({ key: 'k', models: ['st-char-A*'] }, 'st-char-Bob')).toBe(false);
    });

    it('names the field of an invalid entry and never its values', () => {
        const problems = (entry: unknown) => {
            const parsed = ApiKeyEntrySchema.safeParse(entry);
            return parsed.success ? [] : describeIssues(parsed.error.issues, ['apiKeys', 0]);
        };
        expect(problems('plain-key')).toEqual([]);
        expect(problems({ key: 'k', name: 'bot', models: ['st-char-*'], rateLimit: { requests: 20, perSeconds: 60 } })).toEqual([]);
        expect(problems({ key: 'secret-value', rateLimit: { requests: 0, perSeconds: 60 } })).toEqual([expect.stringMatching(/^apiKeys\[0\]\.rateLimit\.requests: /)]);
        expect(problems({ key: 'secret-value', models: ['st-*-x'] })).toEqual([expect.stringMatching(/^apiKeys\[0\]\.models\[0\]: expected a model id/)]);
        expect(problems({ key: 'secret-value', models: [] })).toEqual([expect.stringMatching(/^apiKeys\[0\]\.models: /)]);
        expect(problems({ models: ['st-char-*'] })).toEqual([expect.stringMatching(/^apiKeys\[0\]\.key: /)]);
        expect(problems(5)).toEqual(['apiKeys[0]: expected a key (string) or an object with "key"']);
        const unknownField = problems({ key: 'secret-value', 'pasted-secret-value': true });
        expect(unknownField).toEqual([expect.stringMatching(/^apiKeys\[0\]: unknown field/)]);
        expect(unknownField.join()).not.toContain('secret-value');
    });

    it('finds the entry a key equals, and nothing for other strings', () => {
        const entries = [{ key: 'alpha-key' }, { key: 'beta-key', models: ['st-char-*'] }];
        const find = keyFinder(entries);
        expect(find('beta-key')).toBe(entries[1]);
        expect(find('alpha-key')).toBe(entries[0]);
        for (const no of ['', 'alpha', 'beta-key ', 'BETA-KEY']) expect(find(no)).toBeNull();
    });

    it('counts at most `requests` per sliding window, and says how long to wait', () => {
        let now = 10_000;
        const limiter = new RateLimiter(() => now);
        const key = {};
        const limit = { requests: 2, perSeconds: 10 };
        expect(limiter.take(key, limit)).toBe(0);
        now += 4000;
        expect(limiter.take(key, limit)).toBe(0);
        expect(limiter.take(key, limit)).toBe(6); // the first request leaves the window at 20 000
        now += 5999;
        expect(limiter.take(key, limit)).toBe(1);
        now += 1;
        expect(limiter.take(key, limit)).toBe(0);
        expect(limiter.take({}, limit)).toBe(0); // another key has its own window
    });
});
