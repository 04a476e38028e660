/** @jest-environment node */
/**
 * The media worker's front and supervision: requests that crash node-media-server 4.4.3 when it runs its own
 * listeners (an unsafe path, WS-FLV to bad paths, RTMP connect without a tcUrl, publish/play without a name,
 * set-chunk-size 0, short control payloads, malformed AMF, garbage, truncated handshakes, huge declared
 * lengths, slow clients) are each answered with 400/403/404/405 or a closed socket within a bounded time and
 * a logged reason, the worker's pid does not change, and a real push still plays afterwards. Then the worker
 * is killed: it comes back (same ports, or new ones when the picked ones stay taken), onRestart fires,
 * authorised streams work with URLs issued after the restart, revoked ones stay refused.
 */
import net from 'node:net';
import { startMediaPlane, type MediaPlane } from '../../server/media';
import { makeSign } from '../../server/media/sign';
import { decodeVideoFrames, killAllFfmpeg, pushTestPattern, waitForRefusal } from '../helpers/ffmpeg';
import { LogCapture } from './log-capture';
import {
  TYPE_INVOKE,
  TYPE_SET_CHUNK_SIZE,
  TYPE_VIDEO,
  TYPE_WINDOW_ACK,
  chunk,
  command,
  connectCommand,
  handshake,
  openRaw,
  rawHttpStatus,
  request,
  u32,
  wsFlv,
  type RawRtmp,
} from './raw-clients';
import { eventually } from '../helpers/wait';

const SECRET = 'test-media-secret-0123456789-0123456789-abcdef';
const S_A = 'room1_alice';
const S_B = 'room1_bob';
const S_C = 'room1_carol';
/** The front's deadline for asking for a stream; short here so slow clients are cut within the test. */
const REQUEST_TIMEOUT_MS = 2000;
// Bounds for "answered in time", generous for a loaded 2-core machine.
const ANSWER_MS = 8000;
const DECODE_MS = 20000;

/** Pushes to a fresh push URL and decodes video back over HTTP-FLV and RTMP: the plane serves media. */
async function expectPlayback(plane: MediaPlane, logs: LogCapture, stream: string): Promise<void> {
  const since = logs.mark();
  const pusher = pushTestPattern(plane.pushUrl(stream));
  try {
    await logs.accepted('publish', stream, { since });
    const play = plane.playUrls(stream);
    const decoded = await Promise.all([
      decodeVideoFrames(play.flv, { frames: 3, timeoutMs: DECODE_MS }),
      decodeVideoFrames(play.rtmp, { frames: 3, timeoutMs: DECODE_MS }),
    ]);
    for (const video of decoded) expect(video).toMatchObject({ width: 320, height: 240, codec: 'h264' });
  } finally {
    await pusher.stop();
  }
}

