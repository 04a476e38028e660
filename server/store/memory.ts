/**
 * Where the server remembers who is online and which calls exist. Handlers decide, this remembers, the hub
 * delivers: keeping the three apart lets a Redis store replace this one without touching a handler.
 * Plain data only; no sockets, no timers. Account names are user input: they are Map keys and array
 * entries here, never plain-object properties (`__proto__` or `constructor` is an account like any other).
 */
import type { CallType, MediaMode } from '../../services/protocol';

export interface Member {
  account: string;
  uid: string;
  mode: MediaMode;
  connId: string;
  stream: string;
}

export type CallPhase = 'ringing' | 'accepted';

export interface CallState {
  cid: string;
  caller: string;
  callee: string;
  type: CallType;
  custom?: string;
  phase: CallPhase;
  callerConn: string;
  /** The callee device that answered; null while ringing. */
  calleeConn: string | null;
  /** Pre-assigned at call time, as NetEase's `accountUidMap`. */
  callerUid: string;
  calleeUid: string;
  /** Members that called startRtc (at most one per account). */
  members: Member[];
  createdAt: number;
  answeredAt?: number;
}

export class MemoryStore {
  private readonly devices = new Map<string, Set<string>>();
  private readonly calls = new Map<string, CallState>();
  private readonly callsByConn = new Map<string, Set<string>>();
  /** Calls still ringing: the caps and a lost callee ask about these on every call, so they are kept apart. */
  private readonly ringing = new Map<string, CallState>();

  addDevice(account: string, connId: string): void {
    let set = this.devices.get(account);
    if (!set) this.devices.set(account, (set = new Set()));
    set.add(connId);
  }

  removeDevice(account: string, connId: string): void {
    const set = this.devices.get(account);
    if (!set) return;
    set.delete(connId);
    if (set.size === 0) this.devices.delete(account);
  }

  devicesOf(account: string): string[] {
    return [...(this.devices.get(account) ?? [])];
  }

  onlineCount(): number {
    return this.devices.size;
  }

  putCall(call: CallState): void {
    this.calls.set(call.cid, call);
    if (call.phase === 'ringing') this.ringing.set(call.cid, call);
    else this.ringing.delete(call.cid);
    this.linkConn(call.callerConn, call.cid);
    if (call.calleeConn) this.linkConn(call.calleeConn, call.cid);
  }

  getCall(cid: string): CallState | undefined {
    return this.calls.get(cid);
  }

  deleteCall(cid: string): CallState | undefined {
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
  callsOfConn(connId: string): string[] {
    return [...(this.callsByConn.get(connId) ?? [])];
  }

  /** Ringing calls whose callee is this account (any device may still answer them). */
  ringingCallsFor(account: string): CallState[] {
    return [...this.ringing.values()].filter((call) => call.callee === account);
  }

  /** Ringing calls this account placed. */
  ringingCallsBy(account: string): CallState[] {
    return [...this.ringing.values()].filter((call) => call.caller === account);
  }

  allCalls(): CallState[] {
    return [...this.calls.values()];
  }

  callCount(): number {
    return this.calls.size;
  }

  forgetConn(connId: string): void {
    this.callsByConn.delete(connId);
  }

  private linkConn(connId: string, cid: string): void {
    let set = this.callsByConn.get(connId);
    if (!set) this.callsByConn.set(connId, (set = new Set()));
    set.add(cid);
  }
}
