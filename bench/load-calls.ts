/**
 * Benchmark: 1,000 simultaneous call setups (2,000 clients) on one node. The server runs as its own process (the
 * compiled CLI, bench/lib/load-processes.ts), the clients in generator children (bench/lib/load-calls-worker.ts),
 * caller and callee of each call in the same child so its setup is timed on one clock. All 2,000 log in; then
 * every caller calls its own callee at once; each callee answers on `beCalling` and both start RTC. Setup =
 * call() until both sides hold what MediaRoster binds (the own push URL and the peer's play URL, as in
 * call-setup). Then every call is held 60 s with heartbeats running (several rounds), and what dropped is
 * counted.
 *
 * Before that, in a run of its own, the same generators run the same burst against a bare `ws` server that
 * answers with the same frames and does nothing else (bench/lib/calls-baseline.ts): the floor this machine sets,
 * read beside the server's number. `BENCH_LOAD_SCALE=0.05` runs a twentieth, reported as info only;
 * `BENCH_LOAD_PROFILE=DIR` writes every process's CPU profile there.
 */
import { loadScale, requireWithinCap, scaled, scaledMetrics, split, sum, tally } from './lib/load-bounds';
import type {
  CheckRequest,
  CheckedReply,
  ConnectRequest,
  ConnectedReply,
  DialRequest,
  DialledReply,
} from './lib/load-calls-worker';
import {
  LoadRun,
  cpuSeconds,
  profileFlags,
  sleep,
  startBaseline,
  startLoadServer,
  type LoadChild,
} from './lib/load-processes';
import { percentile, round } from './lib/stats';
import { info, type BenchmarkResult, type Budgets, type Metric } from './lib/types';

const CALLS = 1000;
/**
 * Generator children. Two take whatever the server leaves of a 2-core machine; each reports its event-loop
 * delay, so one that fell behind (and would inflate its samples) shows. BENCH_LOAD_WORKERS for more cores.
 */
const WORKERS = Number(process.env.BENCH_LOAD_WORKERS || 2);
/**
 * Calls each generator sets up one at a time before the burst (not measured), as call-setup warms up: a node
 * under this load has been up for a while, and so have its clients. Ten were too few for V8 to optimise the
 * call path (about 190 ms of background compilation in a profile of the burst). Three hundred still left the
 * server's V8 compiling during the burst (61 Turbofan jobs and their deoptimisations, `--trace-opt`: `call`,
 * `syncDone`, the handlers' `after`) and the generators' too: 0.06-0.09 s of compiler threads on the 2 cores the
 * burst shares, p99 244-258 ms. A thousand leave about 7 jobs (0.01-0.04 s), and two thousand measure the same.
 */
const WARMUP = 1000;
const HEARTBEAT_MS = 5000;
const HOLD_MS = 60_000;
/** A setup not done in this long failed (the budget is 250 ms; this only bounds the wait). */
const SETUP_TIMEOUT_MS = 30_000;
const TIME_LIMIT_MS = 8 * 60_000;

/** Forks the generators, logs their clients in at `url` and warms up; the burst is the caller's to start. */
async function connectGenerators(run: LoadRun, url: string, secret: string, calls: number) {
  const workers = Math.max(1, Math.min(WORKERS, calls));
  const shares = split(calls, workers);
  const children: LoadChild[] = shares.map((_, index) =>
    run.fork(`generator ${index}`, 'load-calls-worker.ts', [], {
      env: { BENCH_LOAD_SECRET: secret },
      nodeFlags: profileFlags(),
    }),
  );
  const connected = await run.within(
    Promise.all(
      children.map((child, index) => {
        const request: ConnectRequest = {
          type: 'connect',
          url,
          pairs: shares[index],
          prefix: `load-${index}`,
          concurrency: 50,
          warmup: WARMUP,
        };
        return child.ask<ConnectedReply>(request, 'connected', 180_000);
      }),
    ),
  );
  return { children, connected, workers };
}

/** Every generator dials all its calls at once; resolves when every call is set up or timed out. */
function dial(run: LoadRun, children: LoadChild[]): Promise<DialledReply[]> {
  return run.within(
    Promise.all(
      children.map((child) => {
        const request: DialRequest = { type: 'dial', timeoutMs: SETUP_TIMEOUT_MS };
        return child.ask<DialledReply>(request, 'dialled', SETUP_TIMEOUT_MS + 30_000);
      }),
    ),
  );
}

