/**
 * Types for NetEase's weixin Netcall SDK instance as SDK77 (`NIM_Web_Netcall_weixin` v7.7.0, shipped in
 * NetEase's demo netease-im/NIM_Web_Weapp_Demo as `vendors/NIM_Web_Netcall_weixin_v7.7.0.js`) behaves.
 * NetEase ships no typings for this plugin, so these describe what the minified code does, quirks included:
 * ids are **numbers**, `off` throws when there is no handler, `switchMode` throws synchronously, rejections
 * are plain strings, `Error`s or IM error objects. Internal names quoted (`_onSyncDone`, …) are SDK77's.
 *
 * Types only: importing this module never pulls the SDK into a bundle. `NimNetcall`
 * (services/netcall/nim-netcall.ts) wraps an instance shaped like `NimNetcallInstance`.
 */

/** Call type: 1 audio, 2 video. */
export type NimCallType = 1 | 2;
/** Media mode of `startRtc` / `joinChannel` / `switchMode`: 0 audio+video, 1 audio, 2 video, 3 neither. */
export type NimMode = 0 | 1 | 2 | 3;
/** `ROLE_HOST` 0, `ROLE_AUDIENCE` 1. */
export type NimRole = 0 | 1;
/** Session mode (scene): `P2P` 0, `MEETING` 1; `''` before any session. */
export type NimSessionMode = 0 | 1 | '';

/** Constants the SDK copies onto the instance (SDK77). */
export interface NimNetcallConstants {
  readonly NETCALL_TYPE_AUDIO: 1;
  readonly NETCALL_TYPE_VIDEO: 2;

  readonly NETCALL_MODE_AUDIO_VIDEO: 0;
  readonly NETCALL_MODE_ONLY_AUDIO: 1;
  readonly NETCALL_MODE_ONLY_VIDEO: 2;
  readonly NETCALL_MODE_NOAUDIO_NOVIDEO: 3;

  readonly ROLE_HOST: 0;
  readonly ROLE_AUDIENCE: 1;
  readonly P2P: 0;
  readonly MEETING: 1;

  readonly LIVE_ENABLE_OPEN: 1;
  readonly LIVE_ENABLE_CLOSE: 0;
  readonly RTMP_RECORD_OPEN: 1;
  readonly RTMP_RECORD_CLOSE: 0;
  readonly RECORD_AUDIO_OPEN: 1;
  readonly RECORD_AUDIO_CLOSE: 0;
  readonly RECORD_VIDEO_OPEN: 1;
  readonly RECORD_VIDEO_CLOSE: 0;
  readonly RECORD_TYPE_MIX_SINGLE: '0';
  readonly RECORD_TYPE_ONLY_MIX: '1';
  readonly RECORD_TYPE_ONLY_SINGLE: '2';

  /** Control commands: 1–4 notices about my own mic/camera, 5–8 the audio↔video handshake, 9–12 status notices. */
  readonly NETCALL_CONTROL_COMMAND_NOTIFY_AUDIO_ON: 1;
  readonly NETCALL_CONTROL_COMMAND_NOTIFY_AUDIO_OFF: 2;
  readonly NETCALL_CONTROL_COMMAND_NOTIFY_VIDEO_ON: 3;
  readonly NETCALL_CONTROL_COMMAND_NOTIFY_VIDEO_OFF: 4;
  readonly NETCALL_CONTROL_COMMAND_SWITCH_AUDIO_TO_VIDEO: 5;
  readonly NETCALL_CONTROL_COMMAND_SWITCH_AUDIO_TO_VIDEO_AGREE: 6;
  readonly NETCALL_CONTROL_COMMAND_SWITCH_AUDIO_TO_VIDEO_REJECT: 7;
  readonly NETCALL_CONTROL_COMMAND_SWITCH_VIDEO_TO_AUDIO: 8;
  readonly NETCALL_CONTROL_COMMAND_BUSY: 9;
  readonly NETCALL_CONTROL_COMMAND_SELF_CAMERA_INVALID: 10;
  readonly NETCALL_CONTROL_COMMAND_SELF_ON_BACKGROUND: 11;
  readonly NETCALL_CONTROL_COMMAND_START_NOTIFY_RECEIVED: 12;
}

