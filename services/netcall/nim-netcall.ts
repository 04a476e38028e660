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
 * - every rejection a `NetcallError` with a numeric code; `switchMode` never throws synchronously;
 * - `call()` resolves `{cid, accountUidMap}` although the SDK resolves only the bare account → uid map.
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
  Code,
  NetcallError,
  type CallArgs,
  type CallResult,
  type ControlArgs,
  type HangupArgs,
  type KickedEvent,
  type MediaMode,
  type ResponseArgs,
  type RtcUser,
  type StartRtcArgs,
  type StartRtcResult,
  type SyncDoneEvent,
} from '../protocol';
import { defaultTimers, type Timers } from '../platform';
import { Emitter } from './emitter';
import type { NetcallEvents, NetcallLike } from './types';

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
/** Team rooms: someone joined the channel (IM `notifyJoin`), before their media arrives. */
export interface JoinChannelEvent {
  uid: string;
  account: string;
  cid: string;
}
/** `syncDone` plus the SDK's `connectCount` (login attempts this answer took: 1 when the first succeeded). */
export interface NimSyncDoneEvent extends SyncDoneEvent {
  connectCount: number;
}

export interface NimNetcallEvents extends NetcallEvents {
  syncDone: NimSyncDoneEvent;
  kicked: NimKickedEvent;
  joinChannel: JoinChannelEvent;
}

export interface JoinChannelResult extends StartRtcResult {
  accountUidMap: Record<string, string>;
  custom?: string;
}

const DEFAULT_DEDUPE_WINDOW_MS = 1000;
/** Calls remembered as ended; a bound, since a long-lived instance sees many calls. */
const ENDED_MEMORY = 64;

/**
 * IM / NRTC codes worth a name of our own. SDK77 passes IM errors through, so these are the codes of the error
 * table of NetEase's IM SDK (`NIM_Web_NIM_weixin` v7.7.0): 11001 对方离线, 通话不可送达 (callee offline; NetEase's
 * demo checks `error.event.code === 11001`), 9102 通道失效 (channel no longer valid), 9103 已经在其他端接听/拒绝过
 * 这通电话 (answered or rejected on another device), 414 参数错误 (bad parameter; in NRTC a mode mismatch); 600:
 * SDK77's NRTC `joinChannel`, a third party joined a two-person room.
 */
const CODE_MAP: Record<number, number> = {
  11001: Code.NOT_FOUND,
  9102: Code.NOT_FOUND,
  9103: Code.CONFLICT,
  414: Code.BAD_REQUEST,
  600: Code.CONFLICT,
};

/** The SDK's plain-string rejections, by meaning (Chinese as SDK77 writes them, English for our own). */
const MESSAGE_CODES: [RegExp, number][] = [
  [/正在通话中|已经在房间中|正在房间中|already in (a call|session|the room)/i, Code.CONFLICT],
  [/未处于房间中|不在房间中|not in a room/i, Code.NOT_FOUND],
  [/入参|参数|无效|为空|密钥|param|invalid|must be/i, Code.BAD_REQUEST],
  [/超时|time ?out/i, Code.TIMEOUT],
];

function numericCode(value: unknown): number | null {
  const code = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof code === 'number' && Number.isInteger(code) ? code : null;
}

/**
 * Turns whatever the SDK rejected or threw with into a `NetcallError`: NIM error objects keep their code when
 * it is HTTP-like (403, 404, 417…), known NIM codes are mapped, plain strings are classified by meaning,
 * anything else becomes 500.
 */
export function toNetcallError(reason: unknown, context?: string): NetcallError {
  if (reason instanceof NetcallError) return reason;
  let message: string;
  let raw: number | null = null;
  if (typeof reason === 'string') message = reason;
  else if (reason instanceof Error) {
    message = reason.message;
    raw = numericCode((reason as Error & { code?: unknown }).code);
  } else if (typeof reason === 'object' && reason !== null) {
    const object = reason as {
      code?: unknown;
      message?: unknown;
      desc?: unknown;
      errMsg?: unknown;
      event?: { code?: unknown; message?: unknown };
    };
    raw = numericCode(object.code) ?? numericCode(object.event?.code);
    // NetEase's IM SDK wraps a server error: the outer message is a generic 生成接口回调错误 (callback error).
    const text = object.event?.message ?? object.message ?? object.desc ?? object.errMsg;
    message = typeof text === 'string' ? text : raw !== null ? `NetEase error ${raw}` : 'unknown SDK error';
  } else message = 'unknown SDK error';

  let code: number | null = raw === null ? null : (CODE_MAP[raw] ?? (raw >= 400 && raw < 600 ? raw : null));
  if (code === null) code = MESSAGE_CODES.find(([pattern]) => pattern.test(message))?.[1] ?? Code.INTERNAL;
  // A NetEase code we mapped to one of ours stays in the message: it is what NetEase's docs and demos name.
  if (raw !== null && raw !== code && !message.includes(String(raw))) message = `${message} (NetEase ${raw})`;
  return new NetcallError(code, context ? `${context}: ${message}` : message);
}

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

