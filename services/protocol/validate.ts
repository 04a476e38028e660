/**
 * Edge validation of request frames. Hand-written rather than a schema library because this module also ships
 * inside mini-programs, where every kilobyte counts; the rules are few and all of them are ours.
 * Must never throw: bad input becomes a `{ok:false, code, message}` the caller turns into an error frame.
 */
import { Code } from './errors';
import {
  ACCOUNT_PATTERN,
  CHANNEL_NAME_PATTERN,
  END_HINTS,
  MAX_FRAME_BYTES,
  MAX_GROUP_CALLEES,
  MAX_ROOM_MESSAGE_CHARS,
  type Op,
  type RequestFrame,
} from './frames';

export type ParseResult =
  | { ok: true; frame: RequestFrame }
  /** `op` when the frame named a known op and only its args were wrong (metrics count the refusal under it). */
  | { ok: false; code: number; message: string; seq?: number; op?: Op };

type Rule = (value: unknown) => string | null;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const oneOf =
  (...allowed: unknown[]): Rule =>
  (v) =>
    allowed.includes(v) ? null : `must be one of ${allowed.join(', ')}`;
const string =
  (max: number, pattern?: RegExp): Rule =>
  (v) => {
    if (typeof v !== 'string' || v.length === 0) return 'must be a non-empty string';
    if (v.length > max) return `must be at most ${max} characters`;
    if (pattern && !pattern.test(v)) return `must match ${String(pattern)}`;
    return null;
  };
const boolean: Rule = (v) => (typeof v === 'boolean' ? null : 'must be a boolean');
const integer =
  (min: number, max: number): Rule =>
  (v) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max
      ? null
      : `must be an integer in ${min}..${max}`;
const pushConfig: Rule = (v) => {
  if (!isObject(v)) return 'must be an object';
  if (v.custom !== undefined && (typeof v.custom !== 'string' || v.custom.length > 1024))
    return 'custom must be a string of at most 1024 characters';
  return null;
};

