/**
 * `NimNetcall`: the `NetcallLike` engine over NetEase's weixin Netcall SDK (SDK77: `NIM_Web_Netcall_weixin`
 * v7.7.0, as shipped in NetEase's demo netease-im/NIM_Web_Weapp_Demo), so everything above `netcall/` runs
 * unchanged on NetEase's cloud. It owns the SDK's quirks and nothing else:
 *
 * - one SDK handler per event name, fanned out to any number of listeners (the SDK's `on` replaces and its
 *   `off` throws; ours does neither);
 * - `uid` / `cid` as strings in every payload and result (the SDK delivers numbers);
 * - repeated deliveries of one event dropped (the SDK can deliver twice, e.g. one P2P leave as two hangups);
 * - in P2P the peer's leave arrives as `hangup` only: a `clientLeave` for the peer is emitted first, so
 *   MediaRoster sees the same sequence as with our server;
 * - every rejection a `NetcallError` with a numeric code (nim-errors.ts); `switchMode` never throws
 *   synchronously;
 * - `call()` resolves `{cid, accountUidMap}` although the SDK resolves only the bare account → uid map.
 *
 * Rooms, mapped onto SDK77 (our API → SDK77):
 *
 * - `createChannel({channelName, custom?})` → `createChannel({channelName, custom})` (SDK77 forces
 *   `webrtcEnable: true`). It resolves the options it sent, never a channel id, so our result has `cid: ''`:
 *   the room's cid comes with `joinChannel`. A taken name is IM error 417, passed through as 417.
 * - `joinChannel({channelName, type, liveEnable?, sessionConfig?})` → `joinChannel({channelName, mode, role: 0,
 *   liveEnable})`, mode 1 (audio) for type 1 and 0 (audio+video) for type 2; `sessionConfig.rtmpRecord` →
 *   `rtmpRecord: 1`; `rtmpUrl`/`splitMode`/`layout` have no field in SDK77 and are refused (400). SDK77 joins
 *   the room over IM and then logs in to the media gateway itself (MEETING scene), so this resolves once the
 *   gateway answers that login: after the `syncDone` it produces (which the app gets as is), or rejects if the
 *   gateway refuses the member (`roomRefused`: 104, room full) or the login fails. While in a call or a room,
 *   409 (SDK77: `已经在房间中了`).
 * - `startRtc({mode})` in a room → nothing (the join already started media): resolves the join's
 *   `{uid, account, cid}`; a `mode` other than the join's → `switchMode(mode)`. No second `syncDone`.
 * - `leaveChannel()` → `leaveChannel()` (gateway logout; `未处于房间中` → 404). `hangup()` in a room leaves it.
 * - `control` in a room → `control({command, cid})`. SDK77 on the receiving side drops it (`_onNetcallControl`
 *   reads the current channel from `beCalledInfo`, which a room never sets): NetEase's weixin peers never hear
 *   room controls.
 * - `inviteToCall` → refused (400): SDK77 rings only when a call is placed.
 * - Events: IM `notifyJoin` → `joinChannel` with `channelId` (accounts already known are not announced
 *   twice). SDK77 has no leave notice in rooms: a member's gateway `clientLeave` becomes `leaveChannel` then
 *   `clientLeave`, once per account.
 *
 * Group calls: `call({callee: [accounts]})` → SDK77's team call (`call` with a callee array: IM `initNetcall`
 * with every account, rung with one cid). `beCalling.callees` is read from the `beCalled` packet's
 * `accountUidMap` (kept in the SDK's `beCalledInfo`); `callAccepted`/`callRejected` come per callee (a team
 * call survives a rejection). A team call's media runs in the gateway's P2P scene, where SDK77 ends the whole
 * call for every party as soon as anyone hangs up or leaves (`_onClientLeave` → `_invokeHangup` →
 * `_onNotifyHangup`, which leaves the gateway): each party gets `leaveChannel` (for a party that had joined),
 * `clientLeave` (if it was in media) and `hangup`, once. When every callee refused, the caller gets `hangup`
 * and the SDK's call is hung up (SDK77 would keep it dialing).
 *
 * Interactive live, mapped onto SDK77 (what NetEase's weixin SDK can do, and no more):
 *
 * - `joinChannel({liveEnable: true})` → `joinChannel({…, role: ROLE_HOST (0), liveEnable: 1})`: on NetEase a
 *   mini-program joins a live room as a player, the host or a co-host (连麦者, who "join the room by its name to
 *   go on stage", NetEase's interactive-live guide); the audience plays the host's CDN stream and never joins.
 *   The result's `role` is `host` when this instance created the room, else `cohost`; it has no `live` URLs
 *   (the pull addresses are the app's own CDN's, set through NetEase's console, not the SDK).
 * - `changeRoleToPlayer()` in a live room → resolves (every live member here is a player already).
 * - `changeRoleToAudience()`, the co-host flows (`requestCoHost`, `respondCoHost`, `inviteCoHost`,
 *   `respondCoHostInvite`, `removeCoHost`) and `sendRoomMessage` → 501: SDK77 has no role switch (SDK59's
 *   `changeRoleToAudience` was dropped), and NetEase carries co-host signalling and messages over IM custom
 *   notifications, which are the app's, not this SDK's. The directory and the server mix are our server's.
 * - `sessionConfig.stageApproval` (ours) has no field in SDK77: refused (400) like `rtmpUrl`.
 * - The gateway's `liveRoomClose` (raw `{cid, reason}`) → `liveRoomClose {cid, reason: String(reason)}`; the
 *   room is over, so the SDK's session is left (`leaveChannel`) and this instance is free again.
 *
 * It never imports the SDK (the instance is injected, typed by typings/nim-netcall.d.ts), never touches `wx`
 * and keeps no UI state.
 */
