/** @jest-environment node */
/**
 * nginx-rtmp as the media plane of a cluster: two nodes on one real Redis, both `media: 'nginx'`, a 1:1 call
 * between alice on node A and bob on node B. The call is placed on one node's nginx; the party whose signalling
 * node is the other one had its stream authorised there over the bus, so the media node's hooks allow a publish
 * and a play they never saw signalled. Both push real video to the URLs their own syncDone gave them and decode
 * each other's. The hangup is handled on the node without the media: its revocations cross the bus, and the media
 * node's nginx drops both publishers and both players. Needs nginx and libnginx-mod-rtmp (never skips).
 */
import type { RunningServer } from '../../server/index';
import {
  decodeVideoFrames,
  killAllFfmpeg,
  pushTestPattern,
  waitForRefusal,
  watchVideo,
  type TestPusher,
  type VideoWatch,
} from '../helpers/ffmpeg';
import { startRedis, type TestRedis } from '../helpers/redis';
import { closeClients, connectClient, establishCall, startTestServer, origin } from '../helpers/server';
import { LogCapture } from './log-capture';

// Generous: two cores shared with other test runs.
const MEDIA_MS = 20_000;
const SIZE = { size: '160x120', fps: 10 };

let redis: TestRedis;
let a: RunningServer;
let b: RunningServer;
const logs = { nodea: new LogCapture('debug'), nodeb: new LogCapture('debug') };
const pushers: TestPusher[] = [];
const players: VideoWatch[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const node = (id: keyof typeof logs) =>
    startTestServer({ redis: redis.url, nodeId: id, media: 'nginx', logger: logs[id].logger });
  a = await node('nodea');
  b = await node('nodeb');
}, 60_000);

afterAll(async () => {
  await Promise.all([...pushers.map((p) => p.stop()), ...players.map((p) => p.stop())]);
  killAllFfmpeg();
  closeClients();
  await Promise.all([a?.close(), b?.close()]);
  await redis?.stop();
});

const streamOf = (url: string) => new URL(url).pathname.slice('/live/'.length);

it('carries a call between nodes on one nginx, and cuts the remote side at a hangup handled on its node', async () => {
  const alice = await connectClient(a, 'ngxc-alice');
  const bob = await connectClient(b, 'ngxc-bob');
  const { cid, rosterA, rosterB } = await establishCall(alice, bob);
  const push = { alice: rosterA.pusher!.url, bob: rosterB.pusher!.url };
  const play = {
    alice: rosterB.players.find((p) => p.account === alice.account)!.url,
    bob: rosterA.players.find((p) => p.account === bob.account)!.url,
  };
  // One nginx for the call, whichever node issued the URL; the stream names say which.
  const media = streamOf(push.alice).split('_')[0] as keyof typeof logs;
  const host = { nodea: a, nodeb: b }[media];
  expect(host).toBeDefined();
  for (const url of [...Object.values(push), ...Object.values(play)]) {
    expect(origin(url)).toBe(host.media.rtmp);
    expect(streamOf(url).startsWith(`${media}_`)).toBe(true);
  }
  // The remote party is the one whose signalling node does not run the call's nginx.
  const [remote, local] = media === 'nodea' ? [bob, alice] : [alice, bob];
  const remoteNode = media === 'nodea' ? b : a;

  const since = logs[media].mark();
  pushers.push(pushTestPattern(push.alice, SIZE), pushTestPattern(push.bob, SIZE));
  // Each decodes the other: a play and a publish on the media node for a stream authorised on the other node.
  const decoded = await Promise.all([
    decodeVideoFrames(play.alice, { frames: 3, timeoutMs: MEDIA_MS }),
    decodeVideoFrames(play.bob, { frames: 3, timeoutMs: MEDIA_MS }),
  ]);
  for (const video of decoded) expect(video).toMatchObject({ codec: 'h264', width: 160, height: 120 });
  const accepted = (hook: string, stream: string) =>
    logs[media].lines
      .slice(since)
      .some((l) => l.msg === `${hook} accepted` && l.stream === `/live/${stream}`);
  for (const account of ['alice', 'bob'] as const) {
    expect(accepted('publish', streamOf(push[account]))).toBe(true);
    expect(accepted('play', streamOf(play[account]))).toBe(true);
  }

  // Control: both pushes are running and both plays flowing right up to the hangup.
  players.push(watchVideo(play.alice), watchVideo(play.bob));
  await Promise.all(players.map((p) => p.firstFrame));
  for (const pusher of pushers) expect(pusher.process.exitCode).toBeNull();

  const hangupAt = logs[media].mark();
  await remote.hangup();
  expect(await local.next('hangup')).toMatchObject({ cid, account: remote.account });
  // The remote node ended the call: only the bus told the media node to revoke, and its nginx cut every session.
  expect(await Promise.all(pushers.map((p) => waitForRefusal(p, MEDIA_MS)))).toEqual([true, true]);
  for (const player of players) expect((await player.exited).frames).toBeGreaterThan(0);
  for (const account of ['alice', 'bob'] as const) {
    const dropped = await logs[media].waitFor(
      (l) => l.msg === 'media stream dropped' && l.stream === streamOf(push[account]),
      MEDIA_MS,
      `the drop of ${account}'s stream`,
      hangupAt,
    );
    // Its publisher and at least the player still watching (a finished decode may linger in nginx a moment).
    expect(dropped.dropped).toBeGreaterThanOrEqual(2);
  }
  // Nothing was dropped by the node that handled the hangup: its own nginx carried nothing of the call.
  const remoteLogs = logs[remoteNode === a ? 'nodea' : 'nodeb'];
  expect(remoteLogs.lines.filter((l) => l.msg === 'media stream dropped')).toEqual([]);
}, 120_000);
