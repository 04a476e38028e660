/**
 * Field values for the protocol fuzzer: per kind of field, values the protocol accepts and values it must
 * refuse. "Refuse" is guaranteed, not hoped for: every wrong value is checked against what the field accepts
 * after the JSON round trip the wire makes (so `-0`, which arrives as `0`, is never a "wrong" mode).
 * The acceptance rules here restate the protocol for the generators only; the oracle never uses them.
 */
import fc from 'fast-check';
import {
  ACCOUNT_PATTERN,
  CHANNEL_NAME_PATTERN,
  MAX_GROUP_CALLEES,
  MAX_ROOM_MESSAGE_CHARS,
  type Op,
} from '../../services/protocol';
import { PROTOTYPE_NAMES } from '../helpers/accounts';

type FieldKind =
  | 'token'
  | 'account'
  | 'callees'
  | 'cid'
  | 'callType'
  | 'mode'
  | 'command'
  | 'boolean'
  | 'endHint'
  | 'pushConfig'
  | 'channelName'
  | 'custom'
  | 'sessionConfig'
  | 'messageType'
  | 'content';

/** Per op: field → [kind, required]. */
export const SCHEMA: Record<Op, Record<string, [FieldKind, boolean]>> = {
  login: { token: ['token', true] },
  renewToken: { token: ['token', true] },
  call: {
    type: ['callType', true],
    callee: ['callees', true],
    forceKeepCalling: ['boolean', false],
    pushConfig: ['pushConfig', false],
  },
  response: {
    accepted: ['boolean', true],
    caller: ['account', true],
    type: ['callType', true],
    cid: ['cid', true],
    reason: ['endHint', false],
  },
  hangup: { cid: ['cid', false], reason: ['endHint', false] },
  startRtc: { mode: ['mode', true], cid: ['cid', false] },
  control: { command: ['command', true], cid: ['cid', false] },
  ping: {},
  createChannel: {
    channelName: ['channelName', true],
    custom: ['custom', false],
    webrtcEnable: ['boolean', false],
  },
  joinChannel: {
    channelName: ['channelName', true],
    type: ['callType', true],
    liveEnable: ['boolean', false],
    sessionConfig: ['sessionConfig', false],
  },
  leaveChannel: { cid: ['cid', false] },
  inviteToCall: { cid: ['cid', true], callee: ['account', true] },
  changeRoleToPlayer: { cid: ['cid', false] },
  changeRoleToAudience: { cid: ['cid', false] },
  requestCoHost: { cid: ['cid', false] },
  respondCoHost: { account: ['account', true], accepted: ['boolean', true], cid: ['cid', false] },
  inviteCoHost: { account: ['account', true], cid: ['cid', false] },
  respondCoHostInvite: { accepted: ['boolean', true], cid: ['cid', false] },
  removeCoHost: { account: ['account', true], cid: ['cid', false] },
  sendRoomMessage: { type: ['messageType', true], content: ['content', true], cid: ['cid', false] },
};
export const OPS = Object.keys(SCHEMA) as Op[];

const CID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const END_HINTS = ['timeout', 'busy', 'network'];

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const matches = (pattern: RegExp) => (value: unknown) => typeof value === 'string' && pattern.test(value);

