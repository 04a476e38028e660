/**
 * Stream names, URL signatures, and the one request shape the media front accepts.
 *
 * The signature format is node-media-server's (`sign=<exp>-md5("<path>-<exp>-<key>")`), because NMS checks
 * publish signatures too, as a second line of defence. Play signatures use the same format with a different,
 * derived key so that a play URL can never be replayed as a push URL. Pure functions: shared by the
 * supervisor (which signs) and the worker (which verifies); must never touch NMS.
 */
import { createHash, hash, timingSafeEqual } from 'node:crypto';
import { quote } from './values';

/** The only app our URLs use. */
export const APP = 'live';

// Long ids would otherwise produce unbounded URLs; hashing keeps names short while staying collision-resistant.
const MAX_NAME_LENGTH = 200;

/**
 * The one rule for a stream name, everywhere (issuing, authorising, the fronts): what `toStreamName` can
 * produce and nothing longer. Within NMS's own SAFE_NAME_PATTERN, which the fronts check before NMS does.
 */
const STREAM_NAME = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_NAME_LENGTH}}$`);

export function isStreamName(name: string): boolean {
  return STREAM_NAME.test(name);
}

// Every issued URL is signed: `crypto.hash` (Node 20.12+) does it without a Hash object each; older 20.x lack it.
const md5: (text: string) => string =
  typeof hash === 'function'
    ? (text) => hash('md5', text, 'hex')
    : (text) => createHash('md5').update(text).digest('hex');

/** The key play signatures are made with: distinct from the publish secret, derivable only by holders of it. */
export function derivePlayKey(secret: string): string {
  return md5(`${secret}:play`);
}

const ALPHANUMERIC = /^[A-Za-z0-9]+$/;

// Alphanumerics pass through; every other UTF-8 byte (including '_' and '-') becomes "-xx". The result holds
// no '_', so '_' can separate room and uid without two different pairs ever mapping to one stream name.
function encodeComponent(value: string): string {
  // Our own cids and uids are all alphanumeric: they come out as they went in, without a byte loop.
  if (ALPHANUMERIC.test(value)) return value;
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const isAlnum =
      (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);
    out += isAlnum ? String.fromCharCode(byte) : `-${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/**
 * Maps a (room, uid) pair to an NMS-safe stream name, injectively: `room1_alice` for plain alphanumeric ids.
 * Over-long results become `--<sha256>`; "--" never occurs in the plain form, so the two forms cannot collide.
 */
export function toStreamName(cid: string, uid: string): string {
  if (cid === '' || uid === '') throw new Error('streamName: cid and uid must be non-empty');
  const plain = `${encodeComponent(cid)}_${encodeComponent(uid)}`;
  if (plain.length <= MAX_NAME_LENGTH) return plain;
  return `--${createHash('sha256').update(cid).update('\0').update(uid).digest('hex')}`;
}

export function assertSafeStream(stream: string): void {
  if (!isStreamName(stream)) {
    throw new Error(
      `media: stream name ${quote(stream)} is not [A-Za-z0-9_-]{1,${MAX_NAME_LENGTH}} (use streamName())`,
    );
  }
}

/** `<exp>-<md5>` for `streamPath` (e.g. "/live/room_uid"), valid until `expSeconds` (UNIX seconds). */
export function makeSign(streamPath: string, expSeconds: number, key: string): string {
  return `${expSeconds}-${md5(`${streamPath}-${expSeconds}-${key}`)}`;
}

/**
 * Checks a `sign` query value. Stricter than NMS's own check, which parseInt()s the expiry and so accepts
 * trailing junk; a repeated `sign` parameter (an array) is refused rather than guessed at.
 */
export function verifySign(sign: unknown, streamPath: string, key: string, nowSeconds: number): boolean {
  if (typeof sign !== 'string') return false;
  const match = /^(\d{1,12})-([0-9a-f]{32})$/.exec(sign);
  if (!match) return false;
  const exp = Number(match[1]);
  if (exp < nowSeconds) return false;
  const expected = Buffer.from(md5(`${streamPath}-${exp}-${key}`), 'utf8');
  return timingSafeEqual(expected, Buffer.from(match[2], 'utf8'));
}

/** The whole query of an issued URL. Anything else (extra, repeated or encoded parameters) is malformed. */
const SIGN_QUERY = /^sign=(\d{1,12}-[0-9a-f]{32})$/;

export interface StreamRequest {
  name: string;
  sign: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** The `sign` value of a query string (without '?'), when the query is exactly `sign=<exp>-<md5>`. */
export function parseSignQuery(query: string): Parsed<string> {
  const match = SIGN_QUERY.exec(query);
  return match
    ? { ok: true, value: match[1] }
    : { ok: false, error: 'query is not exactly sign=<exp>-<md5>' };
}

/** An RTMP publish/play stream argument: `<name>?sign=<exp>-<md5>`, exactly as our URLs carry it. */
export function parseStreamRequest(nameAndQuery: unknown): Parsed<StreamRequest> {
  if (typeof nameAndQuery !== 'string') return { ok: false, error: 'stream name is not a string' };
  const q = nameAndQuery.indexOf('?');
  if (q < 0) return { ok: false, error: 'stream name carries no signature' };
  const name = nameAndQuery.slice(0, q);
  if (!isStreamName(name))
    return { ok: false, error: `stream name is not [A-Za-z0-9_-]{1,${MAX_NAME_LENGTH}}` };
  const sign = parseSignQuery(nameAndQuery.slice(q + 1));
  return sign.ok ? { ok: true, value: { name, sign: sign.value } } : sign;
}

export function streamPathOf(name: string): string {
  return `/${APP}/${name}`;
}
