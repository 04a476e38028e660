/**
 * Benchmark 1: setData per remote join. A netcall-room in miniprogram-simulate; 1..8 remote users join one
 * by one (syncDone with self, then clientJoin each) through FakeNetcall → MediaRoster → bindRosterToStore →
 * callStore. Counts calls and JSON bytes across every component per join (the method the competitors were measured with).
 */
import { runJoinScenario } from './lib/room-scenario';
import { budgeted, info, type BenchmarkResult, type Budgets } from './lib/types';

export async function run(budgets: Budgets): Promise<BenchmarkResult> {
  const scenario = await runJoinScenario(8);
  if (scenario.shownPlayers !== 8)
    throw new Error(`expected 8 players on screen, got ${scenario.shownPlayers}`);
  const calls = scenario.joins.map((join) => join.calls);
  const bytes = scenario.joins.map((join) => join.bytes);
  const series = (values: number[]) => values.map((value, index) => `#${index + 1} ${value}`).join(', ');
  return {
    name: 'setData per remote join',
    metrics: [
      budgeted(budgets, 'setdata.join.calls', 'setData calls per join (max of N=1..8)', Math.max(...calls)),
      budgeted(budgets, 'setdata.join.bytes', 'setData bytes per join (max of N=1..8)', Math.max(...bytes)),
      budgeted(
        budgets,
        'setdata.join.growth',
        'bytes growth join #1 → #8',
        bytes[bytes.length - 1] - bytes[0],
      ),
      info(
        'setdata.urlchange.bytes',
        'setData bytes for one URL change (8 users)',
        scenario.urlChange.bytes,
        'B',
      ),
      info(
        'setdata.leave.bytes',
        'setData bytes for one leave (8 users, first leaves)',
        scenario.leave.bytes,
        'B',
      ),
    ],
    notes: [
      `join calls by N: ${series(calls)}`,
      `join bytes by N: ${series(bytes)}`,
      'for comparison (measured the same way, 80 B URLs): trtc-wx README pattern 2 calls/join, 540 B → 4 201 B per call; ' +
        'Agora 1 call, 454 → 2 038 B; NetEase NRTC room 1 call, 372 → 2 088 B (join #1 → #8)',
    ],
    details: {
      joins: scenario.joins.map((join, index) => ({
        n: index + 1,
        calls: join.calls,
        bytes: join.bytes,
        setData: join.records.map(({ component, keys, bytes: size }) => ({ component, keys, bytes: size })),
      })),
      urlChange: { calls: scenario.urlChange.calls, bytes: scenario.urlChange.bytes },
      leave: { calls: scenario.leave.calls, bytes: scenario.leave.bytes },
    },
  };
}
