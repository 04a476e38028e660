/**
 * The StateStore on Redis (ioredis), for several server nodes sharing one state: every node reads and writes
 * the same keys, so an account's devices, calls, rooms and the live directory are the same from every node.
 *
 * Consistency: every change a handler makes runs inside `exclusive()`, one cluster-wide lock (see
 * ClusterLock), so a handler's reads and writes are never interleaved with another node's. Each write is one
 * MULTI, so a node dying mid-write leaves either the old state or the new one. Reads outside `exclusive()`
 * (metrics, the directory, history pages) may see a state a moment old, never a half-written one.
 *
 * When Redis is down every method throws NetcallError 503 at once (no offline queue): a request gets a clear
 * "try again" instead of hanging, and ioredis keeps reconnecting in the background.
 *
 * Keys (under a prefix, `netcall:` by default): account names are user input, so they only ever appear at the
 * end of a key or as set members, never parsed back out of a key.
 */
import Redis, { type ChainableCommander, type RedisOptions } from 'ioredis';
import { Code, NetcallError } from '../../services/protocol';
import { nodeOf as nodeOfConn } from './ids';
import { ClusterLock } from './lock';
import type { CallState, RoomState, StateStore } from './types';

export interface RedisStoreOptions {
  url: string;
  /** Key prefix, so several deployments (or tests) can share one Redis. */
  prefix?: string;
  /** The lock's time to live: a node that dies holding it blocks the others this long at most. */
  lockTtlMs?: number;
  /** Default COMMAND_TIMEOUT_MS. */
  commandTimeoutMs?: number;
  /** Told when the connection to Redis is lost or back (health, metrics, logs). */
  onStatus?: (up: boolean, detail?: string) => void;
}

/** ioredis's own error when `commandTimeout` passed. */
export const isCommandTimeout = (error: unknown): boolean =>
  error instanceof Error && error.message === 'Command timed out';

const json = <T>(text: string | null): T | undefined => (text === null ? undefined : (JSON.parse(text) as T));

/** The longest a client of ours waits between attempts to reach Redis again. */
export const RECONNECT_MAX_MS = 1000;

/** How long a command may go unanswered by a Redis that is connected but silent (frozen, swapping). */
export const COMMAND_TIMEOUT_MS = 5000;

/**
 * Redis connection options every client of ours uses: fail fast while Redis is away, reconnect forever, and
 * never wait for good on a silent one (a section holding the cluster lock would hold every node with it).
 */
export function redisOptions(commandTimeout = COMMAND_TIMEOUT_MS): RedisOptions {
  return {
    commandTimeout,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // Capped backoff: a restarted Redis is found within a second, without hammering one that stays down.
    retryStrategy: (times: number) => Math.min(50 * times, RECONNECT_MAX_MS),
    lazyConnect: true,
  };
}

export class RedisStore implements StateStore {
  readonly redis: Redis;
  readonly prefix: string;
  private readonly lock: ClusterLock;
  private up = false;

  constructor(private readonly options: RedisStoreOptions) {
    this.prefix = options.prefix ?? 'netcall:';
    this.redis = new Redis(options.url, redisOptions(options.commandTimeoutMs));
    this.redis.on('ready', () => this.setUp(true));
    this.redis.on('close', () => this.setUp(false, 'connection closed'));
    this.redis.on('error', (error: Error) => this.setUp(false, error.message));
    this.lock = new ClusterLock(this.redis, `${this.prefix}lock`, options.lockTtlMs ?? 5000, () =>
      this.unavailable(),
    );
  }

  /** Connects; rejects when Redis cannot be reached, so a node never starts without its state. */
  async connect(): Promise<void> {
    await this.redis.connect();
  }

  isUp(): boolean {
    return this.up;
  }

  async close(): Promise<void> {
    this.lock.stop();
    this.redis.disconnect();
  }

  private setUp(up: boolean, detail?: string): void {
    if (this.up === up) return;
    this.up = up;
    this.options.onStatus?.(up, detail);
  }

  private unavailable(): NetcallError {
    return new NetcallError(Code.UNAVAILABLE, 'the state store (Redis) is unavailable; try again shortly');
  }

