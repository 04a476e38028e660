/** @jest-environment node */
/**
 * nginx-rtmp refusing, on real processes: its RTMP port held by another listener (at start, and when a killed
 * nginx comes back), its control endpoint refusing or gone when a stream is revoked, and an nginx that stops
 * answering. The plane must fail clearly where it cannot go on, and otherwise go on: on new ports, on the same
 * fixed port once it is free, by on_update instead of the control endpoint, on a fresh nginx. Each case has
 * its own plane, with a restart delay, heartbeat or on_update interval that makes its window certain (the
 * server does not pass these on, so the plane is started directly, as supervision.test.ts does).
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { commandName, descendants } from '../../bench/lib/proc';
import { startNginxPlane, type NginxMediaPlane, type NginxPlaneOptions } from '../../server/media/nginx';
import {
  decodeVideoFrames,
  killAllFfmpeg,
  pushTestPattern,
  waitForRefusal,
  watchVideo,
} from '../helpers/ffmpeg';
import { freePort } from '../helpers/ports';
import { groupMembers, processState } from '../helpers/process-group';
import { TEST_MEDIA_SECRET, startTestServer } from '../helpers/server';
import { eventually, eventuallyValue } from '../helpers/wait';
import { LogCapture, type LogLine } from './log-capture';

const S_A = 'room1_alice';
const S_B = 'room1_bob';
// Bounds for "answered in time", generous for a loaded 2-core machine.
const ANSWER_MS = 10000;
const DECODE_MS = 20000;
/** nginx gives a taken port up after ~2.5 s of its own retries, so every failed try of the plane takes that. */
const FAILED_TRIES_MS = 60000;
/** Long enough that the squatter certainly takes the dead nginx's port before the restart. */
const RESTART_DELAY_MS = 5000;

const planes: NginxMediaPlane[] = [];
const listeners: Array<net.Server | http.Server> = [];

async function start(logs: LogCapture, options: Partial<NginxPlaneOptions> = {}): Promise<NginxMediaPlane> {
  const plane = await startNginxPlane({
    rtmpPort: 0,
    secret: TEST_MEDIA_SECRET,
    logger: logs.logger,
    ...options,
  });
  planes.push(plane);
  return plane;
}

afterEach(async () => {
  killAllFfmpeg();
  await Promise.all(planes.splice(0).map((plane) => plane.close()));
  await Promise.all(listeners.splice(0).map(close));
});

function close(server: net.Server | http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    if (server instanceof http.Server) server.closeAllConnections();
  });
}

function listen<T extends net.Server>(server: T, port: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * A plain TCP listener on 127.0.0.1:`port` (0: any free one), taken as soon as the port is free (a killed
 * nginx's worker lets it go a moment after its master died). Closed after the test.
 */
async function squat(port: number): Promise<net.Server> {
  const squatter = await eventuallyValue(
    // It answers nothing, and closes what connects at once: a connection it left unread would never see its
    // peer go, and would keep close() from ever finishing.
    () =>
      listen(
        net.createServer((socket) => socket.destroy()),
        port,
      ),
    `port ${port} free to take`,
    ANSWER_MS,
    50,
  );
  listeners.push(squatter);
  return squatter;
}

const portOf = (server: net.Server): number => (server.address() as AddressInfo).port;

/** nginx processes started from this process (a plane's nginx is its child). */
function nginxChildren(): number[] {
  return descendants(process.pid).filter((pid) => commandName(pid) === 'nginx');
}

/**
 * A process's command line, spaced (nginx rewrites its own into its title,
 * `nginx: master process … -p <dir>/ …`).
 */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return ''; // exited while we looked
  }
}

/** The port of nginx's private control server, from the config the running nginx `pid` was started with. */
function controlPortOf(pid: number): number {
  const folder = / -p (\S+)\/ /.exec(commandLine(pid))![1];
  const config = readFileSync(`${folder}/nginx.conf`, 'utf8');
  return Number(/listen 127\.0\.0\.1:(\d+);\s*location = \/\w+\/ready/.exec(config)![1]);
}

function restartedOnce(plane: NginxMediaPlane): { restarted: Promise<void>; count: () => number } {
  let count = 0;
  const restarted = new Promise<void>((resolve) =>
    plane.onRestart(() => {
      count++;
      resolve();
    }),
  );
  return { restarted, count: () => count };
}

