/**
 * ffmpeg helpers for media tests and benchmarks: a test-pattern pusher that behaves like `<live-pusher>`
 * (H.264 baseline + AAC over RTMP), a frame-counting puller, and refusal detection.
 *
 * The binary comes from the npm package @ffmpeg-installer/ffmpeg, so no system install is needed; without it
 * every helper throws (media tests fail, never skip). Every spawned process is tracked and can be SIGKILLed
 * with `killAllFfmpeg()`, because an ffmpeg blocked on a network read ignores one SIGTERM and players are
 * never closed by NMS on their own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { descendants } from '../../bench/lib/proc';

export interface Binaries {
  ffmpeg: string;
}

function resolveBinary(pkg: string): { path?: string; problem?: string } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS package exposing `.path`
    const candidate = (require(pkg) as { path?: string }).path;
    if (!candidate) return { problem: `${pkg} exposes no binary path` };
    accessSync(candidate, constants.X_OK);
    return { path: candidate };
  } catch (error) {
    return { problem: `${pkg}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

let cached: Binaries | undefined;

/**
 * The ffmpeg binary. Throws when it is missing: media tests must fail, not skip, on a machine where
 * `npm install` did not deliver it.
 */
export function binaries(): Binaries {
  if (cached) return cached;
  const ffmpeg = resolveBinary('@ffmpeg-installer/ffmpeg');
  if (!ffmpeg.path) throw new Error(`media tests need ffmpeg from npm (run npm install): ${ffmpeg.problem}`);
  cached = { ffmpeg: ffmpeg.path };
  return cached;
}

const live = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** SIGKILLs every ffmpeg these helpers started that is still running (use in afterAll). */
export function killAllFfmpeg(): void {
  for (const child of live) kill(child);
}

function kill(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

// Enough to show why ffmpeg failed without letting a chatty process grow memory without bound.
const STDERR_LIMIT = 16 * 1024;

function collectStderr(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    text += chunk;
    if (text.length > STDERR_LIMIT) text = text.slice(-STDERR_LIMIT);
  });
  return () => text;
}

/**
 * The live mixes' ffmpeg processes (a publisher's tee, a decoder's sound pipe) among this process's children: a
 * test's own pushers and readers never use tee nor raw sound out. In-process servers' mixers are children too.
 */
export function mixProcesses(): number[] {
  return descendants(process.pid).filter((pid) => {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return args.includes('tee') || args.includes('s16le');
    } catch {
      return false; // exited while we looked
    }
  });
}

export interface PusherExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface TestPusher {
  process: ChildProcess;
  exited: Promise<PusherExit>;
  stop(): Promise<PusherExit>;
}

export interface PushOptions {
  /** Stop after this many seconds of media; default: run until stop(). */
  seconds?: number;
  size?: string;
  fps?: number;
}

/**
 * Pushes a real-time 320x240@15 test pattern with a 1 s GOP (so late joiners start fast) plus a sine tone.
 * `url` 'pipe:1' writes the FLV to `process.stdout` instead.
 */
export function pushTestPattern(url: string, options: PushOptions = {}): TestPusher {
  const { ffmpeg } = binaries();
  const fps = options.fps ?? 15;
  const args = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-re',
    '-f',
    'lavfi',
    '-i',
    `testsrc=size=${options.size ?? '320x240'}:rate=${fps}`,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=1000:sample_rate=44100',
    ...(options.seconds !== undefined ? ['-t', String(options.seconds)] : []),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-tune',
    'zerolatency',
    '-g',
    String(fps),
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    '-f',
    'flv',
    url,
  ];
  const toStdout = url === 'pipe:1' || url === '-';
  const child = track(spawn(ffmpeg, args, { stdio: ['ignore', toStdout ? 'pipe' : 'ignore', 'pipe'] }));
  const stderr = collectStderr(child);
  const exited = new Promise<PusherExit>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stderr: stderr() }));
    child.once('error', (error) =>
      resolve({ code: -1, signal: null, stderr: `${stderr()}\nspawn error: ${error}` }),
    );
  });
  return {
    process: child,
    exited,
    stop() {
      kill(child);
      return exited;
    },
  };
}

/**
 * Resolves true if the pusher exits with a non-zero code within `timeoutMs` (how a refused push looks:
 * NMS just drops the socket and ffmpeg fails ~0.5-1 s later), false if it is still running or exited cleanly.
 * Does not kill the process.
 */
export function waitForRefusal(pusher: TestPusher, timeoutMs: number): Promise<boolean> {
  const child = pusher.process;
  const refused = (): boolean => child.exitCode !== null && child.exitCode !== 0;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(refused());
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      resolve(code !== null && code !== 0);
    };
    child.once('exit', onExit);
  });
}

export interface DecodedVideo {
  frames: number;
  width: number;
  height: number;
  /** Codec of the input stream, e.g. "h264". */
  codec: string;
  /** ms from spawn to the requested number of frames. */
  elapsedMs: number;
}

export interface DecodeOptions {
  frames: number;
  timeoutMs: number;
}

/** Why a decode failed: it ran out of time, or ffmpeg exited (connection refused/closed, bad stream). */
export class DecodeError extends Error {
  constructor(
    message: string,
    readonly reason: 'timeout' | 'exit',
    readonly framesSeen: number,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'DecodeError';
  }
}

