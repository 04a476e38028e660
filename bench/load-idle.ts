/**
 * Benchmark: idle logged-in signalling connections one node holds with heartbeats, and what each costs in server
 * memory. The server runs as its own process (the compiled CLI, bench/lib/load-processes.ts); 19,000 clients in
 * 4 generator children (bench/lib/load-idle-worker.ts), each child from its own loopback source address, open
 * and log in; the server's VmRSS before and after (each after a full garbage collection) gives the cost per
 * connection; then 60 s of heartbeats (5 s, so 12 rounds) and what dropped is counted: sockets the server
 * closed, and sockets it stopped pinging. In the same run the same clients (opened, not logged in) against a bare
 * `ws` server (bench/lib/ws-baseline.ts) give the floor that cost is read against. `BENCH_LOAD_SCALE=0.05` runs a
 * twentieth, reported as info only.
 */
import { loadScale, requireWithinCap, scaled, scaledMetrics, split, sum, tally } from './lib/load-bounds';
import type { CheckRequest, CheckedReply, OpenRequest, OpenedReply } from './lib/load-idle-worker';
import {
  LoadRun,
  sleep,
  startBaseline,
  startLoadServer,
  type Listener,
  type LoadChild,
  type Retained,
} from './lib/load-processes';
import { round } from './lib/stats';
import { info, type BenchmarkResult, type Budgets, type Metric } from './lib/types';

const CONNECTIONS = 19_000;
/**
 * A process may hold 20,000 open files here, the generator's too: four children of 4,750 sockets each. Each
 * child has a source address of its own, so each uses 4,750 of the ~28,000 ephemeral ports of an address.
 */
const CHILDREN = 4;
const HEARTBEAT_MS = 5000;
const HOLD_MS = 60_000;
/** The baseline is there for its memory; a hold of a few rounds shows it keeps its sockets too. */
const BASELINE_HOLD_MS = 15_000;
/** For the heap to settle after start-up, and after the last login, before VmRSS is read. */
const SETTLE_MS = 3000;
const TIME_LIMIT_MS = 12 * 60_000;

type Kind = 'signalling' | 'baseline';

interface Phase {
  kind: Kind;
  /** After a full collection, with no connection and with every one open. */
  before: Retained;
  after: Retained;
  rssPeak: number;
  opened: OpenedReply[];
  checked: CheckedReply[];
  serverOutput: string;
}

async function phase(run: LoadRun, kind: Kind, count: number, firstAddress: number): Promise<Phase> {
  let listener: Listener;
  let secret = '';
  if (kind === 'signalling') {
    // The per-address cap (100 by default) is the one limit in the way: the generator has four addresses.
    const server = await startLoadServer(run, [
      ...['--heartbeat-ms', String(HEARTBEAT_MS)],
      ...['--max-connections-per-ip', String(count)],
    ]);
    listener = server;
    secret = server.secret;
  } else {
    listener = await startBaseline(run, HEARTBEAT_MS);
  }
  await run.within(sleep(SETTLE_MS));
  const before = await run.within(listener.retained());

  const shares = split(count, CHILDREN);
  const children: LoadChild[] = shares.map((_, index) =>
    run.fork(`${kind} generator ${index}`, 'load-idle-worker.ts', [], { env: { BENCH_LOAD_SECRET: secret } }),
  );
  const opened = await run.within(
    Promise.all(
      children.map((child, index) => {
        const request: OpenRequest = {
          type: 'open',
          url: listener.url,
          mode: kind === 'signalling' ? 'login' : 'bare',
          count: shares[index],
          prefix: `idle-${index}`,
          // A phase of its own: the previous phase's closed ports may still be in TIME_WAIT.
          localAddress: `127.0.0.${firstAddress + index}`,
          heartbeatMs: HEARTBEAT_MS,
          concurrency: 32,
        };
        return child.ask<OpenedReply>(request, 'opened', 300_000);
      }),
    ),
  );
  await run.within(sleep(SETTLE_MS));
  const after = await run.within(listener.retained());

  let rssPeak = after.rss;
  const holdMs = kind === 'signalling' ? HOLD_MS : BASELINE_HOLD_MS;
  for (let waited = 0; waited < holdMs; waited += HEARTBEAT_MS) {
    await run.within(sleep(Math.min(HEARTBEAT_MS, holdMs - waited)));
    rssPeak = Math.max(rssPeak, listener.rssBytes());
  }
  const checked = await run.within(
    Promise.all(
      children.map((child) => {
        const request: CheckRequest = { type: 'check' };
        return child.ask<CheckedReply>(request, 'checked', 60_000);
      }),
    ),
  );
  const serverOutput = listener.output();
  for (const child of children) await run.end(child.pid);
  await run.end(listener.pid);
  return { kind, before, after, rssPeak, opened, checked, serverOutput };
}

