/** @jest-environment node */
/**
 * The media worker's front against malformed requests: requests that crash node-media-server 4.4.3 when it
 * runs its own listeners (an unsafe path, WS-FLV to bad paths, RTMP connect without a tcUrl, publish/play
 * without a name, set-chunk-size 0, short control payloads, malformed AMF, garbage, truncated handshakes, huge
 * declared lengths, slow clients) are each answered with 400/403/404/405 or a closed socket within a bounded
 * time and a logged reason, the worker's pid does not change, and a real push still plays afterwards.
 * (Well-formed clients that would grow the worker or hold a stream: front-limits.test.ts.)
 */
import { startMediaPlane, type MediaPlane } from '../../server/media';
import { makeSign } from '../../server/media/sign';
import { killAllFfmpeg } from '../helpers/ffmpeg';
import { LogCapture } from './log-capture';
import { expectPlayback } from './playback';
import {
  TYPE_INVOKE,
  TYPE_SET_CHUNK_SIZE,
  TYPE_VIDEO,
  TYPE_WINDOW_ACK,
  chunk,
  command,
  connectCommand,
  connected,
  handshake,
  openRaw,
  rawHttpStatus,
  request,
  signOf,
  u32,
  within,
  wsFlv,
  type RawRtmp,
} from './raw-clients';

const SECRET = 'test-media-secret-0123456789-0123456789-abcdef';
const S_A = 'room1_alice';
/** The front's deadline for asking for a stream; short here so slow clients are cut within the test. */
const REQUEST_TIMEOUT_MS = 2000;
// Bounds for "answered in time", generous for a loaded 2-core machine.
const ANSWER_MS = 8000;

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
    const sign = signOf(plane.playUrls(S_A).flv);
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
    const since = logs.mark();
    const slow = await openRaw(plane.health().httpPort);
    slow.send(`GET /live/${S_A}.flv HTTP/1.1\r\nHost: x\r\n`);
    const garbage = await openRaw(plane.health().httpPort);
    garbage.send('\x00\x01\x02 not http\r\n\r\n');
    const [slowMs, garbageMs] = await Promise.all([slow.closed, garbage.closed]);
    expect(slowMs).toBeLessThan(REQUEST_TIMEOUT_MS + ANSWER_MS);
    expect(garbageMs).toBeLessThan(ANSWER_MS);
    const [slowRefusal, garbageRefusal] = await Promise.all(
      [slow, garbage].map((conn) => logs.refusalFrom(conn.localPort, since, ANSWER_MS)),
    );
    expect(slowRefusal.reason).toBe('slow request (ERR_HTTP_REQUEST_TIMEOUT)');
    expect(garbageRefusal.reason).toMatch(/^unparseable request \(HPE_[A-Z_]+\)$/);

    // The positive control: the same worker (no restart) still serves a signed play.
    expect(plane.health()).toMatchObject({ pid, restarts: 0, status: 'up' });
    const good = await wsFlv(`${ws}${valid}`);
    expect(good.status).toBe(101);
  }, 60000);

  it('closes every malformed RTMP connection with a logged reason, and keeps serving', async () => {
    const pid = plane.health().pid;
    const sign = signOf(plane.pushUrl(S_A));
    const tcUrl = `rtmp://127.0.0.1:${rtmpPort}/live`;
    const since = logs.mark();
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
        // A client's value is quoted in the reason, clipped: it must not size our log lines.
        'connect to a 60 KB app name',
        shaken(connectCommand(tcUrl, 'x'.repeat(60000))),
        /^connect to app "x{63}…$/,
      ],
      [
        'connect without cmdObj',
        shaken(command({ cmd: 'connect', transId: 1 })),
        /^connect without a command object$/,
      ],
      ['second connect', connected(rtmpPort, connectCommand(tcUrl)), /^second connect$/],
      [
        'publish before connect',
        shaken(command({ cmd: 'publish', transId: 2, cmdObj: null, streamName: `${S_A}?sign=${sign}` })),
        /^publish before connect$/,
      ],
      [
        'publish without a name (killed NMS)',
        connected(rtmpPort, command({ cmd: 'publish', transId: 2, cmdObj: null })),
        /^publish: stream name is not a string$/,
      ],
      [
        'play without a name (killed NMS)',
        connected(rtmpPort, command({ cmd: 'play', transId: 2, cmdObj: null })),
        /^play: stream name is not a string$/,
      ],
      [
        'play of an unsafe name',
        connected(
          rtmpPort,
          command({ cmd: 'play', transId: 2, cmdObj: null, streamName: `a!b?sign=${sign}` }),
        ),
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
        connected(rtmpPort, chunk(TYPE_VIDEO, Buffer.alloc(10), { cid: 6 })),
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
      ['connect, then nothing', connected(rtmpPort)],
    ];
    const conns = await Promise.all(cases.map(([, conn]) => conn));
    const slow = await Promise.all(timeouts.map(([, conn]) => conn));
    const outcomes = await Promise.all(
      conns.map(async (conn) => {
        const closed = await within(conn.closed, ANSWER_MS, 'closed').then(
          () => true,
          () => false,
        );
        const refusal = await logs.refusalFrom(conn.localPort, since, ANSWER_MS).catch(() => undefined);
        return { closed, reason: String(refusal?.reason) };
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
      expect((await logs.refusalFrom(conn.localPort, since)).reason).toBe('no valid publish or play in time');
    }

    // Nothing needed a restart: the front refused it all in the same worker, which still serves media.
    expect(plane.health()).toMatchObject({ pid, restarts: 0, status: 'up' });
    await expectPlayback(plane, logs, S_A);
    expect(plane.health()).toMatchObject({ pid, restarts: 0 });
  }, 90000);
});
