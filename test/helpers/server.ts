/**
 * Shared integration helpers: the real server in-process on port 0 and real `Netcall` clients over `ws`.
 */
import { startServer, mintToken, type RunningServer, type ServerOptions } from '../../server';
import { MediaRoster } from '../../services/media';
import { Netcall } from '../../services/netcall';
import type { NetcallEvents } from '../../services/netcall';
import { record } from './recorder';
import { wsConnectSocket } from './ws-socket';

export const TEST_SECRET = 'test-secret-0123456789-0123456789-abcdef';
export const TEST_MEDIA_SECRET = 'test-media-secret-0123456789-0123456789-abcdef';

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

/** A client that records every event, so a test can await one that already arrived. */
export function createClient(server: RunningServer, account: string, token?: string): TestClient {
  const client = new Netcall({
    server: server.url,
    account,
    token: token ?? mintToken(TEST_SECRET, account),
    connectSocket: wsConnectSocket,
  }) as TestClient;
  const recorded = record(client);
  client.next = recorded.next;
  client.seen = recorded.seen;
  return client;
}

export async function connectClient(server: RunningServer, account: string): Promise<TestClient> {
  const client = createClient(server, account);
  await client.connect();
  return client;
}

/**
 * Dials, answers, and starts RTC on both sides (callee first); returns the call and the rosters that hold each
 * side's URLs. Every event of the setup is taken, so `next()` afterwards waits for what comes after it.
 */
export async function establishCall(a: TestClient, b: TestClient, type: 1 | 2 = 2) {
  const rosterA = new MediaRoster(a);
  const rosterB = new MediaRoster(b);
  const { cid, accountUidMap } = await a.call({ type, callee: b.account });
  const ringing = await b.next('beCalling');
  expect(ringing).toMatchObject({ caller: a.account, type, cid });
  await b.response({ accepted: true, caller: ringing.caller, type: ringing.type, cid: ringing.cid });
  await a.next('callAccepted');
  const selfB = await b.startRtc({ mode: 0 });
  rosterB.setSelf(selfB);
  const selfA = await a.startRtc({ mode: 0 });
  rosterA.setSelf(selfA);
  await Promise.all([a.next('syncDone'), b.next('syncDone'), b.next('clientJoin')]);
  return { cid, accountUidMap, rosterA, rosterB, selfA, selfB };
}
