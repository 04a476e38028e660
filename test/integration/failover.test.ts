/** @jest-environment node */
/**
 * Failover between signalling nodes: a client given several URLs logs in at the next one when a node is dead,
 * lost or draining. The nodes here share no state, so a client is known to be on a node when an account there
 * can ring it (one elsewhere is "not online" to that node).
 */
import type { RunningServer } from '../../server/index';
import { freePort } from '../helpers/ports';
import {
  closeClients,
  connectClient,
  createClient,
  startTestServer,
  type TestClient,
} from '../helpers/server';
import { cuttableSockets } from '../helpers/ws-socket';
import { names } from '../helpers/session';

/** Longer than any test may take: a client that waited for a backoff would time out. */
const NEVER = 60_000;

let first: RunningServer;
let second: RunningServer;
/** A URL with nothing listening: connections to it are refused. */
let dead: string;

beforeAll(async () => {
  [first, second] = await Promise.all([startTestServer(), startTestServer()]);
  dead = `ws://127.0.0.1:${await freePort()}`;
});
afterAll(async () => {
  await Promise.all([first.close(), second.close()]);
});
afterEach(closeClients);

/** Resolves once `caller`'s call rings `callee`: then both are on the caller's node. */
async function rings(caller: TestClient, callee: TestClient): Promise<void> {
  const { cid } = await caller.call({ type: 1, callee: callee.account });
  expect(await callee.next('beCalling')).toMatchObject({ caller: caller.account, cid });
  await caller.hangup();
}

describe('several server URLs', () => {
  it('logs in at the second URL at once when the first node is dead', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = createClient(second, alice, { server: [dead, second.url], reconnectDelay: NEVER });
    await a.connect();
    expect(a.seen('willreconnect')).toEqual([]);
    await rings(await connectClient(second, bob), a);
  });

  it('fails to connect with the dead URL alone', async () => {
    const [alice] = names('alice');
    const a = createClient(second, alice, { server: [dead], reconnectDelay: NEVER });
    await expect(a.connect()).rejects.toMatchObject({ code: 599 });
    expect(a.isConnected).toBe(false);
  });

  it('reconnects at the next node after a lost connection, though the first is still up', async () => {
    const [alice, bob] = names('alice', 'bob');
    const sockets = cuttableSockets();
    const a = createClient(first, alice, {
      server: [first.url, second.url],
      connectSocket: sockets.connectSocket,
      reconnectDelay: 50,
    });
    await a.connect();
    const b = await connectClient(second, bob);
    await expect(b.call({ type: 1, callee: alice })).rejects.toMatchObject({ code: 404 });
    sockets.cut();
    expect(await a.next('reconnected')).toEqual({ count: 1 });
    await rings(b, a);
  });

  it('moves to the next node at once when its node shuts down (close 1012)', async () => {
    const [alice, bob] = names('alice', 'bob');
    const draining = await startTestServer();
    try {
      const a = createClient(draining, alice, { server: [draining.url, second.url], reconnectDelay: NEVER });
      await a.connect();
      const b = await connectClient(second, bob);
      await expect(b.call({ type: 1, callee: alice })).rejects.toMatchObject({ code: 404 });
      const reconnected = a.next('reconnected');
      await draining.close();
      expect(await reconnected).toEqual({ count: 1 });
      expect(a.seen('disconnect')).toEqual([]);
      await rings(b, a);
    } finally {
      await draining.close();
    }
  });
});
