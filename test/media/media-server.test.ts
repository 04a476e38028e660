/** @jest-environment node */
/**
 * End-to-end checks of the embedded media plane (node-media-server in its supervised child process) against
 * real ffmpeg pushers and players: signed push and play over RTMP, HTTP-FLV and WS-FLV; every refusal path
 * (unsigned, wrong path, play-signature-as-push, expired, not authorised, revoked, bad play signature, a
 * second publisher on a live stream), each with the reason the worker logged and a positive control in the
 * same test; refused pushers' and players' media never reaching players (with the packet gate off, the same
 * injection does); revoke cutting everyone and refusing the URLs after; close() freeing both ports.
 * Independent pushes run in parallel.
 */
import { createHash } from 'node:crypto';
import { startMediaPlane, type MediaPlane } from '../../server/media';
import {
  derivePlayKey,
  makeSign,
  parseSignQuery,
  parseStreamRequest,
  toStreamName,
  verifySign,
} from '../../server/media/sign';
import {
  DecodeError,
  decodeVideoFrames,
  killAllFfmpeg,
  pushTestPattern,
  waitForRefusal,
  watchVideo,
} from '../helpers/ffmpeg';
import { canListen } from '../helpers/ports';
import { eventually } from '../helpers/wait';
import { LogCapture } from './log-capture';
import { injectAsPlayer, request, signOf, wsFlv } from './raw-clients';

const SECRET = 'test-media-secret-0123456789-0123456789-abcdef';
const S_A = 'room1_alice';
const S_B = 'room1_bob';
const S_NOT_ALLOWED = 'room1_mallory';
const S_BUSY = 'room1_dave';
// Generous: two cores shared with other test runs.
const REFUSAL_MS = 15000;
const DECODE_MS = 20000;

function rtmpBase(plane: MediaPlane): string {
  return `rtmp://127.0.0.1:${plane.health().rtmpPort}/live`;
}

function httpBase(plane: MediaPlane): string {
  return `http://127.0.0.1:${plane.health().httpPort}/live`;
}

