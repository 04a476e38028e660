/**
 * Records every event of any `NetcallLike`, so a contract test can await an event that already arrived and
 * check the order events came in, whichever engine is underneath.
 */
import type { NetcallEvents, NetcallLike } from '../../services/netcall';

export const RECORDED: (keyof NetcallEvents)[] = [
  'beCalling',
  'callAccepted',
  'callRejected',
  'callerAckSync',
  'hangup',
  'control',
  'syncDone',
  'clientJoin',
  'clientLeave',
  'joinChannel',
  'leaveChannel',
  'kicked',
  'tokenWillExpire',
  'willreconnect',
  'reconnected',
  'callLost',
  'roomRejoined',
  'disconnect',
  'error',
];

export interface Recorded<T extends NetcallLike = NetcallLike> {
  netcall: T;
  account: string;
  /** The next payload of `event` not yet taken (one already received, or the next to arrive). */
  next<K extends keyof NetcallEvents>(event: K, timeoutMs?: number): Promise<NetcallEvents[K]>;
  seen<K extends keyof NetcallEvents>(event: K): NetcallEvents[K][];
  /** Every event in arrival order. */
  order: { event: keyof NetcallEvents; payload: unknown }[];
}

export function record<T extends NetcallLike>(netcall: T): Recorded<T> {
  const log = new Map<keyof NetcallEvents, unknown[]>();
  const cursor = new Map<keyof NetcallEvents, number>();
  const waiters = new Map<keyof NetcallEvents, ((payload: unknown) => void)[]>();
  const order: Recorded['order'] = [];
  for (const event of RECORDED) {
    log.set(event, []);
    netcall.on(event, (payload: unknown) => {
      log.get(event)!.push(payload);
      order.push({ event, payload });
      const waiter = waiters.get(event)?.shift();
      if (waiter) {
        cursor.set(event, (cursor.get(event) ?? 0) + 1);
        waiter(payload);
      }
    });
  }
  return {
    netcall,
    account: netcall.account,
    order,
    seen: (event) => log.get(event) as never,
    next: (event, timeoutMs = 5000) => {
      const index = cursor.get(event) ?? 0;
      const list = log.get(event)!;
      if (index < list.length) {
        cursor.set(event, index + 1);
        return Promise.resolve(list[index] as never);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${netcall.account}: no "${String(event)}" within ${timeoutMs} ms`)),
          timeoutMs,
        );
        const queue = waiters.get(event) ?? [];
        queue.push((payload) => {
          clearTimeout(timer);
          resolve(payload as never);
        });
        waiters.set(event, queue);
      });
    },
  };
}
