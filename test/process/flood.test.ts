/** @jest-environment node */
/**
 * Floods against the server as its own process (the CLI), each beside a running call that must not notice:
 * a client that floods (junk, binary, valid requests, before login) gets 429 and then is closed; a frame over
 * the transport cap closes only its socket; a client that does not read its replies is cut once its backlog
 * passes the cap, while a client doing the same but reading stays. The process lives throughout.
 */
import WebSocket from 'ws';
import { Netcall } from '../../services/netcall';
import { startCli, type RunningCli } from '../helpers/cli';
import { record } from '../helpers/recorder';
import { TEST_MEDIA_SECRET, TEST_SECRET } from '../helpers/server';
import { mintToken } from '../../server';
import { wsConnectSocket } from '../helpers/ws-socket';

const ENV = { NETCALL_SECRET: TEST_SECRET, NETCALL_MEDIA_SECRET: TEST_MEDIA_SECRET };
const token = (account: string) => mintToken(TEST_SECRET, account, 600);

function client(cli: RunningCli, account: string) {
  const netcall = new Netcall({
    server: cli.url,
    account,
    token: token(account),
    connectSocket: wsConnectSocket,
  });
  return Object.assign(netcall, record(netcall));
}

/** Two clients in an answered call with RTC started: the call that must carry on beside each flood. */
async function callBeside(cli: RunningCli, suffix: string) {
  const a = client(cli, `beside-a-${suffix}`);
  const b = client(cli, `beside-b-${suffix}`);
  await Promise.all([a.connect(), b.connect()]);
  const { cid } = await a.call({ type: 2, callee: b.account });
  await b.next('beCalling');
  await b.response({ accepted: true, caller: a.account, type: 2, cid });
  await a.next('callAccepted');
  await Promise.all([a.startRtc({ mode: 0 }), b.startRtc({ mode: 0 })]);
  return {
    /** Controls still travel both ways on the same call, and nobody hung up. */
    async stillWorks() {
      await a.control({ command: 2 });
      expect(await b.next('control')).toMatchObject({ cid, command: 2 });
      await b.control({ command: 4 });
      expect(await a.next('control')).toMatchObject({ cid, command: 4 });
      expect([...a.seen('hangup'), ...b.seen('hangup')]).toEqual([]);
    },
    close() {
      a.close();
      b.close();
    },
  };
}

const open = (url: string) =>
  new Promise<WebSocket>((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
    // Resets are expected when the server cuts a flooding socket; the close code is what the tests read.
    socket.on('error', () => {});
  });
const closeOf = (socket: WebSocket) =>
  new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));

describe('with a tight rate limit', () => {
  let cli: RunningCli;
  beforeAll(async () => {
    cli = await startCli(['--max-requests-per-second', '20', '--request-burst', '40'], ENV);
  });
  afterAll(async () => {
    expect(await cli.stop()).toBe(0);
  });

  it('answers a flooding client with 429, then closes it (4429); the call beside carries on', async () => {
    const beside = await callBeside(cli, 'rate');
    const flooder = await open(cli.url);
    const closed = closeOf(flooder);
    const codes: number[] = [];
    flooder.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { code?: number; data?: { code?: number } };
      codes.push(frame.code ?? frame.data?.code ?? 0);
    });
    // Before login, a mix of everything: junk, binary, well-formed requests.
    for (let i = 0; i < 500; i++) {
      if (i % 3 === 0) flooder.send('{junk');
      else if (i % 3 === 1) flooder.send(Buffer.from([i & 255]), { binary: true });
      else flooder.send(JSON.stringify({ seq: i, op: 'ping', args: {} }));
    }
    expect(await closed).toBe(4429);
    expect(codes).toContain(400); // within the burst: parsed and answered as junk / not logged in
    expect(codes).toContain(401);
    expect(codes).toContain(429); // past it: refused unread
    await beside.stillWorks();
    beside.close();
  });

  it('closes only the socket that sends a frame over the transport cap (1009)', async () => {
    const beside = await callBeside(cli, 'size');
    const big = await open(cli.url);
    const closed = closeOf(big);
    big.send(JSON.stringify({ seq: 1, op: 'ping', args: { pad: 'x'.repeat(64 * 1024) } }));
    expect(await closed).toBe(1009);
    await beside.stillWorks();
    beside.close();
  });
});

describe('with the rate limit out of the way', () => {
  let cli: RunningCli;
  beforeAll(async () => {
    cli = await startCli(
      [
        '--max-requests-per-second',
        '10000000',
        '--request-burst',
        '10000000',
        '--max-buffered-bytes',
        '262144',
      ],
      ENV,
    );
  });
  afterAll(async () => {
    expect(await cli.stop()).toBe(0);
  });

  /** Logs in, then sends pings in batches until the socket closes or `batches` ran out. */
  async function pingFlood(socket: WebSocket, account: string, batches: number): Promise<number | 'open'> {
    const closed = closeOf(socket);
    socket.send(JSON.stringify({ seq: 0, op: 'login', args: { token: token(account) } }));
    let seq = 0;
    for (let batch = 0; batch < batches; batch++) {
      if (socket.readyState !== WebSocket.OPEN) break;
      for (let i = 0; i < 2000; i++) socket.send(JSON.stringify({ seq: ++seq, op: 'ping', args: {} }));
      // Let the socket flush, so the load is a stream rather than one giant write.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return Promise.race([closed, new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 2000))]);
  }

  it('cuts a client that does not read its replies once its backlog passes the cap; a reader stays', async () => {
    const beside = await callBeside(cli, 'backlog');
    const reader = await open(cli.url);
    let replies = 0;
    reader.on('message', () => replies++);
    // Positive control: the same load, read as it comes, is served in full.
    expect(await pingFlood(reader, 'reader', 50)).toBe('open');
    expect(replies).toBeGreaterThan(50_000);
    reader.close();

    const stalled = await open(cli.url);
    // Stop reading: the kernel buffers fill, then the server's own buffer grows past --max-buffered-bytes.
    (stalled as unknown as { _socket: { pause(): void } })._socket.pause();
    expect(await pingFlood(stalled, 'stalled', 300)).toBe(1006);
    await beside.stillWorks();
    beside.close();
  });
});
