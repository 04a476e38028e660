/**
 * Benchmark 2: setData in a steady 1:1 call. Each simulated second, `netstatus` fires on the pusher's
 * <live-pusher> and the player's <live-player> stubs with realistic info objects; setData of every
 * component is counted per second over 10 simulated seconds.
 */
import { runSteadyScenario } from './lib/room-scenario';
import { budgeted, info, type BenchmarkResult, type Budgets } from './lib/types';

export async function run(budgets: Budgets): Promise<BenchmarkResult> {
  const seconds = 10;
  const scenario = await runSteadyScenario(seconds);
  const calls = scenario.perSecond.map((second) => second.calls);
  const bytes = scenario.perSecond.map((second) => second.bytes);
  return {
    name: 'setData in a steady 1:1 call',
    metrics: [
      budgeted(
        budgets,
        'setdata.steady.calls',
        `setData calls per second (worst of ${seconds} s)`,
        Math.max(...calls),
      ),
      budgeted(
        budgets,
        'setdata.steady.bytes',
        `setData bytes per second (worst of ${seconds} s)`,
        Math.max(...bytes),
      ),
      info('setdata.steady.events', `netstatus events dispatched in ${seconds} s`, scenario.events, 'events'),
    ],
    notes: [
      'for comparison (anchors.md §2.2): TUICallKit G1 1 call/s ≈1.7 KB plus ≈1.7 KB per netstatus/volume callback; ' +
        'trtc-wx a whole-list event per netstatus; NetEase P2P 1 call/s, 39 B (duration tick)',
    ],
    details: { seconds, events: scenario.events, callsPerSecond: calls, bytesPerSecond: bytes },
  };
}
