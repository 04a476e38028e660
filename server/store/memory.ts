/**
 * The in-process StateStore (server/store/types.ts): who is online, the calls and the rooms, in maps with
 * the indexes the handlers ask by (a connection's calls and rooms, ringing calls by account, rooms by
 * name). Account names are user input: they are Map keys and array entries here, never plain-object
 * properties (`__proto__` or `constructor` is an account like any other).
 */
import { SlidingCounter } from './counter';
import type { CallState, RoomState, StateStore } from './types';

export type * from './types';

export class MemoryStore implements StateStore {
  private readonly devices = new Map<string, Set<string>>();
  private readonly calls = new Map<string, CallState>();
  private readonly callsByConn = new Map<string, Set<string>>();
  /**
   * Calls still ringing, by callee and by caller account: the caps and a lost callee ask about these on every
   * call, and a scan of every ringing call made a burst of calls quadratic.
   */
  private readonly ringingTo = new Index<CallState>();
  private readonly ringingBy = new Index<CallState>();
  private readonly rooms = new Map<string, RoomState>();
  private readonly roomsByName = new Map<string, string>();
  /** cid → the connections of its members, and back: what a dropped connection was in. */
  private readonly roomConns = new Map<string, Set<string>>();
  private readonly roomsByConn = new Map<string, Set<string>>();
  /** Group calls by the accounts they still ring, and by their creator while they ring anyone. */
  private readonly invitingTo = new Index<RoomState>();
  private readonly ringingRoomsOf = new Index<RoomState>();
  private readonly orphans = new Map<string, number>();
  /** Counters by window length: a SlidingCounter has one window. */
  private readonly counters = new Map<number, SlidingCounter>();

  async addDevice(account: string, connId: string): Promise<void> {
    let set = this.devices.get(account);
    if (!set) this.devices.set(account, (set = new Set()));
    set.add(connId);
  }

  async removeDevice(account: string, connId: string): Promise<void> {
    const set = this.devices.get(account);
    if (!set) return;
    set.delete(connId);
    if (set.size === 0) this.devices.delete(account);
  }

  async devicesOf(account: string): Promise<string[]> {
    return [...(this.devices.get(account) ?? [])];
  }

  async onlineCount(): Promise<number> {
    return this.devices.size;
  }

  async putCall(call: CallState): Promise<void> {
    this.calls.set(call.cid, call);
    const ringing = call.phase === 'ringing';
    this.ringingTo.put(call.cid, ringing ? [call.callee] : [], call);
    this.ringingBy.put(call.cid, ringing ? [call.caller] : [], call);
    this.linkConn(call.callerConn, call.cid);
    if (call.calleeConn) this.linkConn(call.calleeConn, call.cid);
  }

  async getCall(cid: string): Promise<CallState | undefined> {
    return this.calls.get(cid);
  }

  async deleteCall(cid: string): Promise<CallState | undefined> {
    const call = this.calls.get(cid);
    if (!call) return undefined;
    this.calls.delete(cid);
    this.ringingTo.remove(cid);
    this.ringingBy.remove(cid);
    for (const connId of [call.callerConn, call.calleeConn]) {
      if (connId) this.callsByConn.get(connId)?.delete(cid);
    }
    return call;
  }

  /** Calls a connection takes part in: as caller device, or as the callee device that answered. */
  async callsOfConn(connId: string): Promise<string[]> {
    return [...(this.callsByConn.get(connId) ?? [])];
  }

  /** Ringing calls whose callee is this account (any device may still answer them). */
  async ringingCallsFor(account: string): Promise<CallState[]> {
    return this.ringingTo.of(account);
  }

  /** Ringing calls this account placed. */
  async ringingCallsBy(account: string): Promise<CallState[]> {
    return this.ringingBy.of(account);
  }

  async allCalls(): Promise<CallState[]> {
    return [...this.calls.values()];
  }

  async callCount(): Promise<number> {
    return this.calls.size;
  }

  async forgetConn(connId: string): Promise<void> {
    this.callsByConn.delete(connId);
  }

  /** Stores a room (new or changed), keeping its name taken and its members' connections indexed. */
  async putRoom(room: RoomState): Promise<void> {
    this.rooms.set(room.cid, room);
    this.invitingTo.put(room.cid, [...new Set(room.invitees.map((i) => i.account))], room);
    const rings = room.kind === 'call' && room.invitees.length > 0;
    this.ringingRoomsOf.put(room.cid, rings ? [room.createdBy] : [], room);
    this.roomsByName.set(room.channelName, room.cid);
    this.unlinkRoom(room.cid);
    const conns = new Set(room.members.map((m) => m.connId));
    this.roomConns.set(room.cid, conns);
    for (const connId of conns) {
      let set = this.roomsByConn.get(connId);
      if (!set) this.roomsByConn.set(connId, (set = new Set()));
      set.add(room.cid);
    }
  }

