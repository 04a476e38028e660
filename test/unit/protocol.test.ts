/** Edge validation: every bad frame becomes a 400 with a message naming the problem, never a throw. */
import { MAX_FRAME_BYTES, parseRequest } from '../../services/protocol';

const parse = (value: unknown) => {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return parseRequest(text, text.length);
};

describe('parseRequest', () => {
  it('accepts a well-formed request', () => {
    expect(
      parse({ seq: 1, op: 'call', args: { type: 2, callee: 'bob', pushConfig: { custom: 'x' } } }),
    ).toEqual({
      ok: true,
      frame: { seq: 1, op: 'call', args: { type: 2, callee: 'bob', pushConfig: { custom: 'x' } } },
    });
  });

  it.each([
    ['not JSON', '{', 'not valid JSON'],
    ['an array', [1], 'JSON object'],
    ['no seq', { op: 'ping' }, '"seq"'],
    ['an unknown op', { seq: 1, op: 'x' }, 'unknown op'],
    ['a missing field', { seq: 1, op: 'call', args: { type: 2 } }, '"callee" is required'],
    ['a bad account', { seq: 1, op: 'call', args: { type: 2, callee: 'a b' } }, '"callee" must match'],
    ['a bad mode', { seq: 1, op: 'startRtc', args: { mode: 9 } }, '"mode" must be one of'],
    ['a bad cid', { seq: 1, op: 'hangup', args: { cid: '../x' } }, '"cid" must match'],
    ['an unknown field', { seq: 1, op: 'ping', args: { x: 1 } }, 'unknown field "x"'],
    ['non-object args', { seq: 1, op: 'ping', args: 5 }, 'args must be an object'],
  ])('refuses %s with 400', (_name, value, message) => {
    const result = parse(value);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe(400);
      expect(result.message).toContain(message);
    }
  });

  it('refuses an oversized frame but still names its seq', () => {
    const text = JSON.stringify({ seq: 7, op: 'ping', args: { pad: 'x'.repeat(MAX_FRAME_BYTES) } });
    expect(parseRequest(text, text.length)).toMatchObject({ ok: false, code: 400, seq: 7 });
  });
});
