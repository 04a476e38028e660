/**
 * Benchmark: how many concurrent 1:1 calls one media node carries on this machine before first frames slow
 * down or frames drop, the embedded node-media-server and nginx-rtmp side by side in the same run.
 *
 * The server runs as its own process (the CLI, as an operator runs it), so its CPU and memory are read apart
 * from the load generator's: the signalling process and every process under it (the NMS worker; nginx's
 * master, worker and watchdog). Each call is two real Netcall clients that call, answer and startRtc, so every
 * URL is one the server issued; then two pushes to the two push URLs and two players on the peers' RTMP play
 * URLs (what `<live-player>` plays, and the one protocol both planes serve), all four started at once, as
 * when both phones open their pusher and player.
 *
 * The pushes send a clip encoded once with the media tests' settings (test/helpers/ffmpeg.ts pushTestPattern:
 * 320×240@15 test pattern, x264 ultrafast/zerolatency, 1 s GOP, AAC) and copied out in real time (`-re`):
 * a phone encodes on the phone, so x264 on the server's cores would only make the generator, not the server,
 * the limit. Players read every video frame as it arrives, without decoding it (test/helpers/ffmpeg.ts
 * watchVideo with `copy`): decoding is the phone's work, and it had made the generator the limit at 96 calls.
 * The media tests decode what these same servers send (test/media/). The generator still shares the
 * machine's cores with the server; its CPU is reported apart.
 *
 * First, on the fresh server, 5 calls alone one after the other: the 1-call first frame (start → first video
 * frame at each player) is their median. Then the ramp: 1, 2, 4, 8, 16, 32, … 256 calls, added one at a time
 * while the earlier ones keep running; at each step the new calls' first frames, then after a settle every
 * player's fps over a 10 s window. Degraded: a first frame missing, the step's first-frame median above
 * max(2 × the 1-call median, 1 s), or a player below 14 fps, stalled (a second with fewer than half its
 * frames) or ended by the server, in two windows running. Capacity is the last step before the first degraded
 * one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import {
  binaries,
  killAllFfmpeg,
  pushTestPattern,
  watchVideo,
  type VideoWatch,
} from '../test/helpers/ffmpeg';
import { startCli, type RunningCli } from '../test/helpers/cli';
import { closeClients, TEST_MEDIA_SECRET, TEST_SECRET } from '../test/helpers/server';
import { connectPair, type Pair } from './lib/calls';
import {
  commandName,
  descendants,
  machineCpu,
  rssMegabytes,
  snapshot,
  spentBetween,
  type CpuSnapshot,
} from './lib/proc';
import { median, round } from './lib/stats';
import { budgeted, info, type BenchmarkResult, type Budgets, type Metric } from './lib/types';

type Engine = 'embedded' | 'nginx';

const ENGINES: Array<{ engine: Engine; args: string[] }> = [
  { engine: 'embedded', args: [] },
  // --port keeps the test CLI helper from adding --media-http-port, which nginx (RTMP only) refuses.
  { engine: 'nginx', args: ['--media', 'nginx', '--port', '0', '--rtmp-port', '0'] },
];

/**
 * Doubling up to 16, where a broken plane would already fail, then steps of 16: each step costs ~12 s of
 * measuring plus its calls' start. With players that decoded every frame the generator took ~1.5 of the 2
 * cores at 96 calls, so the ramp stopped there having measured the machine; players that only count frames
 * cost it about half, and the ramp goes on to 256 calls (1,024 ffmpeg processes).
 */
