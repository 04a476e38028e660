/** @jest-environment node */
/**
 * Signalling limits against the real server: every frame is metered before anything else (binary and junk
 * too, before login), frames are capped before parsing, only pongs keep a connection alive, each client
 * address has a connection cap (through a trusted proxy too), each account a device cap. Each refusal has a
 * positive control in the same test.
 */
import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import type { RunningServer } from '../../server';
import { TEST_SECRET, connectClient, createClient, startTestServer } from '../helpers/server';
import { rawSocket } from '../helpers/ws-socket';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({
    maxRequestsPerSecond: 10,
    requestBurst: 20,
    maxConnectionsPerIp: 4,
    maxDevicesPerAccount: 2,
  });
});
afterAll(async () => {
  await server.close();
});

const token = (account: string) => jwt.sign({}, TEST_SECRET, { subject: account, expiresIn: 600 });
const closeOf = (socket: WebSocket) =>
  new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));

/** Frames until one matches, failing if the socket closes or nothing matches in time. */
async function until(
  raw: Awaited<ReturnType<typeof rawSocket>>,
  match: (f: Record<string, unknown>) => boolean,
) {
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
    raw.socket.close();
  });

  it('closes the socket (1009) for a frame over the 16 KB transport cap, and only that socket', async () => {
    const other = await connectClient(server, 'cap-other');
    const raw = await rawSocket(server.url);
    const closed = closeOf(raw.socket);
    raw.sendText(JSON.stringify({ seq: 1, op: 'ping', args: { pad: 'x'.repeat(17 * 1024) } }));
    expect(await closed).toBe(1009);
    // The same server still serves everyone else.
    await expect(other.call({ type: 2, callee: 'nobody-here' })).rejects.toMatchObject({ code: 404 });
    other.close();
  });

  it('fails an oversized request in the client at once, with 400 and without sending it', async () => {
    const client = await connectClient(server, 'big-sender');
    await expect(
      client.call({ type: 2, callee: 'x', pushConfig: { custom: '界'.repeat(3000) } }),
    ).rejects.toMatchObject({ code: 400, message: expect.stringContaining('exceeds') });
    // Control: the same call with a custom that fits reaches the server (404: the callee is offline).
    await expect(client.call({ type: 2, callee: 'x', pushConfig: { custom: '界' } })).rejects.toMatchObject({
      code: 404,
    });
    client.close();
  });
});

describe('liveness', () => {
  it('closes a client that keeps sending frames but never answers a heartbeat ping', async () => {
    const quick = await startTestServer({ heartbeatMs: 300 });
    try {
      const open = (autoPong: boolean) =>
        new Promise<WebSocket>((resolve, reject) => {
          const socket = new WebSocket(quick.url, { autoPong });
          socket.once('open', () => resolve(socket));
          socket.once('error', reject);
        });
      const [talker, listener] = await Promise.all([open(false), open(true)]);
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
      listener.close();
    } finally {
      await quick.close();
    }
  });
});

describe('connection caps', () => {
  /** Opens a socket as if from `forwardedFor` behind a proxy; resolves the HTTP status when refused. */
  const open = (url: string, forwardedFor?: string) =>
    new Promise<WebSocket | number>((resolve, reject) => {
      const socket = new WebSocket(url, forwardedFor ? { headers: { 'x-forwarded-for': forwardedFor } } : {});
      socket.once('open', () => resolve(socket));
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.once('error', (error) => reject(error));
    });

  it('refuses a connection over the per-address cap with 429, and takes one again once a slot frees', async () => {
    const sockets = await Promise.all([1, 2, 3, 4].map(() => open(server.url)));
    expect(sockets.every((s) => s instanceof WebSocket)).toBe(true);
    expect(await open(server.url)).toBe(429);
    const first = sockets[0] as WebSocket;
    const gone = closeOf(first);
    first.close();
    await gone;
    // The server counts the slot free once the socket's close reached it; retry until it has.
    let again: WebSocket | number = 429;
    for (let attempt = 0; attempt < 50 && again === 429; attempt++) again = await open(server.url);
    expect(again).toBeInstanceOf(WebSocket);
    for (const s of [...sockets.slice(1), again]) (s as WebSocket).close();
  });

  it('behind a trusted proxy, counts the address the proxy appended, not what the client claims', async () => {
    const proxied = await startTestServer({ maxConnectionsPerIp: 2, trustProxy: true });
    try {
      const a1 = await open(proxied.url, '10.0.0.1');
      const a2 = await open(proxied.url, '6.6.6.6, 10.0.0.1'); // a forged first hop: still 10.0.0.1
      expect(await open(proxied.url, '10.0.0.1')).toBe(429);
      const b1 = await open(proxied.url, '10.0.0.2'); // control: another client behind the same proxy
      expect(b1).toBeInstanceOf(WebSocket);
      for (const s of [a1, a2, b1]) (s as WebSocket).close();
    } finally {
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
    let fourth = createClient(server, 'many-devices');
    // The first device's close is processed by the server asynchronously: retry the login until it is.
    for (let attempt = 0; ; attempt++) {
      try {
        await fourth.connect();
        break;
      } catch (error) {
        fourth.close();
        if ((error as { code?: number }).code !== 429 || attempt > 50) throw error;
        fourth = createClient(server, 'many-devices');
      }
    }
    expect(fourth.isConnected).toBe(true);
    second.close();
    fourth.close();
  });
});
