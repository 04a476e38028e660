/**
 * The child's half of load-processes.ts: a load child ends when the benchmark's process goes (its IPC channel
 * closes, whatever killed the benchmark) or when the run's deadline passes, so no generator or server outlives
 * its run even if nobody is left to kill it. Also the message plumbing: one handler per request, a failure
 * reported as a `failed` message rather than a silent exit.
 */
import { PerformanceObserver, constants, performance } from 'perf_hooks';
import type {
  CollectedMessage,
  CollectionsMessage,
  CollectionsRequest,
  FailureMessage,
  LoadMessage,
} from './load-processes';

/**
 * Arms the two ends. `end` does what this child must do to stop (a generator exits; the server closes cleanly);
 * if it has not exited `graceMs` later, it exits anyway.
 */
export function boundChild(end: () => void = () => process.exit(0), graceMs = 5000): void {
  if (!process.send) throw new Error('a load child runs forked by bench/lib/load-processes.ts, with IPC');
  const deadline = Number(process.env.BENCH_LOAD_DEADLINE);
  if (!Number.isFinite(deadline)) throw new Error('BENCH_LOAD_DEADLINE is not set');
  let ending = false;
  const stop = (): void => {
    if (ending) return;
    ending = true;
    setTimeout(() => process.exit(1), graceMs).unref();
    end();
  };
  process.once('disconnect', stop);
  setTimeout(stop, Math.max(0, deadline - Date.now())).unref();
}

export function send(message: LoadMessage): void {
  process.send?.(message);
}

/** Runs `handle` for each request; what it returns is sent back, what it throws goes back as `failed`. */
export function serve<T extends LoadMessage>(handle: (request: T) => Promise<LoadMessage>): void {
  process.on('message', (request: T) => {
    handle(request).then(send, (error: unknown) => {
      const failure: FailureMessage = {
        type: 'failed',
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      };
      send(failure);
    });
  });
}

/**
 * For a listener whose memory is measured: on `collect`, a full garbage collection (the process runs with
 * --expose-gc), then `collected` with node's own figures. Without it VmRSS would count what start-up left for the
 * collector as long as nothing happened to trigger a collection, and the first connections would seem free.
 */
export function answerCollect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('a measured listener runs with --expose-gc');
  process.on('message', (message: LoadMessage) => {
    if (message.type !== 'collect') return;
    gc();
    const collected: CollectedMessage = { type: 'collected', memory: process.memoryUsage() };
    send(collected);
  });
}

/**
 * For the server under load: the garbage collections V8 ran in it (node's `gc` performance entries), and on
 * `collections` those that overlap the window asked about. A burst that meets a full collection is slower by
 * its marking threads' CPU as well as its pause: the benchmark says so beside its numbers.
 */
export function answerCollections(): void {
  const seen: Array<{ at: number; ms: number; full: boolean }> = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind ?? 0;
      const full = (kind & constants.NODE_PERFORMANCE_GC_MAJOR) !== 0;
      seen.push({ at: performance.timeOrigin + entry.startTime, ms: entry.duration, full });
    }
    // A run lasts minutes: the last few thousand are enough for any window it asks about.
    if (seen.length > 10_000) seen.splice(0, seen.length - 10_000);
  });
  observer.observe({ entryTypes: ['gc'] });
  process.on('message', (message: LoadMessage) => {
    if (message.type !== 'collections') return;
    const { from, to } = message as CollectionsRequest;
    const inside = seen.filter((entry) => entry.at + entry.ms >= from && entry.at <= to);
    const full = inside.filter((entry) => entry.full);
    const young = inside.filter((entry) => !entry.full);
    const reply: CollectionsMessage = {
      type: 'collections-seen',
      full: full.length,
      fullMs: full.reduce((total, entry) => total + entry.ms, 0),
      young: young.length,
      youngMs: young.reduce((total, entry) => total + entry.ms, 0),
    };
    send(reply);
  });
}