/** What one open connection adds to `what` of the listener's memory, in KB of 1000 B. */
const perConnection = (measured: Phase, what: keyof Retained): number => {
  const open = sum(measured.opened.map((reply) => reply.open));
  return open ? round((measured.after[what] - measured.before[what]) / open / 1000) : NaN;
};

function summary(measured: Phase) {
  const closed = tally(measured.checked.map((reply) => reply.closed));
  return {
    open: sum(measured.opened.map((reply) => reply.open)),
    refused: tally(measured.opened.map((reply) => reply.refused)),
    openSeconds: round(Math.max(...measured.opened.map((reply) => reply.ms)) / 1000),
    held: sum(measured.checked.map((reply) => reply.held)),
    closed,
    silent: sum(measured.checked.map((reply) => reply.silent)),
    dropped: sum(Object.values(closed)) + sum(measured.checked.map((reply) => reply.silent)),
    pingsPerSocket: [
      Math.min(...measured.checked.map((reply) => reply.pingsFewest)),
      Math.max(...measured.checked.map((reply) => reply.pingsMost)),
    ],
    requestsSent: sum(measured.checked.map((reply) => reply.requestsSent)),
    requestsUnanswered: sum(measured.checked.map((reply) => reply.requestsUnanswered)),
    rssBeforeMb: round(measured.before.rss / 1e6, 1),
    rssAfterMb: round(measured.after.rss / 1e6, 1),
    rssPeakMb: round(measured.rssPeak / 1e6, 1),
    rssPerConnectionKb: perConnection(measured, 'rss'),
    heapPerConnectionKb: perConnection(measured, 'heapUsed'),
    externalPerConnectionKb: perConnection(measured, 'external'),
  };
}

export async function run(budgets: Budgets): Promise<BenchmarkResult> {
  const scale = loadScale();
  const count = scaled(CONNECTIONS, scale, CHILDREN);
  requireWithinCap(count, 'load-idle');
  const loadRun = new LoadRun('load-idle', TIME_LIMIT_MS);
  let signalling: Phase;
  let baseline: Phase;
  try {
    // One after the other, never together: each listener's memory must be its own connections' only.
    signalling = await loadRun.within(phase(loadRun, 'signalling', count, 2));
    baseline = await loadRun.within(phase(loadRun, 'baseline', count, 2 + CHILDREN));
  } finally {
    await loadRun.close();
  }
  const ours = summary(signalling);
  const floor = summary(baseline);

  const { scope, metric } = scaledMetrics(budgets, scale);
  const holdSeconds = HOLD_MS / 1000;
  const metrics: Metric[] = [
    metric('load.idle.held', `idle logged-in connections held ${holdSeconds} s`, ours.held, 'connections'),
    metric('load.idle.rss', 'server RSS per idle logged-in connection', ours.rssPerConnectionKb, 'KB'),
    metric('load.idle.dropped', `idle connections dropped in ${holdSeconds} s`, ours.dropped, 'connections'),
    info(
      'load.idle.baseline.rss',
      `bare ws server RSS per connection${scope}`,
      floor.rssPerConnectionKb,
      'KB',
    ),
    info('load.idle.heap', `server V8 heap per connection${scope}`, ours.heapPerConnectionKb, 'KB'),
  ];
  const notes = [
    `${count} connections from ${CHILDREN} generator processes (source 127.0.0.2..${1 + CHILDREN}), ` +
      `heartbeat ${HEARTBEAT_MS} ms: server RSS ${ours.rssBeforeMb} → ${ours.rssAfterMb} MB (peak ${ours.rssPeakMb} MB ` +
      `in the hold), opened and logged in within ${ours.openSeconds} s; bare ws ${floor.rssBeforeMb} → ` +
      `${floor.rssAfterMb} MB`,
  ];
  if (Object.keys(ours.refused).length) notes.push(`not opened: ${JSON.stringify(ours.refused)}`);
  if (ours.dropped) notes.push(`dropped: closed ${JSON.stringify(ours.closed)}, silent ${ours.silent}`);
  return {
    name: 'idle signalling connections on one node',
    metrics,
    notes,
    details: {
      scale,
      connections: count,
      children: CHILDREN,
      heartbeatMs: HEARTBEAT_MS,
      holdMs: HOLD_MS,
      baselineHoldMs: BASELINE_HOLD_MS,
      signalling: ours,
      baseline: floor,
      // What the server said (warnings only) when anything went wrong.
      ...(ours.dropped || Object.keys(ours.refused).length ? { serverOutput: signalling.serverOutput } : {}),
    },
  };
}