export interface NimCallOptions {
  type: NimCallType;
  /** An array makes it a team call. */
  callee: string | string[];
  forceKeepCalling?: boolean;
  pushConfig?: { custom?: string };
}
/**
 * What `call()` resolves: in SDK77 the bare account → uid map (`initNetcall` resolves `e.accountUidMap` itself);
 * code written against earlier builds expects `{accountUidMap}`. Never the cid, which the SDK keeps inside
 * (`_imController._status.imInfo`).
 */
export type NimCallResult = Record<string, number> | { accountUidMap: Record<string, number> };
export interface NimResponseOptions {
  caller: string;
  accepted: boolean;
  type: NimCallType;
  /** The SDK sends it as an IM `long`; the demo passes the page-query string form. */
  cid: number | string;
}
export interface NimControlOptions {
  command: number;
  /** Defaults to the current channel. */
  cid?: number | string;
}
export interface NimMediaOptions {
  recordAudio?: 0 | 1;
  recordVideo?: 0 | 1;
  rtmpRecord?: 0 | 1;
  recordType?: '0' | '1' | '2';
  isHostSpeaker?: boolean | 0 | 1;
}
export interface NimStartRtcOptions extends NimMediaOptions {
  mode: NimMode;
}
/** `startRtc` / `joinChannel` result: ids are numbers. */
export interface NimRtcIdentity {
  uid: number;
  cid: number;
  account: string;
}
export interface NimCreateChannelOptions {
  channelName: string;
  /** SDK77 sends `custom || ''`. */
  custom?: string;
  /** Ignored: SDK77's `createChannel` forces `webrtcEnable: true`. */
  webrtcEnable?: boolean;
}
/**
 * What `createChannel` resolves: NetEase's IM SDK resolves a command's promise with the options it sent
 * (`getPacketObj`; SDK77's IM protocol keeps no content for `createChannel`), so the room's name and custom
 * come back, never a channel id. The IM answer itself (9_13) carries only a `timetag`.
 */
export interface NimCreateChannelResult {
  channelName: string;
  custom: string;
  webrtcEnable: boolean;
}
export interface NimJoinChannelOptions extends NimMediaOptions {
  channelName: string;
  mode: NimMode;
  role: NimRole;
  /** Passed to the gateway login only; SDK77's IM `joinChannel` always asks with `liveEnable: 0`. */
  liveEnable?: 0 | 1;
}
/**
 * `{accountUidMap, uid, cid, account}` built from the IM `joinChannel` answer (9_14: `channelId`,
 * `accountUidMap`, `serverMap`, `custom`); `custom` only when non-empty. Resolved once `wx.connectSocket` to the
 * gateway succeeds, before the login answer (`syncDone`) or a refusal (`kicked` + `disconnect`).
 */
export interface NimJoinChannelResult extends NimRtcIdentity {
  accountUidMap: Record<string, number>;
  custom?: string;
}

/** `getStatus()`: a deep clone of the internal status. No cid in it. */
export interface NimStatus {
  calling: boolean;
  onTheCall: boolean;
  isCaller: boolean;
  sessionMode: NimSessionMode;
  signalInited: boolean;
  role: NimRole;
  rtmpPushAddress: string;
  startSessionTime: number;
  endSessionTime: number;
  /** sic */
  lastSessionDuation: number;
  /** `call()` with a callee array (SDK77 `_rtcStatus.isTeamCall`): a rejection then does not reset the call. */
  isTeamCall?: boolean;
}

/** One `syncDone.userlist` item, after `_onSyncDone` renamed `accid` to `account`. */
export interface NimRtcUser {
  uid: number;
  account: string;
  /** Push URL on my own entry, play URL on the others; `null` on an audience member's own entry. */
  url: string | null;
  mode: NimMode;
  pusher_secret?: string;
  scene?: 0 | 1;
}

/** A gateway packet as the SDK passes it on raw (`kicked`, `liveRoomClose`). */
export interface NimRawPacket<Body> {
  cmd?: string | number;
  seq?: number;
  body: Body;
}