async function expectNoVideo(url: string, timeoutMs = DECODE_MS): Promise<DecodeError> {
  const error = await decodeVideoFrames(url, { frames: 1, timeoutMs }).then(
    (decoded) => {
      throw new Error(`expected no video from ${url}, got ${JSON.stringify(decoded)}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DecodeError);
  expect((error as DecodeError).framesSeen).toBe(0);
  return error as DecodeError;
}

describe('signing and naming (no media)', () => {
  it('builds NMS-format signatures and keeps play and publish keys apart', () => {
    // README example of node-media-server: the format NMS itself checks.
    expect(makeSign('/live/stream', 1503458721, 'nodemedia2017privatekey')).toBe(
      '1503458721-80c1d1ad2e0c2ab63eebb50eed64201a',
    );
    const playKey = derivePlayKey(SECRET);
    expect(playKey).not.toBe(SECRET);
    const sign = makeSign('/live/x', 2000000000, playKey);
    expect(verifySign(sign, '/live/x', playKey, 1)).toBe(true);
    expect(verifySign(sign, '/live/x', SECRET, 1)).toBe(false);
    expect(verifySign(sign, '/live/y', playKey, 1)).toBe(false);
    expect(verifySign(sign, '/live/x', playKey, 2000000001)).toBe(false);
    expect(verifySign(`${sign}x`, '/live/x', playKey, 1)).toBe(false);
    expect(verifySign([sign, sign], '/live/x', playKey, 1)).toBe(false);
    expect(verifySign(undefined, '/live/x', playKey, 1)).toBe(false);
  });

  it('accepts exactly `<name>?sign=<exp>-<md5>` as a stream request', () => {
    const sign = `2000000000-${'a'.repeat(32)}`;
    expect(parseStreamRequest(`room_a?sign=${sign}`)).toEqual({ ok: true, value: { name: 'room_a', sign } });
    for (const bad of [
      undefined,
      42,
      'room_a',
      `room.a?sign=${sign}`,
      `?sign=${sign}`,
      `room_a?sign=${sign}&sign=${sign}`,
      `room_a?sign=${sign}&x=1`,
      `room_a?sign=${sign.toUpperCase()}`,
      `room_a?sign=abc`,
      `${'r'.repeat(201)}?sign=${sign}`,
    ])
      expect(parseStreamRequest(bad).ok).toBe(false);
    expect(parseSignQuery(`sign=${sign}`)).toEqual({ ok: true, value: sign });
    expect(parseSignQuery('').ok).toBe(false);
  });

  it('maps (cid, uid) to NMS-safe names without collisions', () => {
    expect(toStreamName('room1', 'alice')).toBe('room1_alice');
    const names = [
      toStreamName('a_b', 'c'),
      toStreamName('a', 'b_c'),
      toStreamName('a.b', 'c'),
      toStreamName('a-2eb', 'c'),
      toStreamName('房间', 'user@x'),
    ];
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(new Set(names).size).toBe(names.length);
    const long = toStreamName('r'.repeat(150), 'u'.repeat(150));
    expect(long).toMatch(/^--[0-9a-f]{64}$/);
    expect(() => toStreamName('', 'u')).toThrow();
  });

  it('refuses an empty secret', async () => {
    await expect(startMediaPlane({ rtmpPort: 0, httpPort: 0, secret: '' })).rejects.toThrow(/secret/);
  });
});

describe('embedded media plane', () => {
  const logs = new LogCapture('debug');
  let plane: MediaPlane;

  beforeAll(async () => {
    plane = await startMediaPlane({ rtmpPort: 0, httpPort: 0, secret: SECRET, logger: logs.logger });
    plane.authorize(S_A);
    plane.authorize(S_B);
  });

  afterAll(async () => {
    killAllFfmpeg();
    await plane?.close();
  });

  it('runs the engine in a child process and issues URLs on its picked ports, valid for 2 hours', () => {
    const health = plane.health();
    expect(health).toMatchObject({ status: 'up', restarts: 0 });
    expect(health.pid).toEqual(expect.any(Number));
    expect(health.pid).not.toBe(process.pid);
    expect(health.rtmpPort).toBeGreaterThan(0);
    expect(health.httpPort).toBeGreaterThan(0);
    expect(health.rtmpPort).not.toBe(health.httpPort);
    const push = plane.pushUrl(S_A);
    const play = plane.playUrls(S_A);
    expect(push).toMatch(
      new RegExp(`^rtmp://127\\.0\\.0\\.1:${health.rtmpPort}/live/${S_A}\\?sign=\\d+-[0-9a-f]{32}$`),
    );
    expect(play.rtmp).toMatch(new RegExp(`^rtmp://127\\.0\\.0\\.1:${health.rtmpPort}/live/${S_A}\\?sign=`));
    expect(play.flv).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:${health.httpPort}/live/${S_A}\\.flv\\?sign=`),
    );
    const [exp, hash] = signOf(push).split('-');
    const lifetime = Number(exp) - Date.now() / 1000;
    expect(lifetime).toBeGreaterThan(2 * 3600 - 60);
    expect(lifetime).toBeLessThanOrEqual(2 * 3600 + 1);
    expect(hash).toBe(createHash('md5').update(`/live/${S_A}-${exp}-${SECRET}`).digest('hex'));
    expect(signOf(play.rtmp)).not.toBe(signOf(push));
    expect(() => plane.pushUrl('bad.name')).toThrow();
    expect(() => plane.authorize('bad.name')).toThrow();
  });

  it('refuses every unauthorised push with its reason, while the genuine URL publishes', async () => {
    const pushSign = signOf(plane.pushUrl(S_A));
    const playSign = signOf(plane.playUrls(S_A).rtmp);
    const expiredExp = Math.floor(Date.now() / 1000) - 60;
    const expired = makeSign(`/live/${S_A}`, expiredExp, SECRET);
    // A valid player sits on S_A for the whole time the refused pushers try to publish there.
    const watching = logs.mark();
    const watcher = watchVideo(plane.playUrls(S_A).flv);
    await logs.accepted('play', S_A, { since: watching, protocol: 'http-flv' });
    const attempts = {
      unsigned: pushTestPattern(`${rtmpBase(plane)}/${S_A}`),
      pathSwapped: pushTestPattern(`${rtmpBase(plane)}/${S_B}?sign=${pushSign}`),
      playSignature: pushTestPattern(`${rtmpBase(plane)}/${S_A}?sign=${playSign}`),
      expired: pushTestPattern(`${rtmpBase(plane)}/${S_A}?sign=${expired}`),
      notAuthorised: pushTestPattern(plane.pushUrl(S_NOT_ALLOWED)),
    };
    const outcomes = await Promise.all(
      Object.entries(attempts).map(async ([name, pusher]) => [
        name,
        await waitForRefusal(pusher, REFUSAL_MS),
      ]),
    );
    expect(Object.fromEntries(outcomes)).toEqual({
      unsigned: true,
      pathSwapped: true,
      playSignature: true,
      expired: true,
      notAuthorised: true,
    });
    const reasons = (stream: string): string[] => logs.refusalsFor(stream).map((l) => String(l.reason));
    await logs.until(
      () => reasons(S_A).length >= 3 && reasons(S_B).length + reasons(S_NOT_ALLOWED).length >= 2,
      REFUSAL_MS,
    );
    expect(reasons(S_A)).toContain('publish: stream name carries no signature');
    expect(reasons(S_A).filter((r) => r === 'publish: signature invalid or expired')).toHaveLength(2);
    expect(reasons(S_B)).toEqual(['publish: signature invalid or expired']);
    expect(reasons(S_NOT_ALLOWED)).toEqual(['publish: stream not authorised']);
    const seen = await watcher.stop();
    expect(seen.frames).toBe(0);

    // Positive control: the genuine URL publishes on the same stream, and a player gets its video.
    const publishing = logs.mark();
    const genuine = pushTestPattern(plane.pushUrl(S_A));
    try {
      await logs.accepted('publish', S_A, { since: publishing });
      const decoded = await decodeVideoFrames(plane.playUrls(S_A).flv, { frames: 3, timeoutMs: DECODE_MS });
      expect(decoded).toMatchObject({ width: 320, height: 240, codec: 'h264' });
    } finally {
      await genuine.stop();
    }
  }, 60000);

  it('keeps a player from injecting media into the stream it plays (without the gate it could)', async () => {
    const ungatedLogs = new LogCapture('info');
    const ungated = await startMediaPlane({
      rtmpPort: 0,
      httpPort: 0,
      secret: SECRET,
      logger: ungatedLogs.logger,
      testOnlyDisablePacketGate: true,
    });
    const attempt = async (target: MediaPlane, log: LogCapture) => {
      target.authorize(S_B);
      const since = log.mark();
      const watcher = watchVideo(target.playUrls(S_B).flv);
      await log.accepted('play', S_B, { since, protocol: 'http-flv' });
      const injector = await injectAsPlayer(target.playUrls(S_B).rtmp);
      await log.accepted('play', S_B, { since, protocol: 'rtmp' });
      return { watcher, injector };
    };
    try {
      const [gated, open] = await Promise.all([attempt(plane, logs), attempt(ungated, ungatedLogs)]);
      // The window is 4 s of injected video (60 packets at 15 fps), counted as the injector sends it.
      const window = 60;
      await Promise.race([
        open.watcher.firstFrame,
        open.injector.sent(window).then(() => {
          throw new Error('without the gate the injected video should have reached the player');
        }),
      ]);
      await gated.injector.sent(window);
      // Still connected: the gate dropped its media, not a refusal of the connection.
      expect(gated.injector.closed()).toBe(false);
      const sent = gated.injector.videoPackets();
      const stopping = logs.mark();
      await gated.injector.stop();
      // The worker read every packet before the close, and dropped them all (audio too, so at least as many
      // as the video sent): none was written to the player, so none can still be on its way to it.
      const dropped = await logs.waitFor(
        (l) =>
          l.msg === 'media from a session that is not the publisher dropped' && l.stream === `/live/${S_B}`,
        REFUSAL_MS,
        'the count of dropped packets',
        stopping,
      );
      expect(dropped.packets).toBeGreaterThanOrEqual(sent);
      expect((await gated.watcher.stop()).frames).toBe(0);
      await open.injector.stop();
      await open.watcher.stop();
    } finally {
      await ungated.close();
    }
  }, 60000);

  it('refuses a second publisher on a live stream, while the first keeps playing to its player', async () => {
    plane.authorize(S_BUSY);
    const since = logs.mark();
    const first = pushTestPattern(plane.pushUrl(S_BUSY));
    try {
      await logs.accepted('publish', S_BUSY, { since });
      const player = watchVideo(plane.playUrls(S_BUSY).flv);
      await player.firstFrame;
      const second = pushTestPattern(plane.pushUrl(S_BUSY));
      expect(await waitForRefusal(second, REFUSAL_MS)).toBe(true);
      await logs.waitFor(
        (l) =>
          l.msg === 'media request refused' &&
          l.stream === `/live/${S_BUSY}` &&
          l.reason === 'publish: stream already has a publisher',
        REFUSAL_MS,
        'the second publisher refused',
        since,
      );
      // The first publisher still reaches the player after the refusal.
      const atRefusal = player.frames();
      await eventually(() => player.frames() >= atRefusal + 5, 'frames after the refusal', DECODE_MS);
      expect(first.process.exitCode).toBeNull();
      await player.stop();
    } finally {
      await first.stop();
      plane.revoke(S_BUSY);
    }
  }, 60000);

  it('plays a signed push over RTMP, HTTP-FLV and WS-FLV; refuses bad play signatures; revoke ends it', async () => {
    const testStart = logs.mark();
    const play = plane.playUrls(S_A);
    const badSign = signOf(play.rtmp).replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    const pushSign = signOf(plane.pushUrl(S_A));
    // Pull-first, like a <live-player> that starts before its peer publishes.
    const rtmp = decodeVideoFrames(play.rtmp, { frames: 5, timeoutMs: DECODE_MS });
    const flv = decodeVideoFrames(play.flv, { frames: 5, timeoutMs: DECODE_MS });
    const since = logs.mark();
    const pusher = pushTestPattern(plane.pushUrl(S_A));
    try {
      await logs.accepted('publish', S_A, { since });
      const [refusedRtmp, badFlv, pushSignFlv, unsignedFlv] = await Promise.all([
        expectNoVideo(`${rtmpBase(plane)}/${S_A}?sign=${badSign}`),
        request(`${httpBase(plane)}/${S_A}.flv?sign=${badSign}`),
        request(`${httpBase(plane)}/${S_A}.flv?sign=${pushSign}`),
        request(`${httpBase(plane)}/${S_A}.flv`),
      ]);
      expect(refusedRtmp.reason).toBe('exit');
      await logs.waitFor(
        (l) =>
          l.protocol === 'rtmp' &&
          l.stream === `/live/${S_A}` &&
          l.reason === 'play: signature invalid or expired',
        REFUSAL_MS,
      );
      expect([badFlv.status, pushSignFlv.status, unsignedFlv.status]).toEqual([403, 403, 400]);
      expect(badFlv.body.toString()).toBe('play: signature invalid or expired\n');
      expect(badFlv.headers['access-control-allow-origin']).toBeUndefined();

      for (const decoded of await Promise.all([rtmp, flv])) {
        expect(decoded).toMatchObject({ width: 320, height: 240, codec: 'h264' });
        expect(decoded.frames).toBeGreaterThanOrEqual(5);
      }
      const ws = await wsFlv(play.flv.replace(/^http:/, 'ws:'));
      expect(ws.status).toBe(101);
      expect(ws.firstMessage?.subarray(0, 3).toString()).toBe('FLV');
      // CORS only for a validly signed play: web players embed anywhere, the signature is the credential.
      const direct = await request(play.flv, { bodyBytes: 13 });
      expect(direct.status).toBe(200);
      expect(direct.headers['access-control-allow-origin']).toBe('*');
      expect(direct.headers['content-type']).toBe('video/x-flv');
      expect(direct.body.subarray(0, 3).toString()).toBe('FLV');

      // revoke(): the running pusher and attached players (which were playing) are cut now.
      const players = [watchVideo(play.rtmp), watchVideo(play.flv)];
      await Promise.all(players.map((p) => p.firstFrame));
      const revokedAt = Date.now();
      plane.revoke(S_A);
      expect(await waitForRefusal(pusher, REFUSAL_MS)).toBe(true);
      for (const player of await Promise.all(players.map((p) => p.exited))) {
        expect(player.signal).toBeNull(); // ended by the server, not by our kill
        expect(player.frames).toBeGreaterThan(0);
      }
      expect(Date.now() - revokedAt).toBeLessThan(REFUSAL_MS);
    } finally {
      await pusher.stop();
    }

    // The same URLs, still within their signatures' lifetime, are refused from now on.
    const again = pushTestPattern(plane.pushUrl(S_A));
    const [pushRefused, flvAfter, rtmpAfter] = await Promise.all([
      waitForRefusal(again, REFUSAL_MS),
      request(play.flv),
      expectNoVideo(play.rtmp),
    ]);
    expect(pushRefused).toBe(true);
    expect(rtmpAfter.reason).toBe('exit'); // closed by the worker, not waiting for a publisher
    expect(flvAfter.status).toBe(403);
    expect(flvAfter.body.toString()).toBe('play: stream not authorised\n');
    const after = (reason: string, protocol: string) =>
      logs.waitFor(
        (l) => l.protocol === protocol && l.stream === `/live/${S_A}` && l.reason === reason,
        REFUSAL_MS,
        reason,
        testStart,
      );
    await after('publish: stream not authorised', 'rtmp');
    await after('play: stream not authorised', 'rtmp');
  }, 90000);

  it('close() stops the child, frees both ports at once, and is idempotent', async () => {
    const { rtmpPort, httpPort, pid } = plane.health();
    await Promise.all([plane.close(), plane.close()]);
    await plane.close();
    expect(plane.health().status).toBe('stopped');
    expect(() => process.kill(pid!, 0)).toThrow(/ESRCH/);
    expect(await canListen(rtmpPort)).toBe(true);
    expect(await canListen(httpPort)).toBe(true);
    const next = await startMediaPlane({ rtmpPort, httpPort, secret: 'another-secret-0123456789abcdef' });
    expect(next.health()).toMatchObject({ status: 'up', rtmpPort, httpPort });
    // Operator-fixed ports that are taken are a start-up error, not something to work around.
    await expect(
      startMediaPlane({ rtmpPort, httpPort, secret: 'another-secret-0123456789abcdef' }),
    ).rejects.toThrow(/EADDRINUSE/);
    await next.close();
  });
});