  /** Every command goes through here: a lost Redis becomes a 503, never a hang or a 500. */
  private async run<T>(op: () => Promise<T>): Promise<T> {
    if (this.redis.status !== 'ready') throw this.unavailable();
    try {
      return await op();
    } catch (error) {
      if (error instanceof NetcallError) throw error;
      if (this.redis.status !== 'ready' || isCommandTimeout(error)) throw this.unavailable();
      throw error;
    }
  }

  private async exec(build: (multi: ChainableCommander) => void): Promise<void> {
    await this.run(async () => {
      const multi = this.redis.multi();
      build(multi);
      const results = await multi.exec();
      const failed = results?.find(([error]) => error !== null);
      if (failed) throw failed[0] as Error;
    });
  }

  private k(...parts: string[]): string {
    return this.prefix + parts.join(':');
  }

  /** Runs `fn` holding the cluster-wide lock: its reads and writes see no other node's in between. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run(fn);
  }

  // Devices -----------------------------------------------------------------------------------------------

  async addDevice(account: string, connId: string): Promise<void> {
    await this.exec((m) =>
      m
        .sadd(this.k('dev', account), connId)
        .sadd(this.k('online'), account)
        .set(this.k('conn', connId), account)
        .sadd(this.k('nodeconns', nodeOfConn(connId)), connId),
    );
  }

  async removeDevice(account: string, connId: string): Promise<void> {
    await this.run(async () => {
      await this.exec((m) =>
        m
          .srem(this.k('dev', account), connId)
          .del(this.k('conn', connId))
          .srem(this.k('nodeconns', nodeOfConn(connId)), connId),
      );
      // Under the lock no device of this account is added in between.
      if ((await this.redis.scard(this.k('dev', account))) === 0)
        await this.redis.srem(this.k('online'), account);
    });
  }

  devicesOf(account: string): Promise<string[]> {
    return this.run(() => this.redis.smembers(this.k('dev', account)));
  }

  onlineCount(): Promise<number> {
    return this.run(() => this.redis.scard(this.k('online')));
  }

  /** The logged-in connections a node holds (its devices), with their accounts: what a dead node leaves. */
  async connsOfNode(node: string): Promise<Array<{ connId: string; account: string | null }>> {
    return this.run(async () => {
      const ids = await this.redis.smembers(this.k('nodeconns', node));
      if (ids.length === 0) return [];
      const accounts = await this.redis.mget(ids.map((id) => this.k('conn', id)));
      return ids.map((connId, i) => ({ connId, account: accounts[i] }));
    });
  }

  // Calls -------------------------------------------------------------------------------------------------

  async putCall(call: CallState): Promise<void> {
    // Caller and callee never change: the ring sets are kept without reading the old call back (SREM of a
    // member that is not there is a no-op).
    await this.run(async () => {
      await this.exec((m) => {
        m.set(this.k('call', call.cid), JSON.stringify(call)).sadd(this.k('calls'), call.cid);
        if (call.phase !== 'ringing') this.unring(m, call);
        if (call.phase === 'ringing')
          m.sadd(this.k('ring', 'to', call.callee), call.cid).sadd(
            this.k('ring', 'by', call.caller),
            call.cid,
          );
        m.sadd(this.k('conncalls', call.callerConn), call.cid);
        if (call.calleeConn) m.sadd(this.k('conncalls', call.calleeConn), call.cid);
      });
    });
  }

  private unring(m: ChainableCommander, call: CallState): void {
    m.srem(this.k('ring', 'to', call.callee), call.cid).srem(this.k('ring', 'by', call.caller), call.cid);
  }

  getCall(cid: string): Promise<CallState | undefined> {
    return this.run(async () => json<CallState>(await this.redis.get(this.k('call', cid))));
  }

  async deleteCall(cid: string): Promise<CallState | undefined> {
    return this.run(async () => {
      const call = json<CallState>(await this.redis.get(this.k('call', cid)));
      if (!call) return undefined;
      await this.exec((m) => {
        m.del(this.k('call', cid)).srem(this.k('calls'), cid);
        this.unring(m, call);
        for (const connId of [call.callerConn, call.calleeConn])
          if (connId) m.srem(this.k('conncalls', connId), cid);
      });
      return call;
    });
  }

