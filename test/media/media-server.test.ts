/** @jest-environment node */
/**
 * End-to-end checks of server/media against real ffmpeg pushers and pullers: signed push and play over RTMP
 * and HTTP-FLV, every refusal path (unsigned, wrong path, play-signature-as-push, expired, not allowed,
 * revoked, bad play signature), that refused pushers' media never reaches players, and that close() frees
 * both ports. Independent pushes run in parallel to keep the file well under a minute on 2 cores.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startMediaServer, type MediaServer } from '../../server/media';
import { derivePlayKey, makeSign, toStreamName, verifySign } from '../../server/media/sign';
import {
  DecodeError,
  decodeVideoFrames,
  killAllFfmpeg,
  missingBinariesReason,
  pushTestPattern,
  waitForRefusal,
} from '../helpers/ffmpeg';
import { canListen } from '../helpers/ports';

const SECRET = 'test-secret-0123456789';
const S_A = 'room1_alice';
const S_B = 'room1_bob';
const S_NOT_ALLOWED = 'room1_mallory';
const REFUSAL_MS = 5000;

const skipReason = missingBinariesReason();
if (skipReason) console.warn(`SKIPPED: media-server ffmpeg tests: ${skipReason}`);
const itMedia = skipReason ? it.skip : it;

function signOf(url: string): string {
  const sign = new URL(url.replace(/^rtmp:/, 'http:')).searchParams.get('sign');
  if (!sign) throw new Error(`no sign in ${url}`);
  return sign;
}

/** A push URL for `stream` carrying someone else's `sign` value. */
function withSign(server: MediaServer, stream: string, sign: string): string {
  return `${server.rtmpBase}/${stream}?sign=${sign}`;
}

interface NmsRtmpClient {
  connect(url: string): Promise<void>;
  sendConnect(): Promise<unknown>;
  sendCreateStream(): Promise<number>;
  sendPlay(streamName: string): Promise<unknown>;
  sendPacket(packet: unknown): void;
  disconnect(): void;
  onErrorCallback: (error: Error) => void;
}

/**
 * Connects as an RTMP *player* with a valid play URL, then sends media on that connection. NMS 4.4.3 forwards
 * media from any RTMP session attached to a path, so without the server's packet gate this injects into the
 * stream. NMS's own RTMP client and FLV parser do the protocol work.
 */
async function injectAsPlayer(playRtmpUrl: string): Promise<{ stop(): void }> {
  /* eslint-disable @typescript-eslint/no-require-imports -- untyped NMS internals, test-only */
  const RtmpClient = require('node-media-server/src/protocol/rtmp_client.js') as new () => NmsRtmpClient;
  const Flv = require('node-media-server/src/protocol/flv.js') as new () => {
    onPacketCallback: (packet: unknown) => void;
    parserData(chunk: Buffer): string | null;
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const url = new URL(playRtmpUrl.replace(/^rtmp:/, 'http:'));
  const stream = url.pathname.split('/')[2];
  const client = new RtmpClient();
  client.onErrorCallback = () => {};
  await client.connect(playRtmpUrl.split('?')[0]);
  await client.sendConnect();
  await client.sendCreateStream();
  client.sendPlay(`${stream}${url.search}`).catch(() => {});
  const source = pushTestPattern('pipe:1');
  const flv = new Flv();
  flv.onPacketCallback = (packet) => client.sendPacket(packet);
  source.process.stdout?.on('data', (chunk: Buffer) => flv.parserData(chunk));
  return {
    stop() {
      void source.stop();
      client.disconnect();
    },
  };
}

async function expectNoVideo(url: string, timeoutMs: number): Promise<DecodeError> {
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
    await expect(startMediaServer({ rtmpPort: 0, httpPort: 0, secret: '' })).rejects.toThrow(/secret/);
  });
});

