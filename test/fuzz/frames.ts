/**
 * Fuzz frames for the signalling protocol, every one wrong by construction: junk bytes and text, broken or
 * non-object JSON, unusable seqs, unknown ops, wrong args for every op, oversized frames, and well-formed
 * requests the state forbids (requests.ts). None can succeed, so the server must refuse each one and change
 * nothing. Each frame carries the code its maker expects per kind of connection; the transport and parse rules
 * on top of that are the model's (model.ts).
 */
import fc from 'fast-check';
import { MAX_FRAME_BYTES } from '../../services/protocol';
import type { FuzzFrame } from './model';
import {
  CALL_OPS,
  NOT_LOGGED_IN,
  extraKey,
  objectText,
  requestText,
  unknownOp,
  validSeq,
  wellFormed,
  wrongSeq,
  type Codes,
  type Entries,
  type FuzzWorld,
  type Shaped,
} from './requests';
import { SCHEMA, anyValue, isPlainObject, onTheWire, own, wrongFor } from './values';

export type { FuzzWorld } from './requests';

/** How often each kind comes up. Kinds that close their socket are rarer: each costs a reconnect. */
const WEIGHTS = {
  binary: 4,
  'binary-request': 2,
  'binary-large': 1,
  'not-utf8': 1,
  unicode: 5,
  'truncated-json': 5,
  'mangled-json': 5,
  'not-an-object': 4,
  'deep-json': 2,
  'near-cap': 2,
  'over-cap': 2,
  'over-transport': 1,
  'bad-seq': 8,
  'seq-spelling': 3,
  'unknown-op': 8,
  'args-not-object': 6,
  'wrong-field': 20,
  'extra-field': 8,
  'missing-field': 5,
  'out-of-order': 12,
  'foreign-call': 4,
  'login-refused': 1,
  'login-twice': 3,
} as const;
type FrameKind = keyof typeof WEIGHTS;
export const FRAME_KINDS = Object.keys(WEIGHTS) as FrameKind[];

const REFUSED: Codes = { guest: 400, member: 400 };
const KB = 1024;

const frame = (
  kind: FrameKind,
  data: string | Uint8Array,
  code: Codes = REFUSED,
  text = typeof data === 'string',
) => ({ kind, data, text, code }) satisfies FuzzFrame;

function notJson(text: string): boolean {
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
}

/** `build(pad)` with the longest pad of `filler` that keeps it within `bytes` (exact for one-byte fillers). */
function padTo(build: (pad: string) => string, bytes: number, filler: string): string {
  const base = Buffer.byteLength(build(''));
  const unit = Buffer.byteLength(JSON.stringify(filler)) - 2;
  return build(filler.repeat(Math.max(0, Math.floor((bytes - base) / unit))));
}
const filler = fc.oneof(
  { arbitrary: fc.constant('x'), weight: 4 },
  { arbitrary: fc.constantFrom('é', '€', '😀', '"'), weight: 1 },
);

const MANGLE_PIECES = [
  ',',
  ':',
  '{',
  '}',
  '[',
  ']',
  '"',
  '\\',
  'NaN',
  'undefined',
  "'x'",
  '/*c*/',
  '\u0000',
  '01',
];
function mangle(text: string, at: number, how: number, piece: string): string {
  if (how === 0) return text.slice(0, at) + piece + text.slice(at);
  if (how === 1) return text.slice(0, at) + text.slice(at + 1);
  if (how === 2) return text.slice(0, at) + piece + text.slice(at + 1);
  return text.slice(0, at) + text.slice(at, at + 8) + text.slice(at);
}

