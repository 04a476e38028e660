/** @jest-environment node */
/**
 * The media plane's isolation, checked on the real CLI process (what an operator runs): requests that used to
 * kill the whole server through node-media-server (HTTP-FLV and WS-FLV to an unsafe path, RTMP connect
 * without a tcUrl) are refused by the same media worker (its pid and the restart count unchanged) while
 * signalling and both media ports keep answering; when the media child process dies, the CLI keeps running,
 * restarts it on the same ports, and /healthz says so; and a CLI killed outright leaves no media worker
 * behind.
 */
import { execFileSync } from 'node:child_process';
import { runCli } from '../helpers/cli';
import { eventually } from '../helpers/wait';
import { connectCommand, handshake, openRaw, request, wsFlv } from '../media/raw-clients';

// Generous: the CLI compiles with ts-node and forks its media worker on a 2-core machine shared with others.
const READY_MS = 30000;
const ANSWER_MS = 10000;
// Unlocks the live counts on /healthz, mediaRestarts among them.
const METRICS_TOKEN = 'media-isolation-metrics-token';
const CLI_ARGS = [
  '--dev',
  '--port',
  '0',
  '--rtmp-port',
  '0',
  '--media-http-port',
  '0',
  '--host',
  '127.0.0.1',
];

/** Pids of the direct children of `pid` (Linux `ps`). */
function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there is none
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function health(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await request(`http://127.0.0.1:${port}/healthz`, {
    headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
  });
  return { status: answer.status, body: JSON.parse(answer.body.toString('utf8')) as Record<string, unknown> };
}

describe('the CLI with its media plane in a child process', () => {
  const cli = runCli([...CLI_ARGS, '--log-level', 'silent'], { NETCALL_METRICS_TOKEN: METRICS_TOKEN });
  let port: number;
  let rtmpPort: number;
  let httpPort: number;

  beforeAll(async () => {
    port = Number((await cli.line(/^listening ws:\/\/127\.0\.0\.1:(\d+)$/m))[1]);
    const media = await cli.line(
      /^media\s+rtmp:\/\/127\.0\.0\.1:(\d+) \(RTMP\)\s+http:\/\/127\.0\.0\.1:(\d+) \(HTTP-FLV\)$/m,
    );
    rtmpPort = Number(media[1]);
    httpPort = Number(media[2]);
  }, READY_MS + 5000);

  afterAll(async () => {
    if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    await cli.exited;
  });

  /** Signalling answers, and both media listeners answer (a refusal is an answer). */
  async function everythingAnswers(): Promise<void> {
    expect((await health(port)).status).toBe(200);
    expect((await request(`http://127.0.0.1:${httpPort}/live/x.flv`)).status).toBe(400);
    const rtmp = await openRaw(rtmpPort);
    await handshake(rtmp); // the worker's RTMP front completed a handshake
    rtmp.socket.destroy();
  }

  it('survives the requests that used to kill it, in the same media worker', async () => {
    const [worker] = childPids(cli.child.pid!);
    expect(worker).toEqual(expect.any(Number));
    expect((await health(port)).body).toMatchObject({ media: 'up', mediaRestarts: 0 });
    const [flv, ws, rtmpMs] = await Promise.all([
      request(`http://127.0.0.1:${httpPort}/live/a!b.flv`),
      wsFlv(`ws://127.0.0.1:${httpPort}/live/a!b.flv`),
      (async () => {
        const conn = await openRaw(rtmpPort);
        await handshake(conn);
        conn.send(connectCommand());
        return conn.closed;
      })(),
    ]);
    expect(flv.status).toBe(404);
    expect(ws.status).toBe(404);
    expect(rtmpMs).toBeLessThan(ANSWER_MS);
    await everythingAnswers();
    expect(cli.child.exitCode).toBeNull();
    expect((await health(port)).body).toMatchObject({ status: 'ok', media: 'up', mediaRestarts: 0 });
    expect(childPids(cli.child.pid!)).toEqual([worker]);
  }, 60000);

  it('keeps running when the media child dies, and brings media back on the same ports', async () => {
    const [worker] = childPids(cli.child.pid!);
    expect(worker).toEqual(expect.any(Number));
    process.kill(worker, 'SIGKILL');
    let replacement: number | undefined;
    await eventually(
      () =>
        (replacement = childPids(cli.child.pid!).find((pid) => pid !== worker && alive(pid))) !== undefined,
      'a new media worker',
      READY_MS,
      50,
    );
    await eventually(async () => (await health(port)).body.media === 'up', 'media up again', READY_MS, 50);
    expect((await health(port)).body).toMatchObject({ mediaRestarts: 1 });
    expect(alive(worker)).toBe(false);
    expect(cli.child.exitCode).toBeNull();
    await everythingAnswers();

    // A clean stop takes the worker with it.
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    await eventually(() => !alive(replacement!), 'the worker to exit', ANSWER_MS, 50);
  }, 90000);

  it('takes the media child down with it when the CLI is killed outright', async () => {
    const other = runCli([...CLI_ARGS, '--log-level', 'silent']);
    try {
      await other.line(/^media\s+rtmp:/m);
      const [worker] = childPids(other.child.pid!);
      expect(worker).toEqual(expect.any(Number));
      other.child.kill('SIGKILL');
      await other.exited;
      // No supervisor is left to stop it: the worker notices the closed IPC channel and exits by itself.
      await eventually(() => !alive(worker), 'the orphaned worker to exit', ANSWER_MS, 50);
    } finally {
      if (other.child.exitCode === null && other.child.signalCode === null) other.child.kill('SIGKILL');
    }
  }, 60000);
});
