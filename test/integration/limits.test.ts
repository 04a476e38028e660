/** @jest-environment node */
/**
 * Signalling limits against the real server: every frame is metered before anything else (binary and junk
 * too, before login), frames are capped before parsing, only pongs keep a connection alive, each client
 * address has a connection cap (through a trusted proxy too), each account a device cap. Each refusal has a
 * positive control in the same test.
 */
import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import type { RunningServer } from '../../server/index';
import {
  TEST_SECRET,
  closeClients,
  connectClient,
  createClient,
  fetchCounts,
  startTestServer,
} from '../helpers/server';
import { eventually, eventuallyValue } from '../helpers/wait';
import {
  closeOf,
  closeSocket,
  openSocket,
  rawSocket,
  tryOpenSocket,
  type RawSocket,
} from '../helpers/ws-socket';

const METRICS_TOKEN = 'limits-metrics-token-0123456789';
/** Shared by the tests that leave it as they found it; a test that fills a cap on purpose starts its own. */
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({
    maxRequestsPerSecond: 10,
    requestBurst: 20,
    maxConnectionsPerIp: 4,
    maxDevicesPerAccount: 2,
    metricsToken: METRICS_TOKEN,
  });
});
afterEach(async () => {
  closeClients();
  // The server sees a close a moment after the client does: wait until it counts none of this test's sockets,
  // so the next test has the whole per-address cap (4 sockets, no more).
  await eventually(
    async () => (await fetchCounts(server, METRICS_TOKEN)).connections === 0,
    'every socket of the test gone from the server',
  );
});
afterAll(async () => {
  await server.close();
});

const token = (account: string) => jwt.sign({}, TEST_SECRET, { subject: account, expiresIn: 600 });

/** Frames until one matches; fails if the socket closes first, or if no frame comes within 5 s. */
async function until(raw: RawSocket, match: (f: Record<string, unknown>) => boolean) {
  for (;;) {
    const frame = await raw.next();
    if (match(frame)) return frame;
  }
}

describe('frames are metered and capped before they are parsed', () => {
  it('counts junk and binary frames before login against the rate, then closes a client that keeps flooding', async () => {
    const raw = await rawSocket(server.url);
    const closed = closeOf(raw.socket);
    // Positive control: within the burst, junk is parsed and answered as junk (400), not as a flood.
    raw.sendText('{not json');
    expect(await raw.next()).toMatchObject({ event: 'error', data: { code: 400 } });
    raw.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await raw.next()).toMatchObject({
      event: 'error',
      data: { code: 400, message: expect.any(String) },
    });
    // 18 tokens left; 10 refusals are answered with 429, the 11th closes the socket.
    for (let i = 0; i < 60; i++) raw.socket.send(Buffer.from([i]), { binary: true });
    const limited = await until(raw, (f) => (f.data as { code?: number } | undefined)?.code === 429);
    expect(limited).toMatchObject({ event: 'error', data: { code: 429 } });
    expect(await closed).toBe(4429);
  });

  it('meters WebSocket pings too: within the burst they are answered, past it refused, then the socket closed', async () => {
    const raw = await rawSocket(server.url);
    const closed = closeOf(raw.socket);
    let pongs = 0;
    raw.socket.on('pong', () => pongs++);
    for (let i = 0; i < 100; i++) raw.socket.ping();
    const limited = await until(raw, (f) => (f.data as { code?: number } | undefined)?.code === 429);
    expect(limited).toMatchObject({ event: 'error', data: { code: 429 } });
    expect(await closed).toBe(4429);
    // Control: the pings the bucket held were answered; the rest were not (ws would have answered all 100).
    expect(pongs).toBeGreaterThan(0);
    expect(pongs).toBeLessThanOrEqual(20);
  });

  it('answers a rate-limited request by its seq, without parsing it', async () => {
    const raw = await rawSocket(server.url);
    raw.sendText(JSON.stringify({ seq: 1, op: 'login', args: { token: token('meter-a') } }));
    expect(await raw.next()).toMatchObject({ seq: 1, code: 200 });
    for (let seq = 2; seq <= 25; seq++) raw.sendText(`{"seq":${seq},"op":"ping","args":{}`); // broken JSON
    const replies = await Promise.all(Array.from({ length: 24 }, () => raw.next()));
    // The first 19 fit in the bucket and are parsed (broken: 400 by seq); the rest are refused unread (429).
    expect(replies.filter((r) => r.code === 400).length).toBeGreaterThan(10);
    expect(replies.filter((r) => r.code === 429).map((r) => r.seq)).toContain(25);
    await closeSocket(raw.socket);
  });

  it('closes the socket (1009) for a frame over the 16 KB transport cap, and only that socket', async () => {
    const other = await connectClient(server, 'cap-other');
    const raw = await rawSocket(server.url);
    const closed = closeOf(raw.socket);
    raw.sendText(JSON.stringify({ seq: 1, op: 'ping', args: { pad: 'x'.repeat(17 * 1024) } }));
    expect(await closed).toBe(1009);
    // The same server still serves everyone else.
    await expect(other.call({ type: 2, callee: 'nobody-here' })).rejects.toMatchObject({ code: 404 });
  });

  it('an oversized request fails at once with 400, answered unread by its seq', async () => {
    const requestTimeout = 10_000;
    const client = await connectClient(server, 'big-sender', { requestTimeout });
    const started = Date.now();
    // 9,000 bytes of custom: over the 8 KB parse cap, under the 16 KB transport cap, so the socket stays open.
    const error = await client.call({ type: 2, callee: 'x', pushConfig: { custom: '界'.repeat(3000) } }).then(
      () => new Error('an oversized request was accepted'),
      (refusal: Error) => refusal,
    );
    // Refused unread: a parsed request would have been refused for its custom (over 1024 characters) instead.
    expect(error).toMatchObject({
      code: 400,
      message: expect.stringMatching(/frame of \d+ bytes exceeds 8192/),
    });
    const bytes = Number(/frame of (\d+) bytes/.exec(error.message)?.[1]);
    expect(bytes).toBeGreaterThan(9000);
    expect(bytes).toBeLessThan(16 * 1024);
    // Answered: the reply found the request by the seq the frame starts with. Unanswered, it would have failed
    // with 408, and only once the timeout ran out.
    expect(Date.now() - started).toBeLessThan(requestTimeout / 2);
    // Control: the same call with a custom that fits is read (404: the callee is offline), on the same socket.
    await expect(client.call({ type: 2, callee: 'x', pushConfig: { custom: '界' } })).rejects.toMatchObject({
      code: 404,
    });
  });
});

