/**
 * The one hook signalling calls when a call ends: store the record, and send the callee a missed-call notice
 * when it rang unanswered. Fire-and-forget on purpose: it never throws, never rejects and never delays
 * signalling; history or WeChat being slow or down only costs a log line.
 * Notices are throttled per caller→callee pair: a caller who rings and cancels in a loop must not turn the
 * callee's phone into a pager (nor spend the app's subscribe-message quota). The throttle forgets a pair once
 * its interval has passed, so its memory is bounded by the pairs notified within one interval.
 */
import { noopNotifier, type Notifier, type NotifyLog } from '../notify';
import { isMissedByCallee, type CallHistory, type CallRecord } from './record';

export interface CallEndReporterOptions {
  history: CallHistory;
  /** Default: no notices. */
  notifier?: Notifier;
  log: NotifyLog;
  /**
   * At most one missed-call notice per caller→callee pair within this many ms, counted from the last notice
   * sent; further missed calls are still recorded. Default 10 minutes; 0 sends one per missed call.
   */
  noticeIntervalMs?: number;
  /** Clock for the notice throttle (ms); tests move it. Default `Date.now`. */
  now?: () => number;
}

export const DEFAULT_NOTICE_INTERVAL_MS = 10 * 60 * 1000;

export interface CallEndReporter {
  /** Records `entry` and maybe notifies. Returns at once; never throws. */
  callEnded(entry: CallRecord): void;
  /** Resolves once everything started so far has settled; for tests and graceful shutdown. */
  settled(): Promise<void>;
  /** Caller→callee pairs the notice throttle currently remembers; for stats and tests. */
  throttledPairs(): number;
}

export function createCallEndReporter(options: CallEndReporterOptions): CallEndReporter {
  const { history, log } = options;
  const notifier = options.notifier ?? noopNotifier;
  const inFlight = new Set<Promise<void>>();
  const intervalMs = options.noticeIntervalMs ?? DEFAULT_NOTICE_INTERVAL_MS;
  if (!(intervalMs >= 0 && intervalMs <= Number.MAX_SAFE_INTEGER))
    throw new RangeError(`createCallEndReporter: noticeIntervalMs must be >= 0, got ${intervalMs}`);
  const now = options.now ?? Date.now;
  // Last notice per pair. Re-set on every notice, so insertion order is notice order and the stale pairs
  // are always at the front.
  const lastNotice = new Map<string, number>();

  /** Whether `caller` may cause `callee` a notice now; if so, counts it. */
  const noticeAllowed = (caller: string, callee: string): boolean => {
    if (intervalMs === 0) return true;
    const at = now();
    // A clock that jumped back makes every mark look recent: those are dropped too (at worst one extra notice).
    const stale = (mark: number) => at - mark >= intervalMs || mark > at;
    for (const [key, mark] of lastNotice) {
      if (!stale(mark)) break;
      lastNotice.delete(key);
    }
    // JSON of the pair: unambiguous whatever characters accounts contain.
    const key = JSON.stringify([caller, callee]);
    const mark = lastNotice.get(key);
    if (mark !== undefined && !stale(mark)) return false;
    lastNotice.delete(key);
    lastNotice.set(key, at);
    return true;
  };

  const track = (work: () => unknown, what: string, entry: CallRecord) => {
    const fail = (error: unknown) =>
      log.warn({ cid: entry.cid, err: error instanceof Error ? error.message : String(error) }, what);
    // Started synchronously, so a memory history holds the record as soon as `callEnded` returns.
    let started: unknown;
    try {
      started = work();
    } catch (error) {
      fail(error);
      return;
    }
    const job = Promise.resolve(started).then(() => undefined, fail);
    inFlight.add(job);
    void job.finally(() => inFlight.delete(job));
  };

  return {
    callEnded(entry) {
      try {
        const snapshot: CallRecord = { ...entry };
        track(() => history.record(snapshot), 'call history: record failed', snapshot);
        if (isMissedByCallee(snapshot)) {
          if (noticeAllowed(snapshot.caller, snapshot.callee))
            track(
              () =>
                notifier.missedCall({
                  callee: snapshot.callee,
                  caller: snapshot.caller,
                  type: snapshot.type,
                  cid: snapshot.cid,
                  at: snapshot.startedAt,
                }),
              'missed-call notice failed',
              snapshot,
            );
          else
            log.info(
              { cid: snapshot.cid },
              'missed-call notice throttled (same caller, within the interval)',
            );
        }
      } catch (error) {
        // Only a hostile `entry` (a throwing getter) gets here; signalling still must not see it.
        log.warn({ err: error instanceof Error ? error.message : String(error) }, 'call history: bad entry');
      }
    },
    throttledPairs: () => lastNotice.size,
    async settled() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}
