/** @jest-environment node */
/**
 * Interactive live end to end, with the server's own mix wired in (`liveMix: true`): real `Netcall` clients
 * play every part. The host creates the room, goes live with `rtmpRecord` and pushes solid red to the push URL
 * its syncDone gave it; an audience member joins and decodes the `live.flv` its joinChannel result carries, with
 * one reader for the whole test; a co-host steps on stage and pushes blue — the reader sees both side by side
 * (the default layout, NetEase's lattice tile), then only red once the co-host is back in the audience. The
 * HLS the server serves decodes; the recording is listed for the host (and nobody else) and decodes; when the
 * host leaves, everyone hears `liveRoomClose` and the mix's ffmpeg processes are gone.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mintToken, type RunningServer } from '../../server/index';
import type { RecordingView } from '../../server/http/recordings';
import { killLiveHelpers, pushColour, watchLiveFrames, type LiveFrames } from '../../bench/live-mix';
import { spawn } from 'node:child_process';
import { binaries, decodeVideoFrames, killAllFfmpeg, mixProcesses } from '../helpers/ffmpeg';
import { canListen, freePort } from '../helpers/ports';
import {
  TEST_SECRET,
  closeClients,
  connectClient,
  pushUrlOf,
  startTestServer,
  type TestClient,
} from '../helpers/server';
import { eventually, eventuallyValue } from '../helpers/wait';

// Generous: two cores shared with other test runs; every wait ends as soon as its frame or event arrives.
const FRAME_MS = 25_000;
const CHANNEL = 'e2e-show';

const dir = mkdtempSync(path.join(os.tmpdir(), 'live-e2e-'));
const recordingsDir = path.join(dir, 'recordings');
let server: RunningServer;
let reader: LiveFrames | undefined;

beforeAll(async () => {
  server = await startTestServer({ liveMix: true, hlsDir: path.join(dir, 'hls'), recordingsDir });
});

afterAll(async () => {
  reader?.stop();
  killLiveHelpers();
  killAllFfmpeg();
  closeClients();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function recordingsOf(account: string): Promise<{ status: number; recordings: RecordingView[] }> {
  const res = await fetch(`${server.httpUrl}/api/recordings`, {
    headers: { authorization: `Bearer ${mintToken(TEST_SECRET, account)}` },
  });
  const body = (await res.json()) as { recordings?: RecordingView[] };
  return { status: res.status, recordings: body.recordings ?? [] };
}

/** The next `event` on `client`, or a failure naming it after FRAME_MS. */
function eventOf(client: TestClient, event: 'liveRoomClose'): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${FRAME_MS} ms`)), FRAME_MS);
    client.on(event, (payload) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

it('mixes host and co-host into the live stream the audience plays, then the host alone on the same stream; HLS, the recording, and the close', async () => {
  const host = await connectClient(server, 'e2e-host');
  await host.createChannel({ channelName: CHANNEL });
  const hosting = await host.joinChannel({
    channelName: CHANNEL,
    type: 2,
    liveEnable: true,
    sessionConfig: { rtmpRecord: true },
  });
  expect(hosting.role).toBe('host');
  pushColour(await pushUrlOf(host), 'red');

  const viewer = await connectClient(server, 'e2e-viewer');
  const watching = await viewer.joinChannel({ channelName: CHANNEL, type: 2, liveEnable: true });
  expect(watching.role).toBe('audience');
  reader = watchLiveFrames(watching.live!.flv);
  // The host alone, lattice tile: one 4:3 picture, whole, 480×360 at x 80..560 of the 640×360 canvas.
  await reader.until((grid) => grid.all('red', [3, 12], [1, 7]), 'with the host', FRAME_MS);

  const coHost = await connectClient(server, 'e2e-cohost');
  await coHost.joinChannel({ channelName: CHANNEL, type: 2, liveEnable: true });
  await coHost.changeRoleToPlayer();
  pushColour(await pushUrlOf(coHost), 'blue');
  // Two tiles of 320×360, each 4:3 picture whole: 320×240 at y 60..300.
  const both = await reader.until(
    (grid) => grid.all('red', [1, 6], [2, 6]) && grid.all('blue', [9, 14], [2, 6]),
    'with red on the left and blue on the right',
    FRAME_MS,
  );
  expect(both.grid.count('blue')).toBeGreaterThan(0); // what the next check must not find can be seen
  const framesBefore = reader.frames();

  await coHost.changeRoleToAudience();
  await reader.until(
    (grid) => grid.count('blue') === 0 && grid.all('red', [3, 12], [1, 7]),
    'with only the host again',
    FRAME_MS,
  );
  // One reader throughout: it kept decoding the one stream and never ended.
  expect(reader.frames()).toBeGreaterThan(framesBefore);
  expect(await Promise.race([reader.exited, Promise.resolve('still playing')])).toBe('still playing');

  // HLS as the server serves it (play.hls of the directory), decoded by ffmpeg over HTTP.
  const playlistUrl = `${server.httpUrl}/live/${CHANNEL}/live.m3u8`;
  const playlist = await eventuallyValue(
    async () => {
      const res = await fetch(playlistUrl);
      const text = await res.text();
      return res.status === 200 && (text.match(/#EXTINF/g) ?? []).length >= 2 ? { res, text } : undefined;
    },
    'an HLS playlist with two segments',
    FRAME_MS,
    200,
  );
  expect(playlist.res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
  expect(playlist.res.headers.get('cache-control')).toBe('no-store');
  const segment = /^(live-\d+\.ts)$/m.exec(playlist.text)![1];
  const segmentRes = await fetch(`${server.httpUrl}/live/${CHANNEL}/${segment}`);
  expect(segmentRes.status).toBe(200);
  expect(segmentRes.headers.get('content-type')).toBe('video/mp2t');
  expect(await decodeVideoFrames(playlistUrl, { frames: 10, timeoutMs: FRAME_MS })).toMatchObject({
    codec: 'h264',
    width: 640,
    height: 360,
  });

  // The recording: listed for its host while it records, never for anyone else.
  const listed = await recordingsOf('e2e-host');
  expect(listed.status).toBe(200);
  expect(listed.recordings).toEqual([
    expect.objectContaining({ channelName: CHANNEL, cid: hosting.cid, endedAt: null }),
  ]);
  expect(listed.recordings[0].size).toBeGreaterThan(0);
  expect(await recordingsOf('e2e-viewer')).toEqual({ status: 200, recordings: [] });
  const anonymous = await fetch(`${server.httpUrl}/api/recordings`);
  expect(anonymous.status).toBe(401);
  expect(await anonymous.json()).toMatchObject({ code: 401 });

  const running = mixProcesses();
  expect(running.length).toBeGreaterThanOrEqual(2); // the publisher and the host's decoder
  const closed = eventOf(viewer, 'liveRoomClose');
  await host.leaveChannel();
  expect(await closed).toMatchObject({ cid: hosting.cid, reason: 'host-left' });
  await eventually(() => mixProcesses().length === 0, 'no mix process left', FRAME_MS, 100);
  expect((await fetch(playlistUrl)).status).toBe(404);

  const [finished] = await eventuallyValue(
    async () => {
      const { recordings } = await recordingsOf('e2e-host');
      return recordings[0]?.endedAt ? recordings : undefined;
    },
    'the recording finished',
    FRAME_MS,
    100,
  );
  expect(finished.endedAt).toBeGreaterThan(finished.startedAt);
  expect(
    await decodeVideoFrames(path.join(recordingsDir, finished.file), { frames: 10, timeoutMs: FRAME_MS }),
  ).toMatchObject({ codec: 'h264', width: 640, height: 360 });
}, 120_000);

it('pushes the mix to the host’s rtmpUrl too: a bypass RTMP server receives the live stream', async () => {
  // The "any RTMP server" of the bypass push: ffmpeg listening as one, decoding what it is sent to a colour grid.
  const port = await freePort();
  const bypassUrl = `rtmp://127.0.0.1:${port}/live/bypass`;
  const listener = spawn(
    binaries().ffmpeg,
    [
      ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-listen', '1', '-i', bypassUrl],
      ...['-map', '0:v:0', '-vf', 'scale=16:9:flags=area', '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'],
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let received = Buffer.alloc(0);
  listener.stdout!.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]).subarray(-16 * 9 * 3 * 4);
  });
  try {
    // The listener is up before the host goes live: the mix's bypass output connects once.
    await eventually(async () => !(await canListen(port)), 'the bypass server listening', FRAME_MS, 50);
    const host = await connectClient(server, 'e2e-bypass-host');
    await host.createChannel({ channelName: 'e2e-bypass' });
    await host.joinChannel({
      channelName: 'e2e-bypass',
      type: 2,
      liveEnable: true,
      sessionConfig: { rtmpUrl: bypassUrl },
    });
    pushColour(await pushUrlOf(host), 'green');
    // The centre cell of the latest frame: green once the mix of the host reaches the bypass server.
    const centre = () => {
      const frame = received.subarray(received.length - (received.length % (16 * 9 * 3)) - 16 * 9 * 3);
      const at = (4 * 16 + 8) * 3;
      return frame.length === 16 * 9 * 3 ? [frame[at], frame[at + 1], frame[at + 2]] : undefined;
    };
    const [r, g, b] = await eventuallyValue(
      () => {
        const pixel = centre();
        return pixel && pixel[1] > 100 && pixel[0] < 80 && pixel[2] < 80 ? pixel : undefined;
      },
      'the host’s green at the bypass server',
      FRAME_MS,
      100,
    );
    expect(g).toBeGreaterThan(r + b);
    await host.leaveChannel();
  } finally {
    listener.kill('SIGKILL');
  }
}, 60_000);

it('stops every mix when the server closes: no ffmpeg of it left, no HLS folder', async () => {
  const host = await connectClient(server, 'e2e-host2');
  await host.createChannel({ channelName: 'e2e-closing' });
  await host.joinChannel({ channelName: 'e2e-closing', type: 2, liveEnable: true });
  pushColour(await pushUrlOf(host), 'green');
  // Positive control: the mix runs and writes its HLS when the server is told to close.
  await eventually(() => mixProcesses().length >= 2, 'the mix running', FRAME_MS, 100);
  await eventually(() => readdirSync(path.join(dir, 'hls')).length > 0, 'its HLS folder', FRAME_MS, 100);
  const closed = eventOf(host, 'liveRoomClose');
  await server.close();
  expect(mixProcesses()).toEqual([]);
  expect(readdirSync(path.join(dir, 'hls'))).toEqual([]);
  expect(await closed).toMatchObject({ reason: 'shutdown' });
}, 60_000);