describe('liveness', () => {
  it('closes a client that keeps sending frames but never answers a heartbeat ping', async () => {
    const quick = await startTestServer({ heartbeatMs: 300 });
    try {
      const [talker, listener] = await Promise.all([
        openSocket(quick.url, { autoPong: false }),
        openSocket(quick.url, { autoPong: true }),
      ]);
      let seq = 0;
      for (const [socket, account] of [
        [talker, 'live-talker'],
        [listener, 'live-listener'],
      ] as const)
        socket.send(JSON.stringify({ seq: ++seq, op: 'login', args: { token: token(account) } }));
      const talkerClosed = closeOf(talker);
      let pingsToListener = 0;
      listener.on('ping', () => pingsToListener++);
      // The talker sends a request every 50 ms, but those are not answers to the server's pings.
      const chatter = setInterval(
        () => talker.send(JSON.stringify({ seq: ++seq, op: 'ping', args: {} })),
        50,
      );
      expect(await talkerClosed).toBe(1006);
      clearInterval(chatter);
      // Control: the listener, silent but answering pings, has been pinged past the talker's cut and is open.
      await new Promise<void>((resolve) => listener.on('ping', () => pingsToListener >= 4 && resolve()));
      expect(listener.readyState).toBe(WebSocket.OPEN);
      await closeSocket(listener);
    } finally {
      await quick.close();
    }
  });
});

describe('connection caps', () => {
  /** As if from `forwardedFor` behind a proxy: the socket, or the HTTP status when refused. */
  const proxiedOpen = (url: string, forwardedFor: string) =>
    tryOpenSocket(url, { headers: { 'x-forwarded-for': forwardedFor } });
  const opened = (all: (WebSocket | number)[]) => all.filter((s): s is WebSocket => s instanceof WebSocket);

  it('refuses a connection over the per-address cap with 429, and takes one again once a slot frees', async () => {
    // Its own server: this test fills the cap on purpose, and no other test may meet it full.
    const capped = await startTestServer({ maxConnectionsPerIp: 4 });
    const sockets: (WebSocket | number)[] = [];
    try {
      sockets.push(...(await Promise.all([1, 2, 3, 4].map(() => tryOpenSocket(capped.url)))));
      expect(sockets.every((s) => s instanceof WebSocket)).toBe(true);
      expect(await tryOpenSocket(capped.url)).toBe(429);
      await closeSocket(sockets.shift() as WebSocket);
      // The server counts the slot free once the close reached it, a moment after the client saw it.
      const again = await eventuallyValue(async () => {
        const socket = await tryOpenSocket(capped.url);
        return socket === 429 ? undefined : socket;
      }, 'a connection once a slot freed');
      sockets.push(again);
      expect(again).toBeInstanceOf(WebSocket);
    } finally {
      await Promise.all(opened(sockets).map(closeSocket));
      await capped.close();
    }
  });

  it('behind a trusted proxy, counts the address the proxy appended, not what the client claims', async () => {
    const proxied = await startTestServer({ maxConnectionsPerIp: 2, trustProxy: true });
    const sockets: (WebSocket | number)[] = [];
    try {
      sockets.push(await proxiedOpen(proxied.url, '10.0.0.1'));
      sockets.push(await proxiedOpen(proxied.url, '6.6.6.6, 10.0.0.1')); // a forged first hop: still 10.0.0.1
      expect(await proxiedOpen(proxied.url, '10.0.0.1')).toBe(429);
      const b1 = await proxiedOpen(proxied.url, '10.0.0.2'); // control: another client behind the same proxy
      sockets.push(b1);
      expect(b1).toBeInstanceOf(WebSocket);
    } finally {
      await Promise.all(opened(sockets).map(closeSocket));
      await proxied.close();
    }
  });

  it('refuses a login over the per-account device cap with 429, and takes it once a device leaves', async () => {
    const first = await connectClient(server, 'many-devices');
    const second = await connectClient(server, 'many-devices');
    const third = createClient(server, 'many-devices');
    await expect(third.connect()).rejects.toMatchObject({ code: 429 });
    third.close();
    first.close();
    // The server sees the first device's close a moment later: log in again until it has.
    const fourth = await eventuallyValue(async () => {
      const device = createClient(server, 'many-devices');
      try {
        await device.connect();
        return device;
      } catch (error) {
        device.close();
        if ((error as { code?: number }).code !== 429) throw error;
        return undefined;
      }
    }, 'a login once the first device left');
    expect(fourth.isConnected).toBe(true);
    expect(second.isConnected).toBe(true);
  });
});
