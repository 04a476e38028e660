/** @jest-environment node */
/**
 * The missed-call notice throttle of createCallEndReporter: one notice per caller→callee pair per interval,
 * on an injected clock, with the pairs it remembers bounded; recording and signalling are never held up.
 */
import {
  DEFAULT_NOTICE_INTERVAL_MS,
  MemoryCallHistory,
  createCallEndReporter,
  type CallOutcome,
  type CallRecord,
} from '../../server/history';
import type { MissedCallEvent, Notifier, NotifyResult } from '../../server/notify';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
let counter = 0;

function ended(caller: string, callee: string, outcome: CallOutcome = 'missed'): CallRecord {
  counter++;
  return {
    cid: `cid-${counter}`,
    caller,
    callee,
    type: 1,
    startedAt: T0 + counter,
    answeredAt: null,
    endedAt: T0 + counter + 30000,
    duration: 0,
    outcome,
    endedBy: '',
  };
}

function setup(options: { noticeIntervalMs?: number } = {}) {
  let now = T0;
  const sent: MissedCallEvent[] = [];
  const notifier: Notifier = {
    missedCall: async (event) => {
      sent.push(event);
      return { status: 'sent' };
    },
  };
  const history = new MemoryCallHistory();
  const log = { info: jest.fn(), warn: jest.fn() };
  const reporter = createCallEndReporter({ history, notifier, log, now: () => now, ...options });
  const pairs = () => sent.map((event) => `${event.caller}→${event.callee}`);
  return { reporter, history, sent, pairs, log, advance: (ms: number) => (now += ms) };
}

describe('missed-call notice throttle', () => {
  it('sends one notice for three missed calls in a row from the same caller, and one per other caller', async () => {
    const { reporter, history, pairs } = setup();
    for (let i = 0; i < 3; i++) reporter.callEnded(ended('alice', 'bob', i === 1 ? 'canceled' : 'missed'));
    reporter.callEnded(ended('carol', 'bob'));
    // The reverse direction is another pair: bob missing alice's calls says nothing about alice missing his.
    reporter.callEnded(ended('bob', 'alice'));
    await reporter.settled();
    expect(pairs()).toEqual(['alice→bob', 'carol→bob', 'bob→alice']);
    // Throttled notices only: every call is still in the history.
    expect(history.list('bob')).toHaveLength(5);
  });

  it('sends again once the interval has passed since the last notice, not before', async () => {
    const { reporter, pairs, advance } = setup({ noticeIntervalMs: 60_000 });
    reporter.callEnded(ended('alice', 'bob'));
    advance(59_999);
    reporter.callEnded(ended('alice', 'bob'));
    await reporter.settled();
    expect(pairs()).toEqual(['alice→bob']);
    advance(1);
    reporter.callEnded(ended('alice', 'bob'));
    await reporter.settled();
    expect(pairs()).toEqual(['alice→bob', 'alice→bob']);
  });

  it('defaults to ten minutes', async () => {
    expect(DEFAULT_NOTICE_INTERVAL_MS).toBe(10 * 60 * 1000);
    const { reporter, pairs, advance } = setup();
    reporter.callEnded(ended('alice', 'bob'));
    advance(10 * 60 * 1000 - 1);
    reporter.callEnded(ended('alice', 'bob'));
    advance(1);
    reporter.callEnded(ended('alice', 'bob'));
    await reporter.settled();
    expect(pairs()).toEqual(['alice→bob', 'alice→bob']);
  });

  it('sends one notice per missed call with an interval of 0', async () => {
    const { reporter, pairs } = setup({ noticeIntervalMs: 0 });
    for (let i = 0; i < 3; i++) reporter.callEnded(ended('alice', 'bob'));
    await reporter.settled();
    expect(pairs()).toEqual(['alice→bob', 'alice→bob', 'alice→bob']);
    expect(reporter.throttledPairs()).toBe(0);
  });

  it('forgets pairs whose interval has passed, so its memory stays bounded', async () => {
    const { reporter, sent, advance } = setup({ noticeIntervalMs: 1000 });
    for (let i = 0; i < 1000; i++) reporter.callEnded(ended(`caller${i}`, 'bob'));
    // Positive control: within the interval it does remember them all.
    expect(reporter.throttledPairs()).toBe(1000);
    advance(1000);
    reporter.callEnded(ended('dave', 'bob'));
    expect(reporter.throttledPairs()).toBe(1);
    reporter.callEnded(ended('caller0', 'bob'));
    await reporter.settled();
    expect(sent).toHaveLength(1002);
  });

  it('does not go silent for a pair when the clock jumps back', async () => {
    const { reporter, pairs, advance } = setup({ noticeIntervalMs: 60_000 });
    reporter.callEnded(ended('alice', 'bob'));
    advance(-3_600_000);
    reporter.callEnded(ended('alice', 'bob'));
    advance(30_000);
    reporter.callEnded(ended('alice', 'bob'));
    await reporter.settled();
    // One extra notice at the jump, then throttled again from the new time.
    expect(pairs()).toEqual(['alice→bob', 'alice→bob']);
  });

  it('keeps pairs apart whatever characters the accounts contain', async () => {
    const { reporter, pairs } = setup();
    reporter.callEnded(ended('a,b', 'c'));
    reporter.callEnded(ended('a', 'b,c'));
    reporter.callEnded(ended('__proto__', 'constructor'));
    reporter.callEnded(ended('__proto__', 'constructor'));
    await reporter.settled();
    expect(pairs()).toEqual(['a,b→c', 'a→b,c', '__proto__→constructor']);
  });

  it('returns before the notice is sent, and never throws, whatever the clock or notifier do', async () => {
    let release: (result: NotifyResult) => void = () => undefined;
    const notifier: Notifier = { missedCall: () => new Promise((resolve) => (release = resolve)) };
    const log = { info: jest.fn(), warn: jest.fn() };
    const history = new MemoryCallHistory();
    const reporter = createCallEndReporter({ history, notifier, log });
    const record = ended('alice', 'bob');
    reporter.callEnded(record);
    // Recorded at once, while WeChat has not answered yet.
    expect(history.list('bob')).toEqual([record]);
    let settled = false;
    const done = reporter.settled().then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    release({ status: 'sent' });
    await done;
    expect(settled).toBe(true);

    const broken = createCallEndReporter({
      history,
      notifier,
      log,
      now: () => {
        throw new Error('clock broke');
      },
    });
    expect(() => broken.callEnded(ended('carol', 'bob'))).not.toThrow();
    await broken.settled();
    expect(log.warn).toHaveBeenCalledWith(expect.anything(), expect.stringContaining('bad entry'));
    expect(history.list('bob')).toHaveLength(2);
  });

  it('refuses a negative or non-numeric interval at start-up', () => {
    const base = { history: new MemoryCallHistory(), log: { info: jest.fn(), warn: jest.fn() } };
    expect(() => createCallEndReporter({ ...base, noticeIntervalMs: -1 })).toThrow(RangeError);
    expect(() => createCallEndReporter({ ...base, noticeIntervalMs: NaN })).toThrow(RangeError);
    expect(() => createCallEndReporter({ ...base, noticeIntervalMs: 0 })).not.toThrow();
  });
});
