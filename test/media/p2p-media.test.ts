/** @jest-environment node */
/**
 * Real media through a real call: the server issues the URLs over signalling, ffmpeg pushes a test pattern to
 * the URL A was given for its own stream, and video is decoded back from the play URL B was given for A.
 */
import type { RunningServer } from '../../server';
import { MediaRoster } from '../../services/media';
import {
  decodeVideoFrames,
  killAllFfmpeg,
  missingBinariesReason,
  pushTestPattern,
  waitForRefusal,
  type TestPusher,
} from '../helpers/ffmpeg';
import { connectClient, startTestServer, type TestClient } from '../helpers/server';

const skipReason = missingBinariesReason();
if (skipReason) console.warn(`SKIPPED: P2P media e2e: ${skipReason}`);
const itMedia = skipReason ? it.skip : it;

let server: RunningServer;
let a: TestClient;
let b: TestClient;
let rosterA: MediaRoster;
let rosterB: MediaRoster;
const pushers: TestPusher[] = [];

beforeAll(async () => {
  server = await startTestServer();
  a = await connectClient(server, 'alice');
  b = await connectClient(server, 'bob');
  rosterA = new MediaRoster(a);
  rosterB = new MediaRoster(b);
  const { cid } = await a.call({ type: 2, callee: 'bob' });
  await b.next('beCalling');
  await b.response({ accepted: true, caller: 'alice', type: 2, cid });
  await a.next('callAccepted');
  rosterA.setSelf(await a.startRtc({ mode: 0 }));
  rosterB.setSelf(await b.startRtc({ mode: 0 }));
  await a.next('clientJoin');
});

afterAll(async () => {
  await Promise.all(pushers.map((p) => p.stop()));
  killAllFfmpeg();
  a?.close();
  b?.close();
  await server?.close();
});

function push(url: string): TestPusher {
  const pusher = pushTestPattern(url);
  pushers.push(pusher);
  return pusher;
}

describe('media on the issued URLs', () => {
  itMedia('decodes at B the video A pushes to its issued push URL, over RTMP and HTTP-FLV', async () => {
    const pushUrl = rosterA.pusher!.url;
    const peer = rosterB.players.find((p) => p.account === 'alice')!;
    const pusher = push(pushUrl);
    const [rtmp, flv] = await Promise.all([
      decodeVideoFrames(peer.url, { frames: 5, timeoutMs: 15000 }),
      decodeVideoFrames(peer.flvUrl!, { frames: 5, timeoutMs: 15000 }),
    ]);
    for (const video of [rtmp, flv]) {
      expect(video.frames).toBeGreaterThanOrEqual(5);
      expect(video).toMatchObject({ width: 320, height: 240, codec: 'h264' });
    }
    // Free A's stream so the refusals below are about the URLs, not about a publisher already being there.
    await pusher.stop();
  });

  itMedia('refuses a push without a valid signature, and a push to B stream with A URL', async () => {
    const pushUrl = new URL(rosterA.pusher!.url.replace(/^rtmp:/, 'http:'));
    const unsigned = `rtmp://${pushUrl.host}${pushUrl.pathname}`;
    const badSign = `${unsigned}?sign=${Math.floor(Date.now() / 1000) + 3600}-${'0'.repeat(32)}`;
    const streamB = new URL(rosterB.pusher!.url.replace(/^rtmp:/, 'http:')).pathname;
    const toBWithAsSign = `rtmp://${pushUrl.host}${streamB}${pushUrl.search}`;
    // B's play URL for A's stream carries a signature too: it must not work for publishing.
    const playAsPush = rosterB.players[0].url;

    const refused = await Promise.all(
      [unsigned, badSign, toBWithAsSign, playAsPush].map((url) => waitForRefusal(push(url), 8000)),
    );
    expect(refused).toEqual([true, true, true, true]);
    // Control: the genuine URL is still accepted on the same stream.
    expect(await waitForRefusal(push(rosterA.pusher!.url), 3000)).toBe(false);
  });

  itMedia(
    'revokes the call media on hangup: the running push is cut and its URL no longer works',
    async () => {
      const pushUrl = rosterA.pusher!.url;
      const running = pushers[pushers.length - 1]; // the accepted control push above
      await a.hangup();
      await b.next('hangup');
      expect(await waitForRefusal(running, 8000)).toBe(true);
      expect(await waitForRefusal(push(pushUrl), 8000)).toBe(true);
    },
  );
});