const STEPS = [1, 2, 4, 8, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256];
/** Calls started alone, one after the other, on the fresh server: the 1-call first frame is their median. */
const BASELINE_CALLS = 5;
/** Per engine: past it the ramp stops where it is, and the capacity is reported as "at least". */
const ENGINE_TIME_LIMIT_MS = 14 * 60_000;
const FPS = 15;
const FPS_FLOOR = 14;
const FIRST_FRAME_TIMEOUT_MS = 10_000;
/** The first-frame median may double before it counts as degraded, but never below this. */
const FIRST_FRAME_CEILING_MS = 1000;
/** Lets the new players' start (probing, the GOP cache's burst) pass before the window opens. */
const SETTLE_MS = 2000;
const WINDOW_SECONDS = 10;
const CLIP_SECONDS = 6;
const SIGNALLING_TIMEOUT_MS = 10_000;
const SERVER_LOG_LINES = 20;
const NOT_REACHED = `not reached: the ramp stops at ${STEPS[STEPS.length - 1]} calls`;
const ENV = { NETCALL_SECRET: TEST_SECRET, NETCALL_MEDIA_SECRET: TEST_MEDIA_SECRET };
// Every client here comes from 127.0.0.1, where real ones come from many addresses: the per-address cap
// (100 media sockets, reached at 25 calls) must not be what the ramp measures.
const MAX_CONNECTIONS_PER_IP = '10000';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const spawned = new Set<ChildProcess>();

/** SIGKILLs every pusher; resolves once they are gone (the next engine must not share the cores with them). */
function killPushers(): Promise<unknown> {
  const live = [...spawned].filter(
    (child) => child.pid !== undefined && child.exitCode === null && child.signalCode === null,
  );
  const exits = live.map((child) => new Promise((resolve) => child.once('exit', resolve)));
  for (const child of live) child.kill('SIGKILL');
  return Promise.all(exits);
}

/** One clip with the media tests' encoding, written by their own pusher (to stdout instead of a server). */
async function encodeClip(dir: string): Promise<string> {
  const file = path.join(dir, 'clip.flv');
  const encoder = pushTestPattern('pipe:1', { seconds: CLIP_SECONDS });
  await pipeline(encoder.process.stdout!, createWriteStream(file));
  const exit = await encoder.exited;
  if (exit.code !== 0) throw new Error(`encoding the clip failed (${exit.code}): ${exit.stderr}`);
  return file;
}

/** A phone's push as the server sees it: the clip, looped, at its own pace. */
function pushClip(url: string, clip: string): ChildProcess {
  const args = [
    ...['-hide_banner', '-nostdin', '-loglevel', 'error'],
    ...['-re', '-stream_loop', '-1', '-i', clip, '-c', 'copy', '-f', 'flv', url],
  ];
  const child = spawn(binaries().ffmpeg, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  child.once('error', () => spawned.delete(child));
  return child;
}

interface Call {
  pair: Pair;
  pushers: ChildProcess[];
  plays: VideoWatch[];
  /** Players whose ffmpeg ended by itself: the server closed their stream (a cut, not a slow frame). */
  ended: Set<VideoWatch>;
  /** Start → first video frame at each player; NaN where none came in time. */
  firstFrameMs: number[];
}

function firstFrameAfter(play: VideoWatch, startedAt: number): Promise<number> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(NaN), FIRST_FRAME_TIMEOUT_MS);
    play.firstFrame.then(
      () => {
        clearTimeout(timer);
        resolve(performance.now() - startedAt);
      },
      () => {
        clearTimeout(timer);
        resolve(NaN);
      },
    );
  });
}

/** A call set up through signalling, then its media started; resolves once both players showed a frame. */
async function startCall(cli: RunningCli, clip: string, calls: Call[]): Promise<Call> {
  const pair = await connectPair(cli);
  const call: Call = { pair, pushers: [], plays: [], ended: new Set(), firstFrameMs: [] };
  calls.push(call); // before anything else can fail: the cleanup closes it
  await pair.establish(SIGNALLING_TIMEOUT_MS);
  const sides = [pair.callerRoster, pair.calleeRoster];
  const pushUrls = sides.map((roster) => roster.pusher?.url);
  const playUrls = sides.map((roster) => roster.players[0]?.url);
  if (![...pushUrls, ...playUrls].every(Boolean)) throw new Error('the server issued no push or play URL');
  const startedAt = performance.now();
  call.pushers = pushUrls.map((url) => pushClip(url!, clip));
  call.plays = playUrls.map((url) => watchVideo(url!, { copy: true }));
  for (const play of call.plays) void play.exited.then(() => call.ended.add(play));
  call.firstFrameMs = await Promise.all(call.plays.map((play) => firstFrameAfter(play, startedAt)));
  return call;
}

