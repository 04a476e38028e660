/** @jest-environment node */
/**
 * The built-in echo peer through the whole call path: a real client calls `echo`, pushes a solid colour to the
 * push URL the server issued it, and decodes the same colour from the echo's play URL it was given — the
 * echo's relay copied it from the caller's stream to its own. After hangup the echo's stream is refused and
 * its relay is gone; group calls ring it in; calls past its line cap are declined busy; and nothing of it
 * (no ffmpeg) is left once the server has closed.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { RunningServer } from '../../server/index';
import { MediaRoster } from '../../services/media';
import type { RtcUser } from '../../services/protocol';
import {
  binaries,
  DecodeError,
  decodeVideoFrames,
  killAllFfmpeg,
  watchVideo,
  type TestPusher,
} from '../helpers/ffmpeg';
import { closeClients, connectClient, startTestServer, type TestClient } from '../helpers/server';
import { eventually, eventuallyValue } from '../helpers/wait';
import { request, streamOf } from './raw-clients';

// Generous: two cores shared with other test runs, and the echo adds a relay hop (two ffmpeg) to the path.
const MEDIA_MS = 20_000;

let server: RunningServer;
const pushers: TestPusher[] = [];

beforeAll(async () => {
  // A delay exercises the echo's delay line; two lines so the third concurrent call is the one declined.
  server = await startTestServer({ echo: { delayMs: 300, maxCalls: 2 } });
});

afterEach(async () => {
  await Promise.all(pushers.splice(0).map((p) => p.stop()));
  closeClients();
});

afterAll(async () => {
  killAllFfmpeg();
  closeClients();
  await server?.close();
});

/** ffmpeg processes this test process started, the echo's relays among them (they run in-process here). */
function ffmpegChildren(): string[][] {
  const found: string[][] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (args.length > 0 && basename(args[0]) === 'ffmpeg') found.push(args);
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** The echo's relay processes for `stream` (they copy, never encode; the test's own ffmpeg never copies). */
const relaysOf = (stream: string) =>
  ffmpegChildren().filter((args) => args.includes('copy') && args.some((a) => a.includes(stream)));