  callsOfConn(connId: string): Promise<string[]> {
    return this.run(() => this.redis.smembers(this.k('conncalls', connId)));
  }

  private async callsIn(setKey: string): Promise<CallState[]> {
    const cids = await this.redis.smembers(setKey);
    return this.callsById(cids);
  }

  private async callsById(cids: string[]): Promise<CallState[]> {
    if (cids.length === 0) return [];
    const texts = await this.redis.mget(cids.map((cid) => this.k('call', cid)));
    return texts.flatMap((text) => (text === null ? [] : [JSON.parse(text) as CallState]));
  }

  ringingCallsFor(account: string): Promise<CallState[]> {
    return this.run(() => this.callsIn(this.k('ring', 'to', account)));
  }

  ringingCallsBy(account: string): Promise<CallState[]> {
    return this.run(() => this.callsIn(this.k('ring', 'by', account)));
  }

  allCalls(): Promise<CallState[]> {
    return this.run(() => this.callsIn(this.k('calls')));
  }

  callCount(): Promise<number> {
    return this.run(() => this.redis.scard(this.k('calls')));
  }

  async forgetConn(connId: string): Promise<void> {
    await this.run(() => this.redis.del(this.k('conncalls', connId)));
  }

  // Rooms -------------------------------------------------------------------------------------------------

  async putRoom(room: RoomState): Promise<void> {
    await this.run(async () => {
      const old = json<RoomState>(await this.redis.get(this.k('room', room.cid)));
      await this.exec((m) => {
        m.set(this.k('room', room.cid), JSON.stringify(room))
          .sadd(this.k('rooms'), room.cid)
          .set(this.k('roomname', room.channelName), room.cid);
        const conns = new Set(room.members.map((member) => member.connId));
        for (const member of old?.members ?? [])
          if (!conns.has(member.connId)) m.srem(this.k('connrooms', member.connId), room.cid);
        for (const connId of conns) m.sadd(this.k('connrooms', connId), room.cid);
        const invited = new Set(room.invitees.map((invitee) => invitee.account));
        for (const invitee of old?.invitees ?? [])
          if (!invited.has(invitee.account)) m.srem(this.k('inviting', invitee.account), room.cid);
        for (const account of invited) m.sadd(this.k('inviting', account), room.cid);
        if (old && old.createdBy !== room.createdBy)
          m.srem(this.k('ringroom', 'by', old.createdBy), room.cid);
        if (room.kind === 'call' && room.invitees.length > 0)
          m.sadd(this.k('ringroom', 'by', room.createdBy), room.cid);
        else m.srem(this.k('ringroom', 'by', room.createdBy), room.cid);
        if (room.live) m.zadd(this.k('live'), room.live.startedAt, room.cid);
        else m.zrem(this.k('live'), room.cid);
      });
    });
  }

  getRoom(cid: string): Promise<RoomState | undefined> {
    return this.run(async () => json<RoomState>(await this.redis.get(this.k('room', cid))));
  }

  roomByName(channelName: string): Promise<RoomState | undefined> {
    return this.run(async () => {
      const cid = await this.redis.get(this.k('roomname', channelName));
      return cid === null ? undefined : json<RoomState>(await this.redis.get(this.k('room', cid)));
    });
  }

  async deleteRoom(cid: string): Promise<RoomState | undefined> {
    return this.run(async () => {
      const room = json<RoomState>(await this.redis.get(this.k('room', cid)));
      if (!room) return undefined;
      const named = await this.redis.get(this.k('roomname', room.channelName));
      await this.exec((m) => {
        m.del(this.k('room', cid)).srem(this.k('rooms'), cid).zrem(this.k('live'), cid);
        if (named === cid) m.del(this.k('roomname', room.channelName));
        for (const member of room.members) m.srem(this.k('connrooms', member.connId), cid);
        for (const invitee of room.invitees) m.srem(this.k('inviting', invitee.account), cid);
        m.srem(this.k('ringroom', 'by', room.createdBy), cid);
      });
      return room;
    });
  }

