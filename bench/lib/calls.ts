/**
 * Two real `Netcall` clients against the real server (in-process or its own process), with a
 * MediaRoster on each side, wired the way the README tells an app to: the caller starts RTC on
 * `callAccepted`, the callee after its `response`. Used by the call-setup, first-frame and media-capacity
 * benchmarks.
 */
import { MediaRoster } from '../../services/media';
import type { Netcall } from '../../services/netcall';
import { connectClient, type SignallingAt } from '../../test/helpers/server';
import { whenComplete } from './roster';

/**
 * Latency, not abuse, is what the call benchmarks measure: 210 calls back to back on one pair would trip the per-pair call limit
 * and, on a fast machine, the request rate (each call is several requests). The limits' own tests
 * (test/integration/abuse.test.ts, test/process/flood.test.ts) keep proving they refuse real floods.
 */
export const LATENCY_ONLY = {
  maxRequestsPerSecond: 1_000_000,
  requestBurst: 1_000_000,
  maxCallsPerPairPerMinute: 1_000_000,
};

export interface Pair {
  caller: Netcall;
  callee: Netcall;
  callerRoster: MediaRoster;
  calleeRoster: MediaRoster;
  /** Dials and resolves once both rosters hold a pusher URL and the peer's player URL. */
  establish(timeoutMs?: number): Promise<void>;
  /** Hangs up from the caller and resolves once the callee has seen it (both rosters empty). */
  hangup(): Promise<void>;
  close(): void;
}

let pairs = 0;

/**
 * `server`: in-process (a RunningServer) or its own process (a CLI), anything with a signalling URL. The callee
 * logs in at `calleeAt` (another node of a cluster), else at the same server.
 */
export async function connectPair(server: SignallingAt, calleeAt: SignallingAt = server): Promise<Pair> {
  pairs++;
  const caller = await connectClient(server, `bench-caller-${pairs}`);
  const callee = await connectClient(calleeAt, `bench-callee-${pairs}`);
  const callerRoster = new MediaRoster(caller);
  const calleeRoster = new MediaRoster(callee);
  const failures: unknown[] = [];
  caller.on('callAccepted', () => {
    caller.startRtc({ mode: 0 }).then(
      (self) => callerRoster.setSelf(self),
      (error) => failures.push(error),
    );
  });
  callee.on('beCalling', ({ caller: account, type, cid }) => {
    callee
      .response({ accepted: true, caller: account, type, cid })
      .then(() => callee.startRtc({ mode: 0 }))
      .then(
        (self) => calleeRoster.setSelf(self),
        (error) => failures.push(error),
      );
  });

  return {
    caller,
    callee,
    callerRoster,
    calleeRoster,
    async establish(timeoutMs = 5000) {
      const ready = Promise.all([whenComplete(callerRoster), whenComplete(calleeRoster)]);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`call not set up within ${timeoutMs} ms ${failures.map(String).join('; ')}`)),
          timeoutMs,
        );
      });
      try {
        await Promise.race([caller.call({ type: 2, callee: callee.account }).then(() => ready), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async hangup() {
      const seen = new Promise<void>((resolve) => {
        const listener = () => {
          callee.off('hangup', listener);
          resolve();
        };
        callee.on('hangup', listener);
      });
      await caller.hangup();
      // Your own hangup is not echoed back (README): the caller's roster is cleared by hand.
      callerRoster.clear();
      await seen;
    },
    close() {
      callerRoster.dispose();
      calleeRoster.dispose();
      caller.close();
      callee.close();
    },
  };
}
