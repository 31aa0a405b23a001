import { describe, expect, it } from 'vitest';
import { formatGroupReply, parseGroupReply, ReplyStream } from '../../../src/features/bridge/reply-stream';

describe('group reply format', () => {
    it('formats and parses back the members\' messages, names with regex characters included', () => {
        const messages = [{ name: 'Dr. (Who)', mes: 'Line one\n\nline two' }, { name: 'Bob', mes: 'Hi **there**' }];
        const text = formatGroupReply(messages);
        expect(text).toBe('**Dr. (Who):** Line one\n\nline two\n\n**Bob:** Hi **there**');
        expect(parseGroupReply(text, ['Bob', 'Dr. (Who)'], 'Bob')).toEqual(messages);
    });

    it('keeps text without a known speaker, under the fallback member', () => {
        expect(parseGroupReply('plain answer', ['Alice'], 'Alice')).toEqual([{ name: 'Alice', mes: 'plain answer' }]);
        expect(parseGroupReply('intro\n\n**Eve:** not a member', ['Alice'], 'Alice')).toEqual([{ name: 'Alice', mes: 'intro\n\n**Eve:** not a member' }]);
        expect(parseGroupReply('before\n\n**Alice:** after', ['Alice'], 'Bob')).toEqual([{ name: 'Bob', mes: 'before' }, { name: 'Alice', mes: 'after' }]);
    });
});

describe('ReplyStream', () => {
    it('diffs cumulative tokens per message and ignores tokens that are not a continuation', () => {
        const out: string[] = [];
        const s = new ReplyStream(false, (t) => out.push(t));
        s.token('He');
        s.token('Hello');
        s.token('Hello');
        s.token('Other text');
        s.finish('Hello world');
        expect(out).toEqual(['He', 'llo', ' world']);
    });

    it('in a group, heads each member\'s first text with its name, and finish adds nothing already sent', () => {
        const out: string[] = [];
        const s = new ReplyStream(true, (t) => out.push(t));
        s.member('Alice');
        s.token('A1');
        s.message({ name: 'Alice', mes: 'A1 done' });
        s.member('Bob');
        s.message({ name: 'Bob', mes: 'B1' });
        s.finish(formatGroupReply([{ name: 'Alice', mes: 'A1 done' }, { name: 'Bob', mes: 'B1' }]));
        expect(out).toEqual(['**Alice:** A1', ' done', '\n\n**Bob:** B1']);
        expect(s.sent).toBe('**Alice:** A1 done\n\n**Bob:** B1');
    });
});
