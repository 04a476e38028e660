/**
 * ffmpeg for the server's own peers (the echo's relay, the bot's pusher): finding the binary, spawning it with a
 * bounded stderr tail, and killing it for sure. Owns no policy about when to run it.
 *
 * Kills are SIGKILL: an ffmpeg blocked on a network read ignores one SIGTERM, and a relay that outlives its call
 * would hold a stream (and keep a parent process alive).
 */
import { execFile, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';

/**
 * The ffmpeg to run: the one npm installs with `@ffmpeg-installer/ffmpeg` (so a fresh clone needs nothing else),
 * else `ffmpeg` from PATH (a production install without dev dependencies).
 */
export function ffmpegPath(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS package exposing `.path`
    const path = (require('@ffmpeg-installer/ffmpeg') as { path?: string }).path;
    if (path) return path;
  } catch {
    // not installed: fall back to PATH
  }
  return 'ffmpeg';
}

/** Resolves with the path once `ffmpeg -version` runs; rejects saying what to install otherwise. */
export function checkFfmpeg(path = ffmpegPath()): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path, ['-hide_banner', '-version'], { timeout: 10_000 }, (error) => {
      if (!error) resolve(path);
      else
        reject(
          new Error(
            `ffmpeg is needed and did not run (${path}: ${error.message.split('\n')[0]}); ` +
              'run `npm install` (it brings @ffmpeg-installer/ffmpeg) or put ffmpeg on PATH',
          ),
        );
    });
  });
}

// Enough to say why ffmpeg failed without letting a chatty process grow memory.
const STDERR_LIMIT = 4096;

export interface Ffmpeg {
  child: ChildProcess;
  /** Resolves once the process has exited (or never started), with the end of its stderr. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** SIGKILLs it (if still running) and resolves once it has exited. */
  kill(): Promise<void>;
}

export function runFfmpeg(path: string, args: string[], stdio: StdioOptions): Ffmpeg {
  const child = spawn(path, ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], { stdio });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_LIMIT);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => {
      child.once('close', (code, signal) => resolve({ code, signal, stderr: stderr.trim() }));
      child.once('error', (error) => resolve({ code: null, signal: null, stderr: String(error) }));
    },
  );
  return {
    child,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
        child.kill('SIGKILL');
      await exited;
    },
  };
}

/** H.264 baseline + AAC in FLV: what `<live-pusher>` sends, so peers see what a phone would. */
const ENCODE = [
  '-c:v',
  'libx264',
  '-preset',
  'ultrafast',
  '-tune',
  'zerolatency',
  '-profile:v',
  'baseline',
  '-pix_fmt',
  'yuv420p',
  // A 1 s GOP: a player that joins late starts within a second.
  '-g',
  '15',
  '-r',
  '15',
  '-c:a',
  'aac',
  '-b:a',
  '64k',
  '-ar',
  '44100',
];

export type PushSource = { pattern: true } | { file: string };

/**
 * Arguments that push `source` in real time to `url`: the test pattern (moving `testsrc` + a 1 kHz tone) or a
 * media file looped forever; `audioOnly` for a voice call.
 */
export function pushArgs(source: PushSource, url: string, audioOnly = false): string[] {
  const input =
    'file' in source
      ? ['-re', '-stream_loop', '-1', '-i', source.file]
      : [
          '-re',
          '-f',
          'lavfi',
          '-i',
          'testsrc=size=320x240:rate=15',
          '-f',
          'lavfi',
          '-i',
          'sine=frequency=1000:sample_rate=44100',
        ];
  const map =
    'file' in source
      ? [...(audioOnly ? [] : ['-map', '0:v:0?']), '-map', '0:a:0?']
      : [...(audioOnly ? [] : ['-map', '0:v:0']), '-map', '1:a:0'];
  return [...input, ...map, ...ENCODE, '-f', 'flv', url];
}
