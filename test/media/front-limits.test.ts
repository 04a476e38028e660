/** @jest-environment node */
/**
 * The media worker's front against well-formed clients that would grow the worker or hold a stream: a client
 * that leaves its replies unread while asking for more, a publisher gone silent, pipelined requests behind a
 * player, bytes after a player's request, a WS-FLV player that talks, too many connections from one address,
 * and a flood of refusals in the log. Each is cut or refused with a logged reason, with a control in the same
 * test that the worker (same pid) still serves the well-behaved.
 */
import { startMediaPlane, type MediaPlane } from '../../server/media';
import { killAllFfmpeg } from '../helpers/ffmpeg';
import { eventually } from '../helpers/wait';
import { LogCapture } from './log-capture';
import { expectPlayback } from './playback';
import {
  chunk,
  connected,
  createStream,
  handshake,
  openRaw,
  openWsFlv,
  request,
  signOf,
  streamCommand,
  u32,
  within,
  wsFlv,
  type RawRtmp,
} from './raw-clients';

const SECRET = 'test-media-secret-0123456789-0123456789-abcdef';
const S_A = 'room1_alice';
const S_C = 'room1_carol';
const S_D = 'room1_dave';
/** How long an accepted publisher may stay silent here; short so that the test sees the cut. */
const PUBLISH_IDLE_MS = 2000;
// Bounds for "answered in time", generous for a loaded 2-core machine.
const ANSWER_MS = 8000;

describe('media front: clients that would grow the worker or hold a stream', () => {
  const logs = new LogCapture('info');
  let plane: MediaPlane;
  let rtmpPort: number;
  let httpPort: number;

  beforeAll(async () => {
    plane = await startMediaPlane({
      rtmpPort: 0,
      httpPort: 0,
      secret: SECRET,
      logger: logs.logger,
      publishIdleTimeoutMs: PUBLISH_IDLE_MS,
    });
    for (const stream of [S_A, S_C, S_D]) plane.authorize(stream);
    ({ rtmpPort, httpPort } = plane.health());
  });

  afterAll(async () => {
    killAllFfmpeg();
    await plane?.close();
  });

  it('cuts a client that leaves its replies unread while asking for more, before or after its play', async () => {
    const pid = plane.health().pid;
    const playSign = signOf(plane.playUrls(S_A).rtmp);
    const since = logs.mark();
    // Before any stream command: NMS answers each createStream, so its replies pile up in our memory.
    const early = await connected(rtmpPort);
    // After an accepted play (the control: createStream and play within the limit are served).
    const late = await connected(rtmpPort, createStream(2), streamCommand('play', `${S_A}?sign=${playSign}`));
    await logs.waitFor(
      (l) => l.msg === 'play accepted' && l.ip === `127.0.0.1:${late.localPort}`,
      ANSWER_MS,
      'the late client play accepted',
      since,
    );
    const flood = async (conn: RawRtmp): Promise<number> => {
      conn.socket.pause(); // reads nothing from here on
      const batch = Buffer.concat(Array.from({ length: 50 }, (_, i) => createStream(3 + i)));
      for (let i = 0; i < 2000 && !conn.isClosed(); i++) {
        conn.send(batch);
        await new Promise((resolve) => setImmediate(resolve));
      }
      return within(conn.closed, ANSWER_MS, 'the flooding client cut');
    };
    await Promise.all([flood(early), flood(late)]);
    for (const conn of [early, late])
      expect((await logs.refusalFrom(conn.localPort, since)).reason).toBe(
        'more than 4 createStream commands',
      );

    expect(plane.health()).toMatchObject({ pid, restarts: 0, status: 'up' });
    expect((await wsFlv(plane.playUrls(S_A).flv.replace(/^http:/, 'ws:'))).status).toBe(101);
  }, 60000);

  it('cuts a publisher gone silent, so that its stream can be published again', async () => {
    const pushSign = signOf(plane.pushUrl(S_A));
    const publish = (): Promise<RawRtmp> =>
      connected(rtmpPort, createStream(2), streamCommand('publish', `${S_A}?sign=${pushSign}`));
    const since = logs.mark();
    const silent = await publish();
    await logs.waitFor(
      (l) => l.msg === 'publish accepted' && l.ip === `127.0.0.1:${silent.localPort}`,
      ANSWER_MS,
      'the silent publisher accepted',
      since,
    );
    // While it still talks (acknowledgements keep it alive), it holds the stream against anyone else.
    const ack = chunk(3, u32(0), { cid: 2 });
    const talking = setInterval(() => silent.send(ack), PUBLISH_IDLE_MS / 4);
    let lastSent = Date.now();
    try {
      const second = await publish();
      expect((await logs.refusalFrom(second.localPort, since)).reason).toBe(
        'publish: stream already has a publisher',
      );
      silent.send(ack);
      lastSent = Date.now();
    } finally {
      clearInterval(talking);
    }
    await within(silent.closed, PUBLISH_IDLE_MS + ANSWER_MS, 'the silent publisher cut');
    expect(Date.now() - lastSent).toBeGreaterThanOrEqual(PUBLISH_IDLE_MS - 100);
    expect((await logs.refusalFrom(silent.localPort, since)).reason).toBe(
      `publisher sent nothing for ${PUBLISH_IDLE_MS} ms`,
    );
    await expectPlayback(plane, logs, S_A);
  }, 60000);

  it('serves one request per connection, and never writes a status line into a player body', async () => {
    const valid = `/live/${S_C}.flv?sign=${signOf(plane.playUrls(S_C).flv)}`;
    const since = logs.mark();
    const conn = await openRaw(httpPort);
    // Two pipelined plays; once the first one's body streams, bytes that are not HTTP.
    const get = `GET ${valid} HTTP/1.1\r\nHost: x\r\n\r\n`;
    conn.send(`${get}${get}`);
    await eventually(async () => (await conn.receive(1)).includes('FLV'), 'the first play body', ANSWER_MS);
    const streamed = (await conn.receive(1)).length;
    conn.send('\x00 not http\r\n\r\n');
    await within(conn.closed, ANSWER_MS, 'the connection closed');
    const text = (await conn.receive(1)).toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text.slice(streamed)).not.toContain('HTTP/1.1');
    const refusal = await logs.refusalFrom(conn.localPort, since);
    expect(refusal.reason).toMatch(/^unparseable request \(HPE_/);
    // The parser reached the garbage only after the second request: had that started a session, its
    // acceptance would be logged before the refusal.
    const plays = logs.lines
      .slice(since)
      .filter((l) => l.msg === 'play accepted' && l.ip === `127.0.0.1:${conn.localPort}`);
    expect(plays).toHaveLength(1);
  }, 30000);

  it('cuts a WS-FLV player that sends a message, and only that player', async () => {
    const url = plane.playUrls(S_D).flv.replace(/^http:/, 'ws:');
    const since = logs.mark();
    const [talker, quiet] = await Promise.all([openWsFlv(url), openWsFlv(url)]);
    talker.ws.send('hello');
    await within(talker.closed, ANSWER_MS, 'the talking player cut');
    await logs.waitFor(
      (l) =>
        l.msg === 'media request refused' && l.reason === 'player sent data' && l.stream === `/live/${S_D}`,
      ANSWER_MS,
      'the talking player refusal',
      since,
    );
    // The control: the quiet player was still playing, and only revoke ends it.
    plane.revoke(S_D);
    const revoked = await logs.waitFor(
      (l) => l.msg === 'stream revoked' && l.stream === `/live/${S_D}`,
      ANSWER_MS,
      'the revoke',
      since,
    );
    expect(revoked.closedSessions).toBe(1);
    await within(quiet.closed, ANSWER_MS, 'the quiet player cut by revoke');
  }, 30000);
});

