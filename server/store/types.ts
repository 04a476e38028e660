/**
 * The server's state as plain data: who is online, the calls, the rooms with their members and invitees,
 * and the store interface that keeps them (`StateStore`; the in-process one is MemoryStore). Account names
 * are user input: a store keeps them as map keys and array entries, never as plain-object properties.
 */
import type { CallType, MediaMode, SessionConfig } from '../../services/protocol';

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

/**
 * A member's part in its room: every member of a plain room or group call is a `member` (on stage); a live
 * room has one `host`, its `cohost`s (host and co-hosts are the stage, the RTC session) and its `audience`
 * (off stage: never in RTC, they play the mixed live stream).
 */
export type MemberRole = 'host' | 'cohost' | 'audience' | 'member';

/** One member of a room: a device that joined (or answered a group call), in the RTC session once it pushes. */
export interface RoomMember {
  account: string;
  uid: string;
  connId: string;
  role: MemberRole;
  /** Set by startRtc: what it pushes, and where. */
  rtc: { mode: MediaMode; stream: string } | null;
  joinedAt: number;
}

/** An account a group call rings (every device of it), not yet in. */
export interface Invitee {
  account: string;
  /** Pre-assigned, so `accountUidMap` names everyone the call rings. */
  uid: string;
  invitedAt: number;
}

/** A co-host request (from an audience member to the host) or invite (from the host to one), until answered. */
export interface PendingCoHost {
  account: string;
  at: number;
  /** Past this it is refused as `timeout`, and answering it is 404. */
  expiresAt: number;
}

/** What makes a room live: the host's settings, the stage's approvals and the audience's numbers. */
export interface LiveRoomState {
  /** The host's account: the room's creator, who joined it with liveEnable. */
  host: string;
  sessionConfig: SessionConfig;
  /** The mixed live stream's name on the media plane. */
  stream: string;
  /** When the host joined. */
  startedAt: number;
  /** Whether the mix was started (the host's first startRtc). */
  mixing: boolean;
  /** Audience requests waiting for the host. */
  requests: PendingCoHost[];
  /** Host invites waiting for an audience member. */
  invites: PendingCoHost[];
  /** Audience members whose request or invite was accepted: with `stageApproval`, only they may go on stage. */
  approved: string[];
  peakAudience: number;
  /** The last `audienceCount` sent, and when: members hear it at most once a second. */
  audienceNoticed: number;
  audienceNoticedAt: number;
}

/**
 * A room (NetEase's multi-person channel): created by name, joined by name. A group call is a room of its own
 * (`kind: 'call'`), made by `call()` with several callees, joined only by answering its ring.
 */
export interface RoomState {
  cid: string;
  channelName: string;
  custom: string;
  kind: 'room' | 'call';
  /** The group call's type; a plain room's members each choose theirs. */
  type: CallType;
  capacity: number;
  createdBy: string;
  createdAt: number;
  members: RoomMember[];
  /** Group calls only: accounts still ringing. */
  invitees: Invitee[];
  /** A live room (its creator joined with liveEnable); absent for a plain room or group call. */
  live?: LiveRoomState;
}

/**
 * What the server remembers, behind one interface: handlers decide, the store remembers, the hub delivers.
 * Every change goes through a method here (a handler that changes a room or a call writes it back with
 * `putRoom` / `putCall`), so another store (Redis, for more than one node) can replace the memory one
 * without touching a handler. Plain data only: no sockets, no timers.
 *
 * Every method answers with a promise: a networked store does I/O for each. What a caller read may be stale
 * after its next await (another connection, a timer or another node may have changed it), so timers re-read
 * what they act on. `deleteCall` and `deleteRoom` hand the state to one caller only: that is what makes a call
 * or a room end exactly once.
 */
export interface StateStore {
  addDevice(account: string, connId: string): Promise<void>;
  removeDevice(account: string, connId: string): Promise<void>;
  devicesOf(account: string): Promise<string[]>;
  onlineCount(): Promise<number>;
  putCall(call: CallState): Promise<void>;
  getCall(cid: string): Promise<CallState | undefined>;
  deleteCall(cid: string): Promise<CallState | undefined>;
  /** Calls a connection takes part in: as caller device, or as the callee device that answered. */
  callsOfConn(connId: string): Promise<string[]>;
  /** Ringing calls whose callee is this account (any device may still answer them). */
  ringingCallsFor(account: string): Promise<CallState[]>;
  /** Ringing calls this account placed. */
  ringingCallsBy(account: string): Promise<CallState[]>;
  allCalls(): Promise<CallState[]>;
  callCount(): Promise<number>;
  forgetConn(connId: string): Promise<void>;
  /** Stores a room (new or changed), keeping its name taken and its members' connections indexed. */
  putRoom(room: RoomState): Promise<void>;
  getRoom(cid: string): Promise<RoomState | undefined>;
  roomByName(channelName: string): Promise<RoomState | undefined>;
  /** Forgets a room: its name is free again. Returns it, or undefined when it was already gone. */
  deleteRoom(cid: string): Promise<RoomState | undefined>;
  /** Rooms a connection is a member of. */
  roomsOfConn(connId: string): Promise<string[]>;
  /** Group calls ringing this account. */
  invitingRoomsFor(account: string): Promise<RoomState[]>;
  /** Group calls this account placed that still ring someone (its ringing cap counts them). */
  ringingRoomsBy(account: string): Promise<RoomState[]>;
  allRooms(): Promise<RoomState[]>;
  roomCount(): Promise<number>;
  /** Live rooms (the directory), by start time. */
  liveRooms(): Promise<RoomState[]>;
  /**
   * Runs `fn` so that no other change to the state (a request, a timer, another node) comes between its reads
   * and its writes. Every request, close and timer of signalling runs in one. In one process a store whose
   * methods do no I/O needs nothing more (its awaits interleave nothing); a shared store takes a lock.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * A device dropped and its place in call or room `key` (`${cid}/${account}`) waits for it until `deadline`
   * (ms since the epoch): the device may come back on any node and claim it.
   */
  markOrphan(key: string, deadline: number): Promise<void>;
  /** Takes the place: true for exactly one taker (the device that came back, or whoever ends it). */
  claimOrphan(key: string): Promise<boolean>;
  /** Takes every one of these places still waiting (its call or room ended): one round trip, however many. */
  forgetOrphans(keys: string[]): Promise<void>;
  /** Places whose deadline passed (the node whose timer should have ended them may be gone). */
  expiredOrphans(now: number): Promise<string[]>;
  /**
   * Counts one hit of `key` in the last `windowMs` unless `max` are there already: false when refused. Rate
   * limits and caps that must hold across nodes (calls per pair, room messages) count here.
   */
  tryHit(key: string, max: number, windowMs: number, now: number): Promise<boolean>;
  /** Several nodes: the logged-in connections a node holds (`<node>.<n>` ids), for taking over a dead one. */
  connsOfNode?(node: string): Promise<Array<{ connId: string; account: string | null }>>;
}