  roomsOfConn(connId: string): Promise<string[]> {
    return this.run(() => this.redis.smembers(this.k('connrooms', connId)));
  }

  private async roomsById(cids: string[]): Promise<RoomState[]> {
    if (cids.length === 0) return [];
    const texts = await this.redis.mget(cids.map((cid) => this.k('room', cid)));
    return texts.flatMap((text) => (text === null ? [] : [JSON.parse(text) as RoomState]));
  }

  invitingRoomsFor(account: string): Promise<RoomState[]> {
    return this.run(async () => this.roomsById(await this.redis.smembers(this.k('inviting', account))));
  }

  /**
   * A kick, for nodes that start later: kept `ttlSeconds`, as long as a token issued before it could be valid.
   * One sorted set (score: the kick's time), so reading them is one range, not a walk over the keyspace.
   */
  async rememberKick(account: string, atSeconds: number, ttlSeconds: number): Promise<void> {
    await this.exec((m) =>
      m
        .zadd(this.k('kicked'), atSeconds, account)
        .zremrangebyscore(this.k('kicked'), '-inf', `(${atSeconds - ttlSeconds}`),
    );
  }

  /** The kicks kept, as [account, UNIX seconds] (an outdated one refuses no valid token). */
  kicks(): Promise<Array<[string, number]>> {
    return this.run(async () => {
      const flat = await this.redis.zrange(this.k('kicked'), 0, -1, 'WITHSCORES');
      const found: Array<[string, number]> = [];
      for (let i = 0; i < flat.length; i += 2) found.push([flat[i], Number(flat[i + 1])]);
      return found;
    });
  }

  ringingRoomsBy(account: string): Promise<RoomState[]> {
    return this.run(async () => this.roomsById(await this.redis.smembers(this.k('ringroom', 'by', account))));
  }

  allRooms(): Promise<RoomState[]> {
    return this.run(async () => this.roomsById(await this.redis.smembers(this.k('rooms'))));
  }

  roomCount(): Promise<number> {
    return this.run(() => this.redis.scard(this.k('rooms')));
  }

  /** Live rooms (the directory), by start time: the sorted set keeps the order, Redis does the sorting. */
  liveRooms(): Promise<RoomState[]> {
    return this.run(async () => this.roomsById(await this.redis.zrange(this.k('live'), 0, -1)));
  }

  // Devices that dropped, waiting for their grace period -----------------------------------------------

  /** `key` (a `${cid}/${account}`) waits for its device until `deadline` (ms since the epoch). */
  async markOrphan(key: string, deadline: number): Promise<void> {
    await this.run(() => this.redis.zadd(this.k('orphans'), deadline, key));
  }

  /** Takes the orphan: true for exactly one taker (the device that came back, or the timer that ends it). */
  claimOrphan(key: string): Promise<boolean> {
    return this.run(async () => (await this.redis.zrem(this.k('orphans'), key)) === 1);
  }

  async forgetOrphans(keys: string[]): Promise<void> {
    if (keys.length > 0) await this.run(() => this.redis.zrem(this.k('orphans'), ...keys));
  }

  /** Orphans whose grace period is over (their node may be gone with its timer): any node may end them. */
  expiredOrphans(now: number): Promise<string[]> {
    return this.run(() => this.redis.zrangebyscore(this.k('orphans'), 0, now));
  }

  // Counters (rate limits and caps shared by every node) ----------------------------------------------

  /**
   * Counts one hit of `key` in the last `windowMs`, unless `max` were already there: true when it counted.
   * A sorted set of hit times per key, trimmed on every hit, expiring with the window.
   */
  async tryHit(key: string, max: number, windowMs: number, now: number): Promise<boolean> {
    return this.run(async () => {
      const redisKey = this.k('hits', key);
      const result = (await this.redis.eval(
        TRY_HIT,
        1,
        redisKey,
        String(now - windowMs),
        String(max),
        String(now),
        String(windowMs),
        `${now}-${Math.random().toString(36).slice(2, 8)}`,
      )) as number;
      return result === 1;
    });
  }
}

/** Atomic: trim the window, refuse at `max`, else record this hit. */
const TRY_HIT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`;