import type {
  NimJoinChannelOptions,
  NimNetcallEventMap,
  NimNetcallEventName,
  NimNetcallInstance,
  NimRtcUser,
} from '../../typings/nim-netcall';
import {
  Layout,
  Code,
  NetcallError,
  validateArgs,
  type BeCallingEvent,
  type CallArgs,
  type CallResult,
  type CoHostTargetArgs,
  type ControlArgs,
  type CreateChannelArgs,
  type CreateChannelResult,
  type HangupArgs,
  type InviteToCallArgs,
  type JoinChannelArgs,
  type JoinChannelResult,
  type KickedEvent,
  type LeaveChannelArgs,
  type LiveRole,
  type LiveRoomArgs,
  type MediaMode,
  type Op,
  type RespondCoHostArgs,
  type RespondCoHostInviteArgs,
  type ResponseArgs,
  type RtcUser,
  type SendRoomMessageArgs,
  type StartRtcArgs,
  type StartRtcResult,
  type SyncDoneEvent,
} from '../protocol';
import { defaultTimers, type Timers } from '../platform/primitives';
import { Emitter } from './netcall';
import { numericCode, toNetcallError } from './nim-errors';
import type { LiveNetcallLike, NetcallEvents } from './types';

export { toNetcallError } from './nim-errors';

const CO_HOST_SIGNALLING =
  'NetEase carries co-host requests and invites over its IM (custom notifications), not its netcall SDK; ' +
  'a co-host joins the live room directly';

function notSupported(op: string, why: string): NetcallError {
  return new NetcallError(NOT_SUPPORTED, `${op}: not supported on NetEase's engine: ${why}`);
}

export interface NimNetcallOptions {
  /** An instance from `NetcallWeixin.getInstance({nim})`. */
  sdk: NimNetcallInstance;
  /** The NIM account the SDK instance is logged in with (the SDK does not expose it reliably). */
  account: string;
  timers?: Timers;
  /** Repeats of one event within this many ms are dropped. The SDK's duplicates come a tick apart. */
  dedupeWindowMs?: number;
}

/** The gateway kicked or refused me (with the room's cid); the SDK destroys the session right after. */
export interface NimKickedEvent extends KickedEvent {
  cid: string;
}
/** `syncDone` plus the SDK's `connectCount` (login attempts this answer took: 1 when the first succeeded). */
export interface NimSyncDoneEvent extends SyncDoneEvent {
  connectCount: number;
}

export interface NimNetcallEvents extends NetcallEvents {
  syncDone: NimSyncDoneEvent;
  kicked: NimKickedEvent;
}

const DEFAULT_DEDUPE_WINDOW_MS = 1000;
/** Calls remembered as ended or ringing; a bound, since a long-lived instance sees many calls. */
const ENDED_MEMORY = 64;

/** `p2p`: a 1:1 call; `team`: SDK77's team call (a group call); `meeting`: a room joined by name. */
type SessionKind = 'p2p' | 'team' | 'meeting';

/** The sessionConfig fields SDK77's `joinChannel` has no way to pass on. */
const UNSUPPORTED_SESSION_CONFIG = ['rtmpUrl', 'splitMode', 'layout', 'stageApproval'] as const;
/** What NetEase's weixin SDK cannot do at all (HTTP's "Not Implemented"); `Code.NOT_SUPPORTED`. */
export const NOT_SUPPORTED = Code.NOT_SUPPORTED;
/** Room names this instance created, remembered to tell a live room's host (its creator) from a co-host. */
const CREATED_MEMORY = 16;

/** The SDK sends channel ids as IM `long`s; a cid we handed out as a string goes back as a number. */
function toSdkId(id: string | number): string | number {
  const number = Number(id);
  return typeof id === 'string' && /^\d+$/.test(id) && Number.isSafeInteger(number) ? number : id;
}

const idOf = (value: unknown): string => (value === undefined || value === null ? '' : String(value));

function uidMap(map: Record<string, number> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [account, uid] of Object.entries(map ?? {})) out[account] = String(uid);
  return out;
}

/** An account → uid map as the IM server sends it: an object of integer uids (IM `StrLongMap`). */
function isUidMap(value: unknown): value is Record<string, number> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((uid) => numericCode(uid) !== null)
  );
}

function toRtcUser(item: Partial<NimRtcUser> & { accid?: string }): RtcUser {
  return {
    account: idOf(item.account ?? item.accid),
    uid: idOf(item.uid),
    mode: (item.mode ?? 0) as MediaMode,
    // An audience member's own entry has `url: null`: MediaRoster reads '' as "no pusher".
    url: item.url ? String(item.url) : '',
  };
}

/** Our protocol's own argument rules, so both engines refuse the same input with the same 400. */
function check(op: Op, args: unknown): void {
  const problem = validateArgs(op, args);
  if (problem) throw new NetcallError(Code.BAD_REQUEST, `${op}: ${problem}`);
}

