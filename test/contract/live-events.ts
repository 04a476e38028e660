/**
 * Records the interactive-live events of any `NetcallLike` (the shared recorder, test/helpers/recorder.ts,
 * lists the call and room events), so a test can await one that already arrived (`next`) or check what arrived
 * (`seen`), with the time each came.
 */
import type { NetcallEvents, NetcallLike } from '../../services/netcall';

export const LIVE_EVENTS = [
  'coHostRequest',
  'coHostResponse',
  'coHostInvite',
  'coHostInviteResponse',
  'coHostRemoved',
  'roomMessage',
  'audienceCount',
  'liveRoomClose',
  'liveStreamMoved',
  'liveSummary',
] as const;
export type LiveEventName = (typeof LIVE_EVENTS)[number];

export interface LiveRecorded {
  /** The next payload of `event` not yet taken (one already received, or the next to arrive). */
  next<K extends LiveEventName>(event: K, timeoutMs?: number): Promise<NetcallEvents[K]>;
  seen<K extends LiveEventName>(event: K): NetcallEvents[K][];
  /** When each `event` arrived (Date.now()), in order. */
  times(event: LiveEventName): number[];
}

export function recordLive(netcall: NetcallLike): LiveRecorded {
  const log = new Map<LiveEventName, { at: number; payload: unknown }[]>();
  const taken = new Map<LiveEventName, number>();
  const waiters = new Map<LiveEventName, (() => void)[]>();
  for (const event of LIVE_EVENTS) {
    log.set(event, []);
    taken.set(event, 0);
    netcall.on(event, (payload: unknown) => {
      log.get(event)!.push({ at: Date.now(), payload });
      for (const wake of waiters.get(event)?.splice(0) ?? []) wake();
    });
  }
  return {
    seen: (event) => log.get(event)!.map((entry) => entry.payload) as never,
    times: (event) => log.get(event)!.map((entry) => entry.at),
    next: (event, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const take = (): boolean => {
          const index = taken.get(event)!;
          const entry = log.get(event)![index];
          if (!entry) return false;
          taken.set(event, index + 1);
          resolve(entry.payload as never);
          return true;
        };
        if (take()) return;
        const timer = setTimeout(
          () => reject(new Error(`${netcall.account}: no ${event} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        const wait = () => {
          if (take()) clearTimeout(timer);
          else waiters.set(event, [...(waiters.get(event) ?? []), wait]);
        };
        waiters.set(event, [...(waiters.get(event) ?? []), wait]);
      }),
  };
}