/**
 * The same generators and the same burst against the bare exchange (bench/lib/calls-baseline.ts), in a run of its
 * own that ends before the server's starts, so neither shares the machine with the other's processes.
 */
async function measureBaseline(calls: number): Promise<{ dialled: DialledReply[]; cpu: number }> {
  const run = new LoadRun('load-calls baseline', TIME_LIMIT_MS);
  try {
    return await run.within(
      (async () => {
        const baseline = await startBaseline(run, HEARTBEAT_MS, 'calls-baseline');
        const { children } = await connectGenerators(run, baseline.url, 'baseline-does-not-check', calls);
        const before = cpuSeconds(baseline.pid);
        const dialled = await dial(run, children);
        return { dialled, cpu: cpuSeconds(baseline.pid) - before };
      })(),
    );
  } finally {
    await run.close();
  }
}

async function measure(run: LoadRun, calls: number) {
  // Only the per-address cap stands in the way: every client comes from 127.0.0.1. The request-rate limits are
  // per connection, and one client sends a handful of requests in the burst, far under them: left as shipped.
  const server = await startLoadServer(run, [
    ...['--heartbeat-ms', String(HEARTBEAT_MS)],
    ...['--max-connections-per-ip', String(calls * 2 + 100)],
  ]);
  const { children, connected, workers } = await connectGenerators(run, server.url, server.secret, calls);

  const serverCpu = cpuSeconds(server.pid);
  const serverMainCpu = cpuSeconds(server.pid, true);
  const burstFrom = Date.now();
  const dialled = await dial(run, children);
  const burstTo = Date.now();
  const serverBurstCpu = cpuSeconds(server.pid) - serverCpu;
  const serverBurstMainCpu = cpuSeconds(server.pid, true) - serverMainCpu;
  const collections = await run.within(server.collections(burstFrom, burstTo));

  await run.within(sleep(HOLD_MS));
  const checked = await run.within(
    Promise.all(
      children.map((child) => {
        const request: CheckRequest = { type: 'check', timeoutMs: 10_000 };
        return child.ask<CheckedReply>(request, 'checked', 60_000);
      }),
    ),
  );
  const rssMb = server.rssBytes() / 1e6;
  return {
    server,
    connected,
    dialled,
    checked,
    serverBurstCpu,
    serverBurstMainCpu,
    collections,
    rssMb,
    workers,
  };
}

