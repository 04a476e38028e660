/**
 * Benchmark: joining a room of nine on loopback. The real server in-process and nine real Netcall clients
 * over `ws`, each with a MediaRoster; eight are already in the room's RTC session, then the ninth joins
 * (`joinChannel` + `startRtc`): timed until every one of the nine holds every other member's play URL (and
 * the joiner its push URL). The ninth leaves and the next round starts.
 */
import { LATENCY_ONLY as CALLS_LATENCY_ONLY } from './lib/calls';
import { performance } from 'perf_hooks';
import { MediaRoster } from '../services/media';
import type { Netcall } from '../services/netcall';
import { connectClient, startTestServer } from '../test/helpers/server';
import { percentile, round } from './lib/stats';
import { budgeted, info, type BenchmarkResult, type Budgets } from './lib/types';

const ROOM = 9;
const WARMUP = 5;
const JOINS = 100;
// Latency, not abuse: the limits have tests of their own.
const LATENCY_ONLY = { ...CALLS_LATENCY_ONLY, roomCapacity: ROOM };

interface Member {
  netcall: Netcall;
  roster: MediaRoster;
}

/** Resolves once every roster holds a pusher and `others` players with URLs. */
function whenAllHold(members: Member[], others: number): Promise<void> {
  const holds = (m: Member) =>
    Boolean(m.roster.pusher?.url) &&
    m.roster.players.length === others &&
    m.roster.players.every((p) => Boolean(p.url));
  return new Promise((resolve) => {
    const check = () => {
      if (!members.every(holds)) return;
      for (const m of members) m.roster.off('changes', check);
      resolve();
    };
    for (const m of members) m.roster.on('changes', check);
    check();
  });
}

async function member(server: Parameters<typeof connectClient>[0], account: string): Promise<Member> {
  const netcall = await connectClient(server, account);
  return { netcall, roster: new MediaRoster(netcall) };
}

async function join(m: Member, channelName: string): Promise<void> {
  await m.netcall.joinChannel({ channelName, type: 2 });
  m.roster.setSelf(await m.netcall.startRtc({ mode: 0 }));
}

export async function run(budgets: Budgets): Promise<BenchmarkResult> {
  const server = await startTestServer(LATENCY_ONLY);
  const samples: number[] = [];
  const members: Member[] = [];
  try {
    for (let i = 0; i < ROOM; i++) members.push(await member(server, `bench-room-${i}`));
    const [host] = members;
    await host.netcall.createChannel({ channelName: 'bench-room' });
    const seated = members.slice(0, ROOM - 1);
    for (const m of seated) await join(m, 'bench-room');
    await whenAllHold(seated, ROOM - 2);
    const joiner = members[ROOM - 1];
    for (let round = 0; round < WARMUP + JOINS; round++) {
      const started = performance.now();
      const everyone = whenAllHold(members, ROOM - 1);
      await join(joiner, 'bench-room');
      await everyone;
      if (round >= WARMUP) samples.push(performance.now() - started);
      const gone = whenAllHold(seated, ROOM - 2);
      await joiner.netcall.leaveChannel();
      joiner.roster.clear();
      await gone;
    }
  } finally {
    for (const m of members) m.netcall.close();
    await server.close();
  }
  const p50 = round(percentile(samples, 50));
  const p99 = round(percentile(samples, 99));
  return {
    name: 'room join on loopback',
    metrics: [
      budgeted(budgets, 'roomjoin.p50', `9th member joins → all 9 hold all URLs, p50 of ${JOINS}`, p50),
      budgeted(budgets, 'roomjoin.p99', `9th member joins → all 9 hold all URLs, p99 of ${JOINS}`, p99),
      info('roomjoin.max', 'the same, max', round(Math.max(...samples)), 'ms'),
    ],
    notes: [],
    details: {
      room: ROOM,
      warmup: WARMUP,
      joins: JOINS,
      p50,
      p99,
      samplesMs: samples.map((v) => round(v, 3)),
    },
  };
}
