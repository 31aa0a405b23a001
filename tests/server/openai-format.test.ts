// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { chunk, chunkWriter } from '../../server/src/openai-format';

describe('chunkWriter', () => {
    it('writes exactly what JSON.stringify of the chunk gives, for any text', () => {
        const write = chunkWriter('chatcmpl-abc1', 1_700_000_000, 'st-char-Alice');
        for (const text of ['', 'hi', 'a "quoted" \\ line\nnext', '\u0000\u2028\ud800 ✓ 😀', '<1.234>']) {
            expect(write(text)).toBe(`data: ${JSON.stringify(chunk('chatcmpl-abc1', 1_700_000_000, 'st-char-Alice', { content: text }))}\n\n`);
        }
    });
});
