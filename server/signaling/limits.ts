/**
 * The signalling server's abuse limits as small, clock-injected counters: a token bucket for requests per
 * connection, and a sliding count of events per key (calls per caller→callee pair per minute). Plain data and
 * Maps only: keys come from users, so they are never used as plain-object properties.
 */

export interface SignalingLimits {
  /** Sustained requests per connection per second (token-bucket refill rate). Default 50. */
  maxRequestsPerSecond: number;
  /** Requests a connection may send at once before the rate applies (bucket size). Default 100. */
  requestBurst: number;
  /** A connection whose unsent output exceeds this (it does not read) is closed. Default 1 MiB. */
  maxBufferedBytes: number;
  /** Concurrent signalling connections per client address. Default 100. */
  maxConnectionsPerIp: number;
  /** Concurrent logged-in devices per account; one more gets 429 on login. Default 10. */
  maxDevicesPerAccount: number;
  /** An unanswered call ends for both sides with reason `timeout` after this (ms). Default 60 s. */
  ringTimeoutMs: number;
  /** Calls one account may have ringing at once; one more gets 429. Default 3. */
  maxRingingPerCaller: number;
  /** Calls from one account to another per minute; one more gets 429. Default 10. */
  maxCallsPerPairPerMinute: number;
}

/** setTimeout fires at once for longer delays (~24.8 days): every timer of ours stays within it. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const DEFAULT_LIMITS: SignalingLimits = {
  maxRequestsPerSecond: 50,
  requestBurst: 100,
  maxBufferedBytes: 1024 * 1024,
  maxConnectionsPerIp: 100,
  maxDevicesPerAccount: 10,
  ringTimeoutMs: 60_000,
  maxRingingPerCaller: 3,
  maxCallsPerPairPerMinute: 10,
};

/**
 * Classic token bucket: `burst` tokens, refilled at `rate` per second. A burst lets a client catch up after a
 * reconnect (login, rejoin, queued controls) while the rate still bounds a flood.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  take(now: number): boolean {
    // A wall clock stepped back must not drain the bucket (and cut every client with 4429).
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