/** Payloads as they reach `instance.on`: ids are numbers. */
export interface NimNetcallEventMap {
  beCalling: { caller: string; cid: number; type: NimCallType; custom?: string };
  callAccepted: { cid: number; account: string; type: NimCallType };
  callRejected: { cid: number; account: string; type: NimCallType };
  /** `timetag` is an IM `String` field; `fromClientType` a client-type byte. */
  callerAckSync: {
    timetag: string | number;
    cid: number;
    type: NimCallType;
    accepted: boolean;
    fromClientType: number;
  };
  /**
   * IM `notifyHangup`, or in P2P a gateway `clientLeave` (`_onClientLeave` → `_invokeHangup`; then `timetag`
   * is the local clock). One P2P leave usually brings both, IM's first: a duplicate with another timetag.
   */
  hangup: { cid: number; timetag: number; account: string };
  /**
   * Dropped by the SDK when `cid` is not the current channel (`_onNetcallControl`), which it reads as
   * `isCaller ? imInfo.channelId : beCalledInfo.channelId`: in a room (`isCaller` false, the room in `imInfo`)
   * every notice is dropped.
   */
  control: { cid: number; command: number; account: string };
  /**
   * Rooms: one event per account of the IM `notifyJoin` packet's `accountUidMap` (`_onNotifyJoin`). SDK77 has
   * no `leaveChannel` event: a member's leave reaches the others only as the gateway's `clientLeave`.
   */
  joinChannel: { uid: number; account: string; cid: number };
  /**
   * Fires again after every gateway reconnect, with the URLs of the new login. `connectCount`: login attempts
   * it took since the last answered login (1 when the first succeeded; `_onSyncDone` then resets the count).
   */
  syncDone: { code: number; errmsg?: string; userlist: NimRtcUser[]; connectCount: number };
  clientJoin: { uid: number; account: string; cid: number; url: string; mode: NimMode };
  /** Rooms only in SDK77 (P2P gets `hangup`). */
  clientLeave: { uid: number; account: string; cid: number };
  /** `account` is always `undefined` (SDK77 reads it from the wrong object); use `accid` or `uid`. */
  clientUpdate: { uid: number; accid: string; cid: number; mode: NimMode; account: undefined };
  liveRoomClose: NimRawPacket<{ cid: number; reason: number | string }>;
  /**
   * Also fired for the gateway's `roomRefused` (packet 25, `cmd: 'onRoomRefused'`; then `disconnect` 406). Some
   * builds pass the body fields at the top level.
   */
  kicked: NimRawPacket<{ cid: number; reason: number | string }> | { cid: number; reason: number | string };
  /** Attempts made since the last answered login: 0 for the first retry. */
  willreconnect: { count: number };
  /**
   * A gateway command (the login, a logout, a mode switch) got no answer within 10 s. SDK77's wsController
   * re-emits it without the `{cmd}` its socket gave (`_onSendCommandOverTime`), so the payload is empty.
   */
  sendCommandOverTime: { cmd?: string } | undefined;
  /** `{code, desc: '登录失败'}` (login failed), or a wx socket error (`errMsg`) plus `connectCount`. */
  error: { code?: number | string; desc?: string; errMsg?: string; connectCount?: number };
  /** Codes are strings: '0' normal, '401' connectSocket failed, '403' max reconnects, '405' kicked, … */
  disconnect: { code: string; desc: string };
  sessionStart: undefined;
}
export type NimNetcallEventName = keyof NimNetcallEventMap;
export type NimHandler<K extends NimNetcallEventName> = (payload: NimNetcallEventMap[K]) => void;

/**
 * What the SDK's promises reject with: a plain string (`'呼叫失败: 当前正在通话中'`), an `Error` (`'参数缺失 type'`
 * from `verifyOptions`, thrown synchronously), a gateway or NRTC object (`{code, desc}`), or an IM error passed
 * through as NetEase's IM SDK rejects: `{message: '生成接口回调错误', callFunc, event: {code, message}}`, the code
 * from its error table (11001 callee offline, 9102 channel no longer valid, 9103 answered on another device).
 */
