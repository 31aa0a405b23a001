// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { Relay, type RequestSink } from '../../server/src/relay';
import { ALICE, BOB } from './peer';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const link = () => ({ send: () => undefined, close: () => undefined });
const sink: RequestSink = { delta: () => undefined, done: () => undefined, fail: () => undefined };
const req = (model: string) => ({ model, messages: [{ role: 'user' as const, content: 'x' }], stream: false, params: {} });

/** What submit says about a model: accepted, or the error code it throws. */
function tryModel(relay: Relay, model: string): string {
    try {
        relay.submit(req(model), sink).cancel();
        return 'ok';
    } catch (err) {
        return (err as { code: string }).code;
    }
}

describe('Relay: which models are offered', () => {
    it('follows catalogs through replacement, reconnects and removal', () => {
        const relay = new Relay({ queueLimit: 10, timeoutMs: 1000, cancelGraceMs: 10, log: quiet });
        const a = relay.addTab('a', link());
        expect(tryModel(relay, ALICE.id)).toBe('model_not_found'); // no catalog yet
        relay.onFrame(a, { type: 'catalog', models: [ALICE, ALICE] });
        const b = relay.addTab('b', link());
        relay.onFrame(b, { type: 'catalog', models: [ALICE, BOB] });
        expect([tryModel(relay, ALICE.id), tryModel(relay, BOB.id)]).toEqual(['ok', 'ok']);
        relay.onFrame(b, { type: 'catalog', models: [ALICE] }); // a new catalog replaces the old one
        expect([tryModel(relay, ALICE.id), tryModel(relay, BOB.id)]).toEqual(['ok', 'model_not_found']);
        const b2 = relay.addTab('b', link()); // reconnect: the old link's catalog goes with it
        relay.onFrame(b2, { type: 'catalog', models: [BOB] });
        relay.removeTab(b); // already replaced: counts nothing twice
        expect([tryModel(relay, ALICE.id), tryModel(relay, BOB.id)]).toEqual(['ok', 'ok']);
        relay.removeTab(a);
        expect([tryModel(relay, ALICE.id), tryModel(relay, BOB.id)]).toEqual(['model_not_found', 'ok']);
        relay.removeTab(b2);
        expect(tryModel(relay, BOB.id)).toBe('no_tab');
        relay.shutdown();
    });
});
