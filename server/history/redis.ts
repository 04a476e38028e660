/**
 * Call history in Redis, for several server nodes: every node records into and lists from the same keys, so
 * `GET /api/calls` is complete whichever node answers it. The retention rules are MemoryCallHistory's,
 * applied by `retainInto` to each account's list; this module only keeps the lists and makes their updates
 * atomic. It must never decide call state, and never hold signalling up: `record` fails fast instead of waiting.
 *
 * Atomicity is optimistic. A record reads the caller's and the callee's lists with their revisions, applies
 * the retention rules here, and writes both back in one Lua script that first checks neither revision moved
 * (a compare-and-set over both keys). If one did, another node recorded in between: it starts over from a
 * fresh read. Not WATCH/MULTI: a WATCH belongs to the connection, and on a shared client (the state store's)
 * another MULTI's EXEC would silently drop it. A node writes its own records one at a time, so they never
 * conflict with each other; only other nodes' records can make it retry.
 *
 * When Redis is down or stops answering, `list` and `record` reject with NetcallError 503 at once (or after
 * `timeoutMs`): the calls route answers 503, the call-end reporter logs the lost record.
 *
 * Keys: `<prefix>history:<account>`, a hash { rev, calls: JSON list, newest first }. Account names are user
 * input: only ever the end of a key, never parsed back out of one.
 *
 * Start-up: `new RedisCallHistory({ redis: store.redis, prefix })` shares the state store's connection (the
 * store connects and closes it); `{ redis: url }` opens one of its own, closed by `close()`. Either way
 * `await history.connect()` waits until Redis answers (or rejects with the 503 error after `timeoutMs`).
 */
import { randomUUID } from 'crypto';
import Redis from 'ioredis';
import { Code, NetcallError } from '../../services/protocol';
import { redisOptions } from '../store/redis';
import { retainInto, retentionLimits, type MemoryCallHistoryOptions, type RetentionLimits } from './memory';
import { recordFields, type CallHistory, type CallRecord } from './record';

export interface RedisCallHistoryOptions extends MemoryCallHistoryOptions {
  /**
   * An ioredis client to share (the state store's, say; its owner connects and closes it), or a
   * `redis://` URL for a client of this history's own (connected at once, closed by `close()`).
   */
  redis: Redis | string;
  /** Key prefix, so several deployments (or tests) can share one Redis. Default `netcall:`. */
  prefix?: string;
  /**
   * Longest wait for one Redis command, in ms: a Redis that stopped answering costs a page or a record this
   * long, then a 503. Default 2000.
   */
  timeoutMs?: number;
}

/** Rounds of read, apply, compare-and-set before a record gives up; each lost round means another node won. */
const MAX_ATTEMPTS = 50;
/** Records queued on one node; past it a hung Redis costs new records, not the node's memory. */
const MAX_PENDING = 1000;

/**
 * KEYS: the accounts' lists. ARGV: each one's revision as read ('' when it had none), then each one's new
 * list, then the new revision. Writes all or nothing.
 */
const COMPARE_AND_SET = `
local n = #KEYS
for i = 1, n do
  if (redis.call('HGET', KEYS[i], 'rev') or '') ~= ARGV[i] then return 0 end
end
for i = 1, n do
  redis.call('HSET', KEYS[i], 'rev', ARGV[2 * n + 1], 'calls', ARGV[n + i])
end
return 1`;

const same = (record: CallRecord) => record;
const noop = () => undefined;

function parseList(text: string | null): CallRecord[] {
  if (text === null) return [];
  const list: unknown = JSON.parse(text);
  if (!Array.isArray(list)) throw new Error('call history: a list in Redis is not a JSON array');
  return list as CallRecord[];
}

