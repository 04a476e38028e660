/**
 * Benchmark 4: call setup latency on loopback. The real server in-process (port 0) and two real Netcall
 * clients over `ws`; one call at a time, from `call()` until both MediaRosters hold their pusher URL and
 * the peer's player URL; hang up between calls.
 */
import { performance } from 'perf_hooks';
import { LATENCY_ONLY, connectPair } from './lib/calls';
import { percentile, round } from './lib/stats';
import { budgeted, info, type BenchmarkResult, type Budgets } from './lib/types';
import { startTestServer } from '../test/helpers/server';

const WARMUP = 10;
const CALLS = 200;

export async function run(budgets: Budgets): Promise<BenchmarkResult> {
  const server = await startTestServer(LATENCY_ONLY);
  const pair = await connectPair(server).catch(async (error: unknown) => {
    await server.close();
    throw error;
  });
  const samples: number[] = [];
  try {
    for (let index = 0; index < WARMUP + CALLS; index++) {
      const started = performance.now();
      await pair.establish();
      const elapsed = performance.now() - started;
      if (index >= WARMUP) samples.push(elapsed);
      await pair.hangup();
    }
  } finally {
    pair.close();
    await server.close();
  }
  const p50 = round(percentile(samples, 50));
  const p99 = round(percentile(samples, 99));
  return {
    name: 'call setup on loopback',
    metrics: [
      budgeted(budgets, 'callsetup.p50', `call() → both sides hold URLs, p50 of ${CALLS}`, p50),
      budgeted(budgets, 'callsetup.p99', `call() → both sides hold URLs, p99 of ${CALLS}`, p99),
      info('callsetup.max', 'the same, max', round(Math.max(...samples)), 'ms'),
    ],
    notes: [],
    details: { warmup: WARMUP, calls: CALLS, p50, p99, samplesMs: samples.map((value) => round(value, 3)) },
  };
}