/** Frames wrong below the request level: bytes, text, JSON, nesting and size. */
function junk(request: fc.Arbitrary<string>, shaped: fc.Arbitrary<Shaped>) {
  return {
    binary: fc.uint8Array({ maxLength: 600 }).map((bytes) => frame('binary', bytes, REFUSED, false)),
    'binary-request': request.map((text) => frame('binary-request', Buffer.from(text), REFUSED, false)),
    'binary-large': fc
      .tuple(fc.integer({ min: 8 * KB + 1, max: 16 * KB }), fc.integer({ min: 0, max: 255 }))
      .map(([n, byte]) => frame('binary-large', new Uint8Array(n).fill(byte), REFUSED, false)),
    'not-utf8': fc
      .tuple(
        fc.oneof(
          fc.uint8Array({ maxLength: 60 }),
          fc.constant(Buffer.from('{"seq":7,"op":"ping","args":{"x":"')),
        ),
        fc.constantFrom(
          [0xff],
          [0xc0, 0x80],
          [0xed, 0xa0, 0x80],
          [0xe2, 0x82],
          [0xf8, 0x88, 0x80, 0x80, 0x80],
        ),
        fc.uint8Array({ maxLength: 60 }),
      )
      .map(([head, broken, tail]) =>
        frame('not-utf8', Buffer.concat([head, Buffer.from(broken), tail]), REFUSED, true),
      ),
    unicode: fc
      .oneof(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.string({ unit: 'grapheme', maxLength: 60 }),
        fc.string({ unit: 'binary-ascii', maxLength: 200 }),
      )
      .map((text) => frame('unicode', text)),
    'truncated-json': fc
      .tuple(request, fc.nat())
      .map(([text, cut]) => text.slice(0, cut % text.length))
      .filter(notJson)
      .map((text) => frame('truncated-json', text)),
    'mangled-json': fc
      .tuple(request, fc.nat(), fc.nat({ max: 3 }), fc.constantFrom(...MANGLE_PIECES))
      .map(([text, at, how, piece]) => mangle(text, at % (text.length + 1), how, piece))
      .filter(notJson)
      .map((text) => frame('mangled-json', text)),
    'not-an-object': fc
      .oneof(
        fc
          .jsonValue({ maxDepth: 3 })
          .filter((value) => !isPlainObject(value))
          .map((value) => JSON.stringify(value)),
        request.map((text) => `[${text}]`),
        fc.constantFrom('null', '0', '""', '[]', 'true', ' 1 ', '"{\\"seq\\":1}"', '-0'),
      )
      .map((text) => frame('not-an-object', text)),
    // Nesting as deep as the parse cap allows, often exactly as deep: parsing it, and quoting it back in an
    // error, must not exhaust the server's stack. Tied to the cap so that raising it deepens the nesting too.
    'deep-json': fc
      .tuple(
        validSeq,
        fc.constantFrom('array', 'object'),
        fc.oneof(fc.integer({ min: 100, max: MAX_FRAME_BYTES / 2 }), fc.constant(MAX_FRAME_BYTES)),
        fc.constantFrom('op', 'args', 'field', 'seq', 'whole'),
      )
      .map(([seq, shape, depth, where]) => {
        const [head, tail] = {
          op: [`{"seq":${seq},"op":`, '}'],
          args: [`{"seq":${seq},"op":"control","args":`, '}'],
          field: [`{"seq":${seq},"op":"control","args":{"command":`, '}}'],
          seq: ['{"seq":', ',"op":"hangup"}'],
          whole: ['', ''],
        }[where];
        const room = MAX_FRAME_BYTES - head.length - tail.length;
        const levels = Math.min(depth, shape === 'array' ? Math.floor(room / 2) : Math.floor((room - 4) / 6));
        const nest =
          shape === 'array'
            ? `${'['.repeat(levels)}${']'.repeat(levels)}`
            : `${'{"a":'.repeat(levels)}null${'}'.repeat(levels)}`;
        return frame('deep-json', `${head}${nest}${tail}`);
      }),
    // Just under the parse cap: read, and refused for its unknown field.
    'near-cap': fc
      .tuple(validSeq, shaped, fc.oneof(fc.constant(8 * KB), fc.integer({ min: 7000, max: 8 * KB })), filler)
      .chain(([seq, s, bytes, fill]) =>
        extraKey(s.op).map((key) =>
          frame(
            'near-cap',
            padTo((pad) => requestText(seq, s.op, [...s.args, [key, pad]]), bytes, fill),
          ),
        ),
      ),
    // Over the parse cap, under the transport cap: refused unread, by the seq of its first bytes if any.
    'over-cap': fc
      .tuple(
        validSeq,
        shaped,
        fc.constantFrom('seq first', 'op first', 'junk'),
        fc.oneof(fc.constantFrom(8 * KB + 1, 16 * KB), fc.integer({ min: 8 * KB + 1, max: 16 * KB })),
        filler,
      )
      .map(([seq, s, layout, bytes, fill]) => {
        const build =
          layout === 'junk'
            ? (pad: string) => `{"seq":${seq},"op":"${pad}`
            : (pad: string) => requestText(seq, s.op, [...s.args, ['pad', pad]], layout === 'op first');
        return frame('over-cap', padTo(build, bytes, fill));
      }),
    // Over the transport cap: the socket is closed (1009), text or binary.
    'over-transport': fc
      .tuple(
        validSeq,
        shaped,
        fc.oneof(fc.constant(16 * KB + 1), fc.integer({ min: 16 * KB + 1, max: 40_000 })),
        fc.boolean(),
      )
      .map(([seq, s, bytes, binary]) => {
        const text = padTo((pad) => requestText(seq, s.op, [...s.args, ['pad', pad]]), bytes, 'x');
        return frame('over-transport', binary ? Buffer.from(text) : text, REFUSED, !binary);
      }),
  };
}

