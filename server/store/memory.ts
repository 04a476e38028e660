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
  /** Calls still ringing: the caps and a lost callee ask about these on every call, so they are kept apart. */
  private readonly ringing = new Map<string, CallState>();
  private readonly rooms = new Map<string, RoomState>();
  private readonly roomsByName = new Map<string, string>();
  /** cid → the connections of its members, and back: what a dropped connection was in. */
  private readonly roomConns = new Map<string, Set<string>>();
  private readonly roomsByConn = new Map<string, Set<string>>();
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
    if (call.phase === 'ringing') this.ringing.set(call.cid, call);
    else this.ringing.delete(call.cid);
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
    this.ringing.delete(cid);
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
    return [...this.ringing.values()].filter((call) => call.callee === account);
  }

  /** Ringing calls this account placed. */
  async ringingCallsBy(account: string): Promise<CallState[]> {
    return [...this.ringing.values()].filter((call) => call.caller === account);
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
    return [...this.rooms.values()].filter((room) => room.invitees.some((i) => i.account === account));
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
