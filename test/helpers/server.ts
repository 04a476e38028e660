/**
 * Shared integration helpers: the real server in-process on port 0, real `Netcall` clients over `ws` (closed by
 * `closeClients()` after each test, so a failed assertion leaves nothing reconnecting), a call set up the way an
 * app sets it up, and the call history as `GET /api/calls` serves it.
 */
import { startServer, mintToken, type RunningServer, type ServerOptions } from '../../server/index';
import type { CallView } from '../../server/history';
import { MediaRoster } from '../../services/media';
import { Netcall, type NetcallOptions } from '../../services/netcall';
import { record, type Recorded } from './recorder';
import { eventuallyValue } from './wait';
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

/**
 * A `Netcall` that records every event, so a test can await one that already arrived (`next`) or check what
 * arrived (`seen`). It is its own `Recorded` (`netcall` is itself), so the engine-generic helpers take it too.
 */
export type TestClient = Netcall & Recorded<Netcall>;

/** A server, a CLI, or anything else with a signalling URL. */
export type SignallingAt = string | { url: string };

const open = new Set<Netcall>();

/**
 * A recording client of `account` at `at`, with a token minted for it unless `options` gives one; `options`
 * may set any other Netcall option too. Not connected yet.
 */
export function createClient(
  at: SignallingAt,
  account: string,
  options: Partial<NetcallOptions> = {},
): TestClient {
  const client = new Netcall({
    server: typeof at === 'string' ? at : at.url,
    account,
    token: mintToken(TEST_SECRET, account),
    connectSocket: wsConnectSocket,
    ...options,
  });
  open.add(client);
  const close = client.close.bind(client);
  client.close = () => {
    open.delete(client);
    close();
  };
  return Object.assign(client, record(client));
}

export async function connectClient(
  at: SignallingAt,
  account: string,
  options: Partial<NetcallOptions> = {},
): Promise<TestClient> {
  const client = createClient(at, account, options);
  await client.connect();
  return client;
}

/**
 * Closes every client `createClient` made and the test did not close; for `afterEach`. A client left open
 * after its server closed keeps reconnecting, and keeps jest from exiting.
 */
export function closeClients(): void {
  for (const client of [...open]) client.close();
}

/**
 * Dials, answers, and starts RTC on both sides, callee first, each start once the other's answer is in: the
 * order that makes "the earlier starter's syncDone lists itself, the later one's lists both" hold on every
 * engine (our server, NetEase's), so any recorded `NetcallLike` can be set up with it. Returns the call, every
 * answer of the setup, and the rosters that hold each side's URLs. Every event of the setup is taken, so
 * `next()` afterwards waits for what comes after it.
 */
export async function establishCall(a: Recorded, b: Recorded, type: 1 | 2 = 2) {
  const rosterA = new MediaRoster(a.netcall);
  const rosterB = new MediaRoster(b.netcall);
  const { cid, accountUidMap } = await a.netcall.call({ type, callee: b.account });
  const ringing = await b.next('beCalling');
  expect(ringing).toMatchObject({ caller: a.account, type, cid });
  await b.netcall.response({ accepted: true, caller: ringing.caller, type: ringing.type, cid: ringing.cid });
  await a.next('callAccepted');
  const selfB = await b.netcall.startRtc({ mode: 0 });
  rosterB.setSelf(selfB);
  const syncB = await b.next('syncDone');
  const selfA = await a.netcall.startRtc({ mode: 0 });
  rosterA.setSelf(selfA);
  const syncA = await a.next('syncDone');
  const joinB = await b.next('clientJoin');
  return { cid, accountUidMap, ringing, selfA, selfB, syncA, syncB, joinB, rosterA, rosterB };
}

/** Events that mean a call beside a flood or a fuzz was disturbed: ended, failed, or its socket dropped. */
const TROUBLE = [
  'hangup',
  'clientLeave',
  'error',
  'disconnect',
  'willreconnect',
  'callLost',
  'kicked',
] as const;

/**
 * Two clients (`beside-a-<suffix>`, `beside-b-<suffix>`) in an answered call with RTC started: the call that
 * must carry on beside whatever the test does to the server. `closeClients()` ends it.
 */
export async function callBeside(at: SignallingAt, suffix: string) {
  const [a, b] = await Promise.all([
    connectClient(at, `beside-a-${suffix}`),
    connectClient(at, `beside-b-${suffix}`),
  ]);
  const { cid } = await establishCall(a, b);
  return {
    cid,
    accounts: [a.account, b.account],
    /** Controls still travel both ways on the same call, and nothing ended, failed or dropped. */
    async stillWorks() {
      await a.control({ command: 2 });
      expect(await b.next('control')).toMatchObject({ cid, command: 2 });
      await b.control({ command: 4 });
      expect(await a.next('control')).toMatchObject({ cid, command: 4 });
      for (const side of [a, b])
        expect(TROUBLE.flatMap((event) => side.seen(event).map((payload) => ({ event, payload })))).toEqual(
          [],
        );
    },
  };
}

/**
 * `GET /api/calls` as `account`, with a token minted for it unless one is given: the HTTP status, and the calls
 * listed (none when the request is refused).
 */
export async function fetchCalls(
  at: { httpUrl: string },
  account: string,
  token = mintToken(TEST_SECRET, account),
): Promise<{ status: number; calls: CallView[] }> {
  const res = await fetch(`${at.httpUrl}/api/calls`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { calls?: CallView[] };
  return { status: res.status, calls: body.calls ?? [] };
}

/** What `/healthz` shows a holder of the metrics token. */
export interface ServerCounts {
  status: string;
  media: string;
  connections: number;
  online: number;
  calls: number;
  mediaRestarts: number;
}

/** `/healthz` with the live counts, for a server started with `metricsToken`. */
/** The `scheme://host:port` a media URL points at: which media server it leads to. */
export const origin = (url: string): string => /^[a-z]+:\/\/[^/]+/.exec(url)![0];

export async function fetchCounts(at: { httpUrl: string }, metricsToken: string): Promise<ServerCounts> {
  const res = await fetch(`${at.httpUrl}/healthz`, { headers: { authorization: `Bearer ${metricsToken}` } });
  return (await res.json()) as ServerCounts;
}

/**
 * A round trip on `client`'s socket: the server answers in order, so once this resolves every event it sent
 * the client before has arrived. What "nothing else arrives" waits for.
 */
export async function roundTrip(client: Netcall): Promise<void> {
  await (client as unknown as { request(op: 'ping', args: object): Promise<unknown> }).request('ping', {});
}

/** Starts RTC and resolves with the push URL the member's syncDone gave it (what its live-pusher would bind). */
export async function pushUrlOf(client: TestClient): Promise<string> {
  const roster = new MediaRoster(client);
  roster.setSelf(await client.startRtc({ mode: 0 }));
  return eventuallyValue(() => roster.pusher?.url, `${client.account}: its push URL`);
}