export type NimRejection =
  | string
  | Error
  | {
      code?: number | string;
      message?: string;
      desc?: string;
      callFunc?: string;
      event?: { code?: number | string; message?: string };
    };

/**
 * Internals of SDK77 read by `NimNetcall` only to learn what the events and results leave out: the cid of an
 * outgoing call (`call()` does not resolve it, `getStatus()` does not carry it) and who a team call rings
 * (`beCalling` has no list). The IM controller keeps the `initNetcall` response in `imInfo` (caller) and the
 * `beCalled` packet, with the call's `accountUidMap`, in `beCalledInfo` (callee); `startRtc` reads them there.
 */
export interface NimInternals {
  _imController?: {
    _status?: {
      imInfo?: { channelId?: number | string; accountUidMap?: Record<string, number> };
      beCalledInfo?: { channelId?: number | string; accountUidMap?: Record<string, number> };
    };
  };
}

/** An instance from `NetcallWeixin.getInstance({nim})` (RTC mode). */
export interface NimNetcallInstance extends NimNetcallConstants, NimInternals {
  /** Rejects `'呼叫失败: 当前正在通话中'` while a call is in progress; IM error 11001 when the callee is offline. */
  call(options: NimCallOptions): Promise<NimCallResult>;
  response(options: NimResponseOptions): Promise<void>;
  /** Hangs up the current call and destroys the session; resolves at once. Not echoed to the caller. */
  hangup(): Promise<void>;
  /** Swallows IM errors (resolves); rejects a string when there is no command or channel. */
  control(options: NimControlOptions): Promise<void>;
  startRtc(options: NimStartRtcOptions): Promise<NimRtcIdentity>;
  /** IM `createChannel`; a taken name rejects with the IM error 417. */
  createChannel(options: NimCreateChannelOptions): Promise<NimCreateChannelResult>;
  /**
   * IM `joinChannel`, then the gateway login in MEETING scene (`syncDone` follows). Rejects `'已经在房间中了'`
   * (already in the room) while `signalInited`: in a room, and also in or ringing for a call.
   */
  joinChannel(options: NimJoinChannelOptions): Promise<NimJoinChannelResult>;
  /** Gateway logout only (no IM command). Rejects `'未处于房间中'` (not in a room) when there is no session. */
  leaveChannel(): Promise<void>;
  /**
   * **Throws synchronously** when `mode` is not a number, and (a TypeError) when no media session is open;
   * rejects a string when it is out of range.
   */
  switchMode(mode: number): Promise<void>;
  getStatus(): NimStatus;
  setEncryptType?(type: 0 | 2 | 3 | 4 | 5 | 6): void;
  setEncryptKey?(key: string): void;
  /** Resets the IM controller and closes the gateway socket; keeps the instance's own listeners. */
  destroy(): void;

  /** One handler per event name: `on` **replaces** the previous handler. */
  on<K extends NimNetcallEventName>(name: K, handler: NimHandler<K>): unknown;
  /**
   * A separate single slot per event: replaces an earlier `once`, never the `on` handler, and runs before it.
   * The slot is read when its timer fires, unguarded: two emits before then throw a TypeError in a timer.
   */
  once<K extends NimNetcallEventName>(name: K, handler: NimHandler<K>): unknown;
  /** Removes the `on` handler only. **Throws** (`Error('[object Object]')`) when there is none. */
  off(name: NimNetcallEventName): unknown;
  /** Asynchronous: each handler runs in its own `setTimeout(0)`. */
  emit<K extends NimNetcallEventName>(name: K, payload: NimNetcallEventMap[K]): unknown;
  /** Removes every `on` and `once` handler. */
  eventReset?(): void;
}

/** The SDK module's export (`NetcallWeixin`). */
export interface NimNetcallWeixinStatic {
  install(NIM: unknown): void;
  /** A singleton: repeated calls return the existing instance (swapping in `nim` if given). */
  getInstance(
    options: { nim: unknown; debug?: boolean } | { appkey: string; debug?: boolean },
  ): NimNetcallInstance;
  /** Only sets the singleton to `null`; the old instance and its NIM listeners live on. */
  destroy(): void;
}
