/**
 * Benchmark 5: media first frame on loopback, read off the wire with a raw HTTP-FLV tag reader
 * (ffprobe's probing would measure ffmpeg, not us). URLs are the ones the server issues
 * in a real call: the caller's push URL, and the callee's HTTP-FLV play URL for the caller's stream.
 * (a) pull-first: the reader connects, ffmpeg is spawned 300 ms later (as when bare node-media-server was measured
 *     before this server existed: README, Benchmarks); time from
 *     spawn to the first AVC keyframe NALU tag. Mostly ffmpeg + x264 start-up.
 * (b) late join: a push has run ≥ 2 s; time from a new reader's request to its first keyframe tag (the
 *     server's GOP cache). Each run several times; the budget applies to the median.
 */
import { performance } from 'perf_hooks';
import { connectPair, type Pair } from './lib/calls';
import { readFlv } from './lib/flv';
import { median, round } from './lib/stats';
import { budgeted, info, type BenchmarkResult, type Budgets } from './lib/types';
import { startTestServer } from '../test/helpers/server';
import { killAllFfmpeg, pushTestPattern } from '../test/helpers/ffmpeg';

const RUNS = 5;
const PULL_FIRST_HEAD_START_MS = 300;
const LATE_JOIN_AFTER_MS = 2300; // ≈300 ms of ffmpeg start-up, then ≥ 2 s of media
const LATE_JOIN_SPACING_MS = 170; // readers land at different places in the 1 s GOP

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function urls(pair: Pair): { push: string; flv: string } {
  const push = pair.callerRoster.pusher?.url;
  const flv = pair.calleeRoster.players[0]?.flvUrl;
  if (!push || !flv) throw new Error('the server issued no push URL or no HTTP-FLV play URL');
  return { push, flv };
}

async function pullFirst(pair: Pair): Promise<number> {
  await pair.establish();
  const { push, flv } = urls(pair);
  const reader = readFlv(flv);
  try {
    await sleep(PULL_FIRST_HEAD_START_MS);
    const spawnedAt = performance.now();
    const pusher = pushTestPattern(push);
    try {
      return (await reader.keyframe) - spawnedAt;
    } finally {
      await pusher.stop();
    }
  } finally {
    reader.close();
    await pair.hangup();
  }
}

async function lateJoins(pair: Pair): Promise<number[]> {
  await pair.establish();
  const { push, flv } = urls(pair);
  const pusher = pushTestPattern(push);
  const times: number[] = [];
  try {
    await sleep(LATE_JOIN_AFTER_MS);
    for (let run = 0; run < RUNS; run++) {
      const reader = readFlv(flv);
      try {
        times.push((await reader.keyframe) - reader.requestedAt);
      } finally {
        reader.close();
      }
      await sleep(LATE_JOIN_SPACING_MS);
    }
  } finally {
    await pusher.stop();
    await pair.hangup();
  }
  return times;
}

export async function run(budgets: Budgets): Promise<BenchmarkResult> {
  const server = await startTestServer();
  const pullFirstMs: number[] = [];
  let lateJoinMs: number[] = [];
  try {
    const pair = await connectPair(server);
    try {
      for (let index = 0; index < RUNS; index++) pullFirstMs.push(await pullFirst(pair));
      lateJoinMs = await lateJoins(pair);
    } finally {
      pair.close();
    }
  } finally {
    killAllFfmpeg();
    await server.close();
  }
  const list = (values: number[]) => values.map((value) => round(value, 1)).join(', ');
  return {
    name: 'media first frame (HTTP-FLV, loopback)',
    metrics: [
      budgeted(
        budgets,
        'firstframe.pullfirst.median',
        `pull-first: spawn → keyframe, median of ${RUNS}`,
        round(median(pullFirstMs), 1),
      ),
      info(
        'firstframe.pullfirst.max',
        `pull-first, max of ${RUNS}`,
        round(Math.max(...pullFirstMs), 1),
        'ms',
      ),
      budgeted(
        budgets,
        'firstframe.latejoin.median',
        `late join: request → keyframe, median of ${RUNS}`,
        round(median(lateJoinMs), 1),
      ),
      info('firstframe.latejoin.max', `late join, max of ${RUNS}`, round(Math.max(...lateJoinMs), 1), 'ms'),
    ],
    notes: [
      `pull-first ms: ${list(pullFirstMs)}; late-join ms: ${list(lateJoinMs)}`,
      'for comparison (bare node-media-server, same reader, README Benchmarks): pull-first 318–382 ms, late join 3.1–4.4 ms',
    ],
    details: { runs: RUNS, pullFirstMs, lateJoinMs },
  };
}
