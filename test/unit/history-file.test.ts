/** @jest-environment node */
/**
 * FileCallHistory: records are on file when `record` returns, come back in a new instance (as after a
 * restart), a line cut short by a crash is skipped, and compaction rewrites the file to exactly what the
 * index lists, atomically.
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import fc from 'fast-check';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  FileCallHistory,
  type CallOutcome,
  type CallRecord,
  type FileCallHistoryOptions,
} from '../../server/history';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
let clock = 0;

function call(caller: string, callee: string, outcome: CallOutcome = 'completed'): CallRecord {
  const startedAt = T0 + ++clock;
  const answered = outcome === 'completed';
  return {
    cid: `${caller}-${callee}-${clock}`,
    caller,
    callee,
    type: 1,
    startedAt,
    answeredAt: answered ? startedAt + 1000 : null,
    endedAt: startedAt + 30000,
    duration: answered ? 29 : 0,
    outcome,
    endedBy: callee,
  };
}

let folder: string;
let file: string;
const log = () => ({ info: jest.fn(), warn: jest.fn() });
const open = (options: Partial<FileCallHistoryOptions> = {}) =>
  new FileCallHistory({ path: file, log: log(), ...options });
const lines = () =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
/** Every account's full list, to compare two instances. */
const everything = (history: FileCallHistory, accounts: string[]) =>
  new Map(accounts.map((account) => [account, history.list(account, 1000)]));

beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'netcall-history-'));
  file = join(folder, 'calls.jsonl');
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

