/**
 * The call-history record: its shape, the storage interface, and the pure helpers around it (build a record
 * from an ended call, view it from one party's side). No storage and no I/O here.
 */
import type { CallType } from '../../services/protocol';

/**
 * How a call ended, from the call's point of view (not a party's):
 * - `completed`: answered, then someone hung up (or dropped) after media could flow;
 * - `missed`: rang, nobody answered (ring timeout, or every callee device went away);
 * - `rejected`: the callee declined (response `accepted: false`, or hangup while ringing);
 * - `busy`: the callee could not take it (already in a call);
 * - `canceled`: the caller gave up while it was ringing;
 * - `failed`: the caller's side broke before an answer (its socket dropped, a server error).
 */
export type CallOutcome = 'completed' | 'missed' | 'rejected' | 'busy' | 'canceled' | 'failed';

export const CALL_OUTCOMES: readonly CallOutcome[] = [
  'completed',
  'missed',
  'rejected',
  'busy',
  'canceled',
  'failed',
];

export interface CallRecord {
  cid: string;
  caller: string;
  callee: string;
  type: CallType;
  /** ms epoch of `call()`. */
  startedAt: number;
  /** ms epoch of the accepting `response`, or null if never answered. */
  answeredAt: number | null;
  /** ms epoch of the end. */
  endedAt: number;
  /** Whole seconds from answer to end; 0 when never answered. */
  duration: number;
  outcome: CallOutcome;
  /** Account whose action (or dropped connection) ended the call; '' when the server ended it (timeout). */
  endedBy: string;
}

/**
 * A copy of `entry` with exactly the record's fields, listed one by one: a caller-supplied object with extra
 * keys must not leak them into a file or a shared store.
 */
export function recordFields(entry: CallRecord): CallRecord {
  return {
    cid: entry.cid,
    caller: entry.caller,
    callee: entry.callee,
    type: entry.type,
    startedAt: entry.startedAt,
    answeredAt: entry.answeredAt,
    endedAt: entry.endedAt,
    duration: entry.duration,
    outcome: entry.outcome,
    endedBy: entry.endedBy,
  };
}

/** A record as one party sees it. */
export interface CallView extends CallRecord {
  direction: 'outgoing' | 'incoming';
  /** The other party. */
  peer: string;
}

/**
 * Where records live. Methods may be sync or async so a Redis implementation fits the same interface;
 * callers always `await` (or go through `createCallEndReporter`, which never throws).
 */
export interface CallHistory {
  /** Stores a finished call for both caller and callee. Recording the same cid again replaces it. */
  record(entry: CallRecord): void | Promise<void>;
  /** The account's calls, newest first (by `startedAt`), at most `limit`. */
  list(account: string, limit?: number): CallRecord[] | Promise<CallRecord[]>;
}

/** The record from `account`'s side; null if `account` took no part in it. */
export function viewFor(account: string, entry: CallRecord): CallView | null {
  if (account === entry.caller) return { ...entry, direction: 'outgoing', peer: entry.callee };
  if (account === entry.callee) return { ...entry, direction: 'incoming', peer: entry.caller };
  return null;
}

/**
 * Whether the callee should get a missed-call notice: it rang and nobody picked up. `canceled` counts
 * too, because from the callee's side a call the caller gave up on is a call they missed (WeChat and phone
 * dialers show it that way); `rejected`/`busy` do not, the callee (or its state) chose.
 */
export function isMissedByCallee(entry: Pick<CallRecord, 'outcome'>): boolean {
  return entry.outcome === 'missed' || entry.outcome === 'canceled';
}

/** The fields of the server's CallState this module reads; structural, so store/ stays free to change. */
export interface EndedCallLike {
  cid: string;
  caller: string;
  callee: string;
  type: CallType;
  // A string, not store/'s CallPhase: only 'accepted' matters here, so new phases need no change.
  phase: string;
  /** `call()` time; the store's `createdAt`. */
  createdAt: number;
  /** Set by the handler when the callee accepts. Absent/null means "never answered". */
  answeredAt?: number | null;
}

/**
 * Builds the record for a call that just ended. Without an explicit `outcome` it is inferred from the phase:
 * accepted → completed; ringing and the caller ended it → canceled; ringing and the callee ended it →
 * rejected; ringing and the server ended it (`endedBy: ''`) → missed. Pass `outcome` where the handler knows
 * better (ring timeout → missed, callee busy → busy, caller's socket dropped while ringing → failed).
 */
export function callRecordFrom(
  call: EndedCallLike,
  end: { endedBy: string; endedAt: number; outcome?: CallOutcome },
): CallRecord {
  const answeredAt = call.phase === 'accepted' ? (call.answeredAt ?? null) : null;
  const inferred: CallOutcome =
    call.phase === 'accepted'
      ? 'completed'
      : end.endedBy === call.caller
        ? 'canceled'
        : end.endedBy === call.callee
          ? 'rejected'
          : 'missed';
  return {
    cid: call.cid,
    caller: call.caller,
    callee: call.callee,
    type: call.type,
    startedAt: call.createdAt,
    answeredAt,
    endedAt: end.endedAt,
    // Billing-style seconds: rounded down, and never negative if clocks disagree.
    duration: answeredAt === null ? 0 : Math.max(0, Math.floor((end.endedAt - answeredAt) / 1000)),
    outcome: end.outcome ?? inferred,
    endedBy: end.endedBy,
  };
}