export async function run(budgets: Budgets): Promise<BenchmarkResult> {
  if (!(Number.isInteger(WORKERS) && WORKERS >= 1 && WORKERS <= 16))
    throw new Error(
      `BENCH_LOAD_WORKERS must be a whole number in 1..16, got "${process.env.BENCH_LOAD_WORKERS}"`,
    );
  const scale = loadScale();
  const calls = scaled(CALLS, scale);
  requireWithinCap((calls + WARMUP * WORKERS) * 2, 'load-calls');
  const baseline = await measureBaseline(calls);
  const loadRun = new LoadRun('load-calls', TIME_LIMIT_MS);
  let measured: Awaited<ReturnType<typeof measure>>;
  try {
    measured = await loadRun.within(measure(loadRun, calls));
  } finally {
    await loadRun.close();
  }
  const { connected, dialled, checked, serverBurstCpu, serverBurstMainCpu, collections, rssMb, workers } =
    measured;

  const samples = dialled.flatMap((reply) => reply.setupMs);
  const failed = tally(dialled.map((reply) => reply.failed));
  const trouble = tally(checked.map((reply) => reply.trouble));
  const p50 = round(percentile(samples, 50));
  const p99 = round(percentile(samples, 99));
  const dropped = sum(checked.map((reply) => reply.dropped));
  const connectionsDropped = sum(checked.map((reply) => reply.connectionsDropped));
  const baselineSamples = baseline.dialled.flatMap((reply) => reply.setupMs);
  const baselineP50 = round(percentile(baselineSamples, 50));
  const baselineP99 = round(percentile(baselineSamples, 99));
  const baselineFailed = tally(baseline.dialled.map((reply) => reply.failed));
  const loopDelayMaxMs = round(Math.max(...dialled.map((reply) => reply.loopDelayMaxMs)));
  const burstSeconds = Math.max(...dialled.map((reply) => reply.wallSeconds));
  const generatorCpu = sum(dialled.map((reply) => reply.cpuSeconds));

  const { scope, metric } = scaledMetrics(budgets, scale);
  const metrics: Metric[] = [
    metric('load.calls.count', `calls set up of ${calls} at once`, samples.length, 'calls'),
    info('load.calls.p50', `simultaneous call() → both sides hold URLs, p50${scope}`, p50, 'ms'),
    metric('load.calls.p99', `simultaneous call() → both sides hold URLs, p99`, p99, 'ms'),
    metric('load.calls.dropped', `calls dropped while held ${HOLD_MS / 1000} s`, dropped, 'calls'),
    metric(
      'load.calls.connections.dropped',
      `connections dropped while held ${HOLD_MS / 1000} s`,
      connectionsDropped,
      'connections',
    ),
    info(
      'load.calls.baseline.p99',
      `the same burst against a bare ws exchange (the floor), p99${scope}`,
      baselineP99,
      'ms',
    ),
    info(
      'load.calls.generator.lag',
      `generator event-loop delay in the burst, max${scope}`,
      loopDelayMaxMs,
      'ms',
    ),
  ];
  const notes = [
    `${calls} calls, ${calls * 2} clients in ${workers} generator processes; burst over in ${round(burstSeconds)} s ` +
      `(server CPU ${round(serverBurstCpu)} s, ${round(serverBurstMainCpu)} s of it on its main thread, generators' ${round(generatorCpu)} s); server RSS ${round(rssMb, 1)} MB ` +
      `after the hold; heartbeat ${HEARTBEAT_MS} ms, so ${Math.floor(HOLD_MS / HEARTBEAT_MS)} rounds in the hold`,
  ];
  // The one cause of a slow burst the server's own numbers show: a full collection's marking threads take CPU
  // the burst needed, beside its pause.
  notes.push(
    `server collections during the burst: ${collections.full} full (${round(collections.fullMs)} ms paused), ` +
      `${collections.young} young (${round(collections.youngMs)} ms paused)`,
  );
  notes.push(
    `bare ws exchange, same clients and burst: p50 ${baselineP50} ms, p99 ${baselineP99} ms, ` +
      `burst over in ${round(Math.max(...baseline.dialled.map((reply) => reply.wallSeconds)))} s ` +
      `(its CPU ${round(baseline.cpu)} s, generators' ${round(sum(baseline.dialled.map((reply) => reply.cpuSeconds)))} s)`,
  );
  if (Object.keys(baselineFailed).length)
    notes.push(`bare exchange, not set up: ${JSON.stringify(baselineFailed)}`);
  if (Object.keys(failed).length) notes.push(`not set up: ${JSON.stringify(failed)}`);
  if (Object.keys(trouble).length) notes.push(`while held: ${JSON.stringify(trouble)}`);
  return {
    name: 'simultaneous call setups on one node',
    metrics,
    notes,
    details: {
      scale,
      calls,
      workers,
      heartbeatMs: HEARTBEAT_MS,
      holdMs: HOLD_MS,
      connectMs: connected.map((reply) => round(reply.ms)),
      p50,
      p99,
      baseline: {
        p50: baselineP50,
        p99: baselineP99,
        set: baselineSamples.length,
        failed: baselineFailed,
        cpuSeconds: round(baseline.cpu),
      },
      max: samples.length ? round(Math.max(...samples)) : null,
      failed,
      held: sum(checked.map((reply) => reply.held)),
      dropped,
      connectionsDropped,
      trouble,
      burstSeconds: round(burstSeconds, 3),
      serverBurstCpuSeconds: round(serverBurstCpu),
      serverBurstMainThreadCpuSeconds: round(serverBurstMainCpu),
      serverBurstCollections: collections,
      generatorBurstCpuSeconds: round(generatorCpu),
      generatorLoopDelay: dialled.map((reply) => ({
        maxMs: round(reply.loopDelayMaxMs),
        p99Ms: round(reply.loopDelayP99Ms),
      })),
      serverRssMb: round(rssMb, 1),
      samplesMs: samples.map((value) => round(value, 3)),
    },
  };
}
