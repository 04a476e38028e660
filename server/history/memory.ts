/**
 * In-process call history: each account keeps its most recent calls, newest first. Plain data, no timers,
 * no I/O; it forgets everything on restart (a Redis/SQL CallHistory is the production answer).
 */
import type { CallHistory, CallRecord } from './record';

export interface MemoryCallHistoryOptions {
  /** Calls kept per account; older ones fall off. Default 50. */
  perAccount?: number;
}

export class MemoryCallHistory implements CallHistory {
  readonly perAccount: number;
  // One list per account holding the same (frozen) record objects, so caller and callee can never diverge.
  private readonly byAccount = new Map<string, CallRecord[]>();

  constructor(options: MemoryCallHistoryOptions = {}) {
    const perAccount = options.perAccount ?? 50;
    if (!Number.isInteger(perAccount) || perAccount < 1)
      throw new RangeError(`MemoryCallHistory: perAccount must be a positive integer, got ${perAccount}`);
    this.perAccount = perAccount;
  }

  record(entry: CallRecord): void {
    const frozen = Object.freeze({ ...entry });
    for (const account of new Set([entry.caller, entry.callee])) this.insert(account, frozen);
  }

  list(account: string, limit = this.perAccount): CallRecord[] {
    // Copies: a reader (the HTTP route adds `direction`/`peer`) must not be able to edit what is stored.
    return (this.byAccount.get(account) ?? []).slice(0, Math.max(0, limit)).map((entry) => ({ ...entry }));
  }

  /** Accounts with at least one record; for /healthz-style stats. */
  accountCount(): number {
    return this.byAccount.size;
  }

  private insert(account: string, entry: CallRecord): void {
    // A cid recorded twice (e.g. an end path that runs twice during a drop) replaces, never duplicates.
    const list = (this.byAccount.get(account) ?? []).filter((old) => old.cid !== entry.cid);
    // Ordered by call start; records usually arrive newest already, so this stops at index 0. Ties go to
    // the later-recorded one.
    let at = 0;
    while (at < list.length && list[at].startedAt > entry.startedAt) at++;
    list.splice(at, 0, entry);
    if (list.length > this.perAccount) list.length = this.perAccount;
    this.byAccount.set(account, list);
  }
}