const CID = /^[A-Za-z0-9_-]{1,64}$/;
const account = string(64, ACCOUNT_PATTERN);
/** One callee, or up to MAX_GROUP_CALLEES different ones. */
const callees: Rule = (v) => {
  if (!Array.isArray(v)) return account(v);
  if (v.length === 0 || v.length > MAX_GROUP_CALLEES)
    return `must be an account or 1..${MAX_GROUP_CALLEES} accounts`;
  for (const item of v) {
    const problem = account(item);
    if (problem) return `[] ${problem}`;
  }
  return new Set(v).size === v.length ? null : 'must not name an account twice';
};
// `rtmp://` only, and none of the characters the mixer's output list gives meaning to (`|`, `[`, `]`, quotes,
// backslash) or that no URL carries (whitespace): the URL is handed to ffmpeg as one output of several.
const RTMP_URL = /^rtmp:\/\/[^\s|[\]\\'"]+$/;
const sessionConfig: Rule = (v) => {
  if (!isObject(v)) return 'must be an object';
  const rules: Record<string, Rule> = {
    rtmpUrl: string(1024, RTMP_URL),
    rtmpRecord: boolean,
    // NetEase's SPLIT_MODE values; what a custom `layout` says is checked (208) where the room is known.
    splitMode: integer(0, 5),
    layout: string(4096),
    stageApproval: boolean,
  };
  for (const key of Object.keys(v)) {
    if (!Object.prototype.hasOwnProperty.call(rules, key)) return `has an unknown field ${quote(key)}`;
    const problem = rules[key](v[key]);
    if (problem) return `${key} ${problem}`;
  }
  return null;
};

/** The live ops' optional room: the current one unless named. */
const roomCid: [Rule, boolean] = [string(64, CID), false];

/** Per op: field → [rule, required]. Unknown fields are refused so typos surface at once. */
const SCHEMAS: Record<Op, Record<string, [Rule, boolean]>> = {
  login: { token: [string(4096), true] },
  call: {
    type: [oneOf(1, 2), true],
    callee: [callees, true],
    forceKeepCalling: [boolean, false],
    pushConfig: [pushConfig, false],
  },
  response: {
    accepted: [boolean, true],
    caller: [string(64, ACCOUNT_PATTERN), true],
    type: [oneOf(1, 2), true],
    cid: [string(64, CID), true],
    reason: [oneOf(...END_HINTS), false],
  },
  hangup: { cid: [string(64, CID), false], reason: [oneOf(...END_HINTS), false] },
  startRtc: { mode: [oneOf(0, 1, 2, 3), true], cid: [string(64, CID), false] },
  control: { command: [integer(1, 99), true], cid: [string(64, CID), false] },
  ping: {},
  renewToken: { token: [string(4096), true] },
  createChannel: {
    channelName: [string(64, CHANNEL_NAME_PATTERN), true],
    custom: [string(1024), false],
    webrtcEnable: [boolean, false],
  },
  joinChannel: {
    channelName: [string(64, CHANNEL_NAME_PATTERN), true],
    type: [oneOf(1, 2), true],
    liveEnable: [boolean, false],
    sessionConfig: [sessionConfig, false],
    cid: [string(64, CID), false],
  },
  leaveChannel: { cid: [string(64, CID), false] },
  inviteToCall: { cid: [string(64, CID), true], callee: [account, true] },
  changeRoleToPlayer: { cid: roomCid },
  changeRoleToAudience: { cid: roomCid },
  requestCoHost: { cid: roomCid },
  respondCoHost: { account: [account, true], accepted: [boolean, true], cid: roomCid },
  inviteCoHost: { account: [account, true], cid: roomCid },
  respondCoHostInvite: { accepted: [boolean, true], cid: roomCid },
  removeCoHost: { account: [account, true], cid: roomCid },
  sendRoomMessage: {
    type: [oneOf('text', 'custom'), true],
    content: [string(MAX_ROOM_MESSAGE_CHARS), true],
    cid: roomCid,
  },
};

export function isOp(op: unknown): op is Op {
  return typeof op === 'string' && Object.prototype.hasOwnProperty.call(SCHEMAS, op);
}

export function validateArgs(op: Op, args: unknown): string | null {
  const schema = SCHEMAS[op];
  const value = args === undefined ? {} : args;
  if (!isObject(value)) return 'args must be an object';
  for (const key of Object.keys(value)) {
    if (!Object.prototype.hasOwnProperty.call(schema, key)) return `unknown field ${quote(key)}`;
  }
  for (const [key, [rule, required]] of Object.entries(schema)) {
    const field = value[key];
    if (field === undefined) {
      if (required) return `"${key}" is required`;
      continue;
    }
    const problem = rule(field);
    if (problem) return `"${key}" ${problem}`;
  }
  return null;
}

// Our client writes `seq` first; reading it from the first bytes lets an oversized or rate-limited frame be
// answered by seq (its promise fails at once) without parsing it. Anything else gets an unattributed error.
const SEQ_PREFIX = /^\s*\{\s*"seq"\s*:\s*(\d{1,15})\s*[,}]/;

/** The `seq` of a frame read from its first bytes only, or undefined. Never parses the frame. */
export function seqOf(head: string): number | undefined {
  const match = SEQ_PREFIX.exec(head.slice(0, 48));
  return match ? Number(match[1]) : undefined;
}

/**
 * Parses one incoming text frame. `byteLength` is measured by the transport, not re-derived here; a frame over
 * MAX_FRAME_BYTES is refused before it is parsed.
 */
export function parseRequest(text: string, byteLength: number): ParseResult {
  if (byteLength > MAX_FRAME_BYTES)
    return {
      ok: false,
      code: Code.BAD_REQUEST,
      message: `frame of ${byteLength} bytes exceeds ${MAX_FRAME_BYTES}`,
      seq: seqOf(text),
    };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, code: Code.BAD_REQUEST, message: 'frame is not valid JSON', seq: seqOf(text) };
  }
  if (!isObject(raw)) return { ok: false, code: Code.BAD_REQUEST, message: 'frame must be a JSON object' };
  const seq = Number.isSafeInteger(raw.seq) && (raw.seq as number) >= 0 ? (raw.seq as number) : undefined;
  if (seq === undefined)
    return { ok: false, code: Code.BAD_REQUEST, message: '"seq" must be a non-negative integer' };
  if (!isOp(raw.op))
    return { ok: false, code: Code.BAD_REQUEST, message: `unknown op ${quote(raw.op)}`, seq };
  const problem = validateArgs(raw.op, raw.args);
  if (problem)
    return { ok: false, code: Code.BAD_REQUEST, message: `${raw.op}: ${problem}`, seq, op: raw.op };
  return { ok: true, frame: { seq, op: raw.op, args: (raw.args ?? {}) as never } };
}

// Error messages quote what was sent; a short quote is enough to see the mistake.
function clip(text: string, max = 64): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * A sent value for an error message, without recursing into it: JSON.stringify of an array nested a few
 * thousand deep (it fits in a frame) overflows the stack, and this module must never throw.
 */
function quote(value: unknown): string {
  if (typeof value === 'string') return clip(JSON.stringify(value));
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : String(value);
}