describe('media front: connections per address', () => {
  const logs = new LogCapture('info');
  const CAP = 3;
  let plane: MediaPlane;

  /**
   * An RTMP connection the worker admitted (its handshake answered). Retried, bounded: the worker frees the
   * slot of a connection closed just before only once it has seen that close.
   */
  async function admitted(port: number): Promise<RawRtmp> {
    let conn: RawRtmp | undefined;
    await eventually(
      async () => {
        const next = await openRaw(port);
        const answered = await handshake(next).then(
          () => true,
          () => false,
        );
        if (answered) conn = next;
        else next.socket.destroy();
        return answered;
      },
      'a connection admitted',
      ANSWER_MS,
      100,
    );
    return conn!;
  }

  beforeAll(async () => {
    plane = await startMediaPlane({
      rtmpPort: 0,
      httpPort: 0,
      secret: SECRET,
      logger: logs.logger,
      maxConnectionsPerIp: CAP,
      // The held connections ask for nothing; they must outlast the test.
      requestTimeoutMs: 30000,
    });
    plane.authorize(S_A);
  });

  afterAll(async () => {
    await plane?.close();
  });

  it('refuses connections beyond the per-address cap on both ports, and admits again once one closes', async () => {
    const { rtmpPort, httpPort } = plane.health();
    const flv = new URL(plane.playUrls(S_A).flv);
    const since = logs.mark();
    // Held, both ports together: two RTMP connections (handshakes answered), one HTTP-FLV play (headers sent).
    const held = [await admitted(rtmpPort), await admitted(rtmpPort)];
    const player = await openRaw(httpPort);
    player.send(`GET ${flv.pathname}${flv.search} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect((await player.receive(12)).toString('latin1')).toMatch(/^HTTP\/1\.1 200/);

    const over = await openRaw(rtmpPort);
    await within(over.closed, ANSWER_MS, 'the connection over the cap closed');
    expect((await logs.refusalFrom(over.localPort, since)).reason).toBe(
      'too many connections from this address',
    );
    const refusedPlay = await request(flv.href);
    expect(refusedPlay.status).toBe(429);
    expect(refusedPlay.headers.connection).toBe('close');

    // The control: a slot frees when a held connection closes, and the next connection gets its handshake.
    held[0].socket.destroy();
    const next = await admitted(rtmpPort);
    next.socket.destroy();
    for (const conn of [held[1], player]) conn.socket.destroy();
  }, 30000);

  it('accounts for every refusal in a flood: each logged, or counted in a summary sent when its second ends', async () => {
    const { rtmpPort } = plane.health();
    const held: RawRtmp[] = [];
    for (let i = 0; i < CAP; i++) held.push(await admitted(rtmpPort));
    const since = logs.mark();
    const flood = 300; // more refusals than the worker forwards in a second (100), even spread over two
    const refused = await Promise.all(Array.from({ length: flood }, () => openRaw(rtmpPort)));
    await Promise.all(refused.map((conn) => within(conn.closed, ANSWER_MS, 'a refused connection closed')));
    // No line follows the flood: the last summary must come from the worker's own timer.
    await logs.until(
      () => {
        const lines = logs.lines.slice(since);
        const logged = lines.filter((l) => l.reason === 'too many connections from this address').length;
        const counted = lines
          .filter((l) => l.msg === 'media worker log lines suppressed')
          .reduce((sum, l) => sum + Number(l.suppressed), 0);
        return logged + counted === flood;
      },
      ANSWER_MS,
      'every refusal logged or counted',
    );
    expect(logs.lines.slice(since).some((l) => l.msg === 'media worker log lines suppressed')).toBe(true);
    for (const conn of held) conn.socket.destroy();
  }, 30000);
});