/** The plane logged nginx restarted (a wait that says what it waited for, unlike `restarted`). */
const backUp = (logs: LogCapture): Promise<LogLine> =>
  logs.waitFor((l) => l.msg === 'nginx restarted', FAILED_TRIES_MS, 'nginx restarted');

const restartFailures = (logs: LogCapture): LogLine[] =>
  logs.lines.filter((l) => l.msg === 'nginx restart failed');

/** The positive control most cases end with: a fresh push URL publishes and its play URL decodes real frames. */
async function expectPlayback(plane: NginxMediaPlane, logs: LogCapture, stream: string): Promise<void> {
  const since = logs.mark();
  const pusher = pushTestPattern(plane.pushUrl(stream));
  try {
    await logs.accepted('publish', stream, { since });
    const video = await decodeVideoFrames(plane.playUrls(stream).rtmp, { frames: 3, timeoutMs: DECODE_MS });
    expect(video).toMatchObject({ width: 320, height: 240, codec: 'h264' });
  } finally {
    await pusher.stop();
  }
}

describe("media 'nginx' when a port it listens on is taken", () => {
  it('refuses to start on a fixed port another listener holds, after a bounded number of tries, leaving nothing behind', async () => {
    const squatter = await squat(0);
    const port = portOf(squatter);
    const logs = new LogCapture('info');
    const nginxBefore = nginxChildren();
    // The plane's private folder (the config, with the hook secret) as each nginx it starts names it.
    const folders = new Set<string>();
    const watch = setInterval(() => {
      for (const pid of nginxChildren().filter((pid) => !nginxBefore.includes(pid))) {
        const folder = / -p (\S+)\/ /.exec(commandLine(pid))?.[1];
        if (folder && existsSync(folder)) folders.add(folder);
      }
    }, 20);
    let failed: unknown;
    try {
      failed = await startTestServer({ media: 'nginx', rtmpPort: port, logger: logs.logger }).catch(
        (error: unknown) => error,
      );
    } finally {
      clearInterval(watch);
    }
    expect(failed).toBeInstanceOf(Error);
    const { message } = failed as Error;
    expect(message).toMatch(/^media 'nginx' did not start: nginx exited before it was ready/);
    expect(message).toContain(`bind() to 127.0.0.1:${port} failed (98: Address already in use)`);
    // Each try is one nginx that gives the port up after its own retries; the plane stops after a few.
    const givenUp = logs.lines.filter((l) => l.msg === 'nginx' && /still could not bind/.test(`${l.nginx}`));
    expect(givenUp).toHaveLength(3);
    expect(nginxChildren()).toEqual(nginxBefore);
    // Control: the folder was there while nginx tried (one for all tries), and is gone with the failed start.
    expect(folders.size).toBe(1);
    for (const folder of folders) expect(existsSync(folder)).toBe(false);

    // Control: the same start, once the port is free, runs nginx on it.
    await close(squatter);
    const server = await startTestServer({ media: 'nginx', rtmpPort: port, logger: logs.logger });
    try {
      expect(server.health()).toMatchObject({ status: 'up', rtmpPort: port });
      expect(groupMembers(server.health().pid!).length).toBeGreaterThanOrEqual(2);
    } finally {
      await server.close();
    }
  }, 90000);

  it('moves a killed nginx to new ports when its picked RTMP port stays taken; fresh URLs work there', async () => {
    const logs = new LogCapture('info');
    // The first restart waits for the squatter to take the port; the ones after it (which find the port
    // taken, until they give it up) need not wait.
    const plane = await start(logs, { restartBackoff: { initialMs: RESTART_DELAY_MS, maxMs: 100 } });
    plane.authorize(S_A);
    const before = plane.health();
    const { restarted, count } = restartedOnce(plane);

    process.kill(before.pid!, 'SIGKILL');
    await eventually(() => plane.health().status === 'restarting', 'status restarting', ANSWER_MS);
    await squat(before.rtmpPort);
    await backUp(logs);
    await restarted;
    const after = plane.health();
    expect(after).toMatchObject({ status: 'up', restarts: 1 });
    expect(after.rtmpPort).not.toBe(before.rtmpPort);
    expect(count()).toBe(1);
    expect(groupMembers(before.pid!)).toEqual([]);
    // Issued URLs point at the port for a few tries before it is given up.
    const failures = restartFailures(logs);
    expect(failures).toHaveLength(3);
    for (const failure of failures) expect(failure.err).toMatch(/Address already in use/);

    expect(plane.pushUrl(S_A)).toContain(`:${after.rtmpPort}/live/`);
    await expectPlayback(plane, logs, S_A);
  }, 90000);

  it('keeps retrying a fixed RTMP port taken while nginx was down, reports restarting, and comes back on it once free', async () => {
    const port = await freePort('127.0.0.1');
    const logs = new LogCapture('info');
    const plane = await start(logs, {
      rtmpPort: port,
      restartBackoff: { initialMs: RESTART_DELAY_MS, maxMs: 100 },
    });
    plane.authorize(S_A);
    const before = plane.health();
    expect(before.rtmpPort).toBe(port);
    const { restarted, count } = restartedOnce(plane);

    process.kill(before.pid!, 'SIGKILL');
    await eventually(() => plane.health().status === 'restarting', 'status restarting', ANSWER_MS);
    const squatter = await squat(port);
    // More failed tries than a picked port gets before it is given up: the operator's port never is.
    await logs.until(() => restartFailures(logs).length > 3, FAILED_TRIES_MS, 'four failed restarts');
    expect(plane.health()).toMatchObject({ status: 'restarting', rtmpPort: port, pid: undefined });
    expect(count()).toBe(0);
    for (const failure of restartFailures(logs)) expect(failure.err).toMatch(/Address already in use/);
    expect(plane.pushUrl(S_A)).toContain(`:${port}/live/`);

    await close(squatter);
    await backUp(logs);
    await restarted;
    expect(plane.health()).toMatchObject({ status: 'up', restarts: 1, rtmpPort: port });
    expect(count()).toBe(1);
    await expectPlayback(plane, logs, S_A);
  }, 120000);

  it('moves nginx to a new control port when its picked one is taken while nginx was down, beside a fixed RTMP port', async () => {
    const port = await freePort('127.0.0.1');
    const logs = new LogCapture('info');
    const plane = await start(logs, {
      rtmpPort: port,
      restartBackoff: { initialMs: RESTART_DELAY_MS, maxMs: 100 },
    });
    plane.authorize(S_A);
    const before = plane.health();
    const controlBefore = controlPortOf(before.pid!);
    const { restarted, count } = restartedOnce(plane);

    process.kill(before.pid!, 'SIGKILL');
    await eventually(() => plane.health().status === 'restarting', 'status restarting', ANSWER_MS);
    await squat(controlBefore);
    await backUp(logs);
    await restarted;
    const after = plane.health();
    expect(after).toMatchObject({ status: 'up', restarts: 1, rtmpPort: port });
    expect(count()).toBe(1);
    expect(controlPortOf(after.pid!)).not.toBe(controlBefore);
    // Control: the restarts did find the control port taken before they moved off it.
    expect(restartFailures(logs).length).toBeGreaterThan(0);
    for (const failure of restartFailures(logs)) expect(failure.err).toMatch(/Address already in use/);
    await expectPlayback(plane, logs, S_A);
  }, 120000);
});