/** Keeps at most ENDED_MEMORY entries, dropping the oldest. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > ENDED_MEMORY) map.delete(map.keys().next().value as string);
}

type SdkHandlers = { [K in NimNetcallEventName]?: (payload: NimNetcallEventMap[K]) => void };

interface PendingJoin {
  resolve(): void;
  reject(error: NetcallError): void;
}

export class NimNetcall extends Emitter<NimNetcallEvents> implements LiveNetcallLike {
  readonly account: string;
  /**
   * The wrapped SDK instance, for its constants and `getStatus()`. Listen here, not there: the SDK's `on`
   * would replace this wrapper's handler (one per event). Its `once` keeps a slot of its own and leaves ours
   * alone, but holds one listener per event and throws from a timer if two events come before it fires.
   */
  readonly sdk: NimNetcallInstance;
  /** The call or room this instance is in: dialing, answered, or joined. */
  cid: string | null = null;

  private readonly timers: Timers;
  private readonly windowMs: number;
  private sessionKind: SessionKind | null = null;
  private selfUid: string | null = null;
  /** The cid of the media session (startRtc / joinChannel), stamped onto `syncDone`, which has none. */
  private rtcCid: string | null = null;
  /** Peers in the media session, account → uid: what a P2P `hangup` must turn into a `clientLeave`. */
  private readonly peers = new Map<string, string>();
  /**
   * Other parties known to be in the room or team call, account → uid ('' while unknown): who a leave is
   * announced for. Fed by the join result, notices, `callAccepted`, `syncDone` and `clientJoin`.
   */
  private readonly members = new Map<string, string>();
  /** Room members announced with `joinChannel` or there before me: a repeated notice is not news. */
  private readonly announced = new Map<string, string>();
  /** Team call, caller side: callees still ringing. */
  private readonly invited = new Set<string>();
  /** Team call: every party's uid, as the call's `accountUidMap` has it. */
  private teamUids: Record<string, string> = {};
  /** The room joined: the media mode its gateway login used and the identity startRtc answers with. */
  private room: { mode: MediaMode; identity: StartRtcResult } | null = null;
  /** A join waiting for the gateway's answer to its login. */
  private pendingJoin: PendingJoin | null = null;
  /** Why the gateway refused the pending join (`kicked`); the join fails with it at the `disconnect` after. */
  private joinRefusal: NetcallError | null = null;
  /**
   * Media events of a joined room held until the app calls `startRtc` (then released in order), so that an
   * app sees what it sees on our server, where media starts with startRtc: nothing media before it.
   */
  private held: (() => void)[] | null = null;
  /** The held events a release is scheduled for. */
  private releasing: (() => void)[] | null = null;
  /** Team calls ringing this device, cid → the call's account → uid map (from the SDK's `beCalledInfo`). */
  private readonly ringing = new Map<string, Record<string, string>>();
  /** Bumped on each new media session and each reconnect, so a legitimate repeated `syncDone` is new. */
  private gatewayEpoch = 0;
  private readonly recent = new Map<string, number>();
  private lastControl: { key: string; at: number } | null = null;
  /** Set between `willreconnect` and the next good `syncDone`. */
  private reconnectAttempt: number | null = null;
  /** `cid|account` of hangups already reported. */
  private readonly ended: string[] = [];
  /** Sessions this instance has ended (the call is over for me: later leaves and hangups of it are not news). */
  private readonly endedCids = new Map<string, true>();
  private readonly subscribed: NimNetcallEventName[] = [];
  private disposed = false;
  /** Rooms created here, by name: joining one live makes this instance its host. */
  private readonly created = new Map<string, true>();
  /** The live room joined (a room joined with liveEnable): my role in it. */
  private liveRole: LiveRole | null = null;

  constructor(options: NimNetcallOptions) {
    super();
    if (!options || !options.sdk || typeof options.sdk.on !== 'function' || !options.account)
      throw new NetcallError(Code.BAD_REQUEST, 'NimNetcall needs an SDK instance and its account');
    this.sdk = options.sdk;
    this.account = options.account;
    this.timers = options.timers ?? defaultTimers;
    this.windowMs = options.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS;
    for (const name of Object.keys(this.handlers) as NimNetcallEventName[]) {
      // Exactly one handler per event on the SDK: ours. Listeners fan out from the Emitter.
      this.sdk.on(name, this.handlers[name] as never);
      this.subscribed.push(name);
    }
  }

  /** Unhooks from the SDK (its `off` throws for a missing handler, so each is guarded). Listeners stay. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const name of this.subscribed.splice(0)) {
      try {
        this.sdk.off(name);
      } catch {
        // Someone else already replaced or removed our handler: nothing left to undo.
      }
    }
  }

  /** A callee: a 1:1 call. An array: SDK77's team call, one cid ringing every callee. */
  async call(options: CallArgs): Promise<CallResult> {
    const list = Array.isArray(options.callee) ? options.callee : null;
    if (list) {
      check('call', options);
      if (list.includes(this.account)) throw new NetcallError(Code.BAD_REQUEST, 'call: cannot call yourself');
    }
    // An array is a team call to SDK77 (`callee.constructor === Array`) and a group call on our server, even
    // of one callee.
    const team = list !== null;
    const callee = list === null ? options.callee : [...list];
    const args: Parameters<NimNetcallInstance['call']>[0] = { type: options.type, callee };
    if (options.forceKeepCalling !== undefined) args.forceKeepCalling = options.forceKeepCalling;
    if (options.pushConfig !== undefined) args.pushConfig = options.pushConfig;
    const result: unknown = await this.invoke('call', () => this.sdk.call(args));
    // SDK77 resolves the bare map (`initNetcall` → `Promise.resolve(e.accountUidMap)`); older builds and
    // mocks written for them resolve `{accountUidMap}`. Either way, at least caller and callee.
    const map = isUidMap(result)
      ? result
      : isUidMap((result as { accountUidMap?: unknown } | null)?.accountUidMap)
        ? (result as { accountUidMap: Record<string, number> }).accountUidMap
        : null;
    const cid = this.outgoingCid();
    if (map === null || Object.keys(map).length === 0 || cid === null) {
      // The call was placed: leave it ringing and the callee rings on and the next call() is refused (409).
      await this.invoke('hangup', () => this.sdk.hangup()).catch(() => undefined);
      throw new NetcallError(
        Code.INTERNAL,
        cid === null
          ? 'call: the SDK exposes no cid for the call it placed'
          : 'call: the SDK resolved without an account → uid map',
      );
    }
    this.startSession(cid, team ? 'team' : 'p2p');
    const accountUidMap = uidMap(map);
    if (team) {
      this.teamUids = accountUidMap;
      for (const account of list!) this.invited.add(account);
    }
    return { cid, accountUidMap };
  }

  /** `options.reason` (our extension) has no field in NetEase's IM `calleeAck` and is not sent. */
  async response(options: ResponseArgs): Promise<void> {
    const cid = String(options.cid);
    await this.invoke('response', () =>
      this.sdk.response({
        caller: options.caller,
        accepted: options.accepted,
        type: options.type,
        cid: toSdkId(cid),
      }),
    );
    if (!options.accepted) return;
    const team = this.ringing.get(cid);
    this.startSession(cid, team ? 'team' : 'p2p');
    if (team) {
      this.teamUids = team;
      // The caller is in its call from the start, as on our server.
      this.members.set(options.caller, team[options.caller] ?? '');
    }
  }

  /**
   * Hangs up the current call, or leaves the current room. The SDK can hang up only the current one, so
   * another cid gets 404. `options.reason` (our extension) has no field in NetEase's IM hangup and is not sent.
   */
  async hangup(options: HangupArgs = {}): Promise<void> {
    const cid = options.cid === undefined ? this.cid : String(options.cid);
    if (cid !== null && this.cid !== null && cid !== this.cid)
      throw new NetcallError(Code.NOT_FOUND, `hangup: ${cid} is not the current call`);
    if (this.sessionKind === 'meeting') return this.leaveChannel();
    try {
      await this.invoke('hangup', () => this.sdk.hangup());
    } finally {
      this.endSession();
    }
  }

  /**
   * Starts media for the current call. In a room, media started with the join (SDK77 logs in to the gateway
   * itself): this resolves the join's identity, switching the mode first if `mode` differs from the join's.
   */
  async startRtc(options: StartRtcArgs): Promise<StartRtcResult> {
    const cid = options.cid === undefined ? this.cid : String(options.cid);
    if (this.cid === null || cid !== this.cid)
      throw new NetcallError(Code.NOT_FOUND, `startRtc: ${cid ?? 'no call'} is not the current call`);
    if (this.room) {
      if (options.mode !== this.room.mode) {
        await this.switchMode(options.mode);
        if (this.room) this.room.mode = options.mode;
      }
      const identity = { ...this.room.identity };
      this.releaseHeld();
      return identity;
    }
    // syncDone carries no cid; name it before the gateway can answer.
    this.openMedia(cid);
    const result = await this.invoke('startRtc', () => this.sdk.startRtc({ mode: options.mode }));
    return this.adoptIdentity(result);
  }

  async control(options: ControlArgs): Promise<void> {
    const cid = options.cid === undefined ? this.cid : String(options.cid);
    await this.invoke('control', () =>
      this.sdk.control(
        cid === null ? { command: options.command } : { command: options.command, cid: toSdkId(cid) },
      ),
    );
  }

  /** Guards the type first: the SDK throws synchronously on a non-number (`switchMode: 入参类型必须为Number`). */
  async switchMode(mode: MediaMode): Promise<void> {
    if (typeof mode !== 'number' || ![0, 1, 2, 3].includes(mode))
      throw new NetcallError(Code.BAD_REQUEST, `switchMode: mode must be 0, 1, 2 or 3, got ${String(mode)}`);
    await this.invoke('switchMode', () => this.sdk.switchMode(mode));
  }

  /**
   * Creates a room by name; 417 when the name is taken. `cid` is '': SDK77 resolves the options it sent
   * (NetEase's IM SDK resolves a command with them; the IM answer holds only a timetag), and a room's cid is
   * first known when someone joins it.
   */
  async createChannel(options: CreateChannelArgs): Promise<CreateChannelResult> {
    check('createChannel', options);
    const custom = options.custom ?? '';
    await this.invoke('createChannel', () =>
      this.sdk.createChannel({ channelName: options.channelName, custom }),
    );
    remember(this.created, options.channelName, true);
    if (this.created.size > CREATED_MEMORY) this.created.delete(this.created.keys().next().value as string);
    return { channelName: options.channelName, cid: '', custom };
  }

  /** Joins a room by name and, as SDK77 does, its media session: resolves once the gateway has answered. */
  async joinChannel(options: JoinChannelArgs): Promise<JoinChannelResult> {
    check('joinChannel', options);
    const config = options.sessionConfig ?? {};
    const unsupported = UNSUPPORTED_SESSION_CONFIG.filter((key) => config[key] !== undefined);
    if (unsupported.length > 0)
      throw new NetcallError(
        Code.BAD_REQUEST,
        `joinChannel: NetEase's weixin SDK cannot set sessionConfig.${unsupported.join(', sessionConfig.')}`,
      );
    if (this.cid !== null || this.pendingJoin)
      throw new NetcallError(
        Code.CONFLICT,
        this.cid === null
          ? 'joinChannel: another join is under way'
          : `joinChannel: already in ${this.sessionKind === 'meeting' ? 'a room' : 'a call'} (${this.cid})`,
      );
    const mode: MediaMode = options.type === 1 ? 1 : 0;
    const sdkOptions: NimJoinChannelOptions = {
      channelName: options.channelName,
      mode,
      role: 0,
      liveEnable: options.liveEnable ? 1 : 0,
    };
    if (config.rtmpRecord) sdkOptions.rtmpRecord = 1;
    await this.clearStaleSignal();
    // Set before the SDK call: nothing the gateway says about this login may come unheard.
    const answered = new Promise<void>((resolve, reject) => (this.pendingJoin = { resolve, reject }));
    answered.catch(() => undefined);
    this.joinRefusal = null;
    this.held = [];
    let result;
    try {
      result = await this.invoke('joinChannel', () => this.sdk.joinChannel(sdkOptions));
    } catch (error) {
      this.pendingJoin = null;
      this.held = null;
      throw error;
    }
    const cid = idOf(result?.cid);
    const held = this.held;
    this.startSession(cid, 'meeting');
    this.held = held;
    const identity = this.adoptIdentity(result);
    this.openMedia(cid);
    this.room = { mode, identity };
    const accountUidMap = uidMap(result.accountUidMap);
    for (const [account, uid] of Object.entries(accountUidMap))
      if (account !== this.account) {
        this.members.set(account, uid);
        this.announced.set(account, uid);
      }
    try {
      await answered;
    } catch (error) {
      this.endSession();
      throw error;
    }
    const joined: JoinChannelResult = {
      channelName: options.channelName,
      cid,
      uid: identity.uid,
      account: identity.account,
      custom: result.custom ?? '',
      accountUidMap,
    };
    if (options.liveEnable) {
      this.liveRole = this.created.has(options.channelName) ? 'host' : 'cohost';
      joined.role = this.liveRole;
    }
    return joined;
  }

  /**
   * Leaves the current room (SDK77: gateway logout). In a group call this hangs up, which is how SDK77 leaves
   * a team call. Not in a room: 404.
   */
  async leaveChannel(options: LeaveChannelArgs = {}): Promise<void> {
    const cid = options.cid === undefined ? this.cid : String(options.cid);
    if (cid !== this.cid || this.sessionKind === 'p2p')
      throw new NetcallError(Code.NOT_FOUND, `leaveChannel: ${cid ?? 'no room'} is not the current room`);
    if (this.sessionKind === 'team') return this.hangup();
    const inRoom = this.cid !== null;
    try {
      await this.invoke('leaveChannel', () => this.sdk.leaveChannel());
    } finally {
      this.endSession();
    }
    // SDK77 keeps `signalInited` after a ring that was never answered, and then "leaves" without a room.
    if (!inRoom) throw new NetcallError(Code.NOT_FOUND, 'leaveChannel: not in a room');
  }

  // ---- interactive live: what SDK77 can do, and 501 for the rest -----------------------------------------

  /** Every live member is a player on NetEase's engine (joined with ROLE_HOST): nothing to change. */
  async changeRoleToPlayer(options: LiveRoomArgs = {}): Promise<void> {
    this.requireLiveRoom('changeRoleToPlayer', options);
  }

  /** SDK77 has no role switch: leave the room and play the CDN stream instead. */
  async changeRoleToAudience(options: LiveRoomArgs = {}): Promise<void> {
    this.requireLiveRoom('changeRoleToAudience', options);
    throw notSupported(
      'changeRoleToAudience',
      'SDK77 has no role switch (SDK59 had one); leave the room and play the live CDN stream instead',
    );
  }

  async requestCoHost(_options: LiveRoomArgs = {}): Promise<void> {
    throw notSupported('requestCoHost', CO_HOST_SIGNALLING);
  }

  async respondCoHost(_options: RespondCoHostArgs): Promise<void> {
    throw notSupported('respondCoHost', CO_HOST_SIGNALLING);
  }

  async inviteCoHost(_options: CoHostTargetArgs): Promise<void> {
    throw notSupported('inviteCoHost', CO_HOST_SIGNALLING);
  }

  async respondCoHostInvite(_options: RespondCoHostInviteArgs): Promise<void> {
    throw notSupported('respondCoHostInvite', CO_HOST_SIGNALLING);
  }

  async removeCoHost(_options: CoHostTargetArgs): Promise<void> {
    throw notSupported('removeCoHost', CO_HOST_SIGNALLING);
  }

  async sendRoomMessage(_options: SendRoomMessageArgs): Promise<void> {
    throw notSupported(
      'sendRoomMessage',
      "room messages travel over NetEase's IM (chat rooms or custom notifications), not its netcall SDK",
    );
  }

  /** The live room an op names: the current one, joined with liveEnable. */
  private requireLiveRoom(op: string, options: LiveRoomArgs): void {
    const cid = options?.cid === undefined ? this.cid : String(options.cid);
    if (this.cid === null || cid !== this.cid || this.sessionKind !== 'meeting')
      throw new NetcallError(Code.NOT_FOUND, `${op}: ${cid ?? 'no room'} is not the current room`);
    if (this.liveRole === null)
      throw new NetcallError(Code.BAD_REQUEST, `${op}: the current room was not joined with liveEnable`);
  }

  /** Our extension; SDK77 rings only when a call is placed, so NetEase's engine cannot. */
  async inviteToCall(options: InviteToCallArgs): Promise<void> {
    throw new NetcallError(
      Code.BAD_REQUEST,
      `inviteToCall: NetEase's weixin SDK cannot ring "${String(options?.callee)}" into a running team call ` +
        '(it rings only the callees of call())',
    );
  }

  // ---------------------------------------------------------------------------------------------------
  // SDK events → our events

  private readonly handlers: SdkHandlers = {
    beCalling: (raw) => {
      const cid = idOf(raw.cid);
      if (!this.fresh('beCalling', `${cid}|${raw.caller}`)) return;
      const event: BeCallingEvent = { caller: String(raw.caller), type: raw.type, cid };
      if (raw.custom !== undefined) event.custom = raw.custom;
      // The packet cannot tell a team call of one callee from a 1:1 call: that one rings as 1:1.
      const team = this.teamCallOf(cid);
      const callees = team ? Object.keys(team).filter((account) => account !== event.caller) : [];
      if (team && callees.length > 1) {
        remember(this.ringing, cid, team);
        event.callees = callees;
      }
      this.emit('beCalling', event);
    },
    callAccepted: (raw) => this.answer('callAccepted', raw),
    callRejected: (raw) => this.answer('callRejected', raw),
    callerAckSync: (raw) => {
      const cid = idOf(raw.cid);
      const timetag = Number(raw.timetag) || 0;
      if (!this.fresh('callerAckSync', `${cid}|${timetag}|${raw.accepted}`)) return;
      this.emit('callerAckSync', {
        timetag,
        cid,
        type: raw.type,
        accepted: Boolean(raw.accepted),
        fromClientType: idOf(raw.fromClientType),
      });
    },
    hangup: (raw) => this.onHangup(raw),
    control: (raw) => {
      const cid = idOf(raw.cid);
      const key = `${cid}|${raw.account}|${raw.command}`;
      // Compared with the last control only: "mic off, mic on, mic off" inside the window is three notices.
      const now = this.timers.now();
      if (this.lastControl && this.lastControl.key === key && now - this.lastControl.at <= this.windowMs)
        return;
      this.lastControl = { key, at: now };
      this.emit('control', { cid, account: String(raw.account), command: Number(raw.command) });
    },
    joinChannel: (raw) => {
      // IM `notifyJoin`, one event per account of its map, before their media arrives. Whether the map holds
      // the joiner only or the whole room, a member already known (or I) is not announced again.
      const cid = idOf(raw.cid);
      const account = String(raw.account);
      const uid = idOf(raw.uid);
      if (account === this.account) return;
      const current = cid === this.cid;
      if (current && this.announced.get(account) === uid) return;
      if (!this.fresh('joinChannel', `${cid}|${uid}`)) return;
      if (current) {
        this.announced.set(account, uid);
        this.members.set(account, uid);
      }
      this.emit('joinChannel', { account, uid, cid, channelId: cid });
    },
    syncDone: (raw) => {
      const cid = this.rtcCid ?? this.cid ?? '';
      const connectCount = Number(raw.connectCount) || 0;
      // Keyed by gateway epoch, not payload: a reconnect's syncDone may repeat the same list and count.
      if (!this.fresh('syncDone', `${cid}|${this.gatewayEpoch}|${connectCount}`)) return;
      const userlist = (raw.userlist ?? []).map(toRtcUser);
      const ok = Number(raw.code) === Code.OK;
      if (ok) {
        this.peers.clear();
        for (const user of userlist)
          if (!this.isSelf(user)) {
            this.peers.set(user.account, user.uid);
            if (this.sessionKind !== null) this.members.set(user.account, user.uid);
          }
        // Our engine says `reconnected` before the fresh syncDone of a rejoined session; so do we.
        if (this.reconnectAttempt !== null) this.emit('reconnected', { count: this.reconnectAttempt });
        this.reconnectAttempt = null;
      }
      const event = { code: Number(raw.code), errmsg: raw.errmsg ?? '', cid, userlist, connectCount };
      this.emitMedia(() => this.emit('syncDone', event));
      if (ok) this.settleJoin(null);
    },
    clientJoin: (raw) => {
      const user = toRtcUser(raw);
      const cid = idOf(raw.cid);
      if (!this.fresh('clientJoin', `${cid}|${user.uid}|${user.url}|${user.mode}`)) return;
      if (!this.isSelf(user)) {
        this.peers.set(user.account, user.uid);
        if (cid === this.cid) this.members.set(user.account, user.uid);
      }
      this.emitMedia(() => this.emit('clientJoin', { ...user, cid }));
    },
    clientLeave: (raw) => {
      const event = { cid: idOf(raw.cid), account: String(raw.account), uid: idOf(raw.uid) };
      if (!this.fresh('clientLeave', `${event.cid}|${event.uid}`)) return;
      if (this.peers.get(event.account) === event.uid) this.peers.delete(event.account);
      // SDK77 tells a room only this: the member's leave, announced first as our server does.
      if (this.sessionKind === 'meeting' && event.cid === this.cid && event.account !== this.account) {
        this.announced.delete(event.account);
        if (this.members.delete(event.account))
          this.emit('leaveChannel', { account: event.account, cid: event.cid, channelId: event.cid });
      }
      this.emitMedia(() => this.emit('clientLeave', event));
    },
    willreconnect: (raw) => {
      this.gatewayEpoch++;
      // The SDK counts attempts made before this one (0 for the first); ours numbers attempts from 1.
      this.reconnectAttempt = (Number(raw?.count) || 0) + 1;
      this.emit('willreconnect', { count: this.reconnectAttempt });
    },
    kicked: (raw) => {
      const body = ('body' in raw && raw.body ? raw.body : raw) as { cid?: unknown; reason?: unknown };
      if (this.pendingJoin) {
        // The gateway refused this login: the join fails, nothing was lost. SDK77 destroys the session right
        // after (`destroy()` → `disconnect`) and the join fails then, so that that disconnect is its own.
        const refused = (raw as { cmd?: unknown }).cmd === 'onRoomRefused';
        this.joinRefusal = refused
          ? new NetcallError(
              Code.ROOM_FULL,
              `joinChannel: the room refused this member (${idOf(body.reason)})`,
            )
          : new NetcallError(Code.FORBIDDEN, 'joinChannel: kicked by the media gateway while joining');
        return;
      }
      this.emit('kicked', { cid: idOf(body.cid), reason: idOf(body.reason) });
    },
    disconnect: (raw) => {
      const code = Number(raw?.code);
      // The SDK closes its media gateway "normally" (code '0') after every hangup, reject or leave: that is
      // the end of a session the app already knows about, not a lost connection, which is what our
      // `disconnect` means. Only abnormal closes are forwarded.
      if (code === 0) return;
      const event = { code: Number.isFinite(code) ? code : Code.INTERNAL, reason: raw?.desc ?? '' };
      if (this.pendingJoin) {
        // Refused (above), or a login that failed for good ('417' room destroyed, '403' out of retries, …).
        this.settleJoin(
          this.joinRefusal ??
            new NetcallError(
              event.code === 417 ? Code.NOT_FOUND : event.code,
              `joinChannel: media login failed (${event.reason || event.code})`,
            ),
        );
        return;
      }
      // Only the media gateway is gone (IM still works), but the SDK has reset its call state with it: the
      // call is lost as surely as when our engine fails to rejoin after a reconnect.
      const lost = this.rtcCid ?? this.cid;
      this.endSession();
      if (lost !== null) this.emit('callLost', { cid: lost, code: event.code, message: event.reason });
      this.emit('disconnect', event);
    },
    sendCommandOverTime: () => {
      // SDK77 drops which command it was; while a join waits, the only one in flight is its login.
      if (!this.pendingJoin) return;
      this.settleJoin(
        new NetcallError(Code.TIMEOUT, 'joinChannel: the media gateway did not answer the login'),
      );
      this.invoke('leaveChannel', () => this.sdk.leaveChannel()).catch(() => undefined);
    },
    liveRoomClose: (raw) => {
      const body = (raw && 'body' in raw && raw.body ? raw.body : raw) as { cid?: unknown; reason?: unknown };
      const cid = idOf(body?.cid) || (this.cid ?? '');
      if (!this.fresh('liveRoomClose', cid)) return;
      if (cid === this.cid && this.sessionKind === 'meeting') {
        // The room is over: leave the SDK's session too, or its next join is refused (已经在房间中了).
        this.endSession();
        this.invoke('leaveChannel', () => this.sdk.leaveChannel()).catch(() => undefined);
      }
      this.emit('liveRoomClose', { cid, reason: idOf(body?.reason) });
    },
    error: (raw) => {
      const code = numericCode(raw?.code);
      this.emit('error', {
        code: code ?? Code.INTERNAL,
        message: raw?.desc ?? raw?.errMsg ?? 'NetEase gateway error',
      });
    },
  };

  private answer(name: 'callAccepted' | 'callRejected', raw: NimNetcallEventMap['callAccepted']): void {
    const event = { cid: idOf(raw.cid), account: String(raw.account), type: raw.type };
    if (!this.fresh(name, `${event.cid}|${event.account}`)) return;
    const current = event.cid === this.cid;
    const team = current && this.sessionKind === 'team';
    if (team) {
      this.invited.delete(event.account);
      if (name === 'callAccepted') this.members.set(event.account, this.teamUids[event.account] ?? '');
    } else if (current && name === 'callRejected') this.endSession();
    this.emit(name, event);
    // SDK77 keeps a team call that every callee refused dialing (`_onNotifyCalleeAck` resets only when not
    // `isTeamCall`); on our server the one left is told `hangup`. So here: hang up the SDK's call, and say so.
    if (team && name === 'callRejected' && this.invited.size === 0 && this.members.size === 0) {
      this.endSession();
      this.invoke('hangup', () => this.sdk.hangup()).catch(() => undefined);
      this.emit('hangup', { cid: event.cid, account: event.account, timetag: this.timers.now() });
    }
  }

  private onHangup(raw: NimNetcallEventMap['hangup']): void {
    const cid = idOf(raw.cid);
    const account = String(raw.account);
    // Keyed by (cid, account) without the timetag, on purpose: SDK77 reports a P2P peer's leave twice, from
    // IM (`notifyHangup`, stamped by the server) and from the gateway (`_onClientLeave` → `_invokeHangup`,
    // stamped with the local clock), usually in that order but not always. One party ends one call once.
    const key = `${cid}|${account}`;
    if (this.ended.includes(key) || this.endedCids.has(cid)) return;
    this.ended.push(key);
    if (this.ended.length > ENDED_MEMORY) this.ended.shift();

    const current = cid === this.cid;
    const uid = this.peers.get(account);
    const other = account !== this.account;
    // SDK77 ends a team call for me at anyone's leave: announce the leaver as our server announces a member
    // leaving a group call.
    if (current && this.sessionKind === 'team' && other && this.members.has(account))
      this.emit('leaveChannel', { account, cid, channelId: cid });
    if (current && this.sessionKind !== 'meeting' && cid === this.rtcCid && uid !== undefined && other) {
      this.peers.delete(account);
      this.emit('clientLeave', { cid, account, uid });
    }
    if (current) this.endSession();
    this.emit('hangup', { cid, account, timetag: Number(raw.timetag) || this.timers.now() });
  }

  // ---------------------------------------------------------------------------------------------------

  /** True the first time `(event, key)` is seen within the window. */
  private fresh(event: NimNetcallEventName, key: string): boolean {
    const now = this.timers.now();
    for (const [seen, at] of this.recent) if (now - at > this.windowMs) this.recent.delete(seen);
    const full = `${event}|${key}`;
    if (this.recent.has(full)) return false;
    this.recent.set(full, now);
    return true;
  }

  private isSelf(user: RtcUser): boolean {
    return this.selfUid !== null ? user.uid === this.selfUid : user.account === this.account;
  }

  private adoptIdentity(result: { uid: number; cid: number; account: string }): StartRtcResult {
    const identity = {
      uid: idOf(result?.uid),
      account: result?.account ? String(result.account) : this.account,
      cid: idOf(result?.cid) || (this.rtcCid ?? ''),
    };
    this.selfUid = identity.uid;
    this.rtcCid = identity.cid;
    return identity;
  }

  /**
   * The cid of the call just placed. SDK77's `call()` resolves only `{accountUidMap}` and `getStatus()`
   * carries no cid, so: a `cid`/`channelId` in `getStatus()` if a build adds one, else the IM controller's
   * `imInfo.channelId` (the `initNetcall` response, which the SDK's own `startRtc` and `hangup` read).
   */
  private outgoingCid(): string | null {
    let status: Record<string, unknown> = {};
    try {
      status = (this.sdk.getStatus() ?? {}) as unknown as Record<string, unknown>;
    } catch {
      // A broken getStatus must not lose a call that was placed; fall through to the internals.
    }
    const candidates = [status.cid, status.channelId, this.sdk._imController?._status?.imInfo?.channelId];
    const found = candidates.find((value) => value !== undefined && value !== null && value !== '');
    return found === undefined ? null : String(found);
  }

  /**
   * Who a team call rings: SDK77's `beCalling` has no list, but the `beCalled` packet it came from carries the
   * call's `accountUidMap`, kept in `beCalledInfo` (written before the event is emitted, and only while not
   * on a call, so it is read only when its channel is this cid).
   */
  private teamCallOf(cid: string): Record<string, string> | null {
    const info = this.sdk._imController?._status?.beCalledInfo;
    if (!info || idOf(info.channelId) !== cid || !isUidMap(info.accountUidMap)) return null;
    return uidMap(info.accountUidMap);
  }

  private startSession(cid: string, kind: SessionKind): void {
    if (this.cid !== cid) {
      this.peers.clear();
      this.members.clear();
      this.announced.clear();
      this.invited.clear();
      this.teamUids = {};
      this.room = null;
      this.rtcCid = null;
      this.selfUid = null;
    }
    this.cid = cid;
    this.sessionKind = kind;
  }

  private openMedia(cid: string): void {
    this.gatewayEpoch++;
    this.rtcCid = cid;
  }

  /**
   * SDK77 sets `signalInited` when it is rung (`_onBeCalled`) and resets it only when a session ends: after a
   * ring this device rejected, or that stopped before it answered, the flag stays and `joinChannel` refuses
   * every room with 已经在房间中了. With no call or room of ours and nothing ringing, it is stale: the SDK's
   * own `leaveChannel` resets its status.
   */
  private async clearStaleSignal(): Promise<void> {
    let status;
    try {
      status = this.sdk.getStatus();
    } catch {
      return;
    }
    if (this.cid !== null || !status?.signalInited || status.calling || status.onTheCall) return;
    await this.invoke('leaveChannel', () => this.sdk.leaveChannel()).catch(() => undefined);
  }

  /** Emits a media event now or, while a joined room waits for `startRtc`, once it comes. */
  private emitMedia(emit: () => void): void {
    if (this.held) this.held.push(emit);
    else emit();
  }

  /** After startRtc's answer, as our server's syncDone follows its reply: the held media events, in order. */
  private releaseHeld(): void {
    const held = this.held;
    if (!held || this.releasing === held) return;
    this.releasing = held;
    this.timers.setTimeout(() => {
      // A leave, or a leave and another join, came first: those events are gone, or not yet due.
      if (this.held !== held) return;
      this.held = null;
      for (const emit of held) emit();
    }, 0);
  }

  /** Resolves (null) or rejects the join waiting for the gateway; a failed join leaves no session behind. */
  private settleJoin(error: NetcallError | null): void {
    const join = this.pendingJoin;
    if (!join) return;
    this.pendingJoin = null;
    this.joinRefusal = null;
    if (error === null) return join.resolve();
    this.endSession();
    join.reject(error);
  }

  private endSession(): void {
    if (this.cid !== null) remember(this.endedCids, this.cid, true);
    this.liveRole = null;
    this.reconnectAttempt = null;
    this.cid = null;
    this.rtcCid = null;
    this.selfUid = null;
    this.sessionKind = null;
    this.room = null;
    this.held = null;
    this.peers.clear();
    this.members.clear();
    this.announced.clear();
    this.invited.clear();
    this.teamUids = {};
  }

  /** Runs an SDK method; a synchronous throw or any rejection becomes a `NetcallError`. */
  private async invoke<T>(op: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw toNetcallError(error, op);
    }
  }
}