/** Ends a call's media and the call itself (its URLs are revoked at hangup). */
async function stopCall(call: Call): Promise<void> {
  const exits = call.pushers
    .filter((child) => child.exitCode === null && child.signalCode === null)
    .map((child) => new Promise((resolve) => child.once('exit', resolve)));
  for (const child of call.pushers) child.kill('SIGKILL');
  await Promise.all([...call.plays.map((play) => play.stop()), ...exits]);
  await call.pair.hangup().catch(() => {});
  call.pair.close();
}

/**
 * The 1-call first frame: calls started alone, each stopped before the next. The first one on a fresh server
 * is its coldest; a median over several is what a step is compared with.
 */
async function baseline(cli: RunningCli, clip: string): Promise<number[]> {
  const samples: number[] = [];
  for (let run = 0; run < BASELINE_CALLS; run++) {
    const calls: Call[] = [];
    try {
      samples.push(...(await startCall(cli, clip, calls)).firstFrameMs);
    } finally {
      await Promise.all(calls.map(stopCall));
    }
  }
  return samples;
}

interface Window {
  seconds: number;
  fps: number[];
  /** Per player, the fewest frames received in any one second of the window. */
  worstSecond: number[];
  /** Players whose stream the server had ended by the window's end. */
  playersEnded: number;
  serverCores: number;
  /** The part of serverCores spent under the signalling process: the NMS worker, or nginx. */
  mediaCores: number;
  ffmpegCores: number;
  ffmpegProcesses: number;
  ffmpegRssMb: number;
  benchCores: number;
  /** The whole machine's busy cores, other workers' included. */
  machineCores: number;
  serverRssMb: number;
  mediaRssMb: number;
}

/** Every player's frames and every process's CPU over one window, while no call starts or stops. */
async function measure(cli: RunningCli, calls: Call[]): Promise<Window> {
  const serverPid = cli.child.pid!;
  const media = descendants(serverPid);
  const server = [serverPid, ...media];
  const generator = descendants(process.pid).filter(
    (pid) => !server.includes(pid) && commandName(pid) === 'ffmpeg',
  );
  const plays = calls.flatMap((call) => call.plays);
  const take = (): [CpuSnapshot, CpuSnapshot, CpuSnapshot] => [
    snapshot(server),
    snapshot(media),
    snapshot(generator),
  ];
  const machineBefore = machineCpu();
  const ownBefore = process.cpuUsage();
  const before = take();
  const startedAt = performance.now();
  const counts = [plays.map((play) => play.frames())];
  const times = [startedAt];
  for (let second = 1; second <= WINDOW_SECONDS; second++) {
    await sleep(startedAt + second * 1000 - performance.now());
    counts.push(plays.map((play) => play.frames()));
    times.push(performance.now());
  }
  const after = take();
  const own = process.cpuUsage(ownBefore);
  const machineAfter = machineCpu();
  const seconds = (times[times.length - 1] - startedAt) / 1000;
  const rss = (pids: number[]) => pids.reduce((sum, pid) => sum + rssMegabytes(pid), 0);
  return {
    seconds,
    fps: plays.map((_, index) => (counts[counts.length - 1][index] - counts[0][index]) / seconds),
    worstSecond: plays.map((_, index) =>
      Math.min(
        ...counts
          .slice(1)
          .map(
            (row, sample) =>
              ((row[index] - counts[sample][index]) * 1000) / (times[sample + 1] - times[sample]),
          ),
      ),
    ),
    playersEnded: calls.reduce((sum, call) => sum + call.ended.size, 0),
    serverCores: spentBetween(before[0], after[0]) / seconds,
    mediaCores: spentBetween(before[1], after[1]) / seconds,
    ffmpegCores: spentBetween(before[2], after[2]) / seconds,
    ffmpegProcesses: generator.length,
    ffmpegRssMb: rss(generator),
    benchCores: (own.user + own.system) / 1e6 / seconds,
    machineCores:
      (machineAfter.busy - machineBefore.busy) /
      ((machineAfter.total - machineBefore.total) / os.cpus().length),
    serverRssMb: rss(server),
    mediaRssMb: rss(media),
  };
}

