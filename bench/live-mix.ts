/**
 * Benchmark: the server-side live mix (server/live/mixer.ts) on the real server and media plane, loopback.
 * (a) mix start: the mixer runs with the host on stage and an audience reader is on the live stream before the
 *     host pushes, as when signalling starts the mix at the host's startRtc; time from the host's pusher spawn
 *     (its first frame, give or take x264's start) to the first live frame that shows the host's colour.
 * (b) re-layout: a co-host is put on stage before pushing; time from its pusher spawn to the first live frame
 *     (same reader, never reconnected) that shows its colour in its tile.
 * (c) cost: host + 2 co-hosts at 320×240@15 → 640×360@15; CPU over 10 s of every mixer child (utime+stime from
 *     /proc/<pid>/stat) plus this process's own (the compositing runs here; the idle server too, so it is an
 *     upper bound), and the children's RSS.
 * Also exports the pieces test/media/live-mix.test.ts uses: a room whose members' URLs come from the server,
 * a solid-colour pusher, and a continuous colour reader of the live stream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import type { RunningServer } from '../server/index';
import { Mixer, type StageInput } from '../server/live/mixer';
import { Layout } from '../services/protocol/live';
import { MediaRoster } from '../services/media';
import { binaries, killAllFfmpeg, pushTestPattern } from '../test/helpers/ffmpeg';
import { closeClients, connectClient, startTestServer, type TestClient } from '../test/helpers/server';
import { eventually } from '../test/helpers/wait';
import { cpuSeconds, rssMegabytes } from './lib/proc';
import { median, round } from './lib/stats';
import { budgeted, type BenchmarkResult, type Budgets } from './lib/types';

export type Colour = 'red' | 'green' | 'blue' | 'black' | 'other';

const spawned = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  return child;
}

/** SIGKILLs every pusher and reader started here (afterAll / finally). */
export function killLiveHelpers(): void {
  for (const child of spawned)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** A `<live-pusher>`-like push (H.264 baseline, 1 s GOP, AAC tone) of one solid colour at 320×240@15. */
export function pushColour(url: string, colour: 'red' | 'green' | 'blue'): ChildProcess {
  const args = [
    ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-re'],
    ...['-f', 'lavfi', '-i', `color=c=${colour}:s=320x240:r=15`],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '15', '-pix_fmt', 'yuv420p'],
    ...['-c:a', 'aac', '-b:a', '64k', '-f', 'flv', url],
  ];
  return track(spawn(binaries().ffmpeg, args, { stdio: ['ignore', 'ignore', 'ignore'] }));
}

/** A decoded live frame shrunk to a 16×9 grid of colours (one cell = 40×40 px of a 640×360 canvas). */
export interface Grid {
  readonly columns: number;
  readonly rows: number;
  at(column: number, row: number): Colour;
  /** Every cell of the block (inclusive bounds) has this colour. */
  all(colour: Colour, columns: [number, number], rows: [number, number]): boolean;
  count(colour: Colour): number;
  toString(): string;
}

const COLUMNS = 16;
const ROWS = 9;

function classify(r: number, g: number, b: number): Colour {
  if (r > 150 && g < 90 && b < 90) return 'red';
  if (g > 90 && r < 90 && b < 90) return 'green';
  if (b > 150 && r < 90 && g < 90) return 'blue';
  if (r < 50 && g < 50 && b < 50) return 'black';
  return 'other';
}

function gridOf(rgb: Buffer): Grid {
  const cells: Colour[] = [];
  for (let i = 0; i < COLUMNS * ROWS; i++) cells.push(classify(rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]));
  const at = (column: number, row: number) => cells[row * COLUMNS + column];
  return {
    columns: COLUMNS,
    rows: ROWS,
    at,
    all(colour, [c0, c1], [r0, r1]) {
      for (let row = r0; row <= r1; row++)
        for (let column = c0; column <= c1; column++) if (at(column, row) !== colour) return false;
      return true;
    },
    count: (colour) => cells.filter((cell) => cell === colour).length,
    toString: () =>
      Array.from({ length: ROWS }, (_, row) =>
        Array.from({ length: COLUMNS }, (_, column) => at(column, row)[0]).join(''),
      ).join('\n'),
  };
}

