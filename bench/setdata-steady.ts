/**
 * Benchmark 2: setData in a steady 1:1 call, as an app shows it: `<call-screen>` in phase in-call, with its
 * netcall-room (my pusher, the peer's player), driven by a real CallSession on a scripted FakeNetcall under a
 * virtual clock. Each simulated second the session's duration ticks (the screen's timer) and `netstatus`
 * fires on the pusher's <live-pusher> and the player's <live-player> stubs with realistic info objects;
 * setData of every component is counted per second over 10 simulated seconds.
 */
import { runCallScreenScenario } from './lib/room-scenario';
import { budgeted, info, type BenchmarkResult, type Budgets } from './lib/types';

export async function run(budgets: Budgets): Promise<BenchmarkResult> {
  const seconds = 10;
  const scenario = await runCallScreenScenario(seconds);
  if (!scenario.shownUrls.pusher || !scenario.shownUrls.player)
    throw new Error(`the call screen shows no media: ${JSON.stringify(scenario.shownUrls)}`);
  if (scenario.netstatusSources.join() !== 'player,pusher')
    throw new Error(`netstatus did not come out of the call screen: ${scenario.netstatusSources.join()}`);
  const calls = scenario.perSecond.map((second) => second.calls);
  const bytes = scenario.perSecond.map((second) => second.bytes);
  const media = scenario.perSecond.map(
    (second) => second.records.filter((record) => record.component !== 'call-screen').length,
  );
  const payloads = scenario.perSecond.map((second) =>
    second.records.map((record) => `${record.component} ${JSON.stringify(record.payload)}`),
  );
  const last = payloads.length - 1;
  return {
    name: 'setData in a steady 1:1 call',
    metrics: [
      budgeted(
        budgets,
        'setdata.steady.calls',
        `setData calls per second, call-screen in call (worst of ${seconds} s)`,
        Math.max(...calls),
      ),
      budgeted(
        budgets,
        'setdata.steady.bytes',
        `setData bytes per second, call-screen in call (worst of ${seconds} s)`,
        Math.max(...bytes),
      ),
      info(
        'setdata.steady.media.calls',
        `of which room, pusher, player (worst of ${seconds} s)`,
        Math.max(...media),
        'calls/s',
      ),
      info('setdata.steady.events', `netstatus events dispatched in ${seconds} s`, scenario.events, 'events'),
    ],
    notes: [
      `second 1: ${payloads[0].join(' + ') || 'nothing'}; second ${last + 1}: ${payloads[last].join(' + ') || 'nothing'} ` +
        '(bench/results.json has every second)',
      'for comparison (measured the same way): TUICallKit G1 1 call/s ≈1.7 KB plus ≈1.7 KB per netstatus/volume callback; ' +
        'trtc-wx a whole-list event per netstatus; NetEase P2P 1 call/s, 39 B (duration tick)',
    ],
    details: {
      seconds,
      events: scenario.events,
      netstatusSources: scenario.netstatusSources,
      shownUrls: scenario.shownUrls,
      callsPerSecond: calls,
      bytesPerSecond: bytes,
      payloadsPerSecond: scenario.perSecond.map((second) =>
        second.records.map((record) => ({ component: record.component, payload: record.payload })),
      ),
    },
  };
}
