/**
 * What the server must answer to one fuzz frame, from the protocol's rules alone: the transport cap (over
 * 16 KB: close 1009), UTF-8 text (else close 1007, RFC 6455), binary refused (an `error` event 400), the
 * parse cap (over 8 KB: 400 unparsed, by the seq its first bytes carry), JSON objects with a non-negative
 * integer `seq` (else an `error` event 400), and past those the code the frame's maker chose for the kind of
 * connection it lands on (a refused login also closes the socket: 4401). Never imports the server's parser:
 * the oracle must not share the code it judges.
 */
import { isUtf8 } from 'buffer';
import { MAX_FRAME_BYTES } from '../../services/protocol';

export type LaneKind = 'guest' | 'member';

export interface FuzzFrame {
  /** What its maker broke: tallied per run, printed with a failure. */
  kind: string;
  /** A string goes out as a text frame; bytes go out as binary unless `text` says otherwise. */
  data: string | Uint8Array;
  text: boolean;
  /** The reply's code once the frame parses to a request with a usable seq; the keys are where it may go. */
  code: Partial<Record<LaneKind, number>>;
}

/** A reply by seq, or an `error` event for a frame the server cannot attribute. */
export type Answer = { seq: number; code: number } | { event: 'error'; code: number };

interface Expected {
  /** Null when the frame is answered by a close alone. */
  answer: Answer | null;
  /** The close code the frame must cause, or null when the connection must stay open. */
  close: number | null;
}

const TRANSPORT_MAX_BYTES = 2 * MAX_FRAME_BYTES;
/** Close codes the rules give: over the transport cap, text not UTF-8, a refused login, flooding past 429s. */
export const CLOSE = { TOO_BIG: 1009, NOT_UTF8: 1007, LOGIN_REFUSED: 4401, RATE_LIMITED: 4429 } as const;

// The rule as documented: a frame opening with {"seq":N (whitespace allowed) is answered by N even unread;
// only its first 48 characters are looked at.
const LEADING_SEQ = /^\s*\{\s*"seq"\s*:\s*(\d{1,15})\s*[,}]/;

function leadingSeq(head: string): number | undefined {
  const match = LEADING_SEQ.exec(head.slice(0, 48));
  return match ? Number(match[1]) : undefined;
}

export const wireOf = (frame: FuzzFrame): Buffer =>
  typeof frame.data === 'string' ? Buffer.from(frame.data, 'utf8') : Buffer.from(frame.data);

const byLeadingSeq = (head: string, code: number): Answer => {
  const seq = leadingSeq(head);
  return seq === undefined ? { event: 'error', code } : { seq, code };
};

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function expectation(frame: FuzzFrame, lane: LaneKind): Expected {
  const wire = wireOf(frame);
  if (wire.length > TRANSPORT_MAX_BYTES) return { answer: null, close: CLOSE.TOO_BIG };
  if (!frame.text) return { answer: { event: 'error', code: 400 }, close: null };
  if (!isUtf8(wire)) return { answer: null, close: CLOSE.NOT_UTF8 };
  const text = wire.toString('utf8');
  if (wire.length > MAX_FRAME_BYTES) return { answer: byLeadingSeq(text, 400), close: null };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { answer: byLeadingSeq(text, 400), close: null };
  }
  if (!isPlainObject(raw) || !Number.isSafeInteger(raw.seq) || (raw.seq as number) < 0)
    return { answer: { event: 'error', code: 400 }, close: null };
  const code = frame.code[lane];
  if (code === undefined) throw new Error(`a ${frame.kind} frame was routed to a ${lane} connection`);
  // `-0` is a valid seq on the way in and comes back as 0.
  const seq = (raw.seq as number) + 0;
  const refusedLogin = lane === 'guest' && raw.op === 'login' && code === 401;
  return { answer: { seq, code }, close: refusedLogin ? CLOSE.LOGIN_REFUSED : null };
}

/** The answer of a frame refused for rate, before anything else is read: 429, by the seq of its first bytes. */
export function rateLimited(frame: FuzzFrame): Answer {
  return byLeadingSeq(wireOf(frame).subarray(0, 48).toString('utf8'), 429);
}

export const describeAnswer = (answer: Answer | null): string =>
  answer === null
    ? 'no answer'
    : 'seq' in answer
      ? `reply seq ${answer.seq} code ${answer.code}`
      : `error event code ${answer.code}`;
