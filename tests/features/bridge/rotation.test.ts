import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Rotation } from '../../../src/features/bridge/rotation';
import { A, B, MINE, T, scenario, startController } from '../profiles/scenario';

beforeEach(() => { vi.spyOn(console, 'warn').mockImplementation(() => undefined); });
afterEach(() => { vi.restoreAllMocks(); });

describe('bridge rotation', () => {
    it('routes each bridge request through the next profile of the pool, round-robin, and nothing else', async () => {
        const s = scenario();
        startController(s);
        s.store.update((x) => { x.bridge.rotation = [{ id: A.id, name: A.name }, { id: 'gone', name: 'Gone' }, { id: B.id, name: B.name }]; });
        const rotation = new Rotation(s.fake, s.store);
        s.router.addOverride(() => rotation.active());
        const models: unknown[] = [];
        for (let i = 0; i < 3; i++) {
            rotation.begin();
            await s.fake.generate('normal');
            rotation.end();
            models.push(s.fake.requests.at(-1)?.body.model);
        }
        expect(models).toEqual(['gpt-a', 'gpt-b', 'gpt-a']);
        expect(s.fake.requests.at(-1)?.body.custom_include_headers).toBe('Authorization: Bearer sk-a');
        await s.fake.generate('normal');
        expect(s.fake.requests.at(-1)?.body.model).toBe(MINE.model);
        expect(s.fake.profileSelections).toEqual([]);
    });

    it('an empty pool (or only profiles that need a switch) leaves ST\'s connection alone', async () => {
        const s = scenario();
        startController(s);
        const rotation = new Rotation(s.fake, s.store);
        s.router.addOverride(() => rotation.active());
        expect(rotation.begin()).toBeNull();
        s.store.update((x) => { x.bridge.rotation = [{ id: T.id, name: T.name }]; });
        rotation.begin();
        await s.fake.generate('normal');
        expect(s.fake.requests.at(-1)?.body.model).toBe(MINE.model);
        expect(s.fake.profileSelections).toEqual([]);
    });
});