type SdkHandlers = { [K in NimNetcallEventName]?: (payload: NimNetcallEventMap[K]) => void };

export class NimNetcall extends Emitter<NimNetcallEvents> implements NetcallLike {
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
  private sessionMode: 'p2p' | 'meeting' | null = null;
  private selfUid: string | null = null;
  /** The cid of the media session (startRtc / joinChannel), stamped onto `syncDone`, which has none. */
  private rtcCid: string | null = null;
  /** Peers in the media session, account → uid: what a P2P `hangup` must turn into a `clientLeave`. */
  private readonly peers = new Map<string, string>();
  /** Bumped on each new media session and each reconnect, so a legitimate repeated `syncDone` is new. */
  private gatewayEpoch = 0;
  private readonly recent = new Map<string, number>();
  private lastControl: { key: string; at: number } | null = null;
  /** Set between `willreconnect` and the next good `syncDone`. */
  private reconnectAttempt: number | null = null;
  private readonly ended: string[] = [];
  private readonly subscribed: NimNetcallEventName[] = [];
  private disposed = false;

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

  async call(options: CallArgs): Promise<CallResult> {
    const args: Parameters<NimNetcallInstance['call']>[0] = { type: options.type, callee: options.callee };
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
    this.startSession(cid, 'p2p');
    return { cid, accountUidMap: uidMap(map) };
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
    if (options.accepted) this.startSession(cid, 'p2p');
  }

  /**
   * Hangs up the current call. The SDK can hang up only that one, so another cid gets 404. `options.reason`
   * (our extension) has no field in NetEase's IM hangup and is not sent.
   */
  async hangup(options: HangupArgs = {}): Promise<void> {
    const cid = options.cid === undefined ? this.cid : String(options.cid);
    if (cid !== null && this.cid !== null && cid !== this.cid)
      throw new NetcallError(Code.NOT_FOUND, `hangup: ${cid} is not the current call`);
    try {
      await this.invoke('hangup', () => this.sdk.hangup());
    } finally {
      this.endSession();
    }
  }

