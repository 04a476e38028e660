/**
 * Shared integration helpers: the real server in-process on port 0 and real `Netcall` clients over `ws`.
 */
import { startServer, mintToken, type RunningServer, type ServerOptions } from '../../server';
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

export { quiet } from './recorder';
