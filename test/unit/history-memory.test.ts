/** @jest-environment node */
/**
 * MemoryCallHistory retention under abuse: unanswered calls from one peer hold only a few slots, and the
 * per-account cap drops unanswered records before answered ones, so a caller who rings and cancels in a loop
 * cannot push anyone's real calls out.
 */
import { MemoryCallHistory, type CallOutcome, type CallRecord } from '../../server/history';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
let clock = 0;

/** A record starting one ms after the previous one, so the newest-first order is the order of creation. */
function call(caller: string, callee: string, outcome: CallOutcome, cid?: string): CallRecord {
  const startedAt = T0 + ++clock;
  const answered = outcome === 'completed';
  return {
    cid: cid ?? `${caller}-${callee}-${clock}`,
    caller,
    callee,
    type: 2,
    startedAt,
    answeredAt: answered ? startedAt + 1000 : null,
    endedAt: startedAt + 30000,
    duration: answered ? 29 : 0,
    outcome,
    endedBy: caller,
  };
}

const cids = (records: CallRecord[]) => records.map((record) => record.cid);

describe('MemoryCallHistory flood resistance', () => {
  it("keeps every earlier completed call and other peers' missed calls through 500 canceled calls from one peer", () => {
    const history = new MemoryCallHistory();
    const before: CallRecord[] = [];
    for (let i = 0; i < 15; i++)
      before.push(call(i % 2 ? 'alice' : 'bob', i % 2 ? 'bob' : 'alice', 'completed'));
    before.push(call('carol', 'bob', 'missed'), call('dave', 'bob', 'canceled'), call('erin', 'bob', 'busy'));
    before.push(call('carol', 'bob', 'missed'), call('frank', 'bob', 'rejected'));
    for (const record of before) history.record(record);

    const flood: CallRecord[] = [];
    for (let i = 0; i < 500; i++) flood.push(call('mallory', 'bob', 'canceled'));
    for (const record of flood) history.record(record);

    const newestFirst = (records: CallRecord[]) => cids(records).reverse();
    // The flood keeps its newest five; everything bob had before is still listed, in order.
    expect(cids(history.list('bob'))).toEqual([...newestFirst(flood.slice(-5)), ...newestFirst(before)]);
    // The flooder's own history is bounded the same way.
    expect(cids(history.list('mallory'))).toEqual(newestFirst(flood.slice(-5)));
    expect(history.list('alice')).toHaveLength(15);
  });

  it('still caps each account: a flood from 500 different peers fills the free slots, never the answered ones', () => {
    const history = new MemoryCallHistory({ perAccount: 50 });
    const completed: CallRecord[] = [];
    for (let i = 0; i < 20; i++) completed.push(call(`friend${i}`, 'bob', 'completed'));
    for (const record of completed) history.record(record);
    const flood: CallRecord[] = [];
    for (let i = 0; i < 500; i++) flood.push(call(`sock${i}`, 'bob', 'canceled'));
    for (const record of flood) history.record(record);

    const listed = history.list('bob', 1000);
    // Positive control: the cap bounds memory even when the per-peer rule cannot help.
    expect(listed).toHaveLength(50);
    expect(cids(listed.filter((record) => record.outcome === 'completed'))).toEqual(
      cids(completed).reverse(),
    );
    // The unanswered slots hold the newest flood records, oldest evicted first.
    expect(cids(listed.filter((record) => record.outcome !== 'completed'))).toEqual(
      cids(flood.slice(-30)).reverse(),
    );
  });

  it('drops the oldest answered call only when an account holds nothing unanswered', () => {
    const history = new MemoryCallHistory({ perAccount: 3 });
    const a = call('alice', 'bob', 'completed');
    const b = call('alice', 'bob', 'completed');
    const missed = call('carol', 'bob', 'missed');
    const c = call('alice', 'bob', 'completed');
    for (const record of [a, b, missed, c]) history.record(record);
    // The missed call is newer than two answered ones, and still goes first.
    expect(cids(history.list('bob'))).toEqual([c.cid, b.cid, a.cid]);
    const d = call('alice', 'bob', 'completed');
    history.record(d);
    expect(cids(history.list('bob'))).toEqual([d.cid, c.cid, b.cid]);
    // Carol's own history is hers: bob's cap did not take the call out of it.
    expect(cids(history.list('carol'))).toEqual([missed.cid]);
  });

  it('counts every unanswered outcome, both directions, against the per-peer allowance', () => {
    const history = new MemoryCallHistory({ unansweredPerPeer: 2 });
    const outcomes: CallOutcome[] = ['missed', 'rejected', 'busy', 'failed'];
    const records = outcomes.map((outcome, i) =>
      i % 2 ? call('bob', 'alice', outcome) : call('alice', 'bob', outcome),
    );
    const kept = call('alice', 'bob', 'completed');
    for (const record of [...records, kept]) history.record(record);
    expect(cids(history.list('bob'))).toEqual([kept.cid, records[3].cid, records[2].cid]);
    expect(cids(history.list('alice'))).toEqual([kept.cid, records[3].cid, records[2].cid]);
  });

  it('replaces a re-recorded cid in place of adding it, so a repeat never uses a second slot', () => {
    const history = new MemoryCallHistory({ unansweredPerPeer: 2 });
    const first = call('mallory', 'bob', 'canceled', 'same');
    history.record(first);
    history.record({ ...first, outcome: 'missed' });
    const other = call('mallory', 'bob', 'canceled');
    history.record(other);
    expect(history.list('bob').map((record) => [record.cid, record.outcome])).toEqual([
      [other.cid, 'canceled'],
      ['same', 'missed'],
    ]);
  });

  it('refuses an unanswered allowance below 1', () => {
    expect(() => new MemoryCallHistory({ unansweredPerPeer: 0 })).toThrow(RangeError);
    expect(() => new MemoryCallHistory({ unansweredPerPeer: 1.5 })).toThrow(RangeError);
    expect(new MemoryCallHistory().unansweredPerPeer).toBe(5);
  });

  it('treats accounts named like Object.prototype members as plain data', () => {
    const history = new MemoryCallHistory();
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
    const records = names.map((name, i) => call(name, names[(i + 1) % names.length], 'completed'));
    for (const record of records) history.record(record);
    expect(cids(history.list('__proto__'))).toEqual([records[3].cid, records[0].cid]);
    expect(cids(history.list('constructor'))).toEqual([records[1].cid, records[0].cid]);
    expect(history.list('valueOf')).toEqual([]);
    expect(history.accountCount()).toBe(4);
    expect(({} as Record<string, unknown>).cid).toBeUndefined();
  });
});
