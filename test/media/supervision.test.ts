/** @jest-environment node */
/**
 * The media worker's supervision: a killed worker comes back (on the same ports, or on new ones when the
 * picked ones stay taken), onRestart fires, authorised streams work with URLs issued after the restart and
 * revoked ones stay refused; a worker whose event loop is stuck is found by the heartbeat, killed and
 * replaced the same way. Each case has its own plane, with a restart delay that makes its window certain.
 */
import net from 'node:net';
import { startMediaPlane, type MediaPlane, type MediaPlaneOptions } from '../../server/media';
import { testOnlyHangWorker } from '../../server/media/supervisor';
import { killAllFfmpeg, pushTestPattern, waitForRefusal } from '../helpers/ffmpeg';
import { eventually } from '../helpers/wait';
import { LogCapture } from './log-capture';
import { expectPlayback } from './playback';
import { request } from './raw-clients';

const SECRET = 'test-media-secret-0123456789-0123456789-abcdef';
const S_A = 'room1_alice';
const S_B = 'room1_bob';
const S_C = 'room1_carol';
// Bounds for "answered in time", generous for a loaded 2-core machine.
const ANSWER_MS = 8000;
const DECODE_MS = 20000;
/** Long enough that what a test does "while no worker runs" certainly happens before the restart. */
const RESTART_DELAY_MS = 5000;

function restartedOnce(plane: MediaPlane): { restarted: Promise<void>; count: () => number } {
  let count = 0;
  const restarted = new Promise<void>((resolve) =>
    plane.onRestart(() => {
      count++;
      resolve();
    }),
  );
  return { restarted, count: () => count };
}

describe('media supervision: a dead worker is replaced', () => {
  const planes: MediaPlane[] = [];
  const start = async (logs: LogCapture, options: Partial<MediaPlaneOptions> = {}) => {
    const plane = await startMediaPlane({
      rtmpPort: 0,
      httpPort: 0,
      secret: SECRET,
      logger: logs.logger,
      ...options,
    });
    planes.push(plane);
    return plane;
  };

  afterAll(async () => {
    killAllFfmpeg();
    await Promise.all(planes.map((plane) => plane.close()));
  });

  it('restarts a killed worker on the same ports; authorised streams work with new URLs, revoked ones stay refused', async () => {
    const logs = new LogCapture('info');
    const plane = await start(logs, { restartBackoff: { initialMs: RESTART_DELAY_MS } });
    for (const stream of [S_A, S_B, S_C]) plane.authorize(stream);
    plane.revoke(S_B);
    const before = plane.health();
    const urlsBefore = [plane.pushUrl(S_A), plane.playUrls(S_A).rtmp, plane.playUrls(S_A).flv];
    const { restarted, count } = restartedOnce(plane);

    process.kill(before.pid!, 'SIGKILL');
    await eventually(() => plane.health().status === 'restarting', 'status restarting', ANSWER_MS);
    expect(plane.health().pid).toBeUndefined();
    // No worker runs for RESTART_DELAY_MS: the next one must get the set without this stream.
    plane.revoke(S_C);
    await restarted;
    const after = plane.health();
    expect(after).toMatchObject({
      status: 'up',
      restarts: 1,
      rtmpPort: before.rtmpPort,
      httpPort: before.httpPort,
    });
    expect(after.pid).not.toBe(before.pid);
    expect(count()).toBe(1);
    await logs.waitFor((l) => l.msg === 'media worker died; restarting' && l.signal === 'SIGKILL', ANSWER_MS);

    // URLs issued after the restart differ (clients rebind) and work; the old ones would too, until revoked.
    const urlsAfter = [plane.pushUrl(S_A), plane.playUrls(S_A).rtmp, plane.playUrls(S_A).flv];
    urlsAfter.forEach((url, i) => expect(url).not.toBe(urlsBefore[i]));
    const refusedPushes = [S_B, S_C].map((s) => pushTestPattern(plane.pushUrl(s)));
    const [flvB, flvC] = await Promise.all([S_B, S_C].map((s) => request(plane.playUrls(s).flv)));
    await expectPlayback(plane, logs, S_A);
    expect(await Promise.all(refusedPushes.map((p) => waitForRefusal(p, DECODE_MS)))).toEqual([true, true]);
    expect([flvB.status, flvC.status]).toEqual([403, 403]);
    for (const stream of [S_B, S_C])
      await logs.until(
        () => logs.refusalsFor(stream).some((l) => l.reason === 'publish: stream not authorised'),
        ANSWER_MS,
        `publish refusal for ${stream}`,
      );
  }, 60000);

  it('picks new ports when the picked ones stay taken after a restart', async () => {
    const logs = new LogCapture('info');
    // The first restart waits long enough for the squatter to take the port; the ones after it (which find
    // the port taken, until they give it up) need not wait.
    const plane = await start(logs, { restartBackoff: { initialMs: RESTART_DELAY_MS, maxMs: 100 } });
    plane.authorize(S_A);
    const before = plane.health();
    const squatter = net.createServer();
    const { restarted } = restartedOnce(plane);
    process.kill(before.pid!, 'SIGKILL');
    await eventually(() => plane.health().status === 'restarting', 'status restarting', ANSWER_MS);
    await new Promise<void>((resolve, reject) => {
      squatter.once('error', reject);
      squatter.listen(before.rtmpPort, '127.0.0.1', () => resolve());
    });
    try {
      await restarted;
      const after = plane.health();
      expect(after.status).toBe('up');
      expect(after.rtmpPort).not.toBe(before.rtmpPort);
      expect(plane.pushUrl(S_A)).toContain(`:${after.rtmpPort}/live/`);
      const failures = logs.lines.filter((l) => l.msg === 'media worker restart failed');
      expect(failures.length).toBe(3);
      expect(failures.every((l) => /EADDRINUSE/.test(String(l.err)))).toBe(true);
      await expectPlayback(plane, logs, S_A);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  }, 60000);

  it('kills and replaces a worker whose event loop is stuck, and leaves a working one alone', async () => {
    const logs = new LogCapture('info');
    const heartbeat = { intervalMs: 200, timeoutMs: 1000 };
    const plane = await start(logs, { heartbeat, testOnlyAllowHang: true });
    plane.authorize(S_A);
    const before = plane.health();
    const { restarted, count } = restartedOnce(plane);

    testOnlyHangWorker(plane);
    await restarted;
    const killed = await logs.waitFor((l) => l.msg === 'media worker unresponsive; killing it', ANSWER_MS);
    expect(killed.pid).toBe(before.pid);
    await logs.waitFor(
      (l) => l.msg === 'media worker died; restarting' && l.signal === 'SIGKILL' && l.pid === before.pid,
      ANSWER_MS,
    );
    const after = plane.health();
    expect(after).toMatchObject({ status: 'up', restarts: 1, rtmpPort: before.rtmpPort });
    expect(after.pid).not.toBe(before.pid);
    expect(count()).toBe(1);

    // The control: a playback lasts many heartbeat timeouts, and the answering worker is left running.
    await expectPlayback(plane, logs, S_A);
    expect(plane.health()).toMatchObject({ status: 'up', restarts: 1, pid: after.pid });
    expect(logs.lines.filter((l) => l.msg === 'media worker unresponsive; killing it')).toHaveLength(1);
  }, 60000);

  it('lets no plane but a test one be hung', async () => {
    const plane = await start(new LogCapture('info'));
    expect(() => testOnlyHangWorker(plane)).toThrow(/testOnlyAllowHang/);
  });
});
