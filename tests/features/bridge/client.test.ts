import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BridgeClient, type BridgeStatus, SILENCE_MS, backoffMs } from '../../../src/features/bridge/client';
import { PROTOCOL_VERSION } from '../../../src/protocol';
import { resetLocale, useLocale } from '../../../src/shared/i18n';
import { FakeStHost } from '../../fakes/st-host';

function setup() {
    const fake = new FakeStHost();
    const statuses: BridgeStatus[] = [];
    const frames: unknown[] = [];
    let welcomes = 0;
    const client = new BridgeClient(fake, {
        url: 'ws://127.0.0.1:5181/bridge', token: 'link-token', version: 't',
        onWelcome: () => { welcomes++; }, onFrame: (f) => frames.push(f), onStatus: (s) => statuses.push(s),
    });
    return { fake, client, statuses, frames, welcomes: () => welcomes };
}

beforeEach(() => { vi.useFakeTimers(); vi.spyOn(console, 'warn').mockImplementation(() => undefined); });
afterEach(() => { vi.useRealTimers(); vi.restoreAllMocks(); resetLocale(); });

describe('BridgeClient', () => {
    it('says hello with the token as its first frame (not in the URL), then is connected on welcome', () => {
        const { fake, client, welcomes } = setup();
        client.connect();
        const socket = fake.sockets[0]!;
        expect(socket.url).toBe('ws://127.0.0.1:5181/bridge');
        socket.open();
        expect(socket.frames[0]).toEqual(expect.objectContaining({ type: 'hello', v: PROTOCOL_VERSION, token: 'link-token' }));
        socket.receive({ type: 'welcome', v: PROTOCOL_VERSION, server: 's' });
        expect(client.status.state).toBe('connected');
        expect(welcomes()).toBe(1);
    });

    it('answers pings, passes requests and cancels on, and ignores malformed frames', () => {
        const { fake, client, frames } = setup();
        client.connect();
        const socket = fake.sockets[0]!;
        socket.open();
        socket.receive({ type: 'welcome', v: PROTOCOL_VERSION, server: 's' });
        socket.receive({ type: 'ping', t: 42 });
        expect(socket.sent('pong')).toEqual([{ type: 'pong', t: 42 }]);
        socket.receive('not json');
        socket.receive({ type: 'request', id: 'r1', model: 'bad id!', messages: [], stream: true, params: {} });
        socket.receive({ type: 'request', id: 'r1', model: 'st-char-Alice', messages: [{ role: 'user', content: 'hi' }], stream: true, params: {} });
        socket.receive({ type: 'cancel', id: 'r1' });
        expect(frames).toEqual([expect.objectContaining({ type: 'request', id: 'r1' }), { type: 'cancel', id: 'r1' }]);
    });

    it('refuses a server that speaks another protocol version, on this side too', () => {
        const { fake, client, welcomes } = setup();
        client.connect();
        fake.sockets[0]!.open();
        fake.sockets[0]!.receive({ type: 'welcome', v: PROTOCOL_VERSION + 1, server: 's' });
        expect(client.status.state).toBe('refused');
        expect(welcomes()).toBe(0);
        expect(fake.toastsOf('error')).toEqual([expect.stringContaining(`version ${PROTOCOL_VERSION + 1}`)]);
        vi.advanceTimersByTime(120_000);
        expect(fake.sockets).toHaveLength(1);
    });

    it('a refused token stops retrying and says why in a toast', () => {
        const { fake, client } = setup();
        client.connect();
        const socket = fake.sockets[0]!;
        socket.open();
        socket.receive({ type: 'refused', code: 'token', message: 'wrong link token' });
        vi.advanceTimersByTime(120_000);
        expect(fake.sockets).toHaveLength(1);
        expect(client.status).toEqual({ state: 'refused', lastError: 'wrong link token' });
        expect(fake.toastsOf('error')).toEqual([expect.stringContaining('wrong link token')]);
    });

    it('a close for a refused origin, token or version stops retrying, with the server\'s reason in a toast', () => {
        const { fake, client } = setup();
        client.connect();
        fake.sockets[0]!.open();
        fake.sockets[0]!.drop(4008, 'origin http://evil.test is not allowed; see --st-origin');
        vi.advanceTimersByTime(120_000);
        expect(fake.sockets).toHaveLength(1);
        expect(client.status.state).toBe('refused');
        expect(fake.toastsOf('error')).toEqual([expect.stringContaining('--st-origin')]);
    });

    it('speaks the user\'s language in its toasts and statuses; the server\'s own reason stays as sent', () => {
        useLocale('de-de', {
            'ensemble.bridge.refused': 'Verbindung abgelehnt: {reason}',
            'ensemble.bridge.toastTitle': 'Ensemble-Brücke',
            'ensemble.bridge.errorClosed': 'Verbindung geschlossen ({code}).',
        });
        const { fake, client } = setup();
        client.connect();
        fake.sockets[0]!.drop(1006);
        expect(client.status.lastError).toBe('Verbindung geschlossen (1006).');
        vi.advanceTimersByTime(1_000);
        fake.sockets[1]!.open();
        fake.sockets[1]!.receive({ type: 'refused', code: 'token', message: 'wrong link token' });
        expect(fake.toasts.at(-1)).toEqual(expect.objectContaining({ level: 'error', message: 'Verbindung abgelehnt: wrong link token', title: 'Ensemble-Brücke' }));
    });

    it('reconnects after a drop with growing, jittered waits, and resets after a welcome', () => {
        const { fake, client } = setup();
        client.connect();
        fake.sockets[0]!.drop(1006);
        expect(client.status.state).toBe('waiting');
        vi.advanceTimersByTime(1_000);
        expect(fake.sockets).toHaveLength(2);
        fake.sockets[1]!.drop(1006);
        vi.advanceTimersByTime(999);
        expect(fake.sockets).toHaveLength(2);
        vi.advanceTimersByTime(1_001);
        expect(fake.sockets).toHaveLength(3);
        fake.sockets[2]!.open();
        fake.sockets[2]!.receive({ type: 'welcome', v: PROTOCOL_VERSION, server: 's' });
        fake.sockets[2]!.drop(1006);
        vi.advanceTimersByTime(1_000);
        expect(fake.sockets).toHaveLength(4);
    });

    it('backoff stays between half and the whole step, capped at 30 s', () => {
        expect(backoffMs(0, () => 0)).toBe(500);
        expect(backoffMs(0, () => 1)).toBe(1000);
        expect(backoffMs(3, () => 0.5)).toBe(6000);
        expect(backoffMs(20, () => 1)).toBe(30_000);
    });

    it('treats a silent server as dead and reconnects', () => {
        const { fake, client } = setup();
        client.connect();
        fake.sockets[0]!.open();
        fake.sockets[0]!.receive({ type: 'welcome', v: PROTOCOL_VERSION, server: 's' });
        vi.advanceTimersByTime(SILENCE_MS + 1);
        expect(fake.sockets[0]!.closed?.code).toBe(4000);
        vi.advanceTimersByTime(1_000);
        expect(fake.sockets).toHaveLength(2);
    });

    it('disconnect stops everything, and nothing is sent while not connected', () => {
        const { fake, client } = setup();
        client.connect();
        expect(client.send({ type: 'status', busy: false, queued: 0 })).toBe(false);
        client.disconnect();
        vi.advanceTimersByTime(120_000);
        expect(fake.sockets).toHaveLength(1);
        expect(client.status.state).toBe('off');
    });
});