/** Shared by every node on one Redis; same retention as `MemoryCallHistory`. */
export class RedisCallHistory implements CallHistory {
  readonly redis: Redis;
  readonly prefix: string;
  readonly perAccount: number;
  readonly unansweredPerPeer: number;
  private readonly limits: RetentionLimits;
  private readonly timeoutMs: number;
  private readonly ownsClient: boolean;
  /** The tail of this node's queue of writes. */
  private writing: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(options: RedisCallHistoryOptions) {
    this.limits = retentionLimits(options, 'RedisCallHistory');
    this.perAccount = this.limits.perAccount;
    this.unansweredPerPeer = this.limits.unansweredPerPeer;
    this.prefix = options.prefix ?? 'netcall:';
    this.timeoutMs = options.timeoutMs ?? 2000;
    if (!(this.timeoutMs > 0))
      throw new RangeError(`RedisCallHistory: timeoutMs must be > 0, got ${this.timeoutMs}`);
    if (typeof options.redis === 'string') {
      this.redis = new Redis(options.redis, redisOptions());
      this.ownsClient = true;
      // Failures reach callers as 503s; without a listener ioredis would print every reconnect attempt.
      this.redis.on('error', noop);
      // Now, not at first use: with no offline queue a client that never connected refuses every command.
      this.redis.connect().catch(noop);
    } else {
      this.redis = options.redis;
      this.ownsClient = false;
    }
  }

  /** Resolves once the client is connected; rejects with the 503 error after `timeoutMs` (it keeps trying). */
  connect(timeoutMs = this.timeoutMs): Promise<void> {
    if (this.redis.status === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const ready = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.redis.off('ready', ready);
        reject(this.unavailable(`not connected within ${timeoutMs} ms`));
      }, timeoutMs);
      this.redis.once('ready', ready);
    });
  }

  /** Disconnects a client of its own; a shared one is its owner's to close. */
  async close(): Promise<void> {
    if (this.ownsClient) this.redis.disconnect();
  }

  async record(entry: CallRecord): Promise<void> {
    // Copied now: the caller may change its object before this write's turn comes.
    const record = recordFields(entry);
    if (this.redis.status !== 'ready') throw this.unavailable();
    if (this.pending >= MAX_PENDING) throw this.unavailable(`${MAX_PENDING} records already waiting`);
    this.pending++;
    const job = this.writing.then(() => this.write(record));
    this.writing = job.then(noop, noop);
    try {
      await job;
    } finally {
      this.pending--;
    }
  }

  async list(account: string, limit = this.perAccount): Promise<CallRecord[]> {
    const text = await this.run(() => this.redis.hget(this.key(account), 'calls'));
    // Parsed on every read, so a reader cannot edit what another one gets.
    return parseList(text).slice(0, Math.max(0, limit));
  }

  private async write(record: CallRecord): Promise<void> {
    // A call to oneself is one list, as in MemoryCallHistory.
    const accounts = [...new Set([record.caller, record.callee])];
    const keys = accounts.map((account) => this.key(account));
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const read = await this.run(() =>
        Promise.all(keys.map((key) => this.redis.hmget(key, 'rev', 'calls'))),
      );
      const revisions = read.map(([rev]) => rev ?? '');
      const lists = read.map(([, calls], i) =>
        JSON.stringify(retainInto(parseList(calls), record, accounts[i], this.limits, same)),
      );
      const written = await this.run(() =>
        this.redis.eval(COMPARE_AND_SET, keys.length, ...keys, ...revisions, ...lists, randomUUID()),
      );
      if (written === 1) return;
      // Jittered and growing, so nodes that collided do not collide again in lockstep.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 100)));
    }
    throw new Error(
      `call history: ${record.cid} not recorded, other nodes changed its lists ${MAX_ATTEMPTS} times in a row`,
    );
  }

  /** Every command goes through here: a lost or silent Redis becomes a 503, never a hang or a 500. */
  private async run<T>(op: () => Promise<T>): Promise<T> {
    if (this.redis.status !== 'ready') throw this.unavailable();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(this.unavailable(`no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      timer.unref();
    });
    try {
      return await Promise.race([op(), timeout]);
    } catch (error) {
      if (error instanceof NetcallError) throw error;
      if (this.redis.status !== 'ready') throw this.unavailable();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private unavailable(detail = 'no connection'): NetcallError {
    return new NetcallError(
      Code.UNAVAILABLE,
      `call history (Redis) is unavailable (${detail}); try again shortly`,
    );
  }

  private key(account: string): string {
    return `${this.prefix}history:${account}`;
  }
}
