/**
 * The one hook signalling calls when a call ends: store the record, and send the callee a missed-call notice
 * when it rang unanswered. Fire-and-forget on purpose: it never throws, never rejects and never delays
 * signalling; history or WeChat being slow or down only costs a log line.
 */
import { noopNotifier, type Notifier, type NotifyLog } from '../notify';
import { isMissedByCallee, type CallHistory, type CallRecord } from './record';

export interface CallEndReporterOptions {
  history: CallHistory;
  /** Default: no notices. */
  notifier?: Notifier;
  log: NotifyLog;
}

export interface CallEndReporter {
  /** Records `entry` and maybe notifies. Returns at once; never throws. */
  callEnded(entry: CallRecord): void;
  /** Resolves once everything started so far has settled; for tests and graceful shutdown. */
  settled(): Promise<void>;
}

export function createCallEndReporter(options: CallEndReporterOptions): CallEndReporter {
  const { history, log } = options;
  const notifier = options.notifier ?? noopNotifier;
  const inFlight = new Set<Promise<void>>();

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
        if (isMissedByCallee(snapshot))
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
      } catch (error) {
        // Only a hostile `entry` (a throwing getter) gets here; signalling still must not see it.
        log.warn({ err: error instanceof Error ? error.message : String(error) }, 'call history: bad entry');
      }
    },
    async settled() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}