interface Step {
  calls: number;
  /** First frames of the calls this step added. */
  firstFrameMs: number[];
  firstFrameP50: number;
  window: Window;
  /** A second window, taken when the first showed drops: a burst from elsewhere must not end the ramp. */
  recheck?: Window;
  degraded: string | null;
}

const dropsIn = (window: Window): string | null => {
  const fpsMin = Math.min(...window.fps);
  const worst = Math.min(...window.worstSecond);
  if (window.playersEnded) return `${window.playersEnded} players' streams ended by the server`;
  if (fpsMin < FPS_FLOOR) return `a player at ${round(fpsMin, 1)} fps`;
  if (worst < FPS / 2) return `a player stalled (${round(worst, 1)} frames in its worst second)`;
  return null;
};

interface EngineResult {
  engine: Engine;
  /** The 1-call first frames: BASELINE_CALLS calls alone, 2 players each. */
  baselineMs: number[];
  baselineP50: number;
  steps: Step[];
  /** Calls carried before the first degraded step. */
  capacity: number;
  /** Why the ramp stopped: the degradation, the top step, or the time limit. */
  stoppedBy: string;
  error?: string;
  /** The server's last output lines (warnings and errors) when it degraded or failed: what it said about it. */
  serverLog?: string[];
}

async function ramp(engine: Engine, args: string[], clip: string): Promise<EngineResult> {
  const began = performance.now();
  const steps: Step[] = [];
  const calls: Call[] = [];
  let baselineMs: number[] = [];
  let cli: RunningCli | undefined;
  // The ramp stops at the first degraded step, so every step before it carried its calls.
  const result = (stoppedBy: string, error?: string): EngineResult => ({
    ...(cli && stoppedBy !== NOT_REACHED
      ? { serverLog: cli.output().trim().split('\n').slice(-SERVER_LOG_LINES) }
      : {}),
    engine,
    baselineMs: baselineMs.map((ms) => round(ms, 1)),
    baselineP50: round(median(baselineMs.filter(Number.isFinite)), 1),
    steps,
    capacity: steps.filter((step) => !step.degraded).at(-1)?.calls ?? 0,
    stoppedBy,
    ...(error ? { error } : {}),
  });
  try {
    cli = running = await startCli([...args, '--max-connections-per-ip', MAX_CONNECTIONS_PER_IP], ENV);
    baselineMs = await baseline(cli, clip);
    if (baselineMs.some(Number.isNaN)) throw new Error(`${engine}: a call alone showed no frame`);
    const limit = Math.max(2 * median(baselineMs), FIRST_FRAME_CEILING_MS);
    for (const target of STEPS) {
      if (performance.now() - began > ENGINE_TIME_LIMIT_MS)
        return result(`the time limit (${ENGINE_TIME_LIMIT_MS / 60_000} min) before ${target} calls`);
      const added: number[] = [];
      while (calls.length < target) added.push(...(await startCall(cli, clip, calls)).firstFrameMs);
      await sleep(SETTLE_MS);
      const window = await measure(cli, calls);
      const step: Step = {
        calls: target,
        firstFrameMs: added.map((ms) => round(ms, 1)),
        firstFrameP50: round(median(added.filter(Number.isFinite)), 1),
        window,
        degraded: null,
      };
      steps.push(step);
      if (added.some(Number.isNaN))
        step.degraded = `a first frame missing after ${FIRST_FRAME_TIMEOUT_MS} ms`;
      else if (step.firstFrameP50 > limit)
        step.degraded = `first-frame median ${step.firstFrameP50} ms > ${round(limit, 0)} ms`;
      else if (dropsIn(window)) {
        step.recheck = await measure(cli, calls);
        const again = dropsIn(step.recheck);
        if (again) step.degraded = `${dropsIn(window)}, then ${again}`;
      }
      if (step.degraded)
        return result(`degraded at ${target} call${target === 1 ? '' : 's'}: ${step.degraded}`);
    }
    return result(NOT_REACHED);
  } catch (error) {
    // Nothing measured (the server did not start, the first call failed): the benchmark could not run.
    if (steps.length === 0) throw error;
    return result('an error', error instanceof Error ? error.message : String(error));
  } finally {
    await Promise.all([...calls.flatMap((call) => call.plays.map((play) => play.stop())), killPushers()]);
    killAllFfmpeg();
    for (const call of calls) call.pair.close();
    closeClients();
    await cli?.stop();
    running = undefined;
  }
}

