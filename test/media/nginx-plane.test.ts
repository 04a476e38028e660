/** @jest-environment node */
/**
 * nginx with the RTMP module as the media plane, on the real server (`media: 'nginx'`) with real clients and
 * Debian's nginx: ffmpeg pushes to the URL signalling gave A and B decodes A's video from its play URL; every
 * URL that is not exactly right is refused by our hooks before media flows; hangup cuts the push and kills the
 * URLs; the hook endpoint cannot be called by anyone else; a killed nginx is restarted and the call goes on on
 * fresh URLs; close() leaves no nginx process. Needs nginx and libnginx-mod-rtmp (`.ci/run` installs them):
 * without them these tests fail, they never skip.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import type { RunningServer } from '../../server';
import { locateNginx, startNginxPlane } from '../../server/media/nginx';
import { derivePlayKey, makeSign, streamPathOf } from '../../server/media/sign';
import type { MediaRoster } from '../../services/media';
import {
  DecodeError,
  decodeVideoFrames,
  killAllFfmpeg,
  pushTestPattern,
  waitForRefusal,
  watchVideo,
  type TestPusher,
} from '../helpers/ffmpeg';
import { groupMembers } from '../helpers/process-group';
import {
  TEST_MEDIA_SECRET,
  closeClients,
  connectClient,
  establishCall,
  startTestServer,
  type TestClient,
} from '../helpers/server';
import { eventually, eventuallyValue } from '../helpers/wait';
import { LogCapture } from './log-capture';

// Generous: two cores shared with other test runs.
const REFUSAL_MS = 15000;
const PLAY_KEY = derivePlayKey(TEST_MEDIA_SECRET);
const logs = new LogCapture('debug');

let server: RunningServer;
let a: TestClient;
let b: TestClient;
let rosterA: MediaRoster;
let rosterB: MediaRoster;
const pushers: TestPusher[] = [];

beforeAll(async () => {
  server = await startTestServer({ media: 'nginx', logger: logs.logger });
  a = await connectClient(server, 'ngx-alice');
  b = await connectClient(server, 'ngx-bob');
  ({ rosterA, rosterB } = await establishCall(a, b));
}, 30000);

afterAll(async () => {
  await Promise.all(pushers.map((p) => p.stop()));
  killAllFfmpeg();
  closeClients();
  await server?.close();
});

function push(url: string): TestPusher {
  const pusher = pushTestPattern(url);
  pushers.push(pusher);
  return pusher;
}

const pushUrlOfA = (): string => rosterA.pusher!.url;
const playUrlOfA = (): string => rosterB.players.find((p) => p.account === 'ngx-alice')!.url;
const streamOf = (url: string): string => new URL(url).pathname.slice('/live/'.length);
const nowSeconds = (): number => Math.floor(Date.now() / 1000);
/** The running pushers of A's stream stopped, and nginx told us its session ended (the stream is free). */
async function freeStreamOfA(): Promise<void> {
  const streamPath = new URL(pushUrlOfA()).pathname;
  const since = logs.mark();
  const running = pushers.filter((p) => p.process.exitCode === null && p.process.signalCode === null);
  await Promise.all(running.map((p) => p.stop()));
  if (running.length > 0)
    await logs.waitFor(
      (l) => l.msg === 'media session ended' && l.stream === streamPath,
      REFUSAL_MS,
      'done',
      since,
    );
}

/**
 * The config the running nginx was started with, found the way an operator would: from its command line (nginx
 * rewrites it into its process title, `nginx: master process <binary> -p <dir>/ -c <conf>`, cut to its length).
 */
function runningConfig(): { confPath: string; text: string } {
  const title = readFileSync(`/proc/${server.health().pid}/cmdline`, 'utf8');
  const confPath = `${/ -p (\S+)\/ /.exec(title)![1]}/nginx.conf`;
  return { confPath, text: readFileSync(confPath, 'utf8') };
}

/** A refused play: ffmpeg exits (it does not wait) without a frame. */
async function expectPlayRefused(url: string): Promise<void> {
  const result = await decodeVideoFrames(url, { frames: 1, timeoutMs: REFUSAL_MS }).catch((e: unknown) => e);
  expect(result).toBeInstanceOf(DecodeError);
  expect((result as DecodeError).reason).toBe('exit');
  expect((result as DecodeError).framesSeen).toBe(0);
}