const isAccount = matches(ACCOUNT_PATTERN);
const SESSION_CONFIG: Record<string, (v: unknown) => boolean> = {
  // rtmp:// and nothing an ffmpeg output list would read as a separator or a quote.
  rtmpUrl: (v) => typeof v === 'string' && v.length <= 1024 && /^rtmp:\/\/[^\s|[\]\\'"]+$/.test(v),
  rtmpRecord: (v) => typeof v === 'boolean',
  splitMode: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 5,
  layout: (v) => typeof v === 'string' && v.length >= 1 && v.length <= 4096,
  stageApproval: (v) => typeof v === 'boolean',
};

const ACCEPTS: Record<FieldKind, (value: unknown) => boolean> = {
  token: (v) => typeof v === 'string' && v.length >= 1 && v.length <= 4096,
  account: isAccount,
  callees: (v) =>
    isAccount(v) ||
    (Array.isArray(v) &&
      v.length >= 1 &&
      v.length <= MAX_GROUP_CALLEES &&
      v.every(isAccount) &&
      new Set(v).size === v.length),
  channelName: matches(CHANNEL_NAME_PATTERN),
  custom: (v) => typeof v === 'string' && v.length >= 1 && v.length <= 1024,
  sessionConfig: (v) =>
    isPlainObject(v) &&
    Object.entries(v).every(
      ([key, value]) =>
        Object.prototype.hasOwnProperty.call(SESSION_CONFIG, key) && SESSION_CONFIG[key](value),
    ),
  cid: matches(CID_PATTERN),
  callType: (v) => v === 1 || v === 2,
  mode: (v) => v === 0 || v === 1 || v === 2 || v === 3,
  command: (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 99,
  boolean: (v) => typeof v === 'boolean',
  endHint: (v) => END_HINTS.includes(v as string),
  pushConfig: (v) =>
    isPlainObject(v) && (v.custom === undefined || (typeof v.custom === 'string' && v.custom.length <= 1024)),
  messageType: (v) => v === 'text' || v === 'custom',
  content: (v) => typeof v === 'string' && v.length >= 1 && v.length <= MAX_ROOM_MESSAGE_CHARS,
};

/** The value as the server sees it: what survives JSON.stringify and JSON.parse inside an object. */
export const onTheWire = (value: unknown): unknown =>
  (JSON.parse(JSON.stringify({ value })) as { value?: unknown }).value;

/** An object with exactly these own keys, in order; `__proto__` is a key like any other, as in JSON. */
export function own(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const target: Record<string, unknown> = {};
  for (const [key, value] of entries)
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

const NAN_ISH = [
  'NaN',
  'Infinity',
  '-Infinity',
  'undefined',
  'null',
  'true',
  'false',
  '1e309',
  '0x1',
  '1',
  '2',
  '0',
  '-0',
  ' 1',
  '1.0',
  '+1',
  '١',
  '１',
];

export const shortText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ maxLength: 20 }),
  fc.constantFrom('', ...NAN_ISH, ...PROTOTYPE_NAMES),
);
/** Thousands of characters of at most two bytes each, raw or JSON-escaped, so sizes stay predictable. */
const longText = (min: number, max: number) =>
  fc
    .tuple(fc.integer({ min, max }), fc.constantFrom('x', 'é', 'Я', '"', '\\', '0'))
    .map(([length, char]) => char.repeat(length));

export const keyText = fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES), shortText);
const scalar = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.double(), shortText);
const objectOf = (values: fc.Arbitrary<unknown>) =>
  fc.array(fc.tuple(keyText, values), { maxLength: 4 }).map(own);

/** Anything at all, from `null` to nested objects keyed `__proto__` and strings of thousands of characters. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: scalar, weight: 8 },
  { arbitrary: longText(1000, 5000), weight: 1 },
  { arbitrary: fc.array(scalar, { maxLength: 4 }), weight: 2 },
  { arbitrary: objectOf(scalar), weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 1 },
);

const badChar = fc.string({ unit: 'binary', minLength: 1, maxLength: 3 });
const around = (middle: fc.Arbitrary<string>) =>
  fc
    .tuple(fc.stringMatching(/^[A-Za-z0-9_-]{0,10}$/), middle, fc.stringMatching(/^[A-Za-z0-9_-]{0,10}$/))
    .map((parts) => parts.join(''));
const numberish = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1.5, 2.5, 3.0001, 4, 99.5, 100, 1e21, Number.MAX_VALUE, 2 ** 53),
);

/** Near misses per kind, before the filter that keeps only what the field refuses. */
const NEAR_MISSES: Record<FieldKind, fc.Arbitrary<unknown>> = {
  token: fc.oneof(fc.constant(''), longText(4097, 6000)),
  account: fc.oneof(
    fc.constant(''),
    around(badChar),
    fc
      .tuple(fc.integer({ min: 65, max: 3000 }), fc.constantFrom('a', '_', '.', '@', '-', '0'))
      .map(([n, c]) => c.repeat(n)),
  ),
  callees: fc.oneof(
    fc.constant([]),
    fc.constant(Array.from({ length: MAX_GROUP_CALLEES + 1 }, (_, i) => `nobody-${i}`)),
    fc.constant(['nobody-a', 'nobody-a']),
    fc.array(around(badChar), { minLength: 1, maxLength: 3 }),
  ),
  channelName: fc.oneof(
    fc.constant(''),
    around(badChar),
    around(fc.constantFrom('@', ' ', '/')),
    longText(65, 3000),
  ),
  custom: fc.oneof(fc.constant(''), longText(1025, 3000)),
  sessionConfig: fc.oneof(
    scalar,
    fc.array(scalar, { maxLength: 3 }),
    fc.oneof(scalar, longText(1025, 3000)).map((rtmpUrl) => own([['rtmpUrl', rtmpUrl]])),
    fc
      .constantFrom('http://x/live', 'rtmps://x/live', 'rtmp://', 'rtmp://x/a b', 'rtmp://x/a|b', 'RTMP://x')
      .map((rtmpUrl) => own([['rtmpUrl', rtmpUrl]])),
    fc.constantFrom(6, -1, 2.5, '2').map((splitMode) => own([['splitMode', splitMode]])),
    keyText.map((key) => own([[key, 1]])),
  ),
  messageType: fc.oneof(
    fc.mixedCase(fc.constantFrom('text', 'custom')),
    fc.constantFrom(' text', 'text ', 'image', '', 1, ['text']),
  ),
  content: fc.oneof(fc.constant(''), longText(MAX_ROOM_MESSAGE_CHARS + 1, 3000)),
  cid: fc.oneof(
    fc.constant(''),
    around(badChar),
    around(fc.constantFrom('.', '@', ' ', '/')),
    longText(65, 3000),
  ),
  callType: fc.oneof(numberish, fc.constantFrom('1', '2', [1], [2], true)),
  mode: fc.oneof(numberish, fc.constantFrom('0', '3', [0], false)),
  command: fc.oneof(numberish, fc.constantFrom('2', [2], true)),
  boolean: fc.constantFrom(0, 1, 'true', 'false', '', [true], 'yes'),
  endHint: fc.oneof(
    fc.mixedCase(fc.constantFrom(...END_HINTS)),
    fc.constantFrom(' busy', 'busy ', 'timeout\u0000', 'hangup', ''),
    longText(100, 3000),
  ),
  pushConfig: fc.oneof(
    scalar,
    fc.array(scalar, { maxLength: 3 }),
    fc.oneof(scalar, longText(1025, 3000), objectOf(scalar)).map((custom) => own([['custom', custom]])),
  ),
};