describe("media 'nginx' when its control endpoint fails a drop", () => {
  it('cuts a revoked stream through on_update when the control endpoint refuses the drop, or is gone', async () => {
    const drops: string[] = [];
    // Stands in for nginx's control endpoint: refuses every drop until it is closed, then nothing answers.
    const control = http.createServer((req, res) => {
      drops.push(req.url ?? '');
      res.writeHead(503, { connection: 'close' }).end();
    });
    listeners.push((await listen(control, 0))!);
    const logs = new LogCapture('debug');
    const plane = await start(logs, { updateIntervalSeconds: 1, testOnlyDropPort: portOf(control) });

    // Control: both streams publish and play before either is revoked.
    const live = async (stream: string) => {
      plane.authorize(stream);
      const since = logs.mark();
      const pusher = pushTestPattern(plane.pushUrl(stream));
      await logs.accepted('publish', stream, { since });
      const player = watchVideo(plane.playUrls(stream).rtmp);
      await player.firstFrame;
      let gone = false;
      void player.exited.then(() => (gone = true));
      return { pusher, player, gone: () => gone };
    };
    const a = await live(S_A);
    const b = await live(S_B);
    /** nginx's on_update asked about both sessions of `stream` and our hook refused them. */
    const cutByUpdate = (stream: string, since: number) =>
      logs.until(
        () =>
          logs.lines
            .slice(since)
            .filter((l) => l.msg === 'media request refused' && l.hook === 'update')
            .filter((l) => l.stream === `/live/${stream}`)
            .map((l) => l.reason)
            .sort()
            .join() === 'play: stream not authorised,publish: stream not authorised',
        ANSWER_MS,
        `on_update refusing ${stream}'s publisher and player`,
      );

    let since = logs.mark();
    plane.revoke(S_A);
    const refused = await logs.waitFor(
      (l) => l.msg === 'nginx control refused a drop' && l.stream === S_A,
      ANSWER_MS,
      "the control endpoint's refusal",
      since,
    );
    expect(refused.status).toBe(503);
    expect(drops[0]).toMatch(new RegExp(`^/[0-9a-f]{32}/control/drop/client\\?app=live&name=${S_A}$`));
    expect(await waitForRefusal(a.pusher, ANSWER_MS)).toBe(true);
    await cutByUpdate(S_A, since);
    await eventually(a.gone, "A's player cut", ANSWER_MS);
    // Control: on_update leaves the authorised stream alone; it still plays after A was cut.
    const framesOfB = b.player.frames();
    await eventually(() => b.player.frames() > framesOfB + 5, 'more frames of B', ANSWER_MS);
    expect(b.gone()).toBe(false);

    await close(control);
    since = logs.mark();
    plane.revoke(S_B);
    const unreachable = await logs.waitFor(
      (l) => l.msg === 'nginx control unreachable; on_update will cut the stream' && l.stream === S_B,
      ANSWER_MS,
      'the unreachable control endpoint',
      since,
    );
    expect(unreachable.err).toMatch(/ECONNREFUSED/);
    expect(await waitForRefusal(b.pusher, ANSWER_MS)).toBe(true);
    await cutByUpdate(S_B, since);
    await eventually(b.gone, "B's player cut", ANSWER_MS);
  }, 90000);
});

