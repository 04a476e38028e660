/** @jest-environment node */
/**
 * Failover between signalling nodes: a client given several URLs logs in at the next one when a node is dead,
 * lost or draining. The nodes here share no state, so a client is known to be on a node when an account there
 * can ring it (one elsewhere is "not online" to that node).
 */
import net from 'node:net';
import { WebSocketServer } from 'ws';
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
/**
 * Short against the test's timeout (the platform's socket timeout is far longer), yet long enough for a real
 * node's login on a busy machine: the timeout runs for every URL, the node that answers too.
 */
const CONNECT_TIMEOUT_MS = 1000;

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

/** A local listener where no login ever succeeds; `abandoned` resolves once the client closed what it opened. */
interface Dud {
  url: string;
  abandoned: Promise<void>;
  close(): Promise<void>;
}

/** Accepts TCP connections and never writes a byte: a node whose WebSocket handshake never completes. */
async function blackHole(): Promise<Dud> {
  const sockets = new Set<net.Socket>();
  let abandon!: () => void;
  const abandoned = new Promise<void>((resolve) => (abandon = resolve));
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.resume(); // reads and drops the upgrade request: unread, it would hold back the end of the stream
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      abandon();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    abandoned,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Completes the WebSocket handshake and never answers a frame; `ops` are those it got. */
async function mute(): Promise<Dud & { ops: string[] }> {
  const ops: string[] = [];
  let abandon!: () => void;
  const abandoned = new Promise<void>((resolve) => (abandon = resolve));
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  server.on('connection', (socket) => {
    socket.on('message', (data) => ops.push((JSON.parse(String(data)) as { op: string }).op));
    socket.on('close', () => abandon());
  });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    ops,
    abandoned,
    close: () =>
      new Promise((resolve) => {
        for (const socket of server.clients) socket.terminate();
        server.close(() => resolve());
      }),
  };
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

  it('gives up on a node that never completes the handshake after connectTimeout, and logs in at the next', async () => {
    const [alice, bob] = names('alice', 'bob');
    const hole = await blackHole();
    try {
      const a = createClient(second, alice, {
        server: [hole.url, second.url],
        connectTimeout: CONNECT_TIMEOUT_MS,
        reconnectDelay: NEVER,
      });
      await a.connect();
      await hole.abandoned;
      expect(a.seen('willreconnect')).toEqual([]);
      await rings(await connectClient(second, bob), a);
    } finally {
      await hole.close();
    }
  });

  it('fails to connect with a node that never completes the handshake alone, and closes its socket', async () => {
    const [alice] = names('alice');
    const hole = await blackHole();
    try {
      const a = createClient(second, alice, {
        server: [hole.url],
        connectTimeout: CONNECT_TIMEOUT_MS,
        reconnectDelay: NEVER,
      });
      await expect(a.connect()).rejects.toMatchObject({ code: 599 });
      expect(a.isConnected).toBe(false);
      // Taken, then dropped by the client: it timed out there, it was not refused.
      await hole.abandoned;
    } finally {
      await hole.close();
    }
  });

  it('gives up on a node that opens the socket but never answers the login, and logs in at the next', async () => {
    const [alice, bob] = names('alice', 'bob');
    const dud = await mute();
    try {
      const a = createClient(second, alice, {
        server: [dud.url, second.url],
        connectTimeout: CONNECT_TIMEOUT_MS,
        // Not the login's own 408: only the connect timeout is left to move on.
        requestTimeout: NEVER,
        reconnectDelay: NEVER,
      });
      await a.connect();
      await dud.abandoned;
      expect(dud.ops).toEqual(['login']);
      expect(a.seen('willreconnect')).toEqual([]);
      await rings(await connectClient(second, bob), a);
    } finally {
      await dud.close();
    }
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
