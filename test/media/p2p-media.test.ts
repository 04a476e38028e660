/** @jest-environment node */
/**
 * Real media through a real call: the server (with its media plane in a child process) issues the URLs over
 * signalling, ffmpeg pushes a test pattern to the URL A was given for its own stream, and video is decoded
 * back from the play URL B was given for A. After hangup, those play URLs are refused: they die with the call.
 */
import type { RunningServer } from '../../server/index';
import { MediaRoster } from '../../services/media';
import {
  DecodeError,
  decodeVideoFrames,
  killAllFfmpeg,
  pushTestPattern,
  waitForRefusal,
  watchVideo,
  type TestPusher,
} from '../helpers/ffmpeg';
import { connectClient, startTestServer, type TestClient } from '../helpers/server';
import { LogCapture } from './log-capture';
import { mediaUrl, request, streamOf } from './raw-clients';

// Generous: two cores shared with other test runs.
const REFUSAL_MS = 15000;
const logs = new LogCapture('info');

let server: RunningServer;
let a: TestClient;
let b: TestClient;
let rosterA: MediaRoster;
let rosterB: MediaRoster;
const pushers: TestPusher[] = [];

beforeAll(async () => {
  server = await startTestServer({ logger: logs.logger });
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
  it('decodes at B the video A pushes to its issued push URL, over RTMP and HTTP-FLV', async () => {
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

  it('refuses a push without a valid signature, and a push to B stream with A URL', async () => {
    const pushUrl = mediaUrl(rosterA.pusher!.url);
    const unsigned = `rtmp://${pushUrl.host}${pushUrl.pathname}`;
    const badSign = `${unsigned}?sign=${Math.floor(Date.now() / 1000) + 3600}-${'0'.repeat(32)}`;
    const streamB = mediaUrl(rosterB.pusher!.url).pathname;
    const toBWithAsSign = `rtmp://${pushUrl.host}${streamB}${pushUrl.search}`;
    // B's play URL for A's stream carries a signature too: it must not work for publishing.
    const playAsPush = rosterB.players[0].url;

    const since = logs.mark();
    const refused = await Promise.all(
      [unsigned, badSign, toBWithAsSign, playAsPush].map((url) => waitForRefusal(push(url), REFUSAL_MS)),
    );
    expect(refused).toEqual([true, true, true, true]);
    const reasons = (path: string) =>
      logs.lines
        .slice(since)
        .filter((l) => l.msg === 'media request refused' && l.stream === path)
        .map((l) => l.reason)
        .sort();
    await logs.until(() => reasons(pushUrl.pathname).length + reasons(streamB).length >= 4, REFUSAL_MS);
    expect(reasons(pushUrl.pathname)).toEqual([
      'publish: signature invalid or expired',
      'publish: signature invalid or expired',
      'publish: stream name carries no signature',
    ]);
    expect(reasons(streamB)).toEqual(['publish: signature invalid or expired']);
    // Control: the genuine URL publishes on the same stream (and keeps running for the hangup test below).
    const accepted = logs.mark();
    push(rosterA.pusher!.url);
    await logs.accepted('publish', streamOf(pushUrl.href), { since: accepted });
  });

  it('revokes the call media on hangup: the push is cut, and neither its push nor the peer play URLs work', async () => {
    const pushUrl = rosterA.pusher!.url;
    const peer = rosterB.players.find((p) => p.account === 'alice')!;
    const stream = streamOf(pushUrl);
    const running = pushers[pushers.length - 1]; // the accepted control push above
    // Positive control: B's play URLs for A play right up to the hangup.
    const players = [watchVideo(peer.url), watchVideo(peer.flvUrl!)];
    await Promise.all(players.map((p) => p.firstFrame));

    await a.hangup();
    await b.next('hangup');
    expect(await waitForRefusal(running, REFUSAL_MS)).toBe(true);
    for (const player of await Promise.all(players.map((p) => p.exited)))
      expect(player.frames).toBeGreaterThan(0);

    const [pushRefused, flv, rtmp] = await Promise.all([
      waitForRefusal(push(pushUrl), REFUSAL_MS),
      request(peer.flvUrl!),
      decodeVideoFrames(peer.url, { frames: 1, timeoutMs: 20000 }).catch((e: unknown) => e),
    ]);
    expect(pushRefused).toBe(true);
    expect(flv.status).toBe(403);
    expect(flv.body.toString()).toBe('play: stream not authorised\n');
    expect(rtmp).toBeInstanceOf(DecodeError);
    expect((rtmp as DecodeError).reason).toBe('exit');
    expect((rtmp as DecodeError).framesSeen).toBe(0);
    const refusal = (reason: string) =>
      logs.waitFor(
        (l) => l.msg === 'media request refused' && l.stream === `/live/${stream}` && l.reason === reason,
        REFUSAL_MS,
        reason,
      );
    await refusal('publish: stream not authorised');
    await refusal('play: stream not authorised');
  }, 60000);
});