/**
 * NetEase's layout constants as static members, where NetEase's SDK has them (`Netcall.LAYOUT_SPLITLATTICETILE`
 * for `sessionConfig.splitMode`). Assigned from one table rather than declared one by one: the names ship once.
 */
Object.assign(NimNetcall, Layout);

// eslint-disable-next-line @typescript-eslint/no-namespace -- declaration merging: the statics' types on the class
export declare namespace NimNetcall {
  const LAYOUT_SPLITBOTTOMHORFLOATING: typeof Layout.LAYOUT_SPLITBOTTOMHORFLOATING;
  const LAYOUT_SPLITTOPHORFLOATING: typeof Layout.LAYOUT_SPLITTOPHORFLOATING;
  const LAYOUT_SPLITLATTICETILE: typeof Layout.LAYOUT_SPLITLATTICETILE;
  const LAYOUT_SPLITLATTICECUTTINGTILE: typeof Layout.LAYOUT_SPLITLATTICECUTTINGTILE;
  const LAYOUT_SPLITCUSTOMLAYOUT: typeof Layout.LAYOUT_SPLITCUSTOMLAYOUT;
  const LAYOUT_SPLITAUDIOLAYOUT: typeof Layout.LAYOUT_SPLITAUDIOLAYOUT;
  const LAYOUT_SPLITCUSTOM: typeof Layout.LAYOUT_SPLITCUSTOM;
  const LAYOUT_SPLITAUDIO: typeof Layout.LAYOUT_SPLITAUDIO;
  const LAYOUT_TOP_LEFT: typeof Layout.LAYOUT_TOP_LEFT;
  const LAYOUT_TOP_RIGHT: typeof Layout.LAYOUT_TOP_RIGHT;
  const LAYOUT_BOTTOM_LEFT: typeof Layout.LAYOUT_BOTTOM_LEFT;
  const LAYOUT_BOTTOM_RIGHT: typeof Layout.LAYOUT_BOTTOM_RIGHT;
}