const atCapacity = (result: EngineResult): Step | undefined =>
  result.steps.find((step) => step.calls === result.capacity);

/** The window a verdict rests on: the recheck when there was one (the first showed a passing burst). */
const verdictWindow = (step: Step): Window => step.recheck ?? step.window;

function series(result: EngineResult): string {
  const steps = result.steps.map((step) => {
    const window = verdictWindow(step);
    return (
      `${step.calls}: first frame ${step.firstFrameP50} ms, fps min ${round(Math.min(...window.fps), 1)}, ` +
      `server ${round(window.serverCores, 2)} (media ${round(window.mediaCores, 2)}) + ffmpeg ` +
      `${round(window.ffmpegCores, 2)} of ${round(window.machineCores, 2)} busy cores`
    );
  });
  const alone = `alone ${result.baselineMs.join(', ')} ms`;
  return `${result.engine} by calls — ${alone}; ${steps.join('; ')}; stopped by ${result.stoppedBy}${result.error ? ` (${result.error})` : ''}`;
}

/** The two engines in columns, the way the issue asks for them. */
function sideBySide(results: EngineResult[]): string {
  const cell = (result: EngineResult, pick: (step: Step, window: Window) => string) => {
    const step = atCapacity(result);
    return step ? pick(step, verdictWindow(step)) : '–';
  };
  const capacity = (result: EngineResult) =>
    result.stoppedBy.startsWith('degraded') ? String(result.capacity) : `≥ ${result.capacity}`;
  const rows: Array<[string, (result: EngineResult) => string]> = [
    ['capacity (1:1 calls)', capacity],
    [
      `first frame, 1 call alone (median, max of ${2 * BASELINE_CALLS})`,
      (r) => `${r.baselineP50} ms, ${round(Math.max(...r.baselineMs), 1)} ms`,
    ],
    ['at capacity: fps min', (r) => cell(r, (_, w) => String(round(Math.min(...w.fps), 1)))],
    ['at capacity: first frame (median)', (r) => cell(r, (s) => `${s.firstFrameP50} ms`)],
    ['at capacity: server CPU', (r) => cell(r, (_, w) => `${round(w.serverCores, 2)} cores`)],
    ['  per call', (r) => cell(r, (s, w) => `${round((w.serverCores / s.calls) * 1000, 1)} millicores`)],
    ['  of which the media plane', (r) => cell(r, (_, w) => `${round(w.mediaCores, 2)} cores`)],
    ['at capacity: server RSS', (r) => cell(r, (_, w) => `${Math.round(w.serverRssMb)} MB`)],
    ['  of which the media plane', (r) => cell(r, (_, w) => `${Math.round(w.mediaRssMb)} MB`)],
    ['at capacity: generator ffmpeg CPU', (r) => cell(r, (_, w) => `${round(w.ffmpegCores, 2)} cores`)],
    [
      '  its processes, RSS',
      (r) => cell(r, (_, w) => `${w.ffmpegProcesses}, ${Math.round(w.ffmpegRssMb)} MB`),
    ],
    ['at capacity: machine busy', (r) => cell(r, (_, w) => `${round(w.machineCores, 2)} cores`)],
    ['stopped by', (r) => r.stoppedBy],
  ];
  const table = rows.map(([label, value]) => [label, ...results.map(value)]);
  const header = ['', ...results.map((result) => result.engine)];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...table.map((row) => row[column].length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((text, column) => text.padEnd(widths[column])).join(' | ')} |`;
  return [
    line(header),
    `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`,
    ...table.map(line),
  ].join('\n');
}

function metricsOf(budgets: Budgets, result: EngineResult): Metric[] {
  const id = (name: string) => `mediacap.${result.engine}.${name}`;
  const step = atCapacity(result);
  const window = step && verdictWindow(step);
  const metrics = [
    info(id('calls'), `${result.engine}: capacity, concurrent 1:1 calls`, result.capacity, 'calls'),
    budgeted(
      budgets,
      id('firstframe'),
      `${result.engine}: first frame, 1 call alone, median of ${2 * BASELINE_CALLS} players`,
      result.baselineP50,
    ),
  ];
  if (!window) return metrics;
  return [
    ...metrics,
    info(
      id('fpsmin'),
      `${result.engine}: at capacity, fps of the slowest player`,
      round(Math.min(...window.fps), 1),
      'fps',
    ),
    info(
      id('cpu'),
      `${result.engine}: at capacity, server CPU (signalling + media)`,
      round(window.serverCores, 2),
      'cores',
    ),
    info(
      id('rss'),
      `${result.engine}: at capacity, server RSS (signalling + media)`,
      Math.round(window.serverRssMb),
      'MB',
    ),
    info(
      id('ffmpegcpu'),
      `${result.engine}: at capacity, the generator's ffmpeg CPU`,
      round(window.ffmpegCores, 2),
      'cores',
    ),
  ];
}

