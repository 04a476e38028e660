/**
 * One echo relay: plays a stream from the media plane and publishes it again on another stream, `delayMs`
 * later, without re-encoding (`-c copy`: a phone's H.264/AAC goes back as it came).
 *
 *   ffmpeg (play URL → FLV on stdout) → delay line (Node) → ffmpeg (FLV on stdin → push URL)
 *
 * Two processes rather than one because ffmpeg cannot hold a live stream back by wall-clock time while copying:
 * `-itsoffset` only shifts timestamps, and a live player plays what arrives. The delay line holds each chunk
 * for `delayMs` after it arrived; with 0 it passes chunks straight through (one code path either way).
 *
 * Owns its two processes and nothing else: whoever made it decides when it stops. A relay whose processes exit
 * (the caller stopped pushing and the publisher went idle, the media plane restarted) starts again after a
 * backoff until stopped. It never outlives `stop()`: both processes are SIGKILLed and awaited.
 */
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { runFfmpeg, type Ffmpeg } from '../tools/ffmpeg';

export interface RelayOptions {
  ffmpeg: string;
  /** Play URL of the stream to echo (RTMP). */
  from: string;
  /** Push URL of the echo's own stream. */
  to: string;
  delayMs: number;
  log: Logger;
}

/** A delay line (or a pusher's stdin) holding more than this is stuck: start over rather than grow. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
const RETRY_INITIAL_MS = 500;
const RETRY_MAX_MS = 5000;
/** A run this long counts as healthy: the next failure retries quickly again. */
const STABLE_MS = 10_000;

// Probe little: a relay that waits seconds to analyse its input adds those seconds to what the caller sees.
// The FLV demuxer creates streams as their first packets arrive, and a phone interleaves audio and video
// within a fraction of a second, so half a second of media usually finds both with their parameters; 0.2 s
// did not (the publisher failed with "dimensions not set"). A relay that failed probes longer next time.
const probe = (analyzeUs: number) => [
  '-fflags',
  'nobuffer',
  '-analyzeduration',
  String(analyzeUs),
  '-probesize',
  '1000000',
];
const QUICK_PROBE_US = 500_000;
const SAFE_PROBE_US = 2_000_000;
// Only audio and video: the FLV data track (onMetaData) is not something to publish again.
const COPY = ['-map', '0:v?', '-map', '0:a?', '-c', 'copy', '-f', 'flv'];

/** Holds chunks for `delayMs` after they arrived, then writes them in order; 0 writes at once. */
class DelayLine {
  private queue: { due: number; chunk: Buffer }[] = [];
  private bytes = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly delayMs: number,
    private readonly out: Writable,
    private readonly onOverflow: () => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.delayMs === 0) return this.write(chunk);
    this.queue.push({ due: Date.now() + this.delayMs, chunk });
    this.bytes += chunk.length;
    if (this.bytes > MAX_BUFFERED_BYTES) return this.onOverflow();
    this.schedule();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.bytes = 0;
  }

  private write(chunk: Buffer): void {
    if (this.out.destroyed) return;
    this.out.write(chunk);
    if (this.out.writableLength > MAX_BUFFERED_BYTES) this.onOverflow();
  }

  private schedule(): void {
    if (this.timer !== null || this.queue.length === 0) return;
    this.timer = setTimeout(() => this.flush(), Math.max(0, this.queue[0].due - Date.now()));
  }

  private flush(): void {
    this.timer = null;
    const now = Date.now();
    while (this.queue.length > 0 && this.queue[0].due <= now) {
      const { chunk } = this.queue.shift()!;
      this.bytes -= chunk.length;
      this.write(chunk);
    }
    this.schedule();
  }
}

export class Relay {
  private stopped = false;
  private current: { puller: Ffmpeg; pusher: Ffmpeg; line: DelayLine } | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private backoffMs = RETRY_INITIAL_MS;
  private probeUs = QUICK_PROBE_US;

  constructor(private readonly options: RelayOptions) {
    this.run();
  }

  get from(): string {
    return this.options.from;
  }

  get to(): string {
    return this.options.to;
  }

  /** Stops for good: both processes are killed and have exited when this resolves. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
    await this.end();
  }

  private run(): void {
    const { ffmpeg, from, to, delayMs, log } = this.options;
    const input = probe(this.probeUs);
    const puller = runFfmpeg(ffmpeg, [...input, '-i', from, ...COPY, 'pipe:1'], ['ignore', 'pipe', 'pipe']);
    const pusher = runFfmpeg(
      ffmpeg,
      [...input, '-f', 'flv', '-i', 'pipe:0', ...COPY, to],
      ['pipe', 'ignore', 'pipe'],
    );
    // EPIPE when the pusher died first: its exit is what restarts the relay, the write error adds nothing.
    pusher.child.stdin?.on('error', () => {});
    const line = new DelayLine(delayMs, pusher.child.stdin!, () => {
      log.warn({ from: streamOf(from) }, 'echo relay: media backed up; starting over');
      void puller.kill();
    });
    puller.child.stdout?.on('data', (chunk: Buffer) => line.push(chunk));
    const run = { puller, pusher, line };
    this.current = run;
    const startedAt = Date.now();
    void Promise.race([
      puller.exited.then((end) => ({ who: 'player', ...end })),
      pusher.exited.then((end) => ({ who: 'publisher', ...end })),
    ]).then(async (end) => {
      if (this.current !== run) return;
      await this.end();
      if (this.stopped) return;
      const stable = Date.now() - startedAt > STABLE_MS;
      this.backoffMs = stable ? RETRY_INITIAL_MS : this.backoffMs;
      this.probeUs = stable ? QUICK_PROBE_US : SAFE_PROBE_US;
      log.info(
        { from: streamOf(from), to: streamOf(to), ...end, retryInMs: this.backoffMs },
        'echo relay ended; starting again',
      );
      this.retry = setTimeout(() => {
        this.retry = null;
        if (!this.stopped) this.run();
      }, this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, RETRY_MAX_MS);
    });
  }

  private async end(): Promise<void> {
    const run = this.current;
    if (!run) return;
    this.current = null;
    run.line.stop();
    await Promise.all([run.puller.kill(), run.pusher.kill()]);
  }
}

/** The stream path of a media URL, for logs: never the signature. */
export function streamOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '(bad url)';
  }
}