export interface LiveFrames {
  /** The reader's OS pid: the same one throughout proves the audience never reconnected. */
  readonly pid: number | undefined;
  frames(): number;
  /** Resolves with the first frame from now on that satisfies `test`, and when it was decoded. */
  until(test: (grid: Grid) => boolean, what: string, timeoutMs: number): Promise<{ grid: Grid; at: number }>;
  /** Resolves if the reader ends by itself (the live stream broke); never, while it plays. */
  readonly exited: Promise<string>;
  stop(): void;
}

/** One audience player on `url` for as long as it runs, decoding every frame to a colour grid. */
export function watchLiveFrames(url: string): LiveFrames {
  const args = [
    ...['-hide_banner', '-nostdin', '-loglevel', 'error'],
    // HTTP-FLV from our media server needs >= 4096 bytes of probe (an onMetaData stream comes first).
    ...['-fflags', 'nobuffer', '-analyzeduration', '0', '-probesize', '4096', '-i', url],
    ...['-map', '0:v:0', '-vf', `scale=${COLUMNS}:${ROWS}:flags=area`, '-pix_fmt', 'rgb24'],
    ...['-flush_packets', '1', '-f', 'rawvideo', 'pipe:1'],
  ];
  const child = track(spawn(binaries().ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  const size = COLUMNS * ROWS * 3;
  let pending = Buffer.alloc(0);
  let count = 0;
  let stderr = '';
  let latest: Grid | null = null;
  const waiters = new Set<(grid: Grid, at: number) => void>();
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => (stderr = (stderr + text).slice(-2000)));
  child.stdout?.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= size) {
      const at = performance.now();
      latest = gridOf(pending.subarray(0, size));
      pending = pending.subarray(size);
      count++;
      for (const waiter of [...waiters]) waiter(latest, at);
    }
  });
  const exited = new Promise<string>((resolve) =>
    child.once('close', (code, signal) => resolve(`reader ended (${code ?? signal}): ${stderr}`)),
  );
  return {
    pid: child.pid,
    frames: () => count,
    exited,
    until(test, what, timeoutMs) {
      return new Promise((resolve, reject) => {
        const done = (grid: Grid, at: number) => {
          if (!test(grid)) return;
          waiters.delete(done);
          clearTimeout(timer);
          resolve({ grid, at });
        };
        const timer = setTimeout(() => {
          waiters.delete(done);
          reject(
            new Error(`no live frame ${what} within ${timeoutMs} ms; last:\n${String(latest)}\n${stderr}`),
          );
        }, timeoutMs);
        waiters.add(done);
      });
    },
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

export interface LiveRoom {
  /** The push URL the server issued to `account`. */
  push(account: string): string;
  /** The RTMP play URL of `account`'s stream, as the server issued it to the live member (what the mixer pulls). */
  play(account: string): string;
  /** The mixer's output: the live member's push URL. */
  livePush: string;
  /** The audience's player: the host's HTTP-FLV play URL for the live member's stream. */
  liveFlv: string;
  close(): Promise<void>;
}

/**
 * A room on `server` whose host, co-hosts and a stand-in for the room's live stream are all in RTC, so every
 * URL comes from the server's media plane as it issues them today. Signalling for interactive live (which will
 * authorise the live stream itself) is not part of this benchmark: the `live` member's stream plays its role.
 */
export async function openLiveRoom(
  server: RunningServer,
  channelName: string,
  accounts: { host: string; coHosts: string[]; live: string },
): Promise<LiveRoom> {
  const all = [accounts.host, ...accounts.coHosts, accounts.live];
  const members = new Map<string, { client: TestClient; roster: MediaRoster }>();
  for (const account of all) {
    const client = await connectClient(server, account);
    if (account === accounts.host) await client.createChannel({ channelName });
    await client.joinChannel({ channelName, type: 2 });
    const roster = new MediaRoster(client);
    roster.setSelf(await client.startRtc({ mode: 0 }));
    members.set(account, { client, roster });
  }
  await eventually(
    () =>
      [...members.values()].every(
        (m) => m.roster.pusher !== null && m.roster.players.length === all.length - 1,
      ),
    `every member of ${channelName} holds its URLs`,
  );
  const of = (account: string) => members.get(account)!;
  const player = (holder: string, account: string) =>
    of(holder).roster.players.find((p) => p.account === account)!;
  return {
    push: (account) => of(account).roster.pusher!.url,
    play: (account) => player(accounts.live, account).url,
    livePush: of(accounts.live).roster.pusher!.url,
    liveFlv: player(accounts.host, accounts.live).flvUrl!,
    async close() {
      for (const { client } of members.values()) {
        await client.leaveChannel().catch(() => {});
        client.close();
      }
    },
  };
}

const RUNS = 5;
const FRAME_MS = 20000;
const CPU_WINDOW_MS = 10000;
const log = pino({ level: 'silent' });
const stage = (room: LiveRoom, accounts: string[]): StageInput[] =>
  accounts.map((uid) => ({ uid, url: room.play(uid), audio: true }));
const exitOf = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));

