/**
 * Call setup across nodes: two server nodes on one real redis-server, a caller on one and its callee on the
 * other, against a pair on one node of the same cluster, and against one node keeping its state in memory.
 * One call at a time, as bench/call-setup.ts measures (from `call()` until both sides hold their URLs), the
 * three kinds interleaved call by call so that whatever else the machine does falls on all of them alike.
 */
import { performance } from 'perf_hooks';
import type { RunningServer } from '../server/index';
import { startRedis, type TestRedis } from '../test/helpers/redis';
import { startTestServer } from '../test/helpers/server';
import { LATENCY_ONLY, connectPair, type Pair } from './lib/calls';
import { percentile, round } from './lib/stats';
import { budgeted, info, type BenchmarkResult, type Budgets } from './lib/types';

const WARMUP = 10;
const CALLS = 200;

async function measure(pair: Pair): Promise<number> {
  const started = performance.now();
  await pair.establish();
  const elapsed = performance.now() - started;
  await pair.hangup();
  return elapsed;
}

export async function run(budgets: Budgets): Promise<BenchmarkResult> {
  let redis: TestRedis | undefined;
  const servers: RunningServer[] = [];
  const pairs: Pair[] = [];
  const samples = { memory: [] as number[], same: [] as number[], cross: [] as number[] };
  try {
    redis = await startRedis();
    const memory = await startTestServer(LATENCY_ONLY);
    servers.push(memory);
    const a = await startTestServer({ ...LATENCY_ONLY, redis: redis.url, nodeId: 'bencha' });
    servers.push(a);
    const b = await startTestServer({ ...LATENCY_ONLY, redis: redis.url, nodeId: 'benchb' });
    servers.push(b);
    const kinds = {
      memory: await connectPair(memory),
      same: await connectPair(a),
      cross: await connectPair(a, b),
    };
    pairs.push(...Object.values(kinds));
    for (let index = 0; index < WARMUP + CALLS; index++)
      for (const kind of ['memory', 'same', 'cross'] as const) {
        const elapsed = await measure(kinds[kind]);
        if (index >= WARMUP) samples[kind].push(elapsed);
      }
  } finally {
    for (const pair of pairs) pair.close();
    await Promise.all(servers.map((server) => server.close()));
    await redis?.stop();
  }
  const p50 = (list: number[]) => round(percentile(list, 50));
  const ratio = round(p50(samples.cross) / p50(samples.same), 2);
  return {
    name: 'call setup across nodes (Redis)',
    metrics: [
      info(
        'cluster.memory.p50',
        `one node, state in memory: setup p50 of ${CALLS}`,
        p50(samples.memory),
        'ms',
      ),
      info('cluster.same.p50', `one node of a Redis cluster: setup p50 of ${CALLS}`, p50(samples.same), 'ms'),
      info(
        'cluster.cross.p50',
        `caller and callee on two nodes: setup p50 of ${CALLS}`,
        p50(samples.cross),
        'ms',
      ),
      info('cluster.cross.p99', 'the same, p99', round(percentile(samples.cross, 99)), 'ms'),
      budgeted(budgets, 'cluster.cross.ratio', 'cross-node p50 / one-node p50 (both on Redis)', ratio),
      info(
        'cluster.memory.ratio',
        'cross-node p50 / one node in memory, p50',
        round(p50(samples.cross) / p50(samples.memory), 2),
        '×',
      ),
    ],
    notes: [],
    details: {
      warmup: WARMUP,
      calls: CALLS,
      samplesMs: Object.fromEntries(
        Object.entries(samples).map(([kind, list]) => [kind, list.map((value) => round(value, 3))]),
      ),
    },
  };
}
