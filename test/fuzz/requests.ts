/**
 * Well-formed requests for the protocol fuzzer, and how to write them on the wire. A well-formed request passes
 * validation; whether it succeeds depends on the state, so each one carries the code the state gives it on each
 * kind of connection, and none is ever one that succeeds: before login everything but `login` is refused (401);
 * logged in, the cids and callees are nobody's, the tokens do not verify or name someone else, and a plain
 * `ping` (which would succeed) is only sent before login. The fuzz frames (frames.ts) are these, broken.
 */
import fc from 'fast-check';
import type { Op } from '../../services/protocol';
import type { LaneKind } from './model';
import { PROTOTYPE_NAMES } from '../helpers/accounts';
import { badTokens, validToken, type FuzzToken } from './tokens';
import { OPS, SCHEMA, keyText, nobody, onTheWire, own, shortText, validFor, type Taken } from './values';

export interface FuzzWorld {
  /** The server's token secret, to make tokens that fail for any reason but their signature. */
  secret: string;
  /** The account the fuzzer's logged-in connections use. */
  self: string;
  taken: Taken;
}

/** The reply's code per kind of connection; a frame goes only where it has one. */
export type Codes = Partial<Record<LaneKind, number>>;
export type Entries = (readonly [string, unknown])[];

/** A request the protocol accepts as written, with what the state makes of it. */
export interface Shaped {
  op: Op;
  args: Entries;
  code: Codes;
}

/** Ops that name a call by its cid. */
export const CALL_OPS: Op[] = ['response', 'hangup', 'startRtc', 'control'];
export const NOT_LOGGED_IN = 401;

/** A JSON object from key/value pairs, in order and duplicates kept (JSON.parse keeps the last). */
export const objectText = (entries: Entries) =>
  `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',')}}`;

export const requestText = (seq: unknown, op: unknown, args: Entries, opFirst = false) => {
  const fields: Entries = [
    ['seq', seq],
    ['op', op],
    ['args', own(args)],
  ];
  return objectText(opFirst ? [fields[1], fields[2], fields[0]] : fields);
};

export const validSeq = fc.oneof(
  { arbitrary: fc.nat({ max: 1_000_000 }), weight: 9 },
  { arbitrary: fc.constantFrom(0, 2 ** 31, Number.MAX_SAFE_INTEGER), weight: 1 },
);

/** Seqs the protocol refuses: negative, fractional, past 2^53, strings, objects, NaN and the like. */
export const wrongSeq = fc
  .oneof(
    fc.integer({ max: -1 }),
    fc.double({ noNaN: false }),
    fc.constantFrom(2 ** 53, 2 ** 60, 1e21, 1e300, -0.5, 0.5, 1.5, Number.MAX_VALUE),
    fc.constantFrom('1', '0', '', 'NaN', '0x1', '١'),
    fc.constantFrom(null, true, false, [], [1], {}, { seq: 1 }),
    shortText,
  )
  .filter((seq) => {
    const seen = onTheWire(seq);
    return seen !== undefined && !(Number.isSafeInteger(seen) && (seen as number) >= 0);
  });

/** Op values that are no op: wrong case, padded, prototype names, other strings, other types, or none. */
export function unknownOp(): fc.Arbitrary<unknown> {
  return fc
    .oneof(
      fc.mixedCase(fc.constantFrom(...OPS)),
      fc.constantFrom(...OPS).map((op) => ` ${op}`),
      fc.constantFrom(...OPS).map((op) => `${op}\u0000`),
      fc.constantFrom(...PROTOTYPE_NAMES, '', 'Ping', 'LOGIN', 'startrtc', 'renewtoken', 'hangUp'),
      shortText,
      fc.constantFrom(null, 0, 1, true, ['ping'], { op: 'ping' }, undefined),
    )
    .filter((op) => !(typeof op === 'string' && (OPS as string[]).includes(op)));
}

/** Keys `op` does not have: prototype names, near misses of real fields, anything else. */
export function extraKey(op: Op): fc.Arbitrary<string> {
  const fieldNames = [...new Set(OPS.flatMap((name) => Object.keys(SCHEMA[name])))];
  return fc
    .oneof(
      fc.constantFrom(...PROTOTYPE_NAMES, 'seq', 'op', 'args', 'Token', 'CID', 'cid ', 'callEe', 'pad'),
      fc.mixedCase(fc.constantFrom(...fieldNames)),
      keyText,
    )
    .filter((key) => !Object.prototype.hasOwnProperty.call(SCHEMA[op], key));
}

