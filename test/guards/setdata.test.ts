/**
 * Guard: the room never resends a whole list, a join costs the same whatever the room size, and a steady
 * call on the call screen costs one small setData a second (the timer). Shapes and counts only, no timing
 * (the numbers are in `npm run bench`). Runs the same scenarios as bench/setdata-*.ts, with every
 * component's setData recorded (bench/lib/room-scenario.ts).
 */
import { formatDuration } from '../../services/i18n';
import {
  runCallScreenScenario,
  runJoinScenario,
  runSteadyScenario,
  wholeListProblems,
  type SetDataRecord,
} from '../../bench/lib/room-scenario';
import { loadBudgets } from '../../bench/lib/types';

const budgets = loadBudgets();
const describeRecords = (records: readonly SetDataRecord[]) =>
  records.map((record) => `${record.component} ${JSON.stringify(record.payload)}`).join('\n');

describe('setData guard', () => {
  it('recognises a whole-list payload (the check below is not vacuous)', () => {
    const record = (payload: Record<string, unknown>): SetDataRecord => ({
      component: 'room',
      keys: Object.keys(payload),
      bytes: JSON.stringify(payload).length,
      payload,
    });
    expect(wholeListProblems([record({ players: [{ uid: '2' }] })])).toHaveLength(1);
    expect(wholeListProblems([record({ 'players[1]': { tiles: ['a', 'b'] } })])).toHaveLength(1);
    expect(wholeListProblems([record({ 'players[1]': { uid: '3', src: 'rtmp://x' }, count: 2 })])).toEqual(
      [],
    );
  });

  describe.each(['pip', 'grid'] as const)(
    '%s layout: joins of 1..8 remote users (a room of 2..9), one URL change, two leaves',
    (layout) => {
      let scenario: Awaited<ReturnType<typeof runJoinScenario>>;
      beforeAll(async () => {
        scenario = await runJoinScenario(8, layout);
      });

      it('shows every joiner', () => {
        expect(scenario.shownPlayers).toBe(8);
      });

      it('costs one setData per join, by path, never a list', () => {
        scenario.joins.forEach((join, index) => {
          expect({ join: index + 1, calls: join.calls }).toEqual({
            join: index + 1,
            calls: budgets['setdata.join.calls'].max,
          });
          expect(join.records.map((record) => record.keys)).toEqual([[`players[${index}]`, 'count']]);
          expect(wholeListProblems(join.records)).toEqual([]);
        });
      });

      it('costs the same bytes for join #1 and join #8 (flat in N), within the byte budget', () => {
        const bytes = scenario.joins.map((join) => join.bytes);
        expect(Math.max(...bytes) - Math.min(...bytes)).toBeLessThanOrEqual(
          budgets['setdata.join.growth'].max,
        );
        expect(Math.max(...bytes)).toBeLessThanOrEqual(budgets['setdata.join.bytes'].max);
      });

      it('sends a URL change as one path on the room', () => {
        expect(scenario.urlChange.records.map((record) => record.keys)).toEqual([['players[2].src']]);
        expect(wholeListProblems(scenario.urlChange.records)).toEqual([]);
      });

      it('sends a leave as paths for the tiles that move, within the budget, not the shifted list', () => {
        // The first of 8 leaves: it is blanked and the 7 after it move up one place.
        expect(scenario.leave.calls).toBe(budgets['setdata.leave.calls'].max);
        expect(scenario.leave.records[0].keys).toEqual([
          'players[0].uid',
          ...[1, 2, 3, 4, 5, 6, 7].map((index) => `players[${index}].pos`),
          'count',
        ]);
        expect(scenario.leave.bytes).toBeLessThanOrEqual(budgets['setdata.leave.bytes'].max);
        expect(wholeListProblems(scenario.leave.records)).toEqual([]);
        // The last one leaves: nothing moves, so only its slot is written.
        expect(scenario.lastLeave.records.map((record) => record.keys)).toEqual([
          ['players[7].uid', 'count'],
        ]);
      });
    },
  );

  it('sends nothing for a netstatus burst in a 1:1 call', async () => {
    // Five netstatus events per second on both the pusher and the player, for 3 simulated seconds.
    const scenario = await runSteadyScenario(3, 5);
    const records = scenario.perSecond.flatMap((second) => second.records);
    expect(scenario.events).toBe(30);
    expect(wholeListProblems(records)).toEqual([]);
    for (const second of scenario.perSecond) {
      if (
        second.calls > budgets['setdata.steady.calls'].max ||
        second.bytes > budgets['setdata.steady.bytes'].max
      )
        throw new Error(
          `netstatus caused setData over budget in one second:\n${describeRecords(second.records)}`,
        );
    }
  });

  describe('call-screen in a steady 1:1 call (benchmark 2)', () => {
    const seconds = 10;
    let scenario: Awaited<ReturnType<typeof runCallScreenScenario>>;
    beforeAll(async () => {
      scenario = await runCallScreenScenario(seconds);
    });

    it('shows the call: pusher and player hold their URLs, netstatus comes out of the screen', () => {
      expect(scenario.shownUrls.pusher).toMatch(/^rtmp:\/\/.*c1_1\?/);
      expect(scenario.shownUrls.player).toMatch(/^rtmp:\/\/.*c1_2\?/);
      expect(scenario.events).toBe(2 * seconds);
      expect(scenario.netstatusSources).toEqual(['player', 'pusher']);
    });

    it('stays within the budget every second, and never sends a list', () => {
      expect(scenario.perSecond).toHaveLength(seconds);
      const records = scenario.perSecond.flatMap((second) => second.records);
      expect(wholeListProblems(records)).toEqual([]);
      for (const second of scenario.perSecond) {
        if (
          second.calls > budgets['setdata.steady.calls'].max ||
          second.bytes > budgets['setdata.steady.bytes'].max
        )
          throw new Error(`a steady second went over budget:\n${describeRecords(second.records)}`);
      }
    });

    it('costs exactly the timer each second: one call-screen setData, nothing from the room or media', () => {
      scenario.perSecond.forEach((second, index) => {
        expect({ second: index + 1, sent: describeRecords(second.records) }).toEqual({
          second: index + 1,
          sent: `call-screen ${JSON.stringify({ timer: formatDuration(index + 1) })}`,
        });
      });
    });

    it('holds under a netstatus burst (5 a second on both elements)', async () => {
      const burst = await runCallScreenScenario(3, 5);
      expect(burst.events).toBe(30);
      const records = burst.perSecond.flatMap((second) => second.records);
      expect(wholeListProblems(records)).toEqual([]);
      expect(burst.perSecond.map((second) => second.records.map((record) => record.keys))).toEqual([
        [['timer']],
        [['timer']],
        [['timer']],
      ]);
      for (const second of burst.perSecond)
        expect(second.bytes).toBeLessThanOrEqual(budgets['setdata.steady.bytes'].max);
    });
  });
});
