import type { HostEvent, HostEventMap, HostHandler } from '../../src/host/host';

type AnyHandler = (...args: unknown[]) => unknown;

/**
 * ST's event emitter (public/lib/eventemitter.js): `emit` awaits each listener in turn
 * over a copy of the list; a listener that throws is logged (here: recorded) and skipped.
 */
export class FakeEventEmitter {
    readonly emitted: { event: HostEvent; args: unknown[] }[] = [];
    readonly listenerErrors: { event: HostEvent; error: unknown }[] = [];
    private readonly listeners = new Map<HostEvent, AnyHandler[]>();

    on<K extends HostEvent>(event: K, handler: HostHandler<K>): void {
        this.listeners.set(event, [...(this.listeners.get(event) ?? []), handler as AnyHandler]);
    }

    listenerCount(event: HostEvent): number {
        return this.listeners.get(event)?.length ?? 0;
    }

    async emit<K extends HostEvent>(event: K, ...args: HostEventMap[K]): Promise<void> {
        this.emitted.push({ event, args });
        for (const fn of [...(this.listeners.get(event) ?? [])]) {
            try {
                await fn(...args);
            } catch (error) {
                this.listenerErrors.push({ event, error });
            }
        }
    }
}