describe("media 'nginx' when nginx stops answering", () => {
  it('kills a stopped nginx after the heartbeat timeout, leaves nothing of it, restarts it on fresh URLs, and leaves an answering one alone', async () => {
    const logs = new LogCapture('info');
    const plane = await start(logs, { heartbeat: { intervalMs: 500, timeoutMs: 3000 } });
    plane.authorize(S_A);
    const before = plane.health();
    const group = groupMembers(before.pid!);
    expect(group.length).toBeGreaterThanOrEqual(2); // master and worker: the checks below can fail
    const urlsBefore = [plane.pushUrl(S_A), plane.playUrls(S_A).rtmp];
    const { restarted, count } = restartedOnce(plane);

    process.kill(-before.pid!, 'SIGSTOP');
    // Control: the whole group is stopped (alive, not answering), not gone.
    await eventually(() => group.every((pid) => processState(pid) === 'T'), 'nginx stopped', ANSWER_MS);
    const killed = await logs.waitFor(
      (l) => l.msg === 'nginx unresponsive; killing it',
      FAILED_TRIES_MS,
      'the heartbeat giving nginx up',
    );
    expect(killed.pid).toBe(before.pid);
    await logs.waitFor(
      (l) => l.msg === 'nginx died; restarting' && l.signal === 'SIGKILL' && l.pid === before.pid,
      ANSWER_MS,
      'the stopped nginx dead of SIGKILL',
    );
    await backUp(logs);
    await restarted;
    const after = plane.health();
    expect(after).toMatchObject({ status: 'up', restarts: 1, rtmpPort: before.rtmpPort });
    expect(after.pid).not.toBe(before.pid);
    expect(count()).toBe(1);
    await eventually(() => groupMembers(before.pid!).length === 0, 'the stopped group gone', ANSWER_MS);

    // URLs issued after the restart differ (clients rebind to the new nginx) and work.
    const urlsAfter = [plane.pushUrl(S_A), plane.playUrls(S_A).rtmp];
    urlsAfter.forEach((url, i) => expect(url).not.toBe(urlsBefore[i]));
    // Control: a playback lasts several heartbeat intervals, and the answering nginx is left running.
    await expectPlayback(plane, logs, S_A);
    expect(plane.health()).toMatchObject({ status: 'up', restarts: 1, pid: after.pid });
    expect(logs.lines.filter((l) => l.msg === 'nginx unresponsive; killing it')).toHaveLength(1);
  }, 90000);
});
