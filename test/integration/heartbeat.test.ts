/** @jest-environment node */
/**
 * Heartbeat: a connection that stops answering pings is closed, and its calls end for the peers; a socket that
 * never logs in is closed too. The heartbeat is 500 ms: short enough to keep the file quick, long enough that a
 * loaded 2-core machine answers every ping in time; the keep-alive check counts pings rather than waiting. A
 * round's pings are spread over the round.
 */
import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import type { RunningServer } from '../../server/index';
import { TEST_SECRET, closeClients, connectClient, startTestServer } from '../helpers/server';
import { adaptWs, closeOf, openSocket } from '../helpers/ws-socket';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ heartbeatMs: 500, callGraceMs: 0 });
});
afterEach(closeClients);
afterAll(async () => {
  await server.close();
});

/** A client whose socket never answers pings, like a phone whose network vanished without a FIN. */
async function silentSocket(autoPong = false): Promise<{ socket: WebSocket; closed: Promise<number> }> {
  const socket = await openSocket(server.url, { autoPong });
  return { socket, closed: closeOf(socket) };
}

describe('heartbeat', () => {
  it('closes a silent connection and ends its call for the peer', async () => {
    const bob = await connectClient(server, 'hb-bob');
    const { socket, closed } = await silentSocket();
    const token = jwt.sign({}, TEST_SECRET, { subject: 'hb-alice', expiresIn: 60 });
    socket.send(JSON.stringify({ seq: 1, op: 'login', args: { token } }));
    socket.send(JSON.stringify({ seq: 2, op: 'call', args: { type: 2, callee: 'hb-bob' } }));
    const ringing = await bob.next('beCalling');
    expect(await closed).toBe(1006); // terminated by the server, no closing handshake
    expect(await bob.next('hangup', 3000)).toMatchObject({
      cid: ringing.cid,
      account: 'hb-alice',
      reason: 'network',
    });
  });

  it('closes a socket that answers pings but never logs in', async () => {
    const { closed } = await silentSocket(true);
    expect(await closed).toBe(1006);
  });

  it('keeps a client that answers pings and pings back (our Netcall) connected', async () => {
    let socket: WebSocket | undefined;
    const carol = await connectClient(server, 'hb-carol', {
      token: jwt.sign({}, TEST_SECRET, { subject: 'hb-carol', expiresIn: 60 }),
      connectSocket: (url) => adaptWs((socket = new WebSocket(url))),
    });
    // Four server heartbeats answered: twice the rounds a silent connection survives.
    await new Promise<void>((resolve) => {
      let pings = 0;
      socket!.on('ping', () => ++pings >= 4 && resolve());
    });
    expect(carol.isConnected).toBe(true);
    expect(carol.seen('disconnect')).toEqual([]);
  });

  it('spreads a round of pings over the round instead of pinging every connection at once', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 40 }, () => openSocket(server.url, { autoPong: true })),
    );
    const started = Date.now();
    // Each socket's first ping: all 40 come within one round (they were opened together).
    const firstPings = await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<number>((resolve) => socket.once('ping', () => resolve(Date.now() - started))),
      ),
    );
    for (const socket of sockets) socket.terminate();
    expect(Math.max(...firstPings)).toBeLessThan(1000);
    // One sweep would ping all 40 within a few milliseconds; slices of 25 ms spread them over most of the round.
    const slices = new Set(firstPings.map((at) => Math.floor(at / 20)));
    expect(slices.size).toBeGreaterThanOrEqual(8);
    expect(Math.max(...firstPings) - Math.min(...firstPings)).toBeGreaterThan(200);
  });
});
