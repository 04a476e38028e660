/**
 * Compares what came back for a batch of fuzz frames with what the model says must come back. Exact: answers
 * are matched to frames by order, so a missing, extra, reordered or misattributed answer fails at the frame
 * where it happened, and the report names that frame, what was expected and what arrived.
 */
import { isUtf8 } from 'buffer';
import {
  CLOSE,
  describeAnswer,
  expectation,
  rateLimited,
  wireOf,
  type Answer,
  type FuzzFrame,
  type LaneKind,
} from './model';

/** One message the server sent a fuzz connection, recognised as an answer or not. */
export interface Received {
  answer: Answer | null;
  raw: string;
}

/** What came back for one batch: every message in arrival order, and how the socket ended, if it did. */
export interface Outcome {
  received: Received[];
  close: number | null;
  /** The seq of the sentinel sent after the batch, when the batch was not meant to close the socket. */
  sentinel: number | null;
  timedOut: boolean;
}

/** Codes a refusal may carry; anything else (200 above all, 500) is a finding. */
const KNOWN_CODES = [400, 401, 403, 404, 409, 429];

const sameAnswer = (a: Answer | null, b: Answer | null) =>
  a !== null &&
  b !== null &&
  a.code === b.code &&
  ('seq' in a ? 'seq' in b && a.seq === b.seq : !('seq' in b));

const clip = (text: string, max = 400) =>
  text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;

function describeFrame(frame: FuzzFrame): string {
  const wire = wireOf(frame);
  const shown =
    frame.text && isUtf8(wire)
      ? JSON.stringify(clip(wire.toString('utf8')))
      : `0x${clip(wire.toString('hex'), 200)}`;
  return `${frame.kind}, ${wire.length} bytes as a ${frame.text ? 'text' : 'binary'} frame: ${shown}`;
}

const ending = (outcome: Outcome) =>
  outcome.close !== null
    ? `the socket closed with ${outcome.close}`
    : outcome.timedOut
      ? 'nothing more arrived within the wait'
      : 'the socket is open';

/** Checks one batch's answers against a rule per frame; `index` -1 is the sentinel. */
class Judge {
  constructor(
    private readonly name: string,
    private readonly frames: FuzzFrame[],
    private readonly outcome: Outcome,
  ) {}

  fail(index: number, want: string, got: Received | undefined): never {
    const about =
      index >= 0
        ? `frame ${index} of ${this.frames.length} (${describeFrame(this.frames[index])})`
        : `the sentinel after ${this.frames.length} frames`;
    const seen = got
      ? `${describeAnswer(got.answer)}  ${clip(got.raw, 300)}`
      : `nothing (${ending(this.outcome)})`;
    throw new Error(
      `${this.name}: ${about}\n  expected: ${want}\n  got:      ${seen}\n  (answers are matched to frames by order)`,
    );
  }

  answer(index: number, want: Answer, got: Received | undefined): void {
    if (got?.answer && 'seq' in got.answer && got.answer.code === 200)
      this.fail(index, `${describeAnswer(want)} (the frame is wrong by construction)`, got);
    if (got?.answer && !KNOWN_CODES.includes(got.answer.code))
      this.fail(index, `${describeAnswer(want)} (a known refusal code)`, got);
    if (!sameAnswer(want, got?.answer ?? null)) this.fail(index, describeAnswer(want), got);
  }

  close(want: number | null): void {
    if (this.outcome.close === want) return;
    const last = this.frames[this.frames.length - 1];
    throw new Error(
      `${this.name}: after ${this.outcome.received.length} answers to ${this.frames.length} frames, ` +
        `the last ${last ? describeFrame(last) : 'none'}\n` +
        `  expected: ${want === null ? 'the socket to stay open' : `close ${want}`}\n  got:      ${ending(this.outcome)}`,
    );
  }
}

/**
 * One answer per frame, in order, as the model says; then the sentinel's answer, or the close the last frame
 * must cause; and nothing more.
 */
export function checkBatch(lane: LaneKind, name: string, frames: FuzzFrame[], outcome: Outcome): void {
  const judge = new Judge(name, frames, outcome);
  const expected = frames.map((frame) => expectation(frame, lane));
  const answers = expected.flatMap((e, index) => (e.answer ? [{ answer: e.answer, index }] : []));
  if (outcome.sentinel !== null) answers.push({ answer: { seq: outcome.sentinel, code: 400 }, index: -1 });
  for (let i = 0; i < Math.max(answers.length, outcome.received.length); i++) {
    const want = answers[i];
    if (!want) judge.fail(-1, 'no answer after the sentinel’s', outcome.received[i]);
    judge.answer(want.index, want.answer, outcome.received[i]);
  }
  judge.close(expected.length > 0 ? expected[expected.length - 1].close : null);
}

/**
 * Under a rate limit each frame gets its own answer or a 429 in its place, still one each and in order; the
 * first `burst` frames are never refused; a connection refused more than `maxRefused` times is closed (4429)
 * without answering the frame that tipped it, nor any after. Returns how many were refused.
 */
export function checkRateLimited(
  lane: LaneKind,
  name: string,
  frames: FuzzFrame[],
  outcome: Outcome,
  limits: { burst: number; maxRefused: number },
): number {
  const judge = new Judge(name, frames, outcome);
  const { received } = outcome;
  let refused = 0;
  for (let i = 0; i < Math.min(received.length, frames.length); i++) {
    const own = expectation(frames[i], lane).answer;
    if (!own)
      throw new Error(`${name}: frame ${i} (${describeFrame(frames[i])}) closes its socket; not for here`);
    if (i >= limits.burst && sameAnswer(rateLimited(frames[i]), received[i].answer)) refused++;
    else judge.answer(i, own, received[i]);
  }
  if (outcome.close === null) {
    if (received.length > frames.length + 1)
      judge.fail(-1, 'no answer after the sentinel’s', received[frames.length + 1]);
    const sentinel: Answer = { seq: outcome.sentinel ?? -1, code: 400 };
    if (!sameAnswer({ ...sentinel, code: 429 }, received[frames.length]?.answer ?? null))
      judge.answer(-1, sentinel, received[frames.length]);
    if (refused > limits.maxRefused) judge.close(CLOSE.RATE_LIMITED);
  } else {
    judge.close(CLOSE.RATE_LIMITED);
    if (refused !== limits.maxRefused || received.length > frames.length)
      throw new Error(
        `${name}: closed for rate after ${refused} refusals and ${received.length} answers; ` +
          `expected exactly ${limits.maxRefused} refusals answered before the close`,
      );
  }
  return refused;
}