async function stopPushers(pushers: ChildProcess[]): Promise<void> {
  for (const pusher of pushers) pusher.kill('SIGKILL');
  await Promise.all(pushers.map(exitOf));
}

async function mixStart(server: RunningServer, run: number): Promise<number> {
  const host = `lmb-h${run}`;
  const room = await openLiveRoom(server, `lmb-start-${run}`, { host, coHosts: [], live: `lmb-l${run}` });
  const mixer = new Mixer({ ffmpegPath: binaries().ffmpeg, outputs: [room.livePush], log });
  const reader = watchLiveFrames(room.liveFlv);
  const pushers: ChildProcess[] = [];
  try {
    mixer.setStage(stage(room, [host]), Layout.LAYOUT_SPLITLATTICETILE);
    await reader.until(() => true, 'at all (black before the host pushes)', FRAME_MS);
    const spawnedAt = performance.now();
    pushers.push(pushColour(room.push(host), 'red'));
    const { at } = await reader.until((grid) => grid.at(8, 4) === 'red', 'showing the host', FRAME_MS);
    return at - spawnedAt;
  } finally {
    reader.stop();
    await mixer.stop();
    await stopPushers(pushers);
    await room.close();
  }
}

async function relayouts(server: RunningServer): Promise<number[]> {
  const coHosts = Array.from({ length: RUNS }, (_, i) => `lmb-c${i}`);
  const room = await openLiveRoom(server, 'lmb-relayout', { host: 'lmb-rh', coHosts, live: 'lmb-rl' });
  const mixer = new Mixer({ ffmpegPath: binaries().ffmpeg, outputs: [room.livePush], log });
  const reader = watchLiveFrames(room.liveFlv);
  const pushers = [pushColour(room.push('lmb-rh'), 'red')];
  const times: number[] = [];
  try {
    mixer.setStage(stage(room, ['lmb-rh']), Layout.LAYOUT_SPLITLATTICETILE);
    await reader.until((grid) => grid.at(8, 4) === 'red', 'showing the host', FRAME_MS);
    for (const coHost of coHosts) {
      const shown = new Promise<void>((resolve) => {
        const onShowing = ({ uid }: { uid: string }) => {
          if (uid !== 'lmb-rh') return;
          mixer.off('showing', onShowing);
          resolve();
        };
        mixer.on('showing', onShowing);
      });
      mixer.setStage(stage(room, ['lmb-rh', coHost]), Layout.LAYOUT_SPLITLATTICETILE);
      await shown; // the host's picture at its new size: only the co-host is missing now
      const spawnedAt = performance.now();
      const pusher = pushColour(room.push(coHost), 'blue');
      const { at } = await reader.until((grid) => grid.at(12, 4) === 'blue', `showing ${coHost}`, FRAME_MS);
      times.push(at - spawnedAt);
      mixer.setStage(stage(room, ['lmb-rh']), Layout.LAYOUT_SPLITLATTICETILE);
      await reader.until((grid) => grid.count('blue') === 0, `without ${coHost}`, FRAME_MS);
      await stopPushers([pusher]);
    }
    return times;
  } finally {
    reader.stop();
    await mixer.stop();
    await stopPushers(pushers);
    await room.close();
  }
}

