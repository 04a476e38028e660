/** @jest-environment node */
/**
 * RedisCallHistory on a real redis-server: the same retention cases as MemoryCallHistory, run against both
 * from one table (and a random sequence of calls recorded into both must list the same); several nodes on one
 * Redis seeing, and not overwriting, each other's records; and Redis going away and coming back, where `list`
 * answers 503 and `record` fails only into the call-end reporter's log.
 */
import { spawn } from 'child_process';
import { once } from 'events';
import { createServer, type Server } from 'http';
import { connect, type AddressInfo } from 'net';
import { join } from 'path';
import fc from 'fast-check';
import Redis from 'ioredis';
import { NetcallError } from '../../services/protocol';
import { TokenVerifier, mintToken } from '../../server/auth/tokens';
import {
  MemoryCallHistory,
  RedisCallHistory,
  createCallEndReporter,
  type CallHistory,
  type CallOutcome,
  type CallRecord,
  type MemoryCallHistoryOptions,
} from '../../server/history';
import { createCallsRoute } from '../../server/http/calls';
import { startRedis, type TestRedis } from '../helpers/redis';
import { eventually } from '../helpers/wait';

/** Whether anything accepts a TCP connection on the loopback `port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
let clock = 0;

/** A record starting one ms after the previous one, so the newest-first order is the order of creation. */
function call(caller: string, callee: string, outcome: CallOutcome = 'completed', cid?: string): CallRecord {
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
const newestFirst = (records: CallRecord[]) => cids(records).reverse();

let redis: TestRedis;
/** Every history and client a test opened; closed after it, whatever it did. */
const opened: Array<{ close(): Promise<void> | void }> = [];
let prefixes = 0;
/** A key prefix no other test uses, so tests share one redis-server without seeing each other. */
const freshPrefix = () => `test${++prefixes}:`;

beforeAll(async () => {
  redis = await startRedis();
});

const closeOpened = () => Promise.all(opened.splice(0).map((item) => item.close()));

afterEach(closeOpened);

afterAll(async () => {
  await redis?.stop();
});

/** A node's history on the test Redis, connected. */
async function redisHistory(
  options: MemoryCallHistoryOptions & { prefix?: string; timeoutMs?: number } = {},
): Promise<RedisCallHistory> {
  const history = new RedisCallHistory({ redis: redis.url, prefix: freshPrefix(), ...options });
  opened.push(history);
  await history.connect(5000);
  return history;
}

/** Each store under test, made with the given retention options. */
const stores: Array<[string, (options?: MemoryCallHistoryOptions) => Promise<CallHistory>]> = [
  ['MemoryCallHistory', async (options) => new MemoryCallHistory(options)],
  ['RedisCallHistory', (options) => redisHistory(options)],
];

async function recordAll(history: CallHistory, records: CallRecord[]): Promise<void> {
  for (const record of records) await history.record(record);
}

describe.each(stores)('%s retention', (_name, open) => {
  it('shows one call to both parties, newest first', async () => {
    const history = await open();
    const c1 = call('alice', 'bob');
    const c2 = call('bob', 'alice');
    await recordAll(history, [c1, c2]);
    expect(cids(await history.list('alice'))).toEqual([c2.cid, c1.cid]);
    expect(await history.list('bob')).toEqual([c2, c1]);
    expect(await history.list('carol')).toEqual([]);
  });

  it('keeps at most perAccount calls per account, dropping the oldest, and honours limit', async () => {
    const history = await open({ perAccount: 3 });
    const records = Array.from({ length: 5 }, () => call('alice', 'bob'));
    const other = call('carol', 'dave');
    await recordAll(history, [...records, other]);
    expect(await history.list('alice')).toEqual(records.slice(-3).reverse());
    expect(await history.list('bob')).toHaveLength(3);
    expect(await history.list('carol')).toEqual([other]);
    expect(cids(await history.list('alice', 2))).toEqual(newestFirst(records.slice(-2)));
    expect(await history.list('alice', 0)).toEqual([]);
  });

  it('defaults to 50 per account', async () => {
    const history = await open();
    const records = Array.from({ length: 60 }, () => call('alice', 'bob'));
    await recordAll(history, records);
    expect(cids(await history.list('alice'))).toEqual(newestFirst(records.slice(-50)));
  });

  it('orders by call start even when records arrive out of order, a tie going to the later-recorded one', async () => {
    const history = await open();
    const early = call('alice', 'bob');
    const late = call('alice', 'bob');
    const tie = { ...call('alice', 'bob'), startedAt: early.startedAt };
    await recordAll(history, [late, early, tie]);
    expect(cids(await history.list('alice'))).toEqual([late.cid, tie.cid, early.cid]);
  });

  it('replaces a cid recorded twice instead of listing it twice', async () => {
    const history = await open();
    const first = call('alice', 'bob');
    await recordAll(history, [first, { ...first, outcome: 'failed' }]);
    expect(await history.list('bob')).toEqual([{ ...first, outcome: 'failed' }]);
  });

  it('hands out copies that cannot edit what it stores', async () => {
    const history = await open();
    const original = call('alice', 'bob');
    const pending = history.record(original);
    // Changed before a queued write's turn: what is stored is what was handed in.
    original.outcome = 'missed';
    await pending;
    (await history.list('alice'))[0].outcome = 'busy';
    expect((await history.list('bob'))[0].outcome).toBe('completed');
  });

  it('lists a call to oneself once', async () => {
    const history = await open();
    const self = call('alice', 'alice');
    await history.record(self);
    expect(await history.list('alice')).toEqual([self]);
  });

  it("keeps every earlier completed call and other peers' missed calls through 500 canceled calls from one peer", async () => {
    const history = await open();
    const before: CallRecord[] = [];
    for (let i = 0; i < 15; i++) before.push(call(i % 2 ? 'alice' : 'bob', i % 2 ? 'bob' : 'alice'));
    before.push(call('carol', 'bob', 'missed'), call('dave', 'bob', 'canceled'), call('erin', 'bob', 'busy'));
    before.push(call('carol', 'bob', 'missed'), call('frank', 'bob', 'rejected'));
    const flood = Array.from({ length: 500 }, () => call('mallory', 'bob', 'canceled'));
    await recordAll(history, [...before, ...flood]);
    expect(cids(await history.list('bob'))).toEqual([
      ...newestFirst(flood.slice(-5)),
      ...newestFirst(before),
    ]);
    expect(cids(await history.list('mallory'))).toEqual(newestFirst(flood.slice(-5)));
    expect(await history.list('alice')).toHaveLength(15);
  });

  it('still caps each account: a flood from 500 different peers fills the free slots, never the answered ones', async () => {
    const history = await open({ perAccount: 50 });
    const completed = Array.from({ length: 20 }, (_, i) => call(`friend${i}`, 'bob'));
    const flood = Array.from({ length: 500 }, (_, i) => call(`sock${i}`, 'bob', 'canceled'));
    await recordAll(history, [...completed, ...flood]);
    const listed = await history.list('bob', 1000);
    expect(listed).toHaveLength(50);
    expect(cids(listed.filter((record) => record.outcome === 'completed'))).toEqual(newestFirst(completed));
    expect(cids(listed.filter((record) => record.outcome !== 'completed'))).toEqual(
      newestFirst(flood.slice(-30)),
    );
  });

  it('drops the oldest answered call only when an account holds nothing unanswered', async () => {
    const history = await open({ perAccount: 3 });
    const a = call('alice', 'bob');
    const b = call('alice', 'bob');
    const missed = call('carol', 'bob', 'missed');
    const c = call('alice', 'bob');
    await recordAll(history, [a, b, missed, c]);
    expect(cids(await history.list('bob'))).toEqual([c.cid, b.cid, a.cid]);
    const d = call('alice', 'bob');
    await history.record(d);
    expect(cids(await history.list('bob'))).toEqual([d.cid, c.cid, b.cid]);
    // Carol's own history is hers: bob's cap did not take the call out of it.
    expect(cids(await history.list('carol'))).toEqual([missed.cid]);
  });

  it('counts every unanswered outcome, both directions, against the per-peer allowance', async () => {
    const history = await open({ unansweredPerPeer: 2 });
    const outcomes: CallOutcome[] = ['missed', 'rejected', 'busy', 'failed'];
    const records = outcomes.map((outcome, i) =>
      i % 2 ? call('bob', 'alice', outcome) : call('alice', 'bob', outcome),
    );
    const kept = call('alice', 'bob');
    await recordAll(history, [...records, kept]);
    expect(cids(await history.list('bob'))).toEqual([kept.cid, records[3].cid, records[2].cid]);
    expect(cids(await history.list('alice'))).toEqual([kept.cid, records[3].cid, records[2].cid]);
  });

  it('replaces a re-recorded cid in place of adding it, so a repeat never uses a second slot', async () => {
    const history = await open({ unansweredPerPeer: 2 });
    const first = call('mallory', 'bob', 'canceled', 'same');
    const other = call('mallory', 'bob', 'canceled');
    await recordAll(history, [first, { ...first, outcome: 'missed' }, other]);
    expect((await history.list('bob')).map((record) => [record.cid, record.outcome])).toEqual([
      [other.cid, 'canceled'],
      ['same', 'missed'],
    ]);
  });

  it('treats accounts named like Object.prototype members, or holding key separators, as plain data', async () => {
    const history = await open();
    const names = ['__proto__', 'constructor', 'toString', 'a:b', '*'];
    const records = names.map((name, i) => call(name, names[(i + 1) % names.length]));
    await recordAll(history, records);
    expect(cids(await history.list('__proto__'))).toEqual([records[4].cid, records[0].cid]);
    expect(cids(await history.list('a:b'))).toEqual([records[3].cid, records[2].cid]);
    expect(await history.list('a')).toEqual([]);
    expect(await history.list('valueOf')).toEqual([]);
    expect(({} as Record<string, unknown>).cid).toBeUndefined();
  });

  it('lists the same as MemoryCallHistory whatever the sequence of calls', async () => {
    const accounts = ['a', 'b', 'c', '__proto__'];
    const step = fc.record({
      caller: fc.constantFrom(...accounts),
      callee: fc.constantFrom(...accounts),
      outcome: fc.constantFrom<CallOutcome>('completed', 'missed', 'canceled', 'failed'),
      // Repeated cids (a second end path) and equal start times (ties) both happen in practice.
      cid: fc.integer({ min: 0, max: 12 }),
      startedAt: fc.integer({ min: 0, max: 6 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        async (steps, perAccount, unansweredPerPeer) => {
          const oracle = new MemoryCallHistory({ perAccount, unansweredPerPeer });
          const history = await open({ perAccount, unansweredPerPeer });
          for (const s of steps) {
            const record = {
              ...call(s.caller, s.callee, s.outcome),
              cid: `c${s.cid}`,
              startedAt: s.startedAt,
            };
            oracle.record(record);
            await history.record(record);
          }
          for (const account of accounts) expect(await history.list(account)).toEqual(oracle.list(account));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses caps below 1', async () => {
    await expect(open({ perAccount: 0 })).rejects.toThrow(RangeError);
    await expect(open({ unansweredPerPeer: 1.5 })).rejects.toThrow(RangeError);
  });
});

describe('RedisCallHistory on several nodes', () => {
  it('lists, from either node, the calls the other one recorded', async () => {
    const prefix = freshPrefix();
    const node1 = await redisHistory({ prefix });
    const node2 = await redisHistory({ prefix });
    const first = call('alice', 'bob');
    const second = call('bob', 'carol', 'missed');
    await node1.record(first);
    await node2.record(second);
    for (const node of [node1, node2]) {
      expect(await node.list('bob')).toEqual([second, first]);
      expect(await node.list('alice')).toEqual([first]);
      expect(await node.list('carol')).toEqual([second]);
    }
  });

  it('loses no record when four nodes record into the same accounts at once', async () => {
    const prefix = freshPrefix();
    const nodes = await Promise.all(
      Array.from({ length: 4 }, () => redisHistory({ prefix, perAccount: 200 })),
    );
    const records = Array.from({ length: 120 }, (_, i) =>
      call(i % 3 ? 'alice' : 'bob', i % 3 ? 'bob' : 'alice'),
    );
    // Every node at once, each with its share: without an atomic update two nodes would write over each other.
    await Promise.all(records.map((record, i) => nodes[i % nodes.length].record(record)));
    const expected = newestFirst(records);
    for (const node of nodes) {
      expect(cids(await node.list('bob', 200))).toEqual(expected);
      expect(cids(await node.list('alice', 200))).toEqual(expected);
    }
  });

  it('shares a client with other commands and still loses nothing: the atomicity is not the connection', async () => {
    const client = new Redis(redis.url, { lazyConnect: true });
    opened.push({ close: () => client.disconnect() });
    await client.connect();
    const prefix = freshPrefix();
    const node1 = new RedisCallHistory({ redis: client, prefix, perAccount: 100 });
    const node2 = new RedisCallHistory({ redis: client, prefix, perAccount: 100 });
    const records = Array.from({ length: 60 }, () => call('alice', 'bob'));
    // Another user's transactions on the same connection, interleaved with the histories' writes.
    const others = Array.from({ length: 60 }, (_, i) => client.multi().set(`${prefix}other`, i).exec());
    await Promise.all([...records.map((record, i) => (i % 2 ? node1 : node2).record(record)), ...others]);
    expect(cids(await node1.list('bob'))).toEqual(newestFirst(records));
    // Closing a history leaves a shared client to its owner.
    await node1.close();
    expect(client.status).toBe('ready');
  });

  it('keeps answered calls through a flood of unanswered calls from many peers on every node', async () => {
    const prefix = freshPrefix();
    const nodes = await Promise.all(Array.from({ length: 3 }, () => redisHistory({ prefix })));
    const completed = Array.from({ length: 20 }, (_, i) => call(`friend${i}`, 'bob'));
    await recordAll(nodes[0], completed);
    const flood = Array.from({ length: 300 }, (_, i) => call(`sock${i % 60}`, 'bob', 'canceled'));
    await Promise.all(flood.map((record, i) => nodes[i % nodes.length].record(record)));
    const listed = await nodes[1].list('bob');
    expect(listed).toHaveLength(50);
    expect(cids(listed.filter((record) => record.outcome === 'completed'))).toEqual(newestFirst(completed));
    // Whatever order the nodes' writes landed in, the free slots hold the newest of the flood.
    expect(cids(listed.filter((record) => record.outcome !== 'completed'))).toEqual(
      newestFirst(flood.slice(-30)),
    );
  });

  it('keeps its keys under the prefix, the account only ever at their end', async () => {
    const prefix = freshPrefix();
    const history = await redisHistory({ prefix });
    await history.record(call('a:b', '__proto__'));
    expect((await history.redis.keys(`${prefix}*`)).sort()).toEqual([
      `${prefix}history:__proto__`,
      `${prefix}history:a:b`,
    ]);
  });
});

describe('RedisCallHistory when Redis goes away', () => {
  const SECRET = 'history-redis-test-secret-0123456789-0123456';
  let server: Server | undefined;

  afterEach(async () => {
    // Closed while connected: a client closed while it is reconnecting would hold jest up for a while.
    await closeOpened();
    // Each test here kills or freezes Redis: the next one starts on a live one, even when this one failed
    // half way.
    await redis.restart();
    if (server) await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  /** The calls route over `history`, on a bare http server; resolves with GET /api/calls for `account`. */
  async function serveCalls(history: CallHistory): Promise<(account: string) => Promise<Response>> {
    const route = createCallsRoute({ tokens: new TokenVerifier({ secret: SECRET }), history });
    const http = createServer((req, res) => void route(req, res));
    server = http;
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    return (account) =>
      fetch(`${base}/api/calls`, { headers: { authorization: `Bearer ${mintToken(SECRET, account)}` } });
  }

  it('answers 503 while Redis is down, never crashes signalling, and works again once Redis is back', async () => {
    const history = await redisHistory();
    const log = { info: jest.fn(), warn: jest.fn() };
    const reporter = createCallEndReporter({ history, log });
    const get = await serveCalls(history);
    const before = call('alice', 'bob');
    await history.record(before);
    expect((await get('bob')).status).toBe(200);

    const closed = once(history.redis, 'close');
    await redis.kill('SIGKILL');
    await closed;

    await expect(history.list('bob')).rejects.toEqual(expect.objectContaining({ code: 503 }));
    await expect(history.list('bob')).rejects.toBeInstanceOf(NetcallError);
    const down = await get('bob');
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ code: 503, message: expect.stringContaining('unavailable') });
    await expect(history.record(call('alice', 'bob'))).rejects.toEqual(
      expect.objectContaining({ code: 503 }),
    );
    // Signalling's path: callEnded returns, the failure becomes a log line, nothing is left unhandled.
    const lost = call('alice', 'bob');
    expect(() => reporter.callEnded(lost)).not.toThrow();
    await reporter.settled();
    expect(log.warn).toHaveBeenCalledWith(
      expect.objectContaining({ cid: lost.cid, err: expect.stringContaining('unavailable') }),
      'call history: record failed',
    );

    await redis.restart();
    await history.connect(5000);
    // A fresh Redis (nothing is saved): empty, and recording again.
    expect(await history.list('bob')).toEqual([]);
    const after = call('alice', 'bob');
    reporter.callEnded(after);
    await reporter.settled();
    const res = await get('bob');
    expect(res.status).toBe(200);
    expect(cids(((await res.json()) as { calls: CallRecord[] }).calls)).toEqual([after.cid]);
  });

  it('answers 503 after timeoutMs when Redis stops answering, and recovers when it resumes', async () => {
    const history = await redisHistory({ timeoutMs: 200 });
    await history.record(call('alice', 'bob'));
    await redis.kill('SIGSTOP');
    try {
      await expect(history.list('bob')).rejects.toEqual(
        expect.objectContaining({ code: 503, message: expect.stringContaining('200 ms') }),
      );
      await expect(history.record(call('alice', 'bob'))).rejects.toEqual(
        expect.objectContaining({ code: 503 }),
      );
    } finally {
      await redis.kill('SIGCONT');
    }
    // Once it resumes it is as before; the record that timed out before writing anything is not there.
    expect(await history.list('alice')).toHaveLength(1);
  });

  it('rejects with 503 at once when constructed before Redis is reachable, then connects by itself', async () => {
    await redis.kill('SIGKILL');
    const history = new RedisCallHistory({ redis: redis.url, prefix: freshPrefix() });
    opened.push(history);
    await expect(history.list('bob')).rejects.toEqual(expect.objectContaining({ code: 503 }));
    await expect(history.connect(100)).rejects.toEqual(expect.objectContaining({ code: 503 }));
    await redis.restart();
    await history.connect(5000);
    await history.record(call('alice', 'bob'));
    expect(await history.list('bob')).toHaveLength(1);
  });
});

describe('startRedis', () => {
  it('kills its redis-server when the process that started it exits without stopping it', async () => {
    const script =
      "require('./test/helpers/redis').startRedis().then((r) => { console.log(r.port); process.exit(0); })";
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
      cwd: join(__dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    const port = Number(out.trim());
    expect(port).toBeGreaterThan(0);
    // SIGKILL was sent before the exit; the kernel closes the port a moment later.
    await eventually(async () => !(await accepts(port)), `redis-server on ${port} gone`);
  }, 60_000);

  it('fails with the reason when redis-server is not installed', async () => {
    await expect(startRedis({ command: 'redis-server-not-installed' })).rejects.toThrow(
      '`redis-server-not-installed` is not installed, and the Redis tests need a real one',
    );
  });
});