/** Values the field of this kind must refuse. */
export function wrongFor(kind: FieldKind): fc.Arbitrary<unknown> {
  return fc.oneof(anyValue, NEAR_MISSES[kind]).filter((value) => {
    const seen = onTheWire(value);
    return seen !== undefined && !ACCEPTS[kind](seen);
  });
}

export interface Taken {
  /** Accounts online beside the fuzzing: a valid-shaped request must never reach them. */
  accounts: ReadonlySet<string>;
  /** Calls in progress beside the fuzzing. */
  cids: ReadonlySet<string>;
}

/** Accounts nobody uses (so never online), among them names that mean something to a plain object. */
export const nobody = (taken: Taken) =>
  fc
    .oneof(
      fc.stringMatching(/^nobody-[A-Za-z0-9_.@-]{1,40}$/),
      fc.stringMatching(ACCOUNT_PATTERN),
      // Twice as likely as either: a store keyed by plain objects breaks on exactly these.
      { arbitrary: fc.constantFrom(...PROTOTYPE_NAMES, 'NaN', '-0', '1.0', 'null'), weight: 2 },
    )
    .filter((account) => ACCEPTS.account(account) && !taken.accounts.has(account));

/** Values the field accepts, other than accounts and tokens (whose meaning depends on who is online). */
export function validFor(
  kind: Exclude<FieldKind, 'token' | 'account' | 'callees'>,
  taken: Taken,
): fc.Arbitrary<unknown> {
  switch (kind) {
    case 'channelName':
      // Names nobody created: the fuzzer never creates a room (that would succeed and change state).
      return fc.stringMatching(/^fuzz-[A-Za-z0-9_.-]{1,40}$/).filter(matches(CHANNEL_NAME_PATTERN));
    case 'custom':
      return fc.string({ minLength: 1, maxLength: 1024 });
    case 'sessionConfig':
      return fc.constantFrom(
        {},
        { rtmpRecord: true },
        { splitMode: 2, layout: 'grid' },
        { rtmpUrl: 'rtmp://example.invalid/live/x?key=1', stageApproval: true },
      );
    case 'messageType':
      return fc.constantFrom('text', 'custom');
    case 'content':
      return fc.string({ minLength: 1, maxLength: MAX_ROOM_MESSAGE_CHARS });
    case 'cid':
      return fc
        .oneof(
          fc.stringMatching(CID_PATTERN),
          { arbitrary: fc.constantFrom(...PROTOTYPE_NAMES, 'NaN', '0'), weight: 2 },
          fc.stringMatching(/^[0-9a-f]{16}$/),
        )
        .filter((cid) => !taken.cids.has(cid));
    case 'callType':
      return fc.constantFrom(1, 2);
    case 'mode':
      return fc.constantFrom(0, 1, 2, 3);
    case 'command':
      return fc.integer({ min: 1, max: 99 });
    case 'boolean':
      return fc.boolean();
    case 'endHint':
      return fc.constantFrom(...END_HINTS);
    case 'pushConfig':
      return fc
        .oneof(
          fc.constant({}),
          fc.string({ maxLength: 1024 }).map((custom) => ({ custom })),
          fc.tuple(fc.string({ maxLength: 50 }), keyText, scalar).map(([c, k, v]) =>
            own([
              ['custom', c],
              [k, v],
            ]),
          ),
        )
        .filter((value) => ACCEPTS.pushConfig(onTheWire(value)));
  }
}