  async startRtc(options: StartRtcArgs): Promise<StartRtcResult> {
    const cid = options.cid === undefined ? this.cid : String(options.cid);
    if (this.cid === null || cid !== this.cid)
      throw new NetcallError(Code.NOT_FOUND, `startRtc: ${cid ?? 'no call'} is not the current call`);
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

  async createChannel(options: { channelName: string; custom?: string }): Promise<void> {
    await this.invoke('createChannel', () => this.sdk.createChannel(options));
  }

  async joinChannel(options: NimJoinChannelOptions): Promise<JoinChannelResult> {
    const result = await this.invoke('joinChannel', () => this.sdk.joinChannel(options));
    const identity = this.adoptIdentity(result);
    this.startSession(identity.cid, 'meeting');
    this.openMedia(identity.cid);
    const joined: JoinChannelResult = { ...identity, accountUidMap: uidMap(result.accountUidMap) };
    if (result.custom !== undefined) joined.custom = result.custom;
    return joined;
  }

  async leaveChannel(): Promise<void> {
    try {
      await this.invoke('leaveChannel', () => this.sdk.leaveChannel());
    } finally {
      this.endSession();
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // SDK events → our events

  private readonly handlers: SdkHandlers = {
    beCalling: (raw) => {
      const cid = idOf(raw.cid);
      if (!this.fresh('beCalling', `${cid}|${raw.caller}`)) return;
      const event: NetcallEvents['beCalling'] = { caller: String(raw.caller), type: raw.type, cid };
      if (raw.custom !== undefined) event.custom = raw.custom;
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
      const event = { uid: idOf(raw.uid), account: String(raw.account), cid: idOf(raw.cid) };
      if (this.fresh('joinChannel', `${event.cid}|${event.uid}`)) this.emit('joinChannel', event);
    },
    syncDone: (raw) => {
      const cid = this.rtcCid ?? this.cid ?? '';
      const connectCount = Number(raw.connectCount) || 0;
      // Keyed by gateway epoch, not payload: a reconnect's syncDone may repeat the same list and count.
      if (!this.fresh('syncDone', `${cid}|${this.gatewayEpoch}|${connectCount}`)) return;
      const userlist = (raw.userlist ?? []).map(toRtcUser);
      if (Number(raw.code) === Code.OK) {
        this.peers.clear();
        for (const user of userlist) if (!this.isSelf(user)) this.peers.set(user.account, user.uid);
        // Our engine says `reconnected` before the fresh syncDone of a rejoined session; so do we.
        if (this.reconnectAttempt !== null) this.emit('reconnected', { count: this.reconnectAttempt });
        this.reconnectAttempt = null;
      }
      this.emit('syncDone', {
        code: Number(raw.code),
        errmsg: raw.errmsg ?? '',
        cid,
        userlist,
        connectCount,
      });
    },
    clientJoin: (raw) => {
      const user = toRtcUser(raw);
      const cid = idOf(raw.cid);
      if (!this.fresh('clientJoin', `${cid}|${user.uid}|${user.url}|${user.mode}`)) return;
      if (!this.isSelf(user)) this.peers.set(user.account, user.uid);
      this.emit('clientJoin', { ...user, cid });
    },
    clientLeave: (raw) => {
      const event = { cid: idOf(raw.cid), account: String(raw.account), uid: idOf(raw.uid) };
      if (!this.fresh('clientLeave', `${event.cid}|${event.uid}`)) return;
      if (this.peers.get(event.account) === event.uid) this.peers.delete(event.account);
      this.emit('clientLeave', event);
    },
    willreconnect: (raw) => {
      this.gatewayEpoch++;
      // The SDK counts attempts made before this one (0 for the first); ours numbers attempts from 1.
      this.reconnectAttempt = (Number(raw?.count) || 0) + 1;
      this.emit('willreconnect', { count: this.reconnectAttempt });
    },
    kicked: (raw) => {
      const body = ('body' in raw && raw.body ? raw.body : raw) as { cid?: unknown; reason?: unknown };
      const cid = idOf(body.cid);
      this.emit('kicked', { cid, reason: idOf(body.reason) });
    },
    disconnect: (raw) => {
      const code = Number(raw?.code);
      // The SDK closes its media gateway "normally" (code '0') after every hangup, reject or leave: that is
      // the end of a session the app already knows about, not a lost connection, which is what our
      // `disconnect` means. Only abnormal closes are forwarded.
      if (code === 0) return;
      const event = { code: Number.isFinite(code) ? code : Code.INTERNAL, reason: raw?.desc ?? '' };
      // Only the media gateway is gone (IM still works), but the SDK has reset its call state with it: the
      // call is lost as surely as when our engine fails to rejoin after a reconnect.
      const lost = this.rtcCid ?? this.cid;
      this.endSession();
      if (lost !== null) this.emit('callLost', { cid: lost, code: event.code, message: event.reason });
      this.emit('disconnect', event);
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
    if (name === 'callRejected' && event.cid === this.cid) this.endSession();
    this.emit(name, event);
  }

  private onHangup(raw: NimNetcallEventMap['hangup']): void {
    const cid = idOf(raw.cid);
    const account = String(raw.account);
    // Keyed by (cid, account) without the timetag, on purpose: SDK77 reports a P2P peer's leave twice, from
    // IM (`notifyHangup`, stamped by the server) and from the gateway (`_onClientLeave` → `_invokeHangup`,
    // stamped with the local clock), usually in that order but not always. One party ends one call once.
    const key = `${cid}|${account}`;
    if (this.ended.includes(key)) return;
    this.ended.push(key);
    if (this.ended.length > ENDED_MEMORY) this.ended.shift();

    const uid = this.peers.get(account);
    if (this.sessionMode === 'p2p' && cid === this.rtcCid && uid !== undefined && account !== this.account) {
      this.peers.delete(account);
      this.emit('clientLeave', { cid, account, uid });
    }
    if (cid === this.cid) this.endSession();
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

  private startSession(cid: string, mode: 'p2p' | 'meeting'): void {
    if (this.cid !== cid) {
      this.peers.clear();
      this.rtcCid = null;
      this.selfUid = null;
    }
    this.cid = cid;
    this.sessionMode = mode;
  }

  private openMedia(cid: string): void {
    this.gatewayEpoch++;
    this.rtcCid = cid;
  }

  private endSession(): void {
    this.reconnectAttempt = null;
    this.cid = null;
    this.rtcCid = null;
    this.selfUid = null;
    this.sessionMode = null;
    this.peers.clear();
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
