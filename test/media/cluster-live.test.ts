/** @jest-environment node */
/**
 * Interactive live across two nodes on one real Redis, with real mixes: the host on node A (the room's media is
 * placed there: `local` placement, first push on A), an audience member and a co-host on node B. The co-host's
 * push goes on stage in the one mix A runs, which the audience member, whose requests B handles, plays: red and
 * blue side by side, then red alone when the co-host steps down. B never starts a mix of its own, the directory
 * on B points at A's HLS, and when the host leaves no mix process is left on either node.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunningServer } from '../../server/index';
import { killLiveHelpers, pushColour, watchLiveFrames, type LiveFrames } from '../../bench/live-mix';
import { killAllFfmpeg, mixProcesses } from '../helpers/ffmpeg';
import { startRedis, type TestRedis } from '../helpers/redis';
import { closeClients, connectClient, pushUrlOf, startTestServer } from '../helpers/server';
import { eventually } from '../helpers/wait';

const FRAME_MS = 25_000;
const CHANNEL = 'cluster-show';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cluster-live-'));
let redis: TestRedis;
let a: RunningServer;
let b: RunningServer;
let reader: LiveFrames | undefined;

beforeAll(async () => {
  redis = await startRedis();
  const node = (id: string) =>
    startTestServer({
      redis: redis.url,
      nodeId: id,
      mediaPlacement: 'local',
      liveMix: true,
      hlsDir: path.join(dir, id, 'hls'),
      recordingsDir: path.join(dir, id, 'recordings'),
    });
  a = await node('nodea');
  b = await node('nodeb');
});

afterAll(async () => {
  reader?.stop();
  killLiveHelpers();
  killAllFfmpeg();
  closeClients();
  await Promise.all([a?.close(), b?.close()]);
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('runs one mix for a live room whose members are on both nodes, on the node its media is on', async () => {
  const host = await connectClient(a, 'cl-host');
  await host.createChannel({ channelName: CHANNEL });
  const hosting = await host.joinChannel({ channelName: CHANNEL, type: 2, liveEnable: true });
  pushColour(await pushUrlOf(host), 'red');

  const viewer = await connectClient(b, 'cl-viewer');
  const watching = await viewer.joinChannel({ channelName: CHANNEL, type: 2, liveEnable: true });
  expect(watching.role).toBe('audience');
  // B hands out A's addresses: A's media server plays the mix, A serves the viewer page and its HLS.
  expect(new URL(watching.live!.h5).origin).toBe(new URL(a.httpUrl).origin);
  reader = watchLiveFrames(watching.live!.flv);
  await reader.until((grid) => grid.all('red', [3, 12], [1, 7]), 'with the host', FRAME_MS);
  const running = mixProcesses().length;
  expect(running).toBeGreaterThanOrEqual(2); // A's publisher and its decoder of the host

  const coHost = await connectClient(b, 'cl-cohost');
  await coHost.joinChannel({ channelName: CHANNEL, type: 2, liveEnable: true });
  await coHost.changeRoleToPlayer();
  pushColour(await pushUrlOf(coHost), 'blue');
  // B handled the co-host's push; the mix on A lays it out (a mix of B's own would have stayed off the stream).
  await reader.until(
    (grid) => grid.all('red', [1, 6], [2, 6]) && grid.all('blue', [9, 14], [2, 6]),
    'with red on the left and blue on the right',
    FRAME_MS,
  );
  // One publisher still: A's mix gained a decoder for the co-host, and B started nothing.
  expect(mixProcesses().length).toBe(running + 1);

  await coHost.changeRoleToAudience();
  await reader.until(
    (grid) => grid.count('blue') === 0 && grid.all('red', [3, 12], [1, 7]),
    'with only the host again',
    FRAME_MS,
  );

  const closed = new Promise((resolve) => viewer.on('liveRoomClose', resolve));
  await host.leaveChannel();
  expect(await closed).toMatchObject({ cid: hosting.cid, reason: 'host-left' });
  await eventually(() => mixProcesses().length === 0, 'no mix process left on either node', FRAME_MS, 100);
  expect((await fetch(`${a.httpUrl}/live/${CHANNEL}/live.m3u8`)).status).toBe(404);
}, 120_000);