/** Requests with something wrong in them: seq, op, args, a field, a field too many or too few. */
function malformed(shaped: fc.Arbitrary<Shaped>) {
  const withFields = shaped.filter((s) => Object.keys(SCHEMA[s.op]).length > 0);
  const withRequired = shaped.filter((s) => Object.values(SCHEMA[s.op]).some(([, required]) => required));
  return {
    'bad-seq': fc
      .tuple(shaped, wrongSeq, fc.constantFrom('replaced', 'missing', 'repeated'))
      .map(([s, seq, how]) => {
        const rest: Entries = [
          ['op', s.op],
          ['args', own(s.args)],
        ];
        if (how === 'missing') return frame('bad-seq', objectText(rest));
        // JSON.parse keeps the last `seq`: a valid first one must not count.
        if (how === 'repeated') return frame('bad-seq', objectText([['seq', 1], ...rest, ['seq', seq]]));
        return frame('bad-seq', objectText([['seq', seq], ...rest]));
      }),
    // Seqs spelled as JSON allows (1e2, 100.0, spaces) or almost allows (0100, +1, 1.): the parsed value, or
    // for a frame that is not JSON the leading-digits rule, decides the attribution.
    'seq-spelling': fc
      .tuple(fc.nat({ max: 100_000 }), fc.nat(), shaped, fc.constantFrom('', ' ', '\n', '\t '))
      .chain(([seq, pick, s, space]) =>
        extraKey(s.op).map((key) => {
          const spellings = [
            `${seq}.0`,
            `${seq}e0`,
            `${seq}E+0`,
            `${seq * 10}e-1`,
            `0${seq}`,
            `+${seq}`,
            `${seq}.`,
          ];
          if (seq === 0) spellings.push('-0', '-0.0');
          const spelled = spellings[pick % spellings.length];
          const rest = requestText(0, s.op, [...s.args, [key, 1]]).replace(/^\{"seq":0,/, '');
          return frame('seq-spelling', `${space}{${space}"seq"${space}:${space}${spelled}${space},${rest}`);
        }),
      ),
    'unknown-op': fc
      .tuple(
        validSeq,
        unknownOp(),
        fc.oneof(
          shaped.map((s) => s.args),
          fc.constant<Entries>([]),
        ),
      )
      .map(([seq, op, args]) =>
        frame(
          'unknown-op',
          op === undefined
            ? objectText([
                ['seq', seq],
                ['args', own(args)],
              ])
            : requestText(seq, op, args),
        ),
      ),
    'args-not-object': fc
      .tuple(
        validSeq,
        shaped,
        fc.oneof(
          anyValue,
          shaped.map((s) => s.args.map(([, v]) => v)),
        ),
      )
      .filter(([, , args]) => {
        const seen = onTheWire(args);
        return seen !== undefined && !isPlainObject(seen);
      })
      .map(([seq, s, args]) =>
        frame(
          'args-not-object',
          objectText([
            ['seq', seq],
            ['op', s.op],
            ['args', args],
          ]),
        ),
      ),
    'wrong-field': fc.tuple(validSeq, withFields, fc.nat()).chain(([seq, s, pick]) => {
      const keys = Object.keys(SCHEMA[s.op]);
      const key = keys[pick % keys.length];
      return wrongFor(SCHEMA[s.op][key][0]).map((wrong) => {
        const args = s.args.some(([k]) => k === key)
          ? s.args.map(([k, v]) => [k, k === key ? wrong : v] as const)
          : [...s.args, [key, wrong] as const];
        return frame('wrong-field', requestText(seq, s.op, args));
      });
    }),
    'extra-field': fc.tuple(validSeq, shaped, fc.nat()).chain(([seq, s, at]) =>
      fc.array(fc.tuple(extraKey(s.op), anyValue), { minLength: 1, maxLength: 3 }).map((extras) => {
        const args = [...s.args];
        for (const extra of extras) args.splice(at % (args.length + 1), 0, extra);
        return frame('extra-field', requestText(seq, s.op, args));
      }),
    ),
    'missing-field': fc.tuple(validSeq, withRequired, fc.nat()).map(([seq, s, pick]) => {
      const required = Object.entries(SCHEMA[s.op]).filter(([, [, isRequired]]) => isRequired);
      const [gone] = required[pick % required.length];
      const args = s.args.filter(([key]) => key !== gone);
      return frame('missing-field', requestText(seq, s.op, args));
    }),
  };
}

export function fuzzFrames(world: FuzzWorld): fc.Arbitrary<FuzzFrame> {
  const { shaped, badToken, otherToken, selfToken } = wellFormed(world);
  const request = fc.tuple(validSeq, shaped).map(([seq, s]) => requestText(seq, s.op, s.args));
  const loginWith = (seq: number, token: { text: string }) =>
    requestText(seq, 'login', [['token', token.text]]);
  const foreign = [...world.taken.cids];
  const categories: Partial<Record<FrameKind, fc.Arbitrary<FuzzFrame>>> = {
    ...junk(request, shaped),
    ...malformed(shaped),
    // Well-formed, but not now: before login, cids and callees that do not exist, tokens that do not verify.
    'out-of-order': fc
      .tuple(
        validSeq,
        shaped.filter((s) => s.op !== 'login'),
      )
      .map(([seq, s]) => frame('out-of-order', requestText(seq, s.op, s.args), s.code)),
    // About a call in progress the fuzz account is no party to: 403, and that call carries on.
    ...(foreign.length === 0
      ? {}
      : {
          'foreign-call': fc
            .tuple(
              validSeq,
              shaped.filter((s) => CALL_OPS.includes(s.op)),
              fc.constantFrom(...foreign),
            )
            .map(([seq, s, cid]) => {
              const args: Entries = [...s.args.filter(([key]) => key !== 'cid'), ['cid', cid]];
              return frame('foreign-call', requestText(seq, s.op, args), {
                guest: NOT_LOGGED_IN,
                member: 403,
              });
            }),
        }),
    'login-refused': fc
      .tuple(validSeq, badToken)
      .map(([seq, token]) => frame('login-refused', loginWith(seq, token), { guest: 401 })),
    'login-twice': fc
      .tuple(validSeq, fc.oneof(selfToken, otherToken, badToken))
      .map(([seq, token]) => frame('login-twice', loginWith(seq, token), { member: 400 })),
  };
  return fc.oneof(
    ...Object.entries(categories).map(([kind, arbitrary]) => ({
      arbitrary,
      weight: WEIGHTS[kind as FrameKind],
    })),
  );
}