/** The CLI of the ramp under way, for an interrupt to stop. */
let running: RunningCli | undefined;

/**
 * An interrupt or an exit mid-run kills every ffmpeg started here and asks the server to stop (it stops nginx
 * or its worker itself): neither outlives the benchmark, however it ends.
 */
function guardExit(): () => void {
  const onExit = () => {
    void killPushers();
    killAllFfmpeg();
    running?.child.kill('SIGTERM');
  };
  const onSignal = (signal: NodeJS.Signals) => {
    onExit();
    release();
    process.kill(process.pid, signal);
  };
  const release = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.on('exit', onExit);
  return release;
}

export async function run(budgets: Budgets): Promise<BenchmarkResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'netcall-capacity-'));
  const results: EngineResult[] = [];
  const failures: string[] = [];
  const release = guardExit();
  try {
    const clip = await encodeClip(dir);
    for (const { engine, args } of ENGINES) {
      process.stderr.write(`bench: media-capacity: ${engine}…\n`);
      // One plane that cannot run must not cost the other's numbers: they go into the error.
      try {
        results.push(await ramp(engine, args, clip));
      } catch (error) {
        failures.push(`${engine}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } finally {
    await killPushers();
    killAllFfmpeg();
    release();
    rmSync(dir, { recursive: true, force: true });
  }
  if (failures.length)
    throw new Error(
      `${failures.join('\n')}${results.length ? `\nmeasured:\n${sideBySide(results)}\n${results.map(series).join('\n')}` : ''}`,
    );
  return {
    name: 'media-plane capacity (1:1 calls, 320×240@15, loopback)',
    metrics: results.flatMap((result) => metricsOf(budgets, result)),
    notes: [
      `side by side (server, generator and whatever else runs share ${os.cpus().length} cores):\n${sideBySide(results)}`,
      ...results.map(series),
    ],
    details: {
      steps: STEPS,
      baselineCalls: BASELINE_CALLS,
      fpsFloor: FPS_FLOOR,
      windowSeconds: WINDOW_SECONDS,
      firstFrameCeilingMs: FIRST_FRAME_CEILING_MS,
      results,
    },
  };
}
