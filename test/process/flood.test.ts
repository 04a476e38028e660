/** @jest-environment node */
/**
 * Floods against the server as its own process (the CLI), each beside a running call that must not notice:
 * a client that floods (junk, binary, valid requests, before login) gets 429 and then is closed; a frame over
 * the transport cap closes only its socket; a client that does not read its replies is cut once its backlog
 * passes the cap, while a client doing the same but reading stays. The process lives throughout.
 */
import WebSocket from 'ws';
import { mintToken } from '../../server/index';
import { CLI_TEST_TIMEOUT_MS, startCli, stopAllClis, type RunningCli } from '../helpers/cli';
import { TEST_MEDIA_SECRET, TEST_SECRET, callBeside, closeClients } from '../helpers/server';
import { closeOf, openSocket } from '../helpers/ws-socket';

const ENV = { NETCALL_SECRET: TEST_SECRET, NETCALL_MEDIA_SECRET: TEST_MEDIA_SECRET };
const token = (account: string) => mintToken(TEST_SECRET, account, 600);

afterEach(closeClients);
afterAll(stopAllClis);

describe('with a tight rate limit', () => {
  let cli: RunningCli;
  beforeAll(async () => {
    cli = await startCli(['--max-requests-per-second', '20', '--request-burst', '40'], ENV);
  }, CLI_TEST_TIMEOUT_MS);
  afterAll(async () => {
    expect(await cli.stop()).toBe(0);
  });

  it('answers a flooding client with 429, then closes it (4429); the call beside carries on', async () => {
    const beside = await callBeside(cli, 'rate');
    const flooder = await openSocket(cli.url);
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
  });

  it('closes only the socket that sends a frame over the transport cap (1009)', async () => {
    const beside = await callBeside(cli, 'size');
    const big = await openSocket(cli.url);
    const closed = closeOf(big);
    big.send(JSON.stringify({ seq: 1, op: 'ping', args: { pad: 'x'.repeat(64 * 1024) } }));
    expect(await closed).toBe(1009);
    await beside.stillWorks();
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
  }, CLI_TEST_TIMEOUT_MS);
  afterAll(async () => {
    expect(await cli.stop()).toBe(0);
  });

  /**
   * Logs in (seq 0), then sends pings in batches of 2000 (seqs from 1) until the socket closes or `batches` ran
   * out; returns how many requests went out, the login included.
   */
  async function pingFlood(socket: WebSocket, account: string, batches: number): Promise<number> {
    socket.send(JSON.stringify({ seq: 0, op: 'login', args: { token: token(account) } }));
    let seq = 0;
    for (let batch = 0; batch < batches; batch++) {
      if (socket.readyState !== WebSocket.OPEN) break;
      for (let i = 0; i < 2000; i++) socket.send(JSON.stringify({ seq: ++seq, op: 'ping', args: {} }));
      // Let the socket flush, so the load is a stream rather than one giant write.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return seq + 1;
  }

  it(
    'cuts a client that does not read its replies once its backlog passes the cap; a reader stays',
    async () => {
      const beside = await callBeside(cli, 'backlog');
      const reader = await openSocket(cli.url);
      let replies = 0;
      const LAST = 999_999_999;
      const last = new Promise<void>((resolve) =>
        reader.on('message', (data) => {
          replies++;
          if ((JSON.parse(data.toString()) as { seq?: number }).seq === LAST) resolve();
        }),
      );
      // Positive control: the same load, read as it comes, is served in full.
      const sent = (await pingFlood(reader, 'reader', 50)) + 1;
      reader.send(JSON.stringify({ seq: LAST, op: 'ping', args: {} }));
      // Replies come in order on one socket: once the last one is here, every earlier one is too.
      await last;
      expect(reader.readyState).toBe(WebSocket.OPEN);
      expect(replies).toBe(sent);
      expect(replies).toBeGreaterThan(50_000);
      reader.close();

      const stalled = await openSocket(cli.url);
      const cut = closeOf(stalled);
      // Stop reading: the kernel buffers fill, then the server's own buffer grows past --max-buffered-bytes.
      (stalled as unknown as { _socket: { pause(): void } })._socket.pause();
      await pingFlood(stalled, 'stalled', 300);
      expect(await cut).toBe(1006);
      await beside.stillWorks();
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
