/**
 * Shared integration helpers: the real server in-process on port 0 and real `Netcall` clients over `ws`.
 */
import { startServer, mintToken, type RunningServer, type ServerOptions } from '../../server';
import { Netcall } from '../../services/netcall';
import type { NetcallEvents } from '../../services/netcall';
import { wsConnectSocket } from './ws-socket';

export const TEST_SECRET = 'test-secret-0123456789';
export const TEST_MEDIA_SECRET = 'test-media-secret-0123456789';

export function startTestServer(options: ServerOptions = {}): Promise<RunningServer> {
  return startServer({
    port: 0,
    rtmpPort: 0,
    mediaHttpPort: 0,
    secret: TEST_SECRET,
    mediaSecret: TEST_MEDIA_SECRET,
    logLevel: 'silent',
    ...options,
  });
}

export interface TestClient extends Netcall {
  /** Resolves with the next payload of `event` (or one already received and not yet taken). */
  next<K extends keyof NetcallEvents>(event: K, timeoutMs?: number): Promise<NetcallEvents[K]>;
  /** Every payload of `event` received so far. */
  seen<K extends keyof NetcallEvents>(event: K): NetcallEvents[K][];
}

const RECORDED: (keyof NetcallEvents)[] = [
  'beCalling',
  'callAccepted',
  'callRejected',
  'callerAckSync',
  'hangup',
  'control',
  'syncDone',
  'clientJoin',
  'clientLeave',
  'disconnect',
  'error',
];

/** A client that records every event, so a test can await one that already arrived. */
export function createClient(server: RunningServer, account: string, token?: string): TestClient {
  const client = new Netcall({
    server: server.url,
    account,
    token: token ?? mintToken(TEST_SECRET, account),
    connectSocket: wsConnectSocket,
  }) as TestClient;
  const log = new Map<keyof NetcallEvents, unknown[]>();
  const cursor = new Map<keyof NetcallEvents, number>();
  const waiters = new Map<keyof NetcallEvents, ((payload: unknown) => void)[]>();
  for (const event of RECORDED) {
    log.set(event, []);
    client.on(event, (payload: unknown) => {
      log.get(event)!.push(payload);
      const waiter = waiters.get(event)?.shift();
      if (waiter) {
        cursor.set(event, (cursor.get(event) ?? 0) + 1);
        waiter(payload);
      }
    });
  }
  client.seen = (event) => log.get(event) as never;
  client.next = (event, timeoutMs = 5000) => {
    const index = cursor.get(event) ?? 0;
    const list = log.get(event)!;
    if (index < list.length) {
      cursor.set(event, index + 1);
      return Promise.resolve(list[index] as never);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${account}: no "${String(event)}" within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const list2 = waiters.get(event) ?? [];
      list2.push((payload) => {
        clearTimeout(timer);
        resolve(payload as never);
      });
      waiters.set(event, list2);
    });
  };
  return client;
}

export async function connectClient(server: RunningServer, account: string): Promise<TestClient> {
  const client = createClient(server, account);
  await client.connect();
  return client;
}

/** Resolves after `ms`; used only to prove that something does NOT arrive. */
export const quiet = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms));
