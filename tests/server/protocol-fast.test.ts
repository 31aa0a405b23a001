// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { ExtensionFrameSchema, parseExtensionFrame } from '../../src/protocol/index';

/** What the schema alone makes of a frame (the parser before its delta fast path). */
function bySchema(raw: string) {
    const parsed = ExtensionFrameSchema.safeParse(JSON.parse(raw));
    return parsed.success ? { ok: true, frame: parsed.data } : { ok: false };
}

describe('parseExtensionFrame, delta fast path', () => {
    it('accepts and refuses exactly what the schema does, and drops unknown keys as it does', () => {
        const values: unknown[] = ['', 'x', 'a'.repeat(100), 'a'.repeat(101), '😀'.repeat(50), '😀'.repeat(51), 0, 1, null, true, [], {}, ['x'], { x: 1 }];
        let n = 0;
        for (const type of ['delta', 'Delta', 'done', 0, null]) {
            for (const id of [...values, undefined]) {
                for (const text of [...values, undefined]) {
                    const frame: Record<string, unknown> = { type, id, text };
                    if (n++ % 3 === 0) frame.extra = { nested: [1] };
                    const raw = JSON.stringify(frame);
                    const got = parseExtensionFrame(raw);
                    const want = bySchema(raw);
                    expect(got.ok, raw).toBe(want.ok);
                    if (got.ok && want.ok) expect(got.frame, raw).toEqual(want.frame);
                }
            }
        }
        for (const raw of ['[]', '"delta"', 'null', '5', '[{"type":"delta","id":"x","text":""}]']) {
            expect(parseExtensionFrame(raw).ok, raw).toBe(false);
        }
    });
});