function refusalReasons(since: number, stream: string): string[] {
  return logs.lines
    .slice(since)
    .filter((l) => l.msg === 'media request refused' && l.stream === `/live/${stream}`)
    .map((l) => String(l.reason))
    .sort();
}

describe("media 'nginx' on the real server", () => {
  it('publishes on the issued push URL, and the peer decodes real frames from its play URL (RTMP only)', async () => {
    const health = server.health();
    expect(health).toMatchObject({ status: 'up', restarts: 0, httpPort: 0 });
    expect(readFileSync(`/proc/${health.pid}/cmdline`, 'utf8')).toMatch(/^nginx: master process/);
    const peer = rosterB.players.find((p) => p.account === 'ngx-alice')!;
    expect(new URL(pushUrlOfA()).port).toBe(String(health.rtmpPort));
    // nginx-rtmp has no HTTP-FLV: the FLV field carries the one URL it serves.
    expect(peer.url).toMatch(/^rtmp:\/\//);
    expect(peer.flvUrl).toBe(peer.url);

    push(pushUrlOfA());
    const video = await decodeVideoFrames(peer.url, { frames: 5, timeoutMs: 20000 });
    expect(video.frames).toBeGreaterThanOrEqual(5);
    expect(video).toMatchObject({ width: 320, height: 240, codec: 'h264' });
    await freeStreamOfA();
  }, 40000);

  it('refuses a forged signature, a swapped stream, a play URL used to push and expired URLs; the right URLs work', async () => {
    const pushUrl = new URL(pushUrlOfA());
    const streamA = streamOf(pushUrl.href);
    const streamB = streamOf(rosterB.pusher!.url);
    const exp = Number(/sign=(\d+)-/.exec(pushUrl.search)![1]);
    const base = `rtmp://${pushUrl.host}`;
    const expired = nowSeconds() - 60;
    const pushes = {
      forged: `${base}/live/${streamA}?sign=${exp}-${'0'.repeat(32)}`,
      swapped: `${base}/live/${streamB}${pushUrl.search}`,
      playAsPush: playUrlOfA(),
      expired: `${base}/live/${streamA}?sign=${makeSign(streamPathOf(streamA), expired, TEST_MEDIA_SECRET)}`,
    };
    const plays = {
      forged: `${base}/live/${streamA}?sign=${exp}-${'f'.repeat(32)}`,
      pushAsPlay: pushUrl.href,
      expired: `${base}/live/${streamA}?sign=${makeSign(streamPathOf(streamA), expired, PLAY_KEY)}`,
    };

    const since = logs.mark();
    const refused = await Promise.all(
      Object.values(pushes).map((url) => waitForRefusal(push(url), REFUSAL_MS)),
    );
    expect(refused).toEqual([true, true, true, true]);
    for (const url of Object.values(plays)) await expectPlayRefused(url);
    // Each refusal was our hook's, for the reason the URL was wrong.
    expect(refusalReasons(since, streamA)).toEqual([
      ...Array(3).fill('play: signature invalid or expired'),
      ...Array(3).fill('publish: signature invalid or expired'),
    ]);
    expect(refusalReasons(since, streamB)).toEqual(['publish: signature invalid or expired']);

    // Control: the genuine URLs publish and play on the same streams (the push keeps running for later tests).
    push(pushUrl.href);
    const video = await decodeVideoFrames(playUrlOfA(), { frames: 3, timeoutMs: 20000 });
    expect(video).toMatchObject({ codec: 'h264', width: 320, height: 240 });
  }, 90000);

  it('answers hooks only on the secret path, only from 127.0.0.1, and only for the right signature', async () => {
    const { text } = runningConfig();
    const publishHook = new URL(/on_publish (\S+);/.exec(text)![1]);
    const hookBase = publishHook.href.slice(0, -'/publish'.length);
    expect(publishHook.hostname).toBe('127.0.0.1');
    const stream = streamOf(pushUrlOfA());
    const form = (sign: string, extra = ''): string =>
      `app=live&flashver=FMLE%2F3.0&swfurl=&tcurl=rtmp%3A%2F%2F127.0.0.1%2Flive&pageurl=&addr=127.0.0.1` +
      `&clientid=99&call=publish&name=${stream}&type=live&sign=${sign}${extra}`;
    const valid = makeSign(streamPathOf(stream), nowSeconds() + 600, TEST_MEDIA_SECRET);
    const post = (url: string, body: string, localAddress?: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(
          url,
          {
            method: 'POST',
            localAddress,
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(body);
      });

    // Control: nginx's own request, well-formed and validly signed, is allowed.
    expect(await post(`${hookBase}/publish`, form(valid))).toBe(200);
    const secret = hookBase.split('/').pop()!;
    const otherSecret = secret.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    expect(await post(`${hookBase.replace(secret, otherSecret)}/publish`, form(valid))).toBe(404);
    expect(await post(`${publishHook.origin}/media-hooks/publish`, form(valid))).toBe(404);
    expect(await post(`${hookBase}/record`, form(valid))).toBe(404);
    expect(await post(`${hookBase}/publish`, form(`${nowSeconds() + 600}-${'0'.repeat(32)}`))).toBe(403);
    const expired = makeSign(streamPathOf(stream), nowSeconds() - 1, TEST_MEDIA_SECRET);
    expect(await post(`${hookBase}/publish`, form(expired))).toBe(403);
    const playSign = makeSign(streamPathOf(stream), nowSeconds() + 600, PLAY_KEY);
    expect(await post(`${hookBase}/publish`, form(playSign))).toBe(403);
    // A client cannot smuggle fields into nginx's form through its URL's query.
    expect(await post(`${hookBase}/publish`, form(valid, `&sign=${valid}`))).toBe(403);
    expect(await post(`${hookBase}/publish`, form(valid, '&call=play'))).toBe(403);
    // Another local address: the listener is on 127.0.0.1 only, and a request from elsewhere is refused.
    expect(await post(`${hookBase}/publish`, form(valid), '127.0.0.2')).toBe(403);
    const wrongInterface = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: '127.0.0.2', port: Number(publishHook.port) });
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(wrongInterface).toBe('ECONNREFUSED');

    // nginx's control endpoint (which can drop any stream) is behind a secret path too.
    // The http server's listen (the rtmp server's comes first, on the server's bind: 127.0.0.1 here too).
    const [, controlPort, prefix] = /listen 127\.0\.0\.1:(\d+);\s*location = \/(\w+)\/ready/.exec(text)!;
    const get = (path: string) =>
      new Promise<number>((resolve, reject) =>
        http
          .get(`http://127.0.0.1:${controlPort}${path}`, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on('error', reject),
      );
    expect(await get(`/${prefix}/ready`)).toBe(200);
    expect(await get(`/control/drop/client?app=live&name=${stream}`)).toBe(404);
    expect(await get(`/${prefix}/control/record/start?app=live&name=${stream}`)).toBe(404);
  });

  it('restarts a killed nginx, leaves none of the old one behind, and hands both members fresh URLs that work', async () => {
    const { pid, restarts } = server.health();
    const oldGroup = groupMembers(pid!);
    expect(oldGroup.length).toBeGreaterThanOrEqual(2); // master and worker: the check below can fail
    const before = { push: pushUrlOfA(), play: playUrlOfA() };
    // SIGKILL to the master alone leaves nginx's worker running, on the RTMP port: the plane must clear it.
    process.kill(pid!, 'SIGKILL');
    const [syncA, syncB] = await Promise.all([a.next('syncDone', 30000), b.next('syncDone', 30000)]);
    expect(server.health()).toMatchObject({ status: 'up', restarts: restarts + 1 });
    expect(server.health().pid).not.toBe(pid);
    expect(groupMembers(pid!)).toEqual([]);
    expect(syncA.userlist.map((u) => u.account).sort()).toEqual(['ngx-alice', 'ngx-bob']);
    expect(syncB.userlist.map((u) => u.account).sort()).toEqual(['ngx-alice', 'ngx-bob']);
    expect(pushUrlOfA()).not.toBe(before.push);
    expect(playUrlOfA()).not.toBe(before.play);

    await freeStreamOfA().catch(() => {}); // the old push died with the old nginx; its done hook never came
    push(pushUrlOfA());
    const video = await decodeVideoFrames(playUrlOfA(), { frames: 3, timeoutMs: 20000 });
    expect(video).toMatchObject({ codec: 'h264', width: 320, height: 240 });
  }, 60000);

  it('cuts the push at hangup, and refuses its push and play URLs from then on', async () => {
    const pushUrl = pushUrlOfA();
    const playUrl = playUrlOfA();
    const stream = streamOf(pushUrl);
    const running = pushers[pushers.length - 1];
    // Control: the play URL plays right up to the hangup.
    const player = watchVideo(playUrl);
    await player.firstFrame;

    const hangupAt = logs.mark();
    await a.hangup();
    await b.next('hangup');
    expect(await waitForRefusal(running, REFUSAL_MS)).toBe(true);
    expect((await player.exited).frames).toBeGreaterThan(0);
    // Cut by nginx's control endpoint at once (on_update would too, but only at its next round).
    const dropped = await logs.waitFor(
      (l) => l.msg === 'media stream dropped' && l.stream === stream,
      REFUSAL_MS,
      'the drop of the stream',
      hangupAt,
    );
    expect(dropped.dropped).toBe(2);

    const since = logs.mark();
    expect(await waitForRefusal(push(pushUrl), REFUSAL_MS)).toBe(true);
    await expectPlayRefused(playUrl);
    expect(refusalReasons(since, stream)).toEqual([
      'play: stream not authorised',
      'publish: stream not authorised',
    ]);
  }, 60000);

  it('leaves no nginx process and no config behind after close()', async () => {
    const { pid } = server.health();
    const { confPath } = runningConfig();
    expect(groupMembers(pid!).length).toBeGreaterThanOrEqual(2);
    expect(existsSync(confPath)).toBe(true);
    await server.close();
    expect(groupMembers(pid!)).toEqual([]);
    expect(existsSync(confPath)).toBe(false);
  });
});

describe("media 'nginx' when the server process is killed outright", () => {
  it('takes nginx and its folder down with it (no exit handler runs on SIGKILL: the watchdog does it)', async () => {
    const script = `require(${JSON.stringify(path.resolve(__dirname, '../../server/media/nginx'))})
      .startNginxPlane({ rtmpPort: 0, secret: 'x'.repeat(40) })
      .then((plane) => console.log(plane.health().pid));`;
    const child = spawn(
      process.execPath,
      ['-r', createRequire(__filename).resolve('ts-node/register/transpile-only'), '-e', script],
      {
        env: { ...process.env, TS_NODE_PROJECT: path.resolve(__dirname, '../../tsconfig.json') },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => (out += chunk));
      const pid = await eventuallyValue(
        () => {
          const line = /^(\d+)\n/.exec(out);
          return line ? Number(line[1]) : undefined;
        },
        'nginx up in the child server',
        30000,
      );
      const folder = /-p (\S+)\/ /.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))![1];
      // Control: nginx runs, master and worker, with its private folder, while the server lives.
      expect(groupMembers(pid).length).toBeGreaterThanOrEqual(2);
      expect(existsSync(`${folder}/nginx.conf`)).toBe(true);
      child.kill('SIGKILL');
      await eventually(() => groupMembers(pid).length === 0, 'the nginx group gone after its server', 10000);
      await eventually(() => !existsSync(folder), 'its private folder removed', 10000);
    } finally {
      child.kill('SIGKILL');
    }
  }, 45000);
});