interface Decoder {
  child: ChildProcess;
  started: number;
  frames(): number;
  width(): number;
  height(): number;
  codec(): string;
  stderr(): string;
  /** Called on every decoded video frame. */
  onFrame(listener: (count: number) => void): void;
}

/**
 * An ffmpeg decoding the first video stream of `url` to frame checksums, counting frames as they come. `copy`:
 * the frames are counted as they arrive, not decoded (a checksum of each compressed frame).
 */
function spawnDecoder(url: string, frames?: number, copy = false): Decoder {
  const { ffmpeg } = binaries();
  // Small probe for a fast first frame; HTTP-FLV needs >= 4096 because NMS sends an onMetaData data stream
  // first, and with less ffmpeg sees no video stream at all.
  const args = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'info',
    '-analyzeduration',
    '0',
    '-probesize',
    '4096',
    '-i',
    url,
    '-map',
    '0:v:0',
    '-an',
    ...(copy ? ['-c:v', 'copy'] : []),
    ...(frames !== undefined ? ['-frames:v', String(frames)] : []),
    '-f',
    'framecrc',
    '-',
  ];
  const child = track(spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  const stderr = collectStderr(child);
  const listeners: Array<(count: number) => void> = [];
  let count = 0;
  let width = 0;
  let height = 0;
  let pending = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const dims = /^#dimensions 0: (\d+)x(\d+)/.exec(line);
      if (dims) {
        width = Number(dims[1]);
        height = Number(dims[2]);
      } else if (/^0,/.test(line)) {
        count++;
        for (const listener of listeners) listener(count);
      }
    }
  });
  return {
    child,
    started: Date.now(),
    frames: () => count,
    width: () => width,
    height: () => height,
    codec: () => /Input #0[\s\S]*?Stream #0:\d+[^:]*: Video: (\w+)/.exec(stderr())?.[1] ?? '',
    stderr,
    onFrame: (listener) => listeners.push(listener),
  };
}

/**
 * Decodes `frames` video frames from an RTMP or HTTP-FLV play URL. Always bounded by `timeoutMs`: on timeout
 * ffmpeg is SIGKILLed and the promise rejects with a DecodeError (reason 'timeout').
 */
export function decodeVideoFrames(url: string, options: DecodeOptions): Promise<DecodedVideo> {
  const decoder = spawnDecoder(url, options.frames);
  const { child, stderr } = decoder;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      kill(child);
      reject(
        new DecodeError(
          `decodeVideoFrames: timed out after ${options.timeoutMs} ms with ${decoder.frames()}/${options.frames} ` +
            `frames from ${url}\n${stderr().slice(-2000)}`,
          'timeout',
          decoder.frames(),
          stderr(),
        ),
      );
    }, options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new DecodeError(`decodeVideoFrames: cannot spawn ffmpeg: ${error}`, 'exit', 0, ''));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && decoder.frames() >= options.frames) {
        resolve({
          frames: decoder.frames(),
          width: decoder.width(),
          height: decoder.height(),
          codec: decoder.codec(),
          elapsedMs: Date.now() - decoder.started,
        });
        return;
      }
      reject(
        new DecodeError(
          `decodeVideoFrames: ffmpeg exited (code ${code}, signal ${signal}) after ${decoder.frames()}/` +
            `${options.frames} frames from ${url}\n${stderr().slice(-2000)}`,
          'exit',
          decoder.frames(),
          stderr(),
        ),
      );
    });
  });
}

export interface VideoWatch {
  /** Frames decoded so far. */
  frames(): number;
  /** Resolves at the first decoded frame; rejects if ffmpeg exits first. */
  firstFrame: Promise<void>;
  /** Resolves when ffmpeg exits by itself (the server closed the stream) or is stopped. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; frames: number; stderr: string }>;
  /** SIGKILLs the watcher; resolves with what it saw. */
  stop(): Promise<{ frames: number; stderr: string }>;
}

/**
 * Decodes `url` until stopped, for "nothing arrives while X happens" checks whose window is set by events
 * (stop() when X is known to be over) rather than by a sleep. `copy`: counts the frames that arrive without
 * decoding them, for a load generator whose decoding would cost more than the server it measures.
 */
export function watchVideo(url: string, options: { copy?: boolean } = {}): VideoWatch {
  const decoder = spawnDecoder(url, undefined, options.copy);
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    frames: number;
    stderr: string;
  }>((resolve) => {
    decoder.child.once('close', (code, signal) =>
      resolve({ code, signal, frames: decoder.frames(), stderr: decoder.stderr() }),
    );
    decoder.child.once('error', () =>
      resolve({ code: -1, signal: null, frames: decoder.frames(), stderr: decoder.stderr() }),
    );
  });
  const firstFrame = new Promise<void>((resolve, reject) => {
    decoder.onFrame(() => resolve());
    void exited.then((result) =>
      reject(
        new Error(`watchVideo: ffmpeg exited before a frame from ${url}\n${result.stderr.slice(-2000)}`),
      ),
    );
  });
  firstFrame.catch(() => {}); // observed only by tests that expect a frame
  return {
    frames: decoder.frames,
    firstFrame,
    exited,
    async stop() {
      kill(decoder.child);
      const result = await exited;
      return { frames: result.frames, stderr: result.stderr };
    },
  };
}
