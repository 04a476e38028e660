/** @jest-environment node */
/**
 * The media plane dies in the middle of a call: signalling carries on while it is down, and once it is back
 * every member of the live call gets a fresh `syncDone` whose new URLs really push and play.
 */
import type { RunningServer } from '../../server/index';
import { decodeVideoFrames, killAllFfmpeg, pushTestPattern, type TestPusher } from '../helpers/ffmpeg';
import { connectClient, establishCall, startTestServer, type TestClient } from '../helpers/server';
import { scrapeMetrics, valueOf } from '../helpers/metrics';
import { eventually } from '../helpers/wait';

const METRICS = 'metrics-token-0123456789-0123456789';

let server: RunningServer;
let a: TestClient;
let b: TestClient;
const pushers: TestPusher[] = [];

afterAll(async () => {
  await Promise.all(pushers.map((p) => p.stop()));
  killAllFfmpeg();
  a?.close();
  b?.close();
  await server?.close();
});

/** `netcall_media_up` and `netcall_media_restarts_total` from the server's `/metrics`. */
async function mediaMetrics(): Promise<{ up: number; restarts: number }> {
  const scraped = await scrapeMetrics(server, METRICS);
  return {
    up: valueOf(scraped, 'netcall_media_up'),
    restarts: valueOf(scraped, 'netcall_media_restarts_total'),
  };
}

it('keeps signalling up while media restarts, then hands both members fresh URLs that work', async () => {
  server = await startTestServer({ metricsToken: METRICS });
  a = await connectClient(server, 'mr-alice');
  b = await connectClient(server, 'mr-bob');
  const { cid, rosterA, rosterB } = await establishCall(a, b);
  const before = { push: rosterA.pusher!.url, play: rosterB.players[0].flvUrl! };
  // Control: the URLs work before the crash.
  pushers.push(pushTestPattern(before.push));
  expect(
    (await decodeVideoFrames(before.play, { frames: 3, timeoutMs: 20000 })).frames,
  ).toBeGreaterThanOrEqual(3);
  expect(await mediaMetrics()).toEqual({ up: 1, restarts: 0 });

  const { pid, restarts } = server.health();
  process.kill(pid!, 'SIGKILL');
  await eventually(() => server.health().status === 'restarting', 'media marked restarting', 30000);
  // What an operator's alerts read: the plane down, and its restart counted.
  expect(await mediaMetrics()).toEqual({ up: 0, restarts: 1 });
  // Signalling does not depend on the media process: a control crosses the call while media is down.
  await a.control({ command: 4 });
  expect(await b.next('control')).toMatchObject({ cid, command: 4 });
  expect(server.health().status).toBe('restarting');

  const [syncA, syncB] = await Promise.all([a.next('syncDone', 30000), b.next('syncDone', 30000)]);
  expect(server.health()).toMatchObject({ status: 'up', restarts: restarts + 1 });
  expect(await mediaMetrics()).toEqual({ up: 1, restarts: 1 });
  expect(syncA.userlist.map((u) => u.account).sort()).toEqual(['mr-alice', 'mr-bob']);
  expect(syncB.userlist.map((u) => u.account).sort()).toEqual(['mr-alice', 'mr-bob']);
  const after = { push: rosterA.pusher!.url, play: rosterB.players[0].flvUrl! };
  expect(after.push).not.toBe(before.push);
  expect(after.play).not.toBe(before.play);
  expect(after.push).toBe(syncA.userlist.find((u) => u.account === 'mr-alice')!.url);

  pushers.push(pushTestPattern(after.push));
  const video = await decodeVideoFrames(after.play, { frames: 3, timeoutMs: 20000 });
  expect(video).toMatchObject({ codec: 'h264', width: 320, height: 240 });
}, 90000);