interface WellFormed {
  shaped: fc.Arbitrary<Shaped>;
  /** Tokens that fail verification (401), whoever they name. */
  badToken: fc.Arbitrary<FuzzToken>;
  /** Valid tokens: for accounts nobody uses, and for the fuzz account itself (only ever sent logged in). */
  otherToken: fc.Arbitrary<FuzzToken>;
  selfToken: fc.Arbitrary<FuzzToken>;
}

export function wellFormed({ secret, self, taken }: FuzzWorld): WellFormed {
  const strangers = nobody(taken);
  const badToken = badTokens(secret, fc.oneof(strangers, fc.constant(self)));
  const otherToken = validToken(secret, strangers, 'other');
  const selfToken = validToken(secret, fc.constant(self), 'self');

  const tokenCodes = (op: 'login' | 'renewToken', token: FuzzToken): Codes => {
    // A second login is refused before its token is read; a valid one would log a guest in, so never there.
    if (op === 'login') return token.verdict === 'bad' ? { guest: 401, member: 400 } : { member: 400 };
    return { guest: NOT_LOGGED_IN, member: token.verdict === 'other' ? 403 : 401 };
  };

  /** Every field of `op` filled with a value it accepts (optional ones half the time). */
  const fields = (op: Exclude<Op, 'login' | 'renewToken'>) =>
    fc
      .tuple(
        ...Object.entries(SCHEMA[op]).map(([key, [kind, required]]) => {
          const value =
            kind === 'account' || kind === 'callees'
              ? strangers
              : validFor(kind as Exclude<typeof kind, 'token' | 'account' | 'callees'>, taken);
          const entry = value.map((v) => [key, v] as const);
          return required ? entry : fc.option(entry, { nil: undefined });
        }),
      )
      .map((entries) => entries.filter((entry) => entry !== undefined) as Entries);

  const shaped: fc.Arbitrary<Shaped> = fc.oneof(
    fc
      .tuple(fc.constantFrom('login' as const, 'renewToken' as const), fc.oneof(badToken, otherToken))
      .map(([op, token]): Shaped => ({ op, args: [['token', token.text]], code: tokenCodes(op, token) })),
    fc.tuple(fields('call'), fc.boolean()).map(([args, toSelf]) => {
      // Calling oneself is refused (400) before anyone's presence is looked at.
      const callee = toSelf ? self : (args.find(([key]) => key === 'callee')?.[1] as string);
      return {
        op: 'call' as const,
        args: args.map(([key, value]) => [key, key === 'callee' ? callee : value] as const),
        code: { guest: NOT_LOGGED_IN, member: toSelf ? 400 : 404 },
      };
    }),
    // Every op on a call or room: the fuzz account is in none, and the cids are nobody's.
    ...(
      [
        'response',
        'hangup',
        'startRtc',
        'control',
        'leaveChannel',
        'inviteToCall',
        'changeRoleToPlayer',
        'changeRoleToAudience',
        'requestCoHost',
        'respondCoHost',
        'inviteCoHost',
        'respondCoHostInvite',
        'removeCoHost',
        'sendRoomMessage',
      ] as const
    ).map((op) => fields(op).map((args) => ({ op, args, code: { guest: NOT_LOGGED_IN, member: 404 } }))),
    // A group call to accounts nobody uses: not online (404), or 400 when it names the caller.
    fc
      .tuple(fc.uniqueArray(strangers, { minLength: 2, maxLength: 8 }), fc.boolean(), fields('call'))
      .map(([callees, withSelf, args]) => ({
        op: 'call' as const,
        args: [
          ...args.filter(([key]) => key !== 'callee'),
          ['callee', withSelf ? [...callees.slice(1), self] : callees] as const,
        ],
        code: { guest: NOT_LOGGED_IN, member: withSelf ? 400 : 404 },
      })),
    // Joining a room nobody created, live or not: 404 (the room is looked up before any live setting).
    fields('joinChannel').map((args) => ({
      op: 'joinChannel' as const,
      args,
      code: { guest: NOT_LOGGED_IN, member: 404 },
    })),
    // Creating one would succeed (and change state): guests only.
    fields('createChannel').map((args) => ({
      op: 'createChannel' as const,
      args,
      code: { guest: NOT_LOGGED_IN },
    })),
    // A plain ping succeeds once logged in: before login only.
    fc.constant<Shaped>({ op: 'ping', args: [], code: { guest: NOT_LOGGED_IN } }),
  );
  return { shaped, badToken, otherToken, selfToken };
}