/** A solid colour (plus a tone) pushed like `<live-pusher>` pushes: H.264 baseline + AAC over RTMP. */
function pushColour(url: string, colour: string): TestPusher {
  const { ffmpeg } = binaries();
  const child = spawn(
    ffmpeg,
    [
      ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-re'],
      ...['-f', 'lavfi', '-i', `color=c=${colour}:size=320x240:rate=15`],
      ...['-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=44100'],
      ...[
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-tune',
        'zerolatency',
        '-g',
        '15',
        '-pix_fmt',
        'yuv420p',
      ],
      ...['-c:a', 'aac', '-b:a', '64k', '-f', 'flv', url],
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.once('close', (code, signal) => resolve({ code, signal, stderr: '' })),
  );
  const pusher: TestPusher = {
    process: child,
    exited,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
  pushers.push(pusher);
  return pusher;
}

/** The average colour of one decoded frame of `url`, as [r, g, b]; rejects after `timeoutMs`. */
function averageColour(url: string, timeoutMs: number): Promise<[number, number, number]> {
  const { ffmpeg } = binaries();
  const child = spawn(
    ffmpeg,
    [
      ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-analyzeduration', '0', '-probesize', '4096'],
      ...['-i', url, '-map', '0:v:0', '-frames:v', '1', '-vf', 'scale=16:12'],
      ...['-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      const pixels = Buffer.concat(chunks);
      if (code !== 0 || pixels.length !== 16 * 12 * 3)
        return reject(new Error(`no frame from ${url} (exit ${code}, ${pixels.length} bytes)`));
      const sum = [0, 0, 0];
      for (let i = 0; i < pixels.length; i++) sum[i % 3] += pixels[i];
      const n = pixels.length / 3;
      resolve([Math.round(sum[0] / n), Math.round(sum[1] / n), Math.round(sum[2] / n)]);
    });
  });
}

/** Calls `echo` (1:1) and starts RTC: resolves with the client's push URL and the echo's play URLs. */
async function callEcho(account: string) {
  const client = await connectClient(server, account);
  const roster = new MediaRoster(client);
  const { cid } = await client.call({ type: 2, callee: 'echo' });
  expect(await client.next('callAccepted')).toMatchObject({ cid, account: 'echo' });
  roster.setSelf(await client.startRtc({ mode: 0 }));
  await client.next('syncDone'); // taken, so that a later `next('syncDone')` waits for a fresh one
  const echo = await eventuallyValue(
    () => roster.players.find((p) => p.account === 'echo'),
    `${account}: the echo in the RTC session`,
  );
  return { client, cid, roster, pushUrl: roster.pusher!.url, echo };
}

/** Whether the callee accepted or rejected call `cid`, whichever `client` hears first. */
function answerOf(client: TestClient, cid: string): Promise<'accepted' | 'rejected'> {
  return new Promise((resolve) => {
    const settle = (answer: 'accepted' | 'rejected') => (event: { cid: string }) => {
      if (event.cid !== cid) return;
      client.off('callAccepted', onAccepted);
      client.off('callRejected', onRejected);
      resolve(answer);
    };
    const onAccepted = settle('accepted');
    const onRejected = settle('rejected');
    client.on('callAccepted', onAccepted);
    client.on('callRejected', onRejected);
  });
}

describe('the echo peer', () => {
  it('answers a call to echo and plays the caller own stream back: the colour pushed is the colour seen', async () => {
    const { pushUrl, echo } = await callEcho('alice');
    pushColour(pushUrl, 'red');
    const [video, rgb] = await Promise.all([
      decodeVideoFrames(echo.url, { frames: 10, timeoutMs: MEDIA_MS }),
      averageColour(echo.flvUrl!, MEDIA_MS),
    ]);
    expect(video).toMatchObject({ width: 320, height: 240, codec: 'h264' });
    expect(video.frames).toBeGreaterThanOrEqual(10);
    const [r, g, b] = rgb;
    expect({ r: r > 200, g: g < 60, b: b < 60 }).toEqual({ r: true, g: true, b: true });
  }, 45_000);

  it('stops playing the echo stream and its relay once the caller hangs up', async () => {
    const { client, pushUrl, echo } = await callEcho('bob');
    pushColour(pushUrl, 'blue');
    const echoStream = streamOf(echo.url);
    // Positive controls: the echo's stream plays (blue this time) and its relay runs, right up to the hangup.
    const [, , b] = await averageColour(echo.flvUrl!, MEDIA_MS);
    expect(b).toBeGreaterThan(150);
    expect(relaysOf(echoStream).length).toBeGreaterThan(0);
    const watching = watchVideo(echo.url);
    await watching.firstFrame;

    await client.hangup();
    const [flv, rtmp] = await Promise.all([
      request(echo.flvUrl!),
      decodeVideoFrames(echo.url, { frames: 1, timeoutMs: MEDIA_MS }).catch((e: unknown) => e),
    ]);
    expect(flv.status).toBe(403);
    expect(rtmp).toBeInstanceOf(DecodeError);
    expect((rtmp as DecodeError).framesSeen).toBe(0);
    expect((await watching.stop()).frames).toBeGreaterThan(0);
    await eventually(() => relaysOf(echoStream).length === 0, 'the relay of the ended call gone', MEDIA_MS);
  }, 45_000);

  it('joins a group call it is invited into, and plays back the member who rang it', async () => {
    const [carol, dave] = await Promise.all([connectClient(server, 'carol'), connectClient(server, 'dave')]);
    const roster = new MediaRoster(carol);
    const { cid } = await carol.call({ type: 2, callee: ['dave'] });
    const ring = await dave.next('beCalling');
    await dave.response({ accepted: true, caller: 'carol', type: 2, cid: ring.cid });
    await carol.next('callAccepted');
    await carol.inviteToCall({ cid, callee: 'echo' });
    expect(await carol.next('callAccepted')).toMatchObject({ cid, account: 'echo' });
    roster.setSelf(await carol.startRtc({ mode: 0 }));
    const echo: RtcUser = await eventuallyValue(
      () => roster.players.find((p) => p.account === 'echo'),
      'the echo in the group call RTC session',
    );
    pushColour(roster.pusher!.url, 'lime');
    const [r, g, b] = await averageColour(echo.flvUrl!, MEDIA_MS);
    expect({ r: r < 60, g: g > 200, b: b < 60 }).toEqual({ r: true, g: true, b: true });
  }, 45_000);

  it('answers as many calls at once as it has lines, and declines the next one busy', async () => {
    const first = await callEcho('erin');
    const second = await callEcho('frank'); // positive control: a second line logged in and answered
    expect(second.cid).not.toBe(first.cid);
    const grace = await connectClient(server, 'grace');
    const { cid } = await grace.call({ type: 2, callee: 'echo' });
    const rejected = await grace.next('callRejected');
    expect(rejected).toMatchObject({ cid, account: 'echo', reason: 'busy' });
    // A line is free again once a call ends.
    await first.client.hangup();
    const retried = await eventuallyValue(async () => {
      const { cid: retry } = await grace.call({ type: 2, callee: 'echo' });
      return (await answerOf(grace, retry)) === 'accepted' ? retry : undefined;
    }, 'a free line after a hangup');
    expect(retried).not.toBe(cid);
  }, 30_000);

  it('goes on a live room’s stage when its host invites it, and plays the host back', async () => {
    const host = await connectClient(server, 'olive');
    await host.createChannel({ channelName: 'echo-live' });
    await host.joinChannel({ channelName: 'echo-live', type: 2, liveEnable: true });
    const roster = new MediaRoster(host);
    roster.setSelf(await host.startRtc({ mode: 0 }));
    const pushUrl = await eventuallyValue(() => roster.pusher?.url, 'the host’s push URL');
    pushColour(pushUrl, 'red');
    // Not in the room: the invite reaches it by account, with the room's name.
    const answered = new Promise((resolve) => host.on('coHostInviteResponse', resolve));
    await host.inviteCoHost({ account: 'echo' });
    expect(await answered).toMatchObject({ account: 'echo', accepted: true });
    const echo: RtcUser = await eventuallyValue(
      () => roster.players.find((p) => p.account === 'echo'),
      'the echo on the stage',
      MEDIA_MS,
    );
    const [r, g, b] = await averageColour(echo.flvUrl!, MEDIA_MS);
    expect({ r: r > 150, g: g < 60, b: b < 60 }).toEqual({ r: true, g: true, b: true });
    // The host ends the live: the echo's line is free again (it answers the next call).
    await host.leaveChannel();
    await eventually(() => relaysOf(streamOf(echo.url)).length === 0, 'the echo’s relay gone', MEDIA_MS);
  }, 45_000);

  it('follows new URLs after the media plane restarted: the relay starts again on both fresh URLs', async () => {
    const { client, roster, pushUrl, echo } = await callEcho('ivan');
    const first = pushColour(pushUrl, 'red');
    await averageColour(echo.flvUrl!, MEDIA_MS); // positive control: it echoes before the crash
    process.kill(server.health().pid!, 'SIGKILL');
    const sync = await client.next('syncDone', MEDIA_MS);
    await first.stop();
    const fresh = sync.userlist.find((u) => u.account === 'echo')!;
    expect(fresh.url).not.toBe(echo.url);
    expect(roster.pusher!.url).not.toBe(pushUrl);
    pushColour(roster.pusher!.url, 'blue');
    const [r, , b] = await averageColour(fresh.flvUrl!, MEDIA_MS);
    expect({ r: r < 60, b: b > 150 }).toEqual({ r: true, b: true });
  }, 45_000);

  it('leaves no ffmpeg behind once the server has closed, even with an echo call going on', async () => {
    const { client, pushUrl, echo } = await callEcho('heidi');
    pushColour(pushUrl, 'red');
    await averageColour(echo.flvUrl!, MEDIA_MS);
    // Positive control: the relay is running when the server is told to close.
    expect(relaysOf(streamOf(echo.url)).length).toBeGreaterThan(0);
    const ended = client.next('hangup', MEDIA_MS);
    await server.close();
    expect(await ended).toMatchObject({ account: 'echo' });
    await Promise.all(pushers.splice(0).map((p) => p.stop()));
    killAllFfmpeg();
    expect(ffmpegChildren()).toEqual([]);
  }, 45_000);
});
