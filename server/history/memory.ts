/**
 * In-memory call history: each account keeps its most recent calls, newest first. Plain data, no timers, no I/O.
 * MEMORY ONLY: everything here is lost when the process restarts. `FileCallHistory` (file.ts) puts an
 * append-only log under this index; `RedisCallHistory` (redis.ts) is the answer for several server processes.
 * The retention rules below live in `retainInto` alone, which every CallHistory applies, so the stores differ
 * only in where the lists are kept.
 *
 * Retention resists floods. Anyone can ring an account and cancel at once, as often as they like, and each
 * such call is a record in the callee's history; with plain "newest N" retention a caller ringing 50 times
 * would push every real call out. So:
 * - unanswered records (any outcome but `completed`) with one peer keep only the newest `unansweredPerPeer`
 *   slots of an account: a flooding peer only ever replaces its own earlier noise;
 * - at the per-account cap the oldest *unanswered* record goes first; answered calls (which need both
 *   parties, so nobody can flood them alone) go only when nothing else is left.
 * Keys are account names, which come from users: Maps only, so `__proto__` or `constructor` are plain data.
 */
import type { CallHistory, CallRecord } from './record';

export interface MemoryCallHistoryOptions {
  /** Calls kept per account; at the cap unanswered ones are dropped before answered ones. Default 50. */
  perAccount?: number;
  /** Unanswered calls (outcome ≠ completed) kept per account and peer, newest first. Default 5. */
  unansweredPerPeer?: number;
}

/** A stored record and the parties whose histories still hold it (retention may drop it from one side). */
export interface RetainedRecord {
  record: CallRecord;
  accounts: string[];
}

/** One stored record, shared by the caller's and the callee's lists; `seq` is the order it was recorded in. */
interface Stored {
  readonly record: Readonly<CallRecord>;
  readonly seq: number;
}

const storedRecord = (stored: Stored) => stored.record;
const answered = (entry: Pick<CallRecord, 'outcome'>) => entry.outcome === 'completed';
const peerOf = (account: string, entry: CallRecord) =>
  entry.caller === account ? entry.callee : entry.caller;

/** The caps every CallHistory applies, checked and defaulted once. */
export interface RetentionLimits {
  readonly perAccount: number;
  readonly unansweredPerPeer: number;
}

/** `options` checked, with the defaults filled in; `owner` names the class in the error. */
export function retentionLimits(
  options: MemoryCallHistoryOptions,
  owner = 'MemoryCallHistory',
): RetentionLimits {
  const positiveInteger = (name: string, value: number): number => {
    if (!Number.isInteger(value) || value < 1)
      throw new RangeError(`${owner}: ${name} must be a positive integer, got ${value}`);
    return value;
  };
  return {
    perAccount: positiveInteger('perAccount', options.perAccount ?? 50),
    unansweredPerPeer: positiveInteger('unansweredPerPeer', options.unansweredPerPeer ?? 5),
  };
}

/**
 * `account`'s list (newest first) once `item` is recorded in it: an older item with the same cid is replaced,
 * `item` goes in by `startedAt` (before items that started at the same time: it was recorded later), then the
 * retention rules of this module's header. Pure: a new array, `list` is left as it was. Generic over what a
 * store keeps per record (`recordOf` reads the record out), so memory and Redis share these rules verbatim.
 */
export function retainInto<T>(
  list: readonly T[],
  item: T,
  account: string,
  limits: RetentionLimits,
  recordOf: (item: T) => Readonly<CallRecord>,
): T[] {
  const entry = recordOf(item);
  // A cid recorded twice (e.g. an end path that runs twice during a drop) replaces, never duplicates.
  const next = list.filter((old) => recordOf(old).cid !== entry.cid);
  // Records usually arrive newest already, so this stops at index 0.
  let at = 0;
  while (at < next.length && recordOf(next[at]).startedAt > entry.startedAt) at++;
  next.splice(at, 0, item);
  if (!answered(entry)) {
    const peer = peerOf(account, entry);
    let kept = 0;
    for (let i = 0; i < next.length; i++) {
      const old = recordOf(next[i]);
      if (answered(old) || peerOf(account, old) !== peer) continue;
      if (++kept > limits.unansweredPerPeer) next.splice(i--, 1);
    }
  }
  while (next.length > limits.perAccount) {
    let oldestUnanswered = next.length - 1;
    while (oldestUnanswered >= 0 && answered(recordOf(next[oldestUnanswered]))) oldestUnanswered--;
    next.splice(oldestUnanswered >= 0 ? oldestUnanswered : next.length - 1, 1);
  }
  return next;
}

/** Memory only: every record is lost on restart. Use `FileCallHistory` to keep them. */
export class MemoryCallHistory implements CallHistory {
  readonly perAccount: number;
  readonly unansweredPerPeer: number;
  private readonly limits: RetentionLimits;
  // The caller's and the callee's lists hold the same (frozen) record objects, so they can never diverge.
  private readonly byAccount = new Map<string, Stored[]>();
  private seq = 0;

  constructor(options: MemoryCallHistoryOptions = {}) {
    this.limits = retentionLimits(options);
    this.perAccount = this.limits.perAccount;
    this.unansweredPerPeer = this.limits.unansweredPerPeer;
  }

  record(entry: CallRecord): void {
    this.recordFor(entry, [entry.caller, entry.callee]);
  }

  /**
   * Stores `entry` in the histories of only those `accounts` that took part in it; for a log that replays
   * what `retained()` listed (a record retention had dropped from one side must not come back there).
   */
  recordFor(entry: CallRecord, accounts: Iterable<string>): void {
    const stored: Stored = { record: Object.freeze({ ...entry }), seq: ++this.seq };
    for (const account of new Set(accounts))
      if (account === entry.caller || account === entry.callee) this.insert(account, stored);
  }

  list(account: string, limit = this.perAccount): CallRecord[] {
    // Copies: a reader (the HTTP route adds `direction`/`peer`) must not be able to edit what is stored.
    return (this.byAccount.get(account) ?? [])
      .slice(0, Math.max(0, limit))
      .map((stored) => ({ ...stored.record }));
  }

  /** Accounts with at least one record; for /healthz-style stats. */
  accountCount(): number {
    return this.byAccount.size;
  }

  /**
   * Every record still held by some account, each once, in the order they were recorded. Replaying them in
   * this order with `recordFor` rebuilds exactly these lists: each list only ever gets a subset of what it
   * holds now, which is within the caps, so nothing is evicted, and ties in `startedAt` keep their order.
   */
  retained(): RetainedRecord[] {
    const holders = new Map<Stored, string[]>();
    for (const [account, list] of this.byAccount)
      for (const stored of list) {
        const accounts = holders.get(stored);
        if (accounts) accounts.push(account);
        else holders.set(stored, [account]);
      }
    return [...holders]
      .sort(([a], [b]) => a.seq - b.seq)
      .map(([stored, accounts]) => ({ record: { ...stored.record }, accounts }));
  }

  private insert(account: string, stored: Stored): void {
    const list = this.byAccount.get(account) ?? [];
    this.byAccount.set(account, retainInto(list, stored, account, this.limits, storedRecord));
  }
}