describe('FileCallHistory', () => {
  it('has the line on file when record returns, and a new instance on the file lists the same calls', () => {
    const first = open();
    const a = call('alice', 'bob');
    first.record(a);
    // No await, no timer: the line is there already (what a crash right now would leave).
    expect(lines().map((line) => JSON.parse(line))).toEqual([a]);
    const b = call('bob', 'carol', 'missed');
    first.record(b);

    const second = open();
    expect(second.list('bob')).toEqual([b, a]);
    expect(second.list('carol')).toEqual([b]);
    expect(second.list('alice')).toEqual(first.list('alice'));
    expect(second.accountCount()).toBe(3);
  });

  it('applies the memory store retention rules to what it loads', () => {
    const first = open({ unansweredPerPeer: 2 });
    const real = call('alice', 'bob');
    first.record(real);
    const flood = Array.from({ length: 20 }, () => call('mallory', 'bob', 'canceled'));
    for (const record of flood) first.record(record);
    const second = open({ unansweredPerPeer: 2 });
    expect(second.list('bob').map((record) => record.cid)).toEqual([flood[19].cid, flood[18].cid, real.cid]);
    expect(second.list('bob')).toEqual(first.list('bob'));
  });

  it('skips a last line cut short by a crash, logs it, and appends cleanly after it', () => {
    const a = call('alice', 'bob');
    open().record(a);
    const cut = JSON.stringify(call('alice', 'bob')).slice(0, 40);
    appendFileSync(file, cut);

    const warnings = log();
    const second = open({ log: warnings });
    expect(second.list('alice')).toEqual([a]);
    expect(warnings.warn).toHaveBeenCalledWith(
      expect.objectContaining({ bytes: cut.length }),
      expect.stringContaining('truncated last line'),
    );
    const b = call('bob', 'alice');
    second.record(b);

    // Had the new line been glued onto the cut one, the third instance would lose `b`.
    const third = open();
    expect(third.list('alice')).toEqual([b, a]);
    expect(lines()).toHaveLength(2);
  });

  it('skips unreadable or ill-typed lines in the middle and keeps the rest', () => {
    const a = call('alice', 'bob');
    const b = call('alice', 'bob');
    writeFileSync(
      file,
      [
        JSON.stringify(a),
        'not json',
        JSON.stringify({ ...b, outcome: 'exploded' }),
        JSON.stringify({ ...b, startedAt: '12' }),
        JSON.stringify(b),
        '',
      ].join('\n'),
    );
    const warnings = log();
    expect(open({ log: warnings }).list('alice')).toEqual([b, a]);
    expect(warnings.warn).toHaveBeenCalledWith(
      expect.objectContaining({ skipped: 3 }),
      expect.stringContaining('unreadable'),
    );
  });

  it('compacts as it grows to exactly what list() returns, keeping one-sided records one-sided', () => {
    const accounts = ['alice', 'bob', 'carol', 'dave', 'mallory'];
    const history = open({ perAccount: 4, unansweredPerPeer: 2, compactMinBytes: 4096 });
    history.record(call('alice', 'bob'));
    history.record(call('alice', 'bob'));
    // Bob's cap drops the missed calls from his list only (answered ones stay); carol and dave keep theirs.
    history.record(call('carol', 'bob', 'missed'));
    history.record(call('carol', 'bob', 'missed'));
    history.record(call('dave', 'bob', 'missed'));
    history.record(call('dave', 'bob', 'missed'));
    let written = 0;
    for (let i = 0; i < 500; i++) {
      history.record(call('mallory', 'bob', 'canceled'));
      written++;
    }
    expect(history.list('carol')).toHaveLength(2);
    expect(history.list('bob').map((record) => record.caller)).toEqual([
      'mallory',
      'mallory',
      'alice',
      'alice',
    ]);

    // It compacted by itself: 506 lines would be well over 4 KiB.
    expect(lines().length).toBeLessThan(written);
    expect(readFileSync(file).length).toBeLessThan(3 * 4096);
    expect(everything(open({ perAccount: 4, unansweredPerPeer: 2 }), accounts)).toEqual(
      everything(history, accounts),
    );

    history.compact();
    const kept = new Set(accounts.flatMap((account) => history.list(account, 1000).map((r) => r.cid)));
    expect(lines()).toHaveLength(kept.size);
    expect(lines().filter((line) => line.includes('"accounts"'))).toEqual([
      expect.stringContaining('"accounts":["carol"]'),
      expect.stringContaining('"accounts":["carol"]'),
      expect.stringContaining('"accounts":["dave"]'),
      expect.stringContaining('"accounts":["dave"]'),
    ]);
    // Reloaded with the same rules, every list is the same, the missed calls still only on the callers' side.
    expect(everything(open({ perAccount: 4, unansweredPerPeer: 2 }), accounts)).toEqual(
      everything(history, accounts),
    );
    expect(existsSync(`${file}.compacting`)).toBe(false);
  });

  it('keeps a record dropped from one side off that side after compaction, even once a re-recorded cid freed room', () => {
    const history = open({ perAccount: 1 });
    const old = call('alice', 'bob');
    const newer = call('carol', 'bob');
    history.record(old);
    history.record(newer); // bob's one slot: `old` goes from his list, alice keeps it
    // The same call recorded again by a second end path, now unanswered: it replaces, it does not add.
    history.record({ ...newer, outcome: 'failed', answeredAt: null, duration: 0 });
    const expected = everything(history, ['alice', 'bob', 'carol']);
    expect(expected.get('bob')).toEqual([expect.objectContaining({ cid: newer.cid, outcome: 'failed' })]);
    history.compact();
    // Replayed for both parties, `old` would win bob's slot back over the unanswered record.
    expect(everything(open({ perAccount: 1 }), ['alice', 'bob', 'carol'])).toEqual(expected);
  });

  it('lists the same after a restart, with or without compaction, whatever the sequence of calls', () => {
    const accounts = ['a', 'b', 'c', '__proto__'];
    const outcomes: CallOutcome[] = ['completed', 'missed', 'canceled', 'failed'];
    const step = fc.record({
      caller: fc.constantFrom(...accounts),
      callee: fc.constantFrom(...accounts),
      outcome: fc.constantFrom(...outcomes),
      // Repeated cids (a second end path) and equal start times (ties) both happen in practice.
      cid: fc.integer({ min: 0, max: 12 }),
      startedAt: fc.integer({ min: 0, max: 6 }),
    });
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        (steps, perAccount, unansweredPerPeer) => {
          rmSync(file, { force: true });
          const rules = { perAccount, unansweredPerPeer, compactMinBytes: 1e9 };
          const history = open(rules);
          for (const s of steps)
            history.record({
              ...call(s.caller, s.callee, s.outcome),
              cid: `c${s.cid}`,
              startedAt: s.startedAt,
            });
          const expected = everything(history, accounts);
          expect(everything(open(rules), accounts)).toEqual(expected);
          history.compact();
          expect(everything(open(rules), accounts)).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('ignores a compaction a crash left half done: the real file is still whole', () => {
    const a = call('alice', 'bob');
    open().record(a);
    writeFileSync(`${file}.compacting`, '{"cid":"half');
    expect(open().list('bob')).toEqual([a]);
    expect(existsSync(`${file}.compacting`)).toBe(false);
  });

  it('stores accounts named __proto__, constructor and toString as data', () => {
    const history = open({ compactMinBytes: 0 });
    const a = call('__proto__', 'constructor');
    const b = call('toString', '__proto__', 'missed');
    history.record(a);
    history.record(b);
    for (const reopened of [open(), (history.compact(), open())]) {
      expect(reopened.list('__proto__')).toEqual([b, a]);
      expect(reopened.list('constructor')).toEqual([a]);
      expect(reopened.list('toString')).toEqual([b]);
      expect(reopened.list('valueOf')).toEqual([]);
    }
    expect(({} as Record<string, unknown>).callee).toBeUndefined();
  });

  it('refuses a path it cannot write at start-up, not at the first ended call', () => {
    expect(() => new FileCallHistory({ path: join(folder, 'missing', 'calls.jsonl') })).toThrow(/ENOENT/);
    expect(() => open()).not.toThrow();
  });
});