describe('embedded media server', () => {
  let server: MediaServer;
  const startedAt = Date.now();
  const logLines: Array<{ msg: string; reason?: string; component?: string }> = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
          logLines.push(JSON.parse(line));
        done();
      },
    }),
  );

  beforeAll(async () => {
    server = await startMediaServer({ rtmpPort: 0, httpPort: 0, secret: SECRET, logger });
    server.allow(S_A);
    server.allow(S_B);
  });

  afterAll(async () => {
    killAllFfmpeg();
    await server?.close();
  });

  it('issues URLs on the picked ports and refuses a second instance', async () => {
    expect(server.rtmpPort).toBeGreaterThan(0);
    expect(server.httpPort).toBeGreaterThan(0);
    expect(server.rtmpPort).not.toBe(server.httpPort);
    expect(server.rtmpBase).toBe(`rtmp://127.0.0.1:${server.rtmpPort}/live`);
    expect(server.httpBase).toBe(`http://127.0.0.1:${server.httpPort}/live`);
    const push = server.pushUrl(S_A);
    const play = server.playUrls(S_A);
    expect(push).toMatch(
      new RegExp(`^rtmp://127\\.0\\.0\\.1:${server.rtmpPort}/live/${S_A}\\?sign=\\d+-[0-9a-f]{32}$`),
    );
    expect(play.flv).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:${server.httpPort}/live/${S_A}\\.flv\\?sign=`),
    );
    const [exp, hash] = signOf(push).split('-');
    expect(Number(exp) - Date.now() / 1000).toBeGreaterThan(11.9 * 3600);
    expect(hash).toBe(createHash('md5').update(`/live/${S_A}-${exp}-${SECRET}`).digest('hex'));
    expect(signOf(play.rtmp)).not.toBe(signOf(push));
    expect(() => server.pushUrl('bad.name')).toThrow();
    await expect(startMediaServer({ rtmpPort: 0, httpPort: 0, secret: SECRET })).rejects.toThrow(
      /already running/,
    );
  });

  itMedia(
    'refuses every unauthorised push, and none of their media reaches a player',
    async () => {
      const playSign = signOf(server.playUrls(S_A).rtmp);
      const expiredExp = Math.floor(Date.now() / 1000) - 60;
      const expired = `${expiredExp}-${createHash('md5').update(`/live/${S_A}-${expiredExp}-${SECRET}`).digest('hex')}`;
      // A valid player sits on S_A first: it must see nothing while the refused pushers try to publish there.
      const watcher = expectNoVideo(server.playUrls(S_A).flv, 4000);
      await new Promise((r) => setTimeout(r, 300));
      const attempts = {
        unsigned: pushTestPattern(`${server.rtmpBase}/${S_A}`),
        pathSwapped: pushTestPattern(withSign(server, S_B, signOf(server.pushUrl(S_A)))),
        playSignature: pushTestPattern(withSign(server, S_A, playSign)),
        expired: pushTestPattern(withSign(server, S_A, expired)),
        notAllowed: pushTestPattern(server.pushUrl(S_NOT_ALLOWED)),
      };
      const outcomes = await Promise.all(
        Object.entries(attempts).map(async ([name, pusher]) => [
          name,
          await waitForRefusal(pusher, REFUSAL_MS),
        ]),
      );
      await Promise.all(Object.values(attempts).map((p) => p.stop()));
      expect(Object.fromEntries(outcomes)).toEqual({
        unsigned: true,
        pathSwapped: true,
        playSignature: true,
        expired: true,
        notAllowed: true,
      });
      await watcher;
      const reasons = logLines.filter((l) => l.msg === 'publish refused').map((l) => l.reason);
      expect(reasons).toContain('stream is not allowed');
      expect(reasons).toContain('missing, invalid or expired publish signature');
      // NMS's own log lines are routed to the same logger rather than console.log.
      expect(logLines.some((l) => l.component === 'nms')).toBe(true);
    },
    20000,
  );

  itMedia(
    'a player cannot inject media into the stream it plays',
    async () => {
      const watcher = expectNoVideo(server.playUrls(S_B).flv, 3500);
      await new Promise((r) => setTimeout(r, 300));
      const injector = await injectAsPlayer(server.playUrls(S_B).rtmp);
      try {
        await watcher;
      } finally {
        injector.stop();
      }
    },
    15000,
  );

  itMedia(
    'streams a signed, allowed push over RTMP and HTTP-FLV; bad play signatures get nothing',
    async () => {
      const play = server.playUrls(S_A);
      const badSign = signOf(play.rtmp).replace(/.$/, (c) => (c === '0' ? '1' : '0'));
      const pushSign = signOf(server.pushUrl(S_A));
      // Pull-first, like a <live-player> that starts before its peer publishes.
      const rtmp = decodeVideoFrames(play.rtmp, { frames: 5, timeoutMs: 12000 });
      const flv = decodeVideoFrames(play.flv, { frames: 5, timeoutMs: 12000 });
      const refusedPlays = Promise.all([
        expectNoVideo(`${server.rtmpBase}/${S_A}?sign=${badSign}`, 4000),
        expectNoVideo(`${server.httpBase}/${S_A}.flv?sign=${badSign}`, 4000),
        expectNoVideo(`${server.httpBase}/${S_A}.flv`, 4000),
        // A push signature is not a play signature either.
        expectNoVideo(`${server.httpBase}/${S_A}.flv?sign=${pushSign}`, 4000),
      ]);
      await new Promise((r) => setTimeout(r, 200));
      const pusher = pushTestPattern(server.pushUrl(S_A));
      try {
        for (const decoded of await Promise.all([rtmp, flv])) {
          expect(decoded).toMatchObject({ width: 320, height: 240, codec: 'h264' });
          expect(decoded.frames).toBeGreaterThanOrEqual(5);
        }
        const refusals = await refusedPlays;
        // HTTP-FLV refusals are explicit 403s rather than NMS's "200 and an empty body".
        expect(refusals[1].stderr).toMatch(/403/);
        expect(pusher.process.exitCode).toBeNull();

        // revoke(): the running pusher and a connected player are cut off now; the old URL stops working.
        // The handler is attached at once: the cut can land before the assertions below reach it.
        const player = decodeVideoFrames(play.rtmp, { frames: 100000, timeoutMs: 15000 }).then(
          () => {
            throw new Error('player should have been cut off');
          },
          (e: unknown) => e as DecodeError,
        );
        await new Promise((r) => setTimeout(r, 1500));
        const revokedAt = Date.now();
        server.revoke(S_A);
        expect(await waitForRefusal(pusher, REFUSAL_MS)).toBe(true);
        const cut = await player;
        expect(cut.reason).toBe('exit');
        expect(cut.framesSeen).toBeGreaterThan(0);
        expect(Date.now() - revokedAt).toBeLessThan(REFUSAL_MS);
        const again = pushTestPattern(server.pushUrl(S_A));
        expect(await waitForRefusal(again, REFUSAL_MS)).toBe(true);
      } finally {
        await pusher.stop();
      }
    },
    40000,
  );

  it('close() frees both ports at once and allows a new instance', async () => {
    const { rtmpPort, httpPort } = server;
    await server.close();
    await server.close();
    expect(await canListen(rtmpPort)).toBe(true);
    expect(await canListen(httpPort)).toBe(true);
    const next = await startMediaServer({ rtmpPort, httpPort, secret: 'another-secret' });
    expect([next.rtmpPort, next.httpPort]).toEqual([rtmpPort, httpPort]);
    await next.close();
    expect(Date.now() - startedAt).toBeLessThan(60000);
  });
});