describe("media 'nginx' configuration", () => {
  it('refuses to start without nginx or its RTMP module, naming the packages', async () => {
    // Control: on this machine both are there.
    await expect(locateNginx()).resolves.toMatchObject({
      modulePath: expect.stringMatching(/ngx_rtmp_module\.so$/),
    });
    const start = (extra: object) => startNginxPlane({ rtmpPort: 0, secret: TEST_MEDIA_SECRET, ...extra });
    await expect(start({ binary: '/nonexistent/nginx' })).rejects.toThrow(
      /not an executable nginx \(Debian\/Ubuntu: apt-get install nginx libnginx-mod-rtmp\)/,
    );
    await expect(start({ modulePath: '/nonexistent/ngx_rtmp_module.so' })).rejects.toThrow(
      /needs the RTMP module, not found at \/nonexistent\/ngx_rtmp_module\.so .*libnginx-mod-rtmp/,
    );
  });

  it('refuses an unknown media engine, and an HTTP-FLV port nginx-rtmp cannot serve', async () => {
    await expect(startTestServer({ media: 'srs' as 'nginx' })).rejects.toThrow(
      /`media` must be one of embedded, nginx, got srs/,
    );
    await expect(startTestServer({ media: 'nginx', mediaHttpPort: 8000 })).rejects.toThrow(
      /`mediaHttpPort` does not apply to media 'nginx'/,
    );
  });
});