describe('media front: malformed requests are refused before node-media-server sees them', () => {
  const logs = new LogCapture('info');
  let plane: MediaPlane;
  let rtmpPort: number;
  let httpPort: number;
  let http: string;
  let ws: string;

  beforeAll(async () => {
    plane = await startMediaPlane({
      rtmpPort: 0,
      httpPort: 0,
      secret: SECRET,
      logger: logs.logger,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    plane.authorize(S_A);
    rtmpPort = plane.health().rtmpPort;
    httpPort = plane.health().httpPort;
    http = `http://127.0.0.1:${httpPort}`;
    ws = `ws://127.0.0.1:${plane.health().httpPort}`;
  });

  afterAll(async () => {
    killAllFfmpeg();
    await plane?.close();
  });

  it('answers every malformed HTTP-FLV and WS-FLV request with a status, and keeps serving', async () => {
    const pid = plane.health().pid;
    const sign = new URL(plane.playUrls(S_A).flv).searchParams.get('sign')!;
    const expired = makeSign(`/live/${S_A}`, Math.floor(Date.now() / 1000) - 60, 'whatever');
    const valid = `/live/${S_A}.flv?sign=${sign}`;
    const cases: Array<[string, Promise<number>, number]> = [
      ['unsafe name (killed NMS)', request(`${http}/live/a!b.flv`).then((a) => a.status), 404],
      [
        'dot segments',
        rawHttpStatus(httpPort, `GET /live/../live/${S_A}.flv?sign=${sign} HTTP/1.1\r\nHost: x\r\n\r\n`),
        404,
      ],
      ['NMS admin API', request(`${http}/api/v1/streams`).then((a) => a.status), 404],
      ['no query', request(`${http}/live/${S_A}.flv`).then((a) => a.status), 400],
      ['malformed sign', request(`${http}/live/${S_A}.flv?sign=1-abc`).then((a) => a.status), 400],
      ['repeated sign', request(`${http}${valid}&sign=${sign}`).then((a) => a.status), 400],
      [
        'POST publishing',
        request(`${http}${valid}`, { method: 'POST', body: 'FLV' }).then((a) => a.status),
        405,
      ],
      ['HEAD', request(`${http}${valid}`, { method: 'HEAD' }).then((a) => a.status), 405],
      [
        'GET with a body',
        request(`${http}${valid}`, { headers: { 'Content-Length': '3' }, body: 'abc' }).then((a) => a.status),
        400,
      ],
      ['expired sign', request(`${http}/live/${S_A}.flv?sign=${expired}`).then((a) => a.status), 403],
      ['WS unsafe name (killed NMS)', wsFlv(`${ws}/live/a!b.flv`).then((a) => a.status), 404],
      ['WS unknown path', wsFlv(`${ws}/other`).then((a) => a.status), 404],
      ['WS no query', wsFlv(`${ws}/live/${S_A}.flv`).then((a) => a.status), 400],
      ['WS publisher subprotocol', wsFlv(`${ws}${valid}`, ['publisher']).then((a) => a.status), 405],
      ['WS post subprotocol', wsFlv(`${ws}${valid}`, ['post']).then((a) => a.status), 405],
      ['WS expired sign', wsFlv(`${ws}/live/${S_A}.flv?sign=${expired}`).then((a) => a.status), 403],
    ];
    const preflight = request(`${http}${valid}`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://example.com', 'Access-Control-Request-Method': 'GET' },
    });
    const statuses = await Promise.all(cases.map(([, status]) => status));
    expect(Object.fromEntries(cases.map(([name], i) => [name, statuses[i]]))).toEqual(
      Object.fromEntries(cases.map(([name, , expected]) => [name, expected])),
    );
    // No CORS for anything but a signed play: a preflight gets a plain 405.
    const answer = await preflight;
    expect(answer.status).toBe(405);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    expect(answer.headers.connection).toBe('close');

    // A client that never finishes its headers, and bytes that are not HTTP, are cut in bounded time.
    const slow = await openRaw(plane.health().httpPort);
    slow.send(`GET /live/${S_A}.flv HTTP/1.1\r\nHost: x\r\n`);
    const garbage = await openRaw(plane.health().httpPort);
    garbage.send('\x00\x01\x02 not http\r\n\r\n');
    const [slowMs, garbageMs] = await Promise.all([slow.closed, garbage.closed]);
    expect(slowMs).toBeLessThan(REQUEST_TIMEOUT_MS + ANSWER_MS);
    expect(garbageMs).toBeLessThan(ANSWER_MS);
    await logs.until(
      () => logs.lines.some((l) => /slow request|unparseable/.test(String(l.reason))),
      ANSWER_MS,
    );

    // The positive control: the same worker (no restart) still serves a signed play.
    expect(plane.health()).toMatchObject({ pid, restarts: 0, status: 'up' });
    const good = await wsFlv(`${ws}${valid}`);
    expect(good.status).toBe(101);
  }, 60000);

  it('closes every malformed RTMP connection with a logged reason, and keeps serving', async () => {
    const pid = plane.health().pid;
    const sign = new URL(plane.pushUrl(S_A).replace(/^rtmp:/, 'http:')).searchParams.get('sign')!;
    const tcUrl = `rtmp://127.0.0.1:${rtmpPort}/live`;
    const connected = async (...after: Buffer[]): Promise<RawRtmp> => {
      const conn = await openRaw(rtmpPort);
      await handshake(conn);
      conn.send(Buffer.concat([connectCommand(tcUrl), ...after]));
      return conn;
    };
    const shaken = async (...bytes: Buffer[]): Promise<RawRtmp> => {
      const conn = await openRaw(rtmpPort);
      await handshake(conn);
      conn.send(Buffer.concat(bytes));
      return conn;
    };
    const raw = async (bytes: Buffer | string): Promise<RawRtmp> => {
      const conn = await openRaw(rtmpPort);
      conn.send(bytes);
      return conn;
    };
    const amf = (...bytes: Array<number | string>): Buffer =>
      Buffer.concat(bytes.map((b) => (typeof b === 'string' ? Buffer.from(b) : Buffer.from([b]))));
    const otherStreams = Array.from({ length: 17 }, (_, i) =>
      chunk(4, Buffer.from([0, 3, 0, 0, 0, 1]), { cid: 4 + i }),
    );
    const cases: Array<[string, Promise<RawRtmp>, RegExp]> = [
      ['HTTP bytes on the RTMP port', raw('GET / HTTP/1.1\r\n\r\n'), /^handshake version 71 /],
      ['garbage', raw(Buffer.from([0xff, 0, 1, 2, 3])), /^handshake version 255 /],
      ['connect without tcUrl (killed NMS)', shaken(connectCommand()), /^connect without a tcUrl$/],
      [
        'connect with a bad tcUrl',
        shaken(connectCommand('not a url')),
        /^connect with an unparseable tcUrl$/,
      ],
      ['connect with a numeric tcUrl', shaken(connectCommand(5)), /^connect without a tcUrl$/],
      ['connect to another app', shaken(connectCommand(tcUrl, 'admin')), /^connect to app "admin"$/],
      [
        'connect without cmdObj',
        shaken(command({ cmd: 'connect', transId: 1 })),
        /^connect without a command object$/,
      ],
      ['second connect', connected(connectCommand(tcUrl)), /^second connect$/],
      [
        'publish before connect',
        shaken(command({ cmd: 'publish', transId: 2, cmdObj: null, streamName: `${S_A}?sign=${sign}` })),
        /^publish before connect$/,
      ],
      [
        'publish without a name (killed NMS)',
        connected(command({ cmd: 'publish', transId: 2, cmdObj: null })),
        /^publish: stream name is not a string$/,
      ],
      [
        'play without a name (killed NMS)',
        connected(command({ cmd: 'play', transId: 2, cmdObj: null })),
        /^play: stream name is not a string$/,
      ],
      [
        'play of an unsafe name',
        connected(command({ cmd: 'play', transId: 2, cmdObj: null, streamName: `a!b?sign=${sign}` })),
        /^play: stream name is not/,
      ],
      [
        'set-chunk-size 0 (NaN loop)',
        shaken(chunk(TYPE_SET_CHUNK_SIZE, u32(0), { cid: 2 })),
        /^set-chunk-size 0 out of range$/,
      ],
      [
        'set-chunk-size 2^31',
        shaken(chunk(TYPE_SET_CHUNK_SIZE, u32(0x80000000), { cid: 2 })),
        /^set-chunk-size 2147483648 out of range$/,
      ],
      [
        'empty set-chunk-size (killed NMS)',
        // NMS handles a zero-length message when the next chunk's first byte arrives.
        shaken(chunk(TYPE_SET_CHUNK_SIZE, Buffer.alloc(0), { cid: 2 }), Buffer.from([0x02])),
        /^control message 1 of 0 bytes/,
      ],
      [
        'short window-ack',
        shaken(chunk(TYPE_WINDOW_ACK, Buffer.from([0, 1]), { cid: 2 })),
        /^control message 5 of 2 bytes/,
      ],
      [
        'truncated AMF number',
        shaken(chunk(TYPE_INVOKE, amf(2, 0, 7, 'connect', 0, 0x3f))),
        /^malformed AMF command: RangeError/,
      ],
      [
        'AMF __proto__ command',
        shaken(chunk(TYPE_INVOKE, amf(2, 0, 9, '__proto__', 5))),
        /^malformed AMF command: TypeError/,
      ],
      ['AMF unknown marker', shaken(chunk(TYPE_INVOKE, amf(4, 1, 2, 3))), /^AMF command without a name$/],
      [
        'huge declared length',
        shaken(chunk(TYPE_INVOKE, Buffer.alloc(16), { length: 0xffffff })),
        /^message of 16777215 bytes \(type 20\) exceeds 65536$/,
      ],
      [
        'media before publish',
        connected(chunk(TYPE_VIDEO, Buffer.alloc(10), { cid: 6 })),
        /^media message \(type 9\) before publish or play$/,
      ],
      ['too many chunk streams', shaken(...otherStreams), /^more than 16 chunk streams$/],
      [
        'length changed mid-message',
        shaken(
          chunk(TYPE_INVOKE, Buffer.alloc(128), { length: 200 }),
          chunk(TYPE_INVOKE, Buffer.alloc(10), { length: 300 }),
        ),
        /^message length changed mid-message$/,
      ],
    ];
    const timeouts: Array<[string, Promise<RawRtmp>]> = [
      ['truncated handshake', raw(Buffer.concat([Buffer.from([3]), Buffer.alloc(100)]))],
      ['silent after the handshake', shaken()],
      ['connect, then nothing', connected()],
    ];
    const conns = await Promise.all(cases.map(([, conn]) => conn));
    const slow = await Promise.all(timeouts.map(([, conn]) => conn));
    const outcomes = await Promise.all(
      conns.map(async (conn) => {
        const closedMs = await Promise.race([
          conn.closed,
          new Promise<number>((r) => setTimeout(() => r(-1), ANSWER_MS)),
        ]);
        const refusal = await logs.refusalFrom(conn.localPort, ANSWER_MS).catch(() => undefined);
        return { closed: closedMs >= 0, reason: String(refusal?.reason) };
      }),
    );
    cases.forEach(([name, , reason], i) => {
      expect({ name, ...outcomes[i] }).toEqual({ name, closed: true, reason: expect.stringMatching(reason) });
    });
    for (const [i, conn] of slow.entries()) {
      const closedMs = await conn.closed;
      expect({ name: timeouts[i][0], early: closedMs < REQUEST_TIMEOUT_MS - 500 }).toEqual({
        name: timeouts[i][0],
        early: false,
      });
      expect(closedMs).toBeLessThan(REQUEST_TIMEOUT_MS + ANSWER_MS);
      expect((await logs.refusalFrom(conn.localPort)).reason).toBe('no valid publish or play in time');
    }

    // Nothing needed a restart: the front refused it all in the same worker, which still serves media.
    expect(plane.health()).toMatchObject({ pid, restarts: 0, status: 'up' });
    await expectPlayback(plane, logs, S_A);
    expect(plane.health()).toMatchObject({ pid, restarts: 0 });
  }, 90000);
});

describe('media supervision: a dead worker is replaced', () => {
  const logs = new LogCapture('info');
  let plane: MediaPlane;

  beforeAll(async () => {
    plane = await startMediaPlane({ rtmpPort: 0, httpPort: 0, secret: SECRET, logger: logs.logger });
  });

  afterAll(async () => {
    killAllFfmpeg();
    await plane?.close();
  });

  it('restarts a killed worker on the same ports; authorised streams work with new URLs, revoked ones stay refused', async () => {
    for (const stream of [S_A, S_B, S_C]) plane.authorize(stream);
    plane.revoke(S_B);
    const before = plane.health();
    const urlsBefore = [plane.pushUrl(S_A), plane.playUrls(S_A).rtmp, plane.playUrls(S_A).flv];
    let restarts = 0;
    const restarted = new Promise<void>((resolve) =>
      plane.onRestart(() => {
        restarts++;
        resolve();
      }),
    );

    process.kill(before.pid!, 'SIGKILL');
    await eventually(() => plane.health().status === 'restarting', 'status restarting', ANSWER_MS);
    expect(plane.health().pid).toBeUndefined();
    // Revoked while no worker runs: the next worker must get the set without it.
    plane.revoke(S_C);
    await restarted;
    const after = plane.health();
    expect(after).toMatchObject({
      status: 'up',
      restarts: 1,
      rtmpPort: before.rtmpPort,
      httpPort: before.httpPort,
    });
    expect(after.pid).not.toBe(before.pid);
    expect(restarts).toBe(1);
    await logs.waitFor((l) => l.msg === 'media worker died; restarting' && l.signal === 'SIGKILL', ANSWER_MS);

    // URLs issued after the restart differ (clients rebind) and work; the old ones would too, until revoked.
    const urlsAfter = [plane.pushUrl(S_A), plane.playUrls(S_A).rtmp, plane.playUrls(S_A).flv];
    urlsAfter.forEach((url, i) => expect(url).not.toBe(urlsBefore[i]));
    const refusedPushes = [S_B, S_C].map((s) => pushTestPattern(plane.pushUrl(s)));
    const [flvB, flvC] = await Promise.all([S_B, S_C].map((s) => request(plane.playUrls(s).flv)));
    await expectPlayback(plane, logs, S_A);
    expect(await Promise.all(refusedPushes.map((p) => waitForRefusal(p, DECODE_MS)))).toEqual([true, true]);
    expect([flvB.status, flvC.status]).toEqual([403, 403]);
    for (const stream of [S_B, S_C])
      await logs.until(
        () => logs.refusalsFor(stream).some((l) => l.reason === 'publish: stream not authorised'),
        ANSWER_MS,
        `publish refusal for ${stream}`,
      );
  }, 60000);

  it('picks new ports when the picked ones stay taken after a restart', async () => {
    const before = plane.health();
    const squatter = net.createServer();
    const restarted = new Promise<void>((resolve) => plane.onRestart(resolve));
    process.kill(before.pid!, 'SIGKILL');
    await eventually(() => plane.health().status === 'restarting', 'status restarting', ANSWER_MS);
    await new Promise<void>((resolve, reject) => {
      squatter.once('error', reject);
      squatter.listen(before.rtmpPort, '127.0.0.1', () => resolve());
    });
    try {
      await restarted;
      const after = plane.health();
      expect(after.status).toBe('up');
      expect(after.rtmpPort).not.toBe(before.rtmpPort);
      expect(plane.pushUrl(S_A)).toContain(`:${after.rtmpPort}/live/`);
      await logs.waitFor((l) => l.msg === 'media worker restart failed', ANSWER_MS);
      await expectPlayback(plane, logs, S_A);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  }, 60000);
});