  async getRoom(cid: string): Promise<RoomState | undefined> {
    return this.rooms.get(cid);
  }

  async roomByName(channelName: string): Promise<RoomState | undefined> {
    const cid = this.roomsByName.get(channelName);
    return cid === undefined ? undefined : this.rooms.get(cid);
  }

  /** Forgets a room: its name is free again. Returns it, or undefined when it was already gone. */
  async deleteRoom(cid: string): Promise<RoomState | undefined> {
    const room = this.rooms.get(cid);
    if (!room) return undefined;
    this.rooms.delete(cid);
    this.invitingTo.remove(cid);
    this.ringingRoomsOf.remove(cid);
    if (this.roomsByName.get(room.channelName) === cid) this.roomsByName.delete(room.channelName);
    this.unlinkRoom(cid);
    this.roomConns.delete(cid);
    return room;
  }

  /** Rooms a connection is a member of. */
  async roomsOfConn(connId: string): Promise<string[]> {
    return [...(this.roomsByConn.get(connId) ?? [])];
  }

  /** Group calls ringing this account. */
  async invitingRoomsFor(account: string): Promise<RoomState[]> {
    return this.invitingTo.of(account);
  }

  async ringingRoomsBy(account: string): Promise<RoomState[]> {
    return this.ringingRoomsOf.of(account);
  }

  async allRooms(): Promise<RoomState[]> {
    return [...this.rooms.values()];
  }

  async roomCount(): Promise<number> {
    return this.rooms.size;
  }

  /** Live rooms (the directory), by start time. */
  async liveRooms(): Promise<RoomState[]> {
    return [...this.rooms.values()]
      .filter((room) => room.live !== undefined)
      .sort((a, b) => a.live!.startedAt - b.live!.startedAt);
  }

  /** Nothing else runs between this process's awaits of a memory store: the section needs no lock. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  async markOrphan(key: string, deadline: number): Promise<void> {
    this.orphans.set(key, deadline);
  }

  async claimOrphan(key: string): Promise<boolean> {
    return this.orphans.delete(key);
  }

  async forgetOrphans(keys: string[]): Promise<void> {
    for (const key of keys) this.orphans.delete(key);
  }

  async expiredOrphans(now: number): Promise<string[]> {
    return [...this.orphans].filter(([, deadline]) => deadline <= now).map(([key]) => key);
  }

  async tryHit(key: string, max: number, windowMs: number, now: number): Promise<boolean> {
    let counter = this.counters.get(windowMs);
    if (!counter) this.counters.set(windowMs, (counter = new SlidingCounter(windowMs)));
    return counter.tryHit(key, max, now);
  }

  private unlinkRoom(cid: string): void {
    for (const connId of this.roomConns.get(cid) ?? []) {
      const set = this.roomsByConn.get(connId);
      set?.delete(cid);
      if (set?.size === 0) this.roomsByConn.delete(connId);
    }
  }

  private linkConn(connId: string, cid: string): void {
    let set = this.callsByConn.get(connId);
    if (!set) this.callsByConn.set(connId, (set = new Set()));
    set.add(cid);
  }
}

/**
 * Entries by account, each under the accounts it was last put with: handlers change a call or room in place
 * before they put it back, so the accounts to unlink are remembered here, not read from the changed object.
 * An account with no entry has no key, so memory follows what is live.
 */
class Index<T> {
  private readonly byAccount = new Map<string, Map<string, T>>();
  private readonly accountsOf = new Map<string, string[]>();

  /** Files `value` under exactly `accounts` (none: forgets it). */
  put(cid: string, accounts: string[], value: T): void {
    this.remove(cid);
    if (accounts.length === 0) return;
    this.accountsOf.set(cid, accounts);
    for (const account of accounts) {
      let entries = this.byAccount.get(account);
      if (!entries) this.byAccount.set(account, (entries = new Map()));
      entries.set(cid, value);
    }
  }

  remove(cid: string): void {
    for (const account of this.accountsOf.get(cid) ?? []) {
      const entries = this.byAccount.get(account);
      entries?.delete(cid);
      if (entries?.size === 0) this.byAccount.delete(account);
    }
    this.accountsOf.delete(cid);
  }

  of(account: string): T[] {
    const entries = this.byAccount.get(account);
    return entries ? [...entries.values()] : [];
  }
}