async function cost(server: RunningServer) {
  const accounts = ['lmb-ch', 'lmb-cc1', 'lmb-cc2'];
  const room = await openLiveRoom(server, 'lmb-cost', {
    host: accounts[0],
    coHosts: accounts.slice(1),
    live: 'lmb-cl',
  });
  const mixer = new Mixer({ ffmpegPath: binaries().ffmpeg, outputs: [room.livePush], log });
  const reader = watchLiveFrames(room.liveFlv);
  // A moving test pattern, not solid colours: flat pictures would make decoding and encoding nearly free.
  const pushers = accounts.map((account) => pushTestPattern(room.push(account)).process);
  try {
    const showing = new Set<string>();
    const allShowing = new Promise<void>((resolve) =>
      mixer.on('showing', ({ uid }) => {
        showing.add(uid);
        if (accounts.every((account) => showing.has(account))) resolve();
      }),
    );
    mixer.setStage(stage(room, accounts), Layout.LAYOUT_SPLITLATTICETILE);
    await allShowing;
    const framesBefore = reader.frames();
    await reader.until(() => true, 'after all three are in', FRAME_MS);
    if (reader.frames() <= framesBefore) throw new Error('the live stream does not play');
    const pids = mixer.pids();
    const before = new Map(pids.map((pid) => [pid, cpuSeconds(pid)]));
    const ownBefore = process.cpuUsage();
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, CPU_WINDOW_MS));
    const seconds = (performance.now() - started) / 1000;
    const own = process.cpuUsage(ownBefore);
    let children = 0;
    for (const pid of pids) {
      const start = before.get(pid);
      const end = cpuSeconds(pid);
      if (start !== undefined && end !== undefined) children += end - start;
    }
    const ownCores = (own.user + own.system) / 1e6 / seconds;
    return {
      cores: children / seconds + ownCores,
      childCores: children / seconds,
      ownCores,
      rssMb: pids.reduce((sum, pid) => sum + rssMegabytes(pid), 0),
      children: pids.length,
    };
  } finally {
    reader.stop();
    await mixer.stop();
    await stopPushers(pushers);
    await room.close();
  }
}

export async function run(budgets: Budgets): Promise<BenchmarkResult> {
  const server = await startTestServer();
  const startMs: number[] = [];
  let relayoutMs: number[] = [];
  let spent: Awaited<ReturnType<typeof cost>>;
  try {
    for (let i = 0; i < RUNS; i++) startMs.push(await mixStart(server, i));
    relayoutMs = await relayouts(server);
    spent = await cost(server);
  } finally {
    killLiveHelpers();
    killAllFfmpeg();
    closeClients();
    await server.close();
  }
  const list = (values: number[]) => values.map((value) => Math.round(value)).join(', ');
  return {
    name: 'live mix (ffmpeg, loopback)',
    metrics: [
      budgeted(
        budgets,
        'live.mixstart.median',
        `mix start: host push → host in the live stream, median of ${RUNS}`,
        Math.round(median(startMs)),
      ),
      budgeted(
        budgets,
        'live.relayout.median',
        `re-layout: co-host push → co-host in the live stream, median of ${RUNS}`,
        Math.round(median(relayoutMs)),
      ),
      budgeted(
        budgets,
        'live.mix.cpu',
        'mixing host + 2 co-hosts 320×240@15 → 640×360@15: CPU',
        round(spent.cores, 2),
      ),
      budgeted(
        budgets,
        'live.mix.rss',
        'the same: RSS of the mixer’s ffmpeg processes',
        Math.round(spent.rssMb),
      ),
    ],
    notes: [
      `mix start ms: ${list(startMs)}; re-layout ms: ${list(relayoutMs)}`,
      `CPU: ${round(spent.childCores, 2)} cores in ${spent.children} ffmpeg processes + ${round(spent.ownCores, 2)} in the server process (compositing, and the idle server)`,
      'for comparison: LiveKit’s Chrome-based room composite asks for 4 CPUs per instance',
    ],
    details: { runs: RUNS, startMs, relayoutMs, cost: spent },
  };
}
