/**
 * A stand-in for one instance of NetEase's weixin Netcall SDK, `NIM_Web_Netcall_weixin` v7.7.0 ("SDK77", as
 * shipped in NetEase's demo netease-im/NIM_Web_Weapp_Demo, `vendors/NIM_Web_Netcall_weixin_v7.7.0.js`),
 * because NetEase's cloud cannot run here. It reproduces what SDK77's minified code does, quirks included, so
 * that `NimNetcall` is tested against the SDK rather than against what we wish it did. Internal names below
 * (`_onClientLeave`, `_onNotifyHangup`, …) are SDK77's symbols, so each claim can be checked in its source.
 *
 * - Emitter (SDK77's event base class): `on` keeps one handler per event and replaces it; `once` keeps a
 *   separate single slot that `on` does not touch; `off` removes only the `on` handler and throws when there is
 *   none; `emit` runs each handler in its own `setTimeout(0)`, the once slot first.
 * - Ids are numbers (`uid`, `cid`) everywhere, as the IM and gateway packets carry them.
 * - `call()` resolves the bare account → uid map (`initNetcall` → `Promise.resolve(e.accountUidMap)`); the
 *   cid stays in `_imController._status.imInfo`.
 * - A P2P hangup: the leaver sends IM `hangup` first, then `destroy()` logs out of the gateway. The peer's SDK
 *   gets IM `notifyHangup` (`_onNotifyHangup`: hangup, and its own leave), and, while its logout still waits
 *   for the gateway's answer, the gateway's `clientLeave`, which `_onClientLeave` turns into a second hangup
 *   (`_invokeHangup`, stamped with the local clock). `clientLeave` itself never reaches the app in P2P.
 * - `syncDone` carries `account` (renamed from `accid`) and `connectCount`, the login attempts it took (1 when
 *   the first succeeded); a gateway reconnect brings `willreconnect {count}` and a fresh `syncDone` whose URLs
 *   are new, since the gateway signs them per login.
 * - `clientJoin` may reach the app before `syncDone` (`holdSyncDone()`): the gateway answers a login late.
 * - Rejections are what SDK77 produces: plain strings (`'呼叫失败: 当前正在通话中'`), `Error('参数缺失 …')` from
 *   `verifyOptions` thrown synchronously, or an IM error passed through untouched, which NetEase's IM SDK
 *   (`NIM_Web_NIM_weixin` v7.7.0, `processCallbackPromise`) wraps as `{message, callFunc, event: {code}}`
 *   with the codes of its error table (11001, 9102, 9103, 404, 417).
 * - Team calls (`call` with a callee array, `isTeamCall`): one `initNetcall` rings every callee with the
 *   call's whole `accountUidMap`; each answer reaches the caller (`_onNotifyCalleeAck`, which resets only a
 *   1:1 call on a rejection); media runs in the gateway's P2P scene, so any party's leave reaches the others
 *   as a hangup that tears their session down too (`_onNotifyHangup` → internal `leaveChannel`).
 * - Rooms: `createChannel` (417 while the name is taken; resolves the options it sent, no channel id),
 *   `joinChannel` (IM `joinChannel` → `accountUidMap` → gateway login in MEETING scene → `syncDone`; IM
 *   `notifyJoin` to the members already there; 已经在房间中了 while `signalInited`), `leaveChannel` (gateway
 *   logout only: the others hear `clientLeave`, SDK77 has no leave notice), and `control`, which the receiving
 *   SDK drops in a room (`_onNetcallControl` compares with `beCalledInfo.channelId`).
 *
 * Instances talk through a `NimCloud`: one per test, holding accounts' devices, calls and rooms in memory.
 */
import type {
  NimCallOptions,
  NimCallResult,
  NimControlOptions,
  NimCreateChannelOptions,
  NimCreateChannelResult,
  NimHandler,
  NimJoinChannelOptions,
  NimJoinChannelResult,
  NimMode,
  NimNetcallEventMap,
  NimNetcallEventName,
  NimNetcallInstance,
  NimResponseOptions,
  NimRtcIdentity,
  NimRtcUser,
  NimStartRtcOptions,
  NimStatus,
} from '../../typings/nim-netcall';

const CONSTANTS = {
  NETCALL_TYPE_AUDIO: 1,
  NETCALL_TYPE_VIDEO: 2,
  NETCALL_MODE_AUDIO_VIDEO: 0,
  NETCALL_MODE_ONLY_AUDIO: 1,
  NETCALL_MODE_ONLY_VIDEO: 2,
  NETCALL_MODE_NOAUDIO_NOVIDEO: 3,
  ROLE_HOST: 0,
  ROLE_AUDIENCE: 1,
  P2P: 0,
  MEETING: 1,
  LIVE_ENABLE_OPEN: 1,
  LIVE_ENABLE_CLOSE: 0,
  RTMP_RECORD_OPEN: 1,
  RTMP_RECORD_CLOSE: 0,
  RECORD_AUDIO_OPEN: 1,
  RECORD_AUDIO_CLOSE: 0,
  RECORD_VIDEO_OPEN: 1,
  RECORD_VIDEO_CLOSE: 0,
  RECORD_TYPE_MIX_SINGLE: '0',
  RECORD_TYPE_ONLY_MIX: '1',
  RECORD_TYPE_ONLY_SINGLE: '2',
  NETCALL_CONTROL_COMMAND_NOTIFY_AUDIO_ON: 1,
  NETCALL_CONTROL_COMMAND_NOTIFY_AUDIO_OFF: 2,
  NETCALL_CONTROL_COMMAND_NOTIFY_VIDEO_ON: 3,
  NETCALL_CONTROL_COMMAND_NOTIFY_VIDEO_OFF: 4,
  NETCALL_CONTROL_COMMAND_SWITCH_AUDIO_TO_VIDEO: 5,
  NETCALL_CONTROL_COMMAND_SWITCH_AUDIO_TO_VIDEO_AGREE: 6,
  NETCALL_CONTROL_COMMAND_SWITCH_AUDIO_TO_VIDEO_REJECT: 7,
  NETCALL_CONTROL_COMMAND_SWITCH_VIDEO_TO_AUDIO: 8,
  NETCALL_CONTROL_COMMAND_BUSY: 9,
  NETCALL_CONTROL_COMMAND_SELF_CAMERA_INVALID: 10,
  NETCALL_CONTROL_COMMAND_SELF_ON_BACKGROUND: 11,
  NETCALL_CONTROL_COMMAND_START_NOTIFY_RECEIVED: 12,
} as const;

/** What the SDK stores per call: `initNetcall` response (caller) or `beCalled` packet (callee). */
interface ImInfo {
  channelId?: number;
  accountUidMap?: Record<string, number>;
  type?: 1 | 2;
  account?: string;
}

interface Gateway {
  cid: number;
  uid: number;
  mode: NimMode;
  scene: 0 | 1;
  /** Which login of the cloud this is: the gateway signs the URLs it hands out for it. */
  login: number;
  /** Login attempts since the last answered login: what `syncDone.connectCount` reports. */
  attempts: number;
}

/** A user as the gateway's login answer and `clientJoin` packets list it (`accid`, not `account`). */
interface GatewayUser {
  uid: number;
  accid: string;
  url: string;
  mode: NimMode;
}

interface CloudCall {
  cid: number;
  type: 1 | 2;
  caller: NimStandin;
  /** One account for a 1:1 call; every callee of a team call. */
  callees: string[];
  /** SDK77's team call: `call()` with a callee array. */
  team: boolean;
  accountUidMap: Record<string, number>;
  /** Callees whose devices still ring. */
  ringing: Set<string>;
  /** Callees who answered, and the device that did. */
  answered: Map<string, NimStandin>;
}

interface CloudRoom {
  name: string;
  cid: number;
  custom: string;
  /** IM membership: who joined and has not left, with the uid the room gave it. */
  members: Map<string, { uid: number; device: NimStandin }>;
}

/** What one delivery looked like, for tests that inspect the SDK side (numbers, duplicates, order). */
export interface Delivery {
  name: NimNetcallEventName;
  payload: unknown;
  /** Which side of the SDK produced it, where both can: IM, or the media gateway. */
  source?: 'im' | 'gateway';
}

/**
 * An IM error as SDK77's promises reject with it: SDK77 passes the IM SDK's rejection through untouched, and
 * NetEase's IM SDK wraps the server's error (code and message from its error table) in `event`.
 */
export interface NimImRejection {
  message: string;
  callFunc: string;
  event: { code: number; message: string; timetag: number };
}

/** Messages of NetEase's IM error table (`NIM_Web_NIM_weixin` v7.7.0) for the codes the stand-in uses. */
const IM_ERRORS = {
  404: '对象(用户/群/聊天室)不存在',
  417: '重复操作',
  9102: '通道失效',
  9103: '已经在其他端接听/拒绝过这通电话',
  11001: '对方离线, 通话不可送达',
} as const;

function imError(code: keyof typeof IM_ERRORS): NimImRejection {
  return {
    message: '生成接口回调错误',
    callFunc: 'api::processCallbackPromise',
    event: { code, message: IM_ERRORS[code], timetag: Date.now() },
  };
}

const clone = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

let pendingDeliveries = 0;

/** One hop of the SDK's own event plumbing (its emitters defer every handler by `setTimeout(0)`). */
const later = (run: () => void) => {
  pendingDeliveries++;
  setTimeout(() => {
    pendingDeliveries--;
    run();
  }, 0);
};

/**
 * Resolves once every event the stand-in has scheduled has been delivered, including events scheduled while
 * delivering (a handler that calls the SDK again): what "nothing else arrives" waits for, instead of a sleep.
 */
export async function standinIdle(): Promise<void> {
  for (let idleTurns = 0; idleTurns < 2;) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    idleTurns = pendingDeliveries === 0 ? idleTurns + 1 : 0;
  }
}

/**
 * SDK77's `verifyOptions`: checks only a plain-object argument and throws synchronously, before any promise
 * exists. Its test is `!v && 0 != v`, so only undefined, null and NaN are missing (0, false and '' pass).
 */
function verifyOptions(options: object | undefined, keys: string): void {
  if (!options || options.constructor !== Object) return;
  for (const key of keys.split(' ')) {
    const value = (options as Record<string, unknown>)[key];
    if (value === undefined || value === null || Number.isNaN(value)) throw Error(`参数缺失 ${key}`);
  }
}

/**
 * SDK77's emitter throws `Error({message, callFunc})`; an object message stringifies, so what a caller sees
 * is an Error whose message is "[object Object]".
 */
function emitterError(message: string, callFunc: string): Error {
  return Error({ message, callFunc } as unknown as string);
}

export interface NimCloudOptions {
  /**
   * Members a room's media session takes; one more logging in is refused with the gateway's `roomRefused`.
   * Unset: no limit. SDK77 names no limit of its own; see `gatewayLogin` for why the refusal is modelled there.
   */
  roomCapacity?: number;
}

/**
 * NetEase's cloud as the SDK sees it: the IM server (calls, team calls, rooms) and the media gateway. Where
 * SDK77's code cannot say what the servers do, the choice made here is named as the stand-in's model.
 */
export class NimCloud {
  /** IM server clock is not the phone's: IM timetags differ from the SDK's local ones. */
  readonly serverClockOffsetMs = 37;
  private nextCid = 6_100_000_001;
  private nextUid = 100_001;
  private nextLogin = 1;
  private readonly devices = new Map<string, NimStandin[]>();
  private readonly calls = new Map<number, CloudCall>();
  private readonly rooms = new Map<string, CloudRoom>();
  /** Media gateway membership: cid → instances logged in to it. */
  private readonly gateways = new Map<number, Set<NimStandin>>();
  /** IM notifications waiting while the IM server is slow (`holdIm`), in order. */
  private imQueue: (() => void)[] | null = null;

  constructor(private readonly options: NimCloudOptions = {}) {}

  /** An IM-logged-in device of `account` with its netcall instance. */
  connect(account: string): NimStandin {
    const instance = new NimStandin(this, account);
    this.devices.set(account, [...(this.devicesOf(account) ?? []), instance]);
    return instance;
  }

  /** The device goes offline (IM logout). */
  disconnect(instance: NimStandin): void {
    this.devices.set(
      instance.account,
      this.devicesOf(instance.account).filter((d) => d !== instance),
    );
  }

  serverNow(): number {
    return Date.now() - this.serverClockOffsetMs;
  }

  /**
   * From now on IM notifications wait until `releaseIm()`: the IM server is slower than the media gateway,
   * so a gateway `clientLeave` can overtake IM's `notifyHangup`.
   */
  holdIm(): void {
    this.imQueue ??= [];
  }

  releaseIm(): void {
    const queue = this.imQueue ?? [];
    this.imQueue = null;
    for (const notify of queue) notify();
  }

  // ---- IM side: calls -----------------------------------------------------------------------------------

  /**
   * IM `initNetcall` with `accounts` (SDK77 sends `[callee]`, or the array of a team call). Every callee's
   * devices get `beCalled` with the call's whole `accountUidMap`. The stand-in's model for a team call with
   * a callee offline: refused with 11001, as a 1:1 call is (the IM server's rule is not in SDK77).
   */
  initNetcall(
    from: NimStandin,
    type: 1 | 2,
    accounts: string[],
    team: boolean,
  ): Promise<{ channelId: number; accountUidMap: Record<string, number> }> {
    if (accounts.some((account) => this.devicesOf(account).length === 0))
      return Promise.reject(imError(11001));
    const accountUidMap: Record<string, number> = { [from.account]: this.nextUid++ };
    for (const account of accounts) accountUidMap[account] = this.nextUid++;
    const call: CloudCall = {
      cid: this.nextCid++,
      type,
      caller: from,
      callees: [...accounts],
      team,
      accountUidMap,
      ringing: new Set(accounts),
      answered: new Map(),
    };
    this.calls.set(call.cid, call);
    for (const account of accounts)
      for (const device of this.devicesOf(account))
        this.notify(() => device.imBeCalled(call.cid, from.account, type, { ...accountUidMap }));
    return Promise.resolve({ channelId: call.cid, accountUidMap: { ...accountUidMap } });
  }

  calleeAck(from: NimStandin, cid: number, accepted: boolean): Promise<void> {
    const call = this.calls.get(cid);
    if (!call || !call.callees.includes(from.account)) return Promise.reject(imError(9102));
    if (!call.ringing.has(from.account)) return Promise.reject(imError(9103));
    const others = this.devicesOf(from.account).filter((d) => d !== from);
    const timetag = String(this.serverNow());
    call.ringing.delete(from.account);
    if (accepted) call.answered.set(from.account, from);
    // A 1:1 call refused is over; a team call, once nobody is left ringing or answered.
    else if (!call.team || call.answered.size + call.ringing.size === 0) this.calls.delete(cid);
    this.notify(() => call.caller.imNotifyCalleeAck(cid, from.account, call.type, accepted));
    for (const device of others) this.notify(() => device.imCalleeAckSync(timetag, cid, call.type, accepted));
    return Promise.resolve();
  }

  /**
   * IM `hangup`: the call is over. 1:1: the other side hears it. Team call (the stand-in's model; SDK77 ends a
   * team call at any party's notice anyway, see `imNotifyHangup`): every other party, devices still ringing
   * included.
   */
  hangup(from: NimStandin, cid: number): void {
    const call = this.calls.get(cid);
    if (!call) return;
    this.calls.delete(cid);
    const timetag = this.serverNow();
    const ringingDevices = (except?: string) =>
      [...call.ringing].filter((account) => account !== except).flatMap((account) => this.devicesOf(account));
    let targets: NimStandin[];
    if (!call.team)
      targets = from === call.caller ? [...call.answered.values(), ...ringingDevices()] : [call.caller];
    else
      targets = [
        ...(from === call.caller ? [] : [call.caller]),
        ...[...call.answered.values()].filter((device) => device !== from),
        ...ringingDevices(from.account),
      ];
    for (const target of targets) this.notify(() => target.imNotifyHangup(cid, from.account, timetag));
  }

  /**
   * IM `netcallControl`, to the other parties of the call (the caller and those who answered, or the ringing
   * devices of a 1:1 callee) or, the stand-in's model for a room, every other member; the receiving SDK decides
   * whether it drops the notice.
   */
  control(from: NimStandin, cid: number, command: number): void {
    const room = [...this.rooms.values()].find((r) => r.cid === cid);
    if (room) {
      for (const member of room.members.values())
        if (member.device !== from)
          this.notify(() => member.device.imNotifyControl(cid, from.account, command));
      return;
    }
    const call = this.calls.get(cid);
    if (!call) return;
    const answered = [...call.answered.values()];
    const targets =
      from === call.caller
        ? answered.length > 0 || call.team
          ? answered
          : this.devicesOf(call.callees[0])
        : [call.caller, ...answered.filter((device) => device !== from)];
    for (const target of targets) this.notify(() => target.imNotifyControl(cid, from.account, command));
  }

  // ---- IM side: rooms ----------------------------------------------------------------------------------

  /**
   * IM `createChannel`: a name is taken from creation until its last member leaves (NetEase's room docs), then
   * 417 (NetEase's IM error table: 重复操作; NetEase's PC docs: 417 for a name in use). NetEase's IM SDK
   * resolves the command with the options it sent (`getPacketObj`): no channel id.
   */
  createChannel(options: { channelName: string; custom: string; webrtcEnable: boolean }): Promise<{
    channelName: string;
    custom: string;
    webrtcEnable: boolean;
  }> {
    if (this.rooms.has(options.channelName)) return Promise.reject(imError(417));
    this.rooms.set(options.channelName, {
      name: options.channelName,
      cid: this.nextCid++,
      custom: options.custom,
      members: new Map(),
    });
    return Promise.resolve({ ...options });
  }

  /**
   * IM `joinChannel` (9_14: `channelId`, `accountUidMap`, `serverMap`, `custom`): the members already in the
   * room hear `notifyJoin` with the joiner. No such room: the IM error table's 404 (the stand-in's model; the
   * server's code for it is not in SDK77).
   */
  joinRoom(
    from: NimStandin,
    name: string,
  ): Promise<{
    channelId: number;
    accountUidMap: Record<string, number>;
    custom: string;
    serverMap: string;
  }> {
    const room = this.rooms.get(name);
    if (!room) return Promise.reject(imError(404));
    const uid = this.nextUid++;
    for (const member of room.members.values())
      this.notify(() => member.device.imNotifyJoin(room.cid, { [from.account]: uid }));
    room.members.set(from.account, { uid, device: from });
    const accountUidMap: Record<string, number> = {};
    for (const [account, member] of room.members) accountUidMap[account] = member.uid;
    return Promise.resolve({
      channelId: room.cid,
      accountUidMap,
      custom: room.custom,
      serverMap: JSON.stringify({ wechatapparray: ['standin.invalid'] }),
    });
  }

  /** A member is gone from the room (its gateway session ended); the last one gives the name back. */
  private leaveRoom(from: NimStandin, cid: number): void {
    const room = [...this.rooms.values()].find((r) => r.cid === cid);
    if (!room || room.members.get(from.account)?.device !== from) return;
    room.members.delete(from.account);
    if (room.members.size === 0) this.rooms.delete(room.name);
  }

  // ---- media gateway side ----------------------------------------------------------------------------------

  /** URLs are signed for the login they are handed to, so a new login (a reconnect) gets new strings. */
  pushUrl(gateway: Gateway): string {
    return `rtmp://standin.invalid/live/${gateway.cid}_${gateway.uid}?wsSecret=push-${gateway.login}`;
  }
  playUrl(publisher: Gateway, viewer: Gateway): string {
    return `rtmp://standin.invalid/live/${publisher.cid}_${publisher.uid}?wsSecret=play-${viewer.login}`;
  }

  /**
   * Gateway login: membership starts now; a first login is announced to the others as `clientJoin`. Returns
   * false when the gateway refuses it: a room (MEETING scene) already holding `roomCapacity` members. The
   * stand-in's model of a full room: SDK77's only refusal of a member by the room is the gateway's
   * `roomRefused` packet, and NetEase's PC docs report a channel over its member limit as a connect error
   * (104), not as an IM one. The refused member's IM join stays announced: the others heard `notifyJoin`.
   */
  gatewayLogin(from: NimStandin, gateway: Gateway): boolean {
    const members = this.gateways.get(gateway.cid) ?? new Set<NimStandin>();
    const rejoin = members.has(from);
    const capacity = this.options.roomCapacity;
    if (!rejoin && gateway.scene === 1 && capacity !== undefined && members.size >= capacity) {
      this.leaveRoom(from, gateway.cid);
      return false;
    }
    gateway.login = this.nextLogin++;
    this.gateways.set(gateway.cid, members);
    members.add(from);
    if (rejoin) return true;
    for (const member of members) {
      const viewer = member.gatewaySession;
      if (member === from || !viewer) continue;
      member.gatewayClientJoin({
        uid: gateway.uid,
        accid: from.account,
        cid: gateway.cid,
        url: this.playUrl(gateway, viewer),
        mode: gateway.mode,
      });
    }
    return true;
  }

  /** The login answer's user list, as the gateway has it when it answers: own push URL, others' play URLs. */
  userList(from: NimStandin, gateway: Gateway): GatewayUser[] {
    return [...(this.gateways.get(gateway.cid) ?? [])].flatMap((member) => {
      const g = member.gatewaySession;
      if (!g) return [];
      const url = member === from ? this.pushUrl(g) : this.playUrl(g, gateway);
      return [{ uid: g.uid, accid: member.account, url, mode: g.mode }];
    });
  }

  /**
   * A member leaves the gateway (logout, or its socket timed out): the others hear `clientLeave`. In a room
   * that is also its leave of the room (SDK77's `leaveChannel` sends no IM command).
   */
  gatewayLogout(from: NimStandin, gateway: Gateway): void {
    const members = this.gateways.get(gateway.cid);
    if (!members?.delete(from)) return;
    if (members.size === 0) this.gateways.delete(gateway.cid);
    if (gateway.scene === 1) this.leaveRoom(from, gateway.cid);
    for (const member of members)
      member.gatewayClientLeave({ uid: gateway.uid, accid: from.account, cid: gateway.cid });
  }

  gatewayModeChanged(from: NimStandin, gateway: Gateway): void {
    for (const member of this.gateways.get(gateway.cid) ?? [])
      if (member !== from)
        member.gatewayClientUpdate({
          uid: gateway.uid,
          accid: from.account,
          cid: gateway.cid,
          mode: gateway.mode,
        });
  }

  private notify(deliver: () => void): void {
    if (this.imQueue) this.imQueue.push(deliver);
    else deliver();
  }

  private devicesOf(account: string): NimStandin[] {
    return this.devices.get(account) ?? [];
  }
}

/** One SDK instance (`NetcallWeixin.getInstance({nim})`), as SDK77 behaves. */
export class NimStandin implements NimNetcallInstance {
  readonly NETCALL_TYPE_AUDIO = CONSTANTS.NETCALL_TYPE_AUDIO;
  readonly NETCALL_TYPE_VIDEO = CONSTANTS.NETCALL_TYPE_VIDEO;
  readonly NETCALL_MODE_AUDIO_VIDEO = CONSTANTS.NETCALL_MODE_AUDIO_VIDEO;
  readonly NETCALL_MODE_ONLY_AUDIO = CONSTANTS.NETCALL_MODE_ONLY_AUDIO;
  readonly NETCALL_MODE_ONLY_VIDEO = CONSTANTS.NETCALL_MODE_ONLY_VIDEO;
  readonly NETCALL_MODE_NOAUDIO_NOVIDEO = CONSTANTS.NETCALL_MODE_NOAUDIO_NOVIDEO;
  readonly ROLE_HOST = CONSTANTS.ROLE_HOST;
  readonly ROLE_AUDIENCE = CONSTANTS.ROLE_AUDIENCE;
  readonly P2P = CONSTANTS.P2P;
  readonly MEETING = CONSTANTS.MEETING;
  readonly LIVE_ENABLE_OPEN = CONSTANTS.LIVE_ENABLE_OPEN;
  readonly LIVE_ENABLE_CLOSE = CONSTANTS.LIVE_ENABLE_CLOSE;
  readonly RTMP_RECORD_OPEN = CONSTANTS.RTMP_RECORD_OPEN;
  readonly RTMP_RECORD_CLOSE = CONSTANTS.RTMP_RECORD_CLOSE;
  readonly RECORD_AUDIO_OPEN = CONSTANTS.RECORD_AUDIO_OPEN;
  readonly RECORD_AUDIO_CLOSE = CONSTANTS.RECORD_AUDIO_CLOSE;
  readonly RECORD_VIDEO_OPEN = CONSTANTS.RECORD_VIDEO_OPEN;
  readonly RECORD_VIDEO_CLOSE = CONSTANTS.RECORD_VIDEO_CLOSE;
  readonly RECORD_TYPE_MIX_SINGLE = CONSTANTS.RECORD_TYPE_MIX_SINGLE;
  readonly RECORD_TYPE_ONLY_MIX = CONSTANTS.RECORD_TYPE_ONLY_MIX;
  readonly RECORD_TYPE_ONLY_SINGLE = CONSTANTS.RECORD_TYPE_ONLY_SINGLE;
  readonly NETCALL_CONTROL_COMMAND_NOTIFY_AUDIO_ON = CONSTANTS.NETCALL_CONTROL_COMMAND_NOTIFY_AUDIO_ON;
  readonly NETCALL_CONTROL_COMMAND_NOTIFY_AUDIO_OFF = CONSTANTS.NETCALL_CONTROL_COMMAND_NOTIFY_AUDIO_OFF;
  readonly NETCALL_CONTROL_COMMAND_NOTIFY_VIDEO_ON = CONSTANTS.NETCALL_CONTROL_COMMAND_NOTIFY_VIDEO_ON;
  readonly NETCALL_CONTROL_COMMAND_NOTIFY_VIDEO_OFF = CONSTANTS.NETCALL_CONTROL_COMMAND_NOTIFY_VIDEO_OFF;
  readonly NETCALL_CONTROL_COMMAND_SWITCH_AUDIO_TO_VIDEO =
    CONSTANTS.NETCALL_CONTROL_COMMAND_SWITCH_AUDIO_TO_VIDEO;
  readonly NETCALL_CONTROL_COMMAND_SWITCH_AUDIO_TO_VIDEO_AGREE =
    CONSTANTS.NETCALL_CONTROL_COMMAND_SWITCH_AUDIO_TO_VIDEO_AGREE;
  readonly NETCALL_CONTROL_COMMAND_SWITCH_AUDIO_TO_VIDEO_REJECT =
    CONSTANTS.NETCALL_CONTROL_COMMAND_SWITCH_AUDIO_TO_VIDEO_REJECT;
  readonly NETCALL_CONTROL_COMMAND_SWITCH_VIDEO_TO_AUDIO =
    CONSTANTS.NETCALL_CONTROL_COMMAND_SWITCH_VIDEO_TO_AUDIO;
  readonly NETCALL_CONTROL_COMMAND_BUSY = CONSTANTS.NETCALL_CONTROL_COMMAND_BUSY;
  readonly NETCALL_CONTROL_COMMAND_SELF_CAMERA_INVALID =
    CONSTANTS.NETCALL_CONTROL_COMMAND_SELF_CAMERA_INVALID;
  readonly NETCALL_CONTROL_COMMAND_SELF_ON_BACKGROUND = CONSTANTS.NETCALL_CONTROL_COMMAND_SELF_ON_BACKGROUND;
  readonly NETCALL_CONTROL_COMMAND_START_NOTIFY_RECEIVED =
    CONSTANTS.NETCALL_CONTROL_COMMAND_START_NOTIFY_RECEIVED;

  /** The IM controller's state, where the real SDK keeps the cid of the current call. */
  readonly _imController = { _status: { imInfo: {} as ImInfo, beCalledInfo: {} as ImInfo } };
  /** Every delivery to an `on` handler (after the async hop), in order: the SDK side of what a test sees. */
  readonly delivered: Delivery[] = [];
  /**
   * Errors SDK77 would throw from inside its own timers, where nothing can catch them (in a mini-program they
   * land in `App.onError`). Kept here instead of thrown, so a test can assert on them.
   */
  readonly uncaught: Error[] = [];
  /** The gateway session (after startRtc / joinChannel), null otherwise. */
  gatewaySession: Gateway | null = null;
  /** Every `joinChannel` options object that reached the IM join, for tests of what the adapter asked. */
  readonly joinOptions: NimJoinChannelOptions[] = [];

  private readonly handlers = new Map<NimNetcallEventName, (payload: never) => void>();
  private readonly onceHandlers = new Map<NimNetcallEventName, (payload: never) => void>();
  private status: NimStatus = NimStandin.idleStatus();
  private imControllers = 1;
  /** Login answers held back by `holdSyncDone()`, sent in order on release. */
  private heldSyncDone: (() => void)[] | null = null;

  constructor(
    private readonly cloud: NimCloud,
    readonly account: string,
  ) {}

  private static idleStatus(): NimStatus {
    return {
      calling: false,
      onTheCall: false,
      isCaller: false,
      sessionMode: '',
      signalInited: false,
      role: 0,
      rtmpPushAddress: '',
      startSessionTime: 0,
      endSessionTime: 0,
      lastSessionDuation: 0,
    };
  }

  // ---- test controls ---------------------------------------------------------------------------------------

  /** From now on every IM event arrives once more, as after `NetcallController` was rebuilt on IM reconnect. */
  rebuildController(): void {
    this.imControllers++;
  }

  /** Emits `payload` as if the SDK had (asynchronously), `times` times. */
  inject<K extends NimNetcallEventName>(name: K, payload: NimNetcallEventMap[K], times = 1): void {
    for (let i = 0; i < times; i++) this.deliver(name, payload);
  }

  /**
   * The gateway answers this instance's logins late: until the returned function is called, login answers
   * (`syncDone`) wait, while `clientJoin`s of others joining meanwhile arrive. The answer lists the members
   * the gateway has when it answers.
   */
  holdSyncDone(): () => void {
    const held: (() => void)[] = [];
    this.heldSyncDone = held;
    return () => {
      if (this.heldSyncDone === held) this.heldSyncDone = null;
      for (const answer of held.splice(0)) answer();
    };
  }

  /**
   * The gateway socket drops and the SDK logs in again (SDK77's gateway controller `_onClose` →
   * `startSignal`): `willreconnect {count}` per closed attempt, counting from 0 because the last answered login
   * reset the count (`_onSyncDone`), then a fresh `syncDone` with new URLs and `connectCount` = attempts it took.
   */
  simulateReconnect(options: { failedAttempts?: number } = {}): void {
    const gateway = this.gatewaySession;
    if (!gateway) throw new Error('simulateReconnect: no gateway session');
    const failed = options.failedAttempts ?? 0;
    for (let count = 0; count <= failed; count++) this.deliver('willreconnect', { count }, 'gateway');
    gateway.attempts = failed + 1;
    this.cloud.gatewayLogin(this, gateway);
    this.answerLogin(gateway);
  }

  /** The gateway kicks this instance (`kicked` with the raw packet), then the SDK destroys: `disconnect 405`. */
  /**
   * The gateway loses this instance for good (its network is gone): the gateway drops it, so the others hear
   * `clientLeave` (in a room; `_invokeHangup` in P2P scene), and this SDK says `willreconnect {count: 0}`, then,
   * once its retries (every 5 s, `reconnectMaxNum` 8) have all failed, `reconnectFailed` → `destroy()` →
   * `disconnect` 403. The retries themselves are not replayed.
   */
  simulateGatewayLoss(): void {
    const gateway = this.gatewaySession;
    if (!gateway) throw new Error('simulateGatewayLoss: no gateway session');
    this.gatewaySession = null;
    this.cloud.gatewayLogout(this, gateway);
    this.deliver('willreconnect', { count: 0 }, 'gateway');
    this.resetStatus();
    this.deliver('disconnect', { code: '403', desc: 'wx: maxceed reconnect times' }, 'gateway');
  }

  /**
   * The gateway closes this instance's live room: SDK77 passes the gateway's packet on raw, as `liveRoomClose`
   * (`{cmd, body: {cid, reason}}`; netcall-api.md §4), with no teardown of its own noted, unlike `kicked`. The
   * stand-in's model: delivered as is, the status untouched. When NetEase's gateway sends it is not in SDK77;
   * tests call this where the gateway would.
   */
  simulateLiveRoomClose(reason: number | string = 0): void {
    const gateway = this.gatewaySession;
    if (!gateway) throw new Error('simulateLiveRoomClose: no gateway session');
    this.deliver('liveRoomClose', { cmd: 'liveRoomClose', body: { cid: gateway.cid, reason } }, 'gateway');
  }

  simulateKick(reason = 1): void {
    const gateway = this.gatewaySession;
    if (!gateway) throw new Error('simulateKick: no gateway session');
    this.deliver('kicked', { cmd: 'onKicked', body: { cid: gateway.cid, reason } }, 'gateway');
    this.closeGateway({ code: '405', desc: 'wx: kicked' });
    this.resetStatus();
  }

  // ---- API ------------------------------------------------------------------------------------------------

  /** A callee array is a team call (`isTeamCall`: `callee.constructor === Array`), whatever its length. */
  call(options: NimCallOptions): Promise<NimCallResult> {
    if (this.status.calling) return Promise.reject('呼叫失败: 当前正在通话中');
    verifyOptions(options, 'type callee');
    const team = Array.isArray(options.callee);
    const accounts = Array.isArray(options.callee) ? options.callee : [options.callee];
    Object.assign(this.status, {
      calling: true,
      isCaller: true,
      isTeamCall: team,
      sessionMode: 0,
      signalInited: true,
    });
    return this.cloud.initNetcall(this, options.type, accounts, team).then(
      (info) => {
        this._imController._status.imInfo = { ...info, type: options.type, account: this.account };
        return { ...info.accountUidMap };
      },
      (error: unknown) => {
        this.destroy();
        return Promise.reject(error);
      },
    );
  }

  response(options: NimResponseOptions): Promise<void> {
    verifyOptions(options, 'caller accepted type cid');
    // `_imController.response` only updates the status: a rejection resets nothing, so `signalInited` (set by
    // `_onBeCalled`) stays, and `joinChannel` then refuses with 已经在房间中了 until something resets it.
    return this.cloud.calleeAck(this, Number(options.cid), options.accepted).then(() => {
      Object.assign(this.status, { calling: options.accepted, isCaller: false });
      if (options.accepted) this.status.onTheCall = true;
    });
  }

  hangup(): Promise<void> {
    const cid = this.currentCid();
    const active = cid !== undefined && (this.status.calling || this.status.onTheCall);
    this.status.calling = false;
    this.status.onTheCall = false;
    // `_imController.hangup` sends IM `hangup` first; `_resetWhenHangup` → `destroy()` then logs out of the
    // gateway. The peer's SDK therefore hears IM before the gateway's clientLeave.
    if (active) this.cloud.hangup(this, cid);
    this.destroy();
    return Promise.resolve();
  }

  control(options: NimControlOptions): Promise<void> {
    verifyOptions(options, 'command');
    const cid = options.cid !== undefined ? Number(options.cid) : this.currentCid();
    if (!options.command || cid === undefined)
      return Promise.reject('IMController: control: command或channelId为空！');
    this.cloud.control(this, cid, options.command);
    return Promise.resolve();
  }

  startRtc(options: NimStartRtcOptions): Promise<NimRtcIdentity> {
    verifyOptions(options, 'mode');
    const info = this.status.isCaller
      ? this._imController._status.imInfo
      : this._imController._status.beCalledInfo;
    // Like the SDK: with no call this reads a property of undefined and throws a TypeError.
    const uid = info.accountUidMap![this.account];
    const cid = info.channelId!;
    this.status.signalInited = true;
    return this.openGateway({ cid, uid, mode: options.mode, scene: 0, login: 0, attempts: 0 }).then(() => ({
      uid,
      cid,
      account: this.account,
    }));
  }

  createChannel(options: NimCreateChannelOptions): Promise<NimCreateChannelResult> {
    verifyOptions(options, 'channelName');
    return this.cloud.createChannel({
      channelName: options.channelName,
      custom: options.custom || '',
      webrtcEnable: true,
    });
  }

  /**
   * `_getChannelInfo` (refused while `signalInited`), IM `joinChannel`, then the gateway login in MEETING
   * scene; resolves `{accountUidMap, uid, cid, account, custom?}` once the socket is requested, before the
   * login's answer: `syncDone`, or for a full room `roomRefused` (`kicked`, then `disconnect` 406).
   */
  joinChannel(options: NimJoinChannelOptions): Promise<NimJoinChannelResult> {
    verifyOptions(options, 'channelName mode role');
    this.status.role = options.role;
    if (this.status.signalInited) return Promise.reject('已经在房间中了');
    return this.cloud.joinRoom(this, options.channelName).then((room) => {
      const uid = room.accountUidMap[this.account];
      Object.assign(this.status, { signalInited: true, sessionMode: 1 });
      this._imController._status.imInfo = { channelId: room.channelId, accountUidMap: room.accountUidMap };
      this.joinOptions.push({ ...options });
      const gateway: Gateway = {
        cid: room.channelId,
        uid,
        mode: options.mode,
        scene: 1,
        login: 0,
        attempts: 0,
      };
      const joined: NimJoinChannelResult = {
        accountUidMap: room.accountUidMap,
        uid,
        cid: room.channelId,
        account: this.account,
      };
      if (room.custom) joined.custom = room.custom;
      return this.openGateway(gateway).then(() => joined);
    });
  }

  /** Gateway logout and a status reset; no IM command, so the room hears of it from the gateway only. */
  leaveChannel(): Promise<void> {
    if (!this.status.signalInited) return Promise.reject('未处于房间中');
    this.resetStatus();
    // With no socket, `stopSignal` still goes through `_onClose` → `destroy`: the normal disconnect.
    if (!this.gatewaySession)
      this.deliver('disconnect', { code: '0', desc: 'wx: normally closed' }, 'gateway');
    this.closeGateway({ code: '0', desc: 'wx: normally closed' });
    return Promise.resolve();
  }

  switchMode(mode: number): Promise<void> {
    if (typeof mode !== 'number') throw Error('switchMode: 入参类型必须为Number');
    if (![0, 1, 2, 3].includes(mode)) return Promise.reject('RTC: switchMode: mode值无效！');
    const gateway = this.gatewaySession;
    // SDK77 calls `this._websocket.updatePushMode` with no socket: a synchronous TypeError.
    if (!gateway) throw new TypeError("Cannot read properties of null (reading 'updatePushMode')");
    gateway.mode = mode as NimMode;
    this.cloud.gatewayModeChanged(this, gateway);
    return Promise.resolve();
  }

  getStatus(): NimStatus {
    return clone(this.status);
  }

  /** Resets the call state (the gateway controller's `destroy` resets the main status) and closes the gateway. */
  destroy(): void {
    this.resetStatus();
    this.closeGateway({ code: '0', desc: 'wx: normally closed' });
  }

  // ---- emitter (SDK77's event base class: `on`, `once`, `off`, `emit`, `eventReset`) --------------------------

  on<K extends NimNetcallEventName>(name: K, handler: NimHandler<K>): void {
    if (!name) throw emitterError('event listener funkey undefined', 'adapter:_on');
    if (!(handler instanceof Function))
      throw emitterError('event listener next param should be function', 'adapter:_on');
    this.handlers.set(name, handler as (payload: never) => void);
  }

  /** A slot of its own, one per event: replaces an earlier `once`, never the `on` handler. */
  once<K extends NimNetcallEventName>(name: K, handler: NimHandler<K>): void {
    if (!name) throw emitterError('event once listener funkey undefined', 'adapter:_once');
    if (!(handler instanceof Function))
      throw emitterError('event once listener next param should be function', 'adapter:_once');
    this.onceHandlers.set(name, handler as (payload: never) => void);
  }

  /** Removes the `on` handler only; a pending `once` stays. */
  off(name: NimNetcallEventName): void {
    if (!name) throw emitterError('event listener funkey undefined', 'adapter:_off');
    if (!this.handlers.has(name)) throw emitterError('event listener unbind failed!', 'adapter:_off');
    this.handlers.delete(name);
  }

  emit<K extends NimNetcallEventName>(name: K, payload: NimNetcallEventMap[K]): void {
    this.deliver(name, payload);
  }

  eventReset(): void {
    this.handlers.clear();
    this.onceHandlers.clear();
  }

  // ---- what the cloud delivers: the SDK's internal handling -------------------------------------------------

  imBeCalled(cid: number, caller: string, type: 1 | 2, accountUidMap: Record<string, number>): void {
    if (!this.status.onTheCall) {
      this._imController._status.beCalledInfo = { channelId: cid, accountUidMap, type, account: caller };
      Object.assign(this.status, { signalInited: true, isCaller: false, sessionMode: 0, calling: true });
    }
    this.deliverIm('beCalling', { caller, cid, type });
  }

  /** `_onNotifyCalleeAck`: a rejection ends a 1:1 call (`_resetWhenHangup`), never a team call. */
  imNotifyCalleeAck(cid: number, account: string, type: 1 | 2, accepted: boolean): void {
    if (accepted) this.status.onTheCall = true;
    else if (!this.status.isTeamCall) this.resetStatus();
    this.deliverIm(accepted ? 'callAccepted' : 'callRejected', { cid, account, type });
  }

  imCalleeAckSync(timetag: string, cid: number, type: 1 | 2, accepted: boolean): void {
    // 16: the "web" client type byte.
    this.deliverIm('callerAckSync', { timetag, cid, type, accepted, fromClientType: 16 });
    this.resetStatus();
  }

  /**
   * SDK77's `_onNotifyHangup`, reached from IM `notifyHangup` or, `viaGateway`, from `_onClientLeave` →
   * `_invokeHangup` (which calls it directly, so a rebuilt IM controller does not double that one). Only while
   * on the call does it leave the gateway; every time, it emits a hangup.
   */
  imNotifyHangup(cid: number, account: string, timetag: number, viaGateway = false): void {
    const wasOnTheCall = this.status.onTheCall;
    const current = cid === this.currentCid();
    this.status.onTheCall = false;
    this.status.calling = false;
    if (wasOnTheCall && current) {
      // `_resetStatus()` of the IM controller now; the gateway logout (`emit('leaveChannel')` →
      // `leaveChannel()`) completes only when the gateway answers it, and until then the SDK is still in the
      // room, in P2P scene, and hears the gateway's packets.
      this._imController._status.imInfo = {};
      const gateway = this.gatewaySession;
      later(() => {
        if (this.gatewaySession !== gateway) return;
        this.resetStatus();
        this.closeGateway({ code: '0', desc: 'wx: normally closed' });
      });
    }
    if (viaGateway) this.deliver('hangup', { cid, timetag, account }, 'gateway');
    else this.deliverIm('hangup', { cid, timetag, account });
  }

  imNotifyControl(cid: number, account: string, command: number): void {
    // `_onNetcallControl`: not the current channel → "drop!"
    if (cid !== this.currentCid()) return;
    this.deliverIm('control', { cid, command, account });
  }

  imNotifyJoin(cid: number, accountUidMap: Record<string, number>): void {
    for (const [account, uid] of Object.entries(accountUidMap))
      this.deliverIm('joinChannel', { uid, account, cid });
  }

  gatewayClientJoin(packet: GatewayUser & { cid: number }): void {
    const { accid, ...rest } = packet;
    this.deliver('clientJoin', { ...rest, account: accid }, 'gateway');
  }

  gatewayClientLeave(packet: { uid: number; accid: string; cid: number }): void {
    if (this.status.sessionMode === 0) {
      // `_onClientLeave` in P2P: `_invokeHangup` → `_onNotifyHangup`, stamped with the local clock.
      this.imNotifyHangup(packet.cid, packet.accid, Date.now(), true);
      return;
    }
    this.deliver('clientLeave', { uid: packet.uid, account: packet.accid, cid: packet.cid }, 'gateway');
  }

  gatewayClientUpdate(packet: { uid: number; accid: string; cid: number; mode: NimMode }): void {
    this.deliver('clientUpdate', { ...packet, account: undefined }, 'gateway');
  }

  // ---- internals --------------------------------------------------------------------------------------------

  private currentCid(): number | undefined {
    const info = this.status.isCaller
      ? this._imController._status.imInfo
      : this._imController._status.beCalledInfo;
    return info.channelId;
  }

  private resetStatus(): void {
    this.status = NimStandin.idleStatus();
    this._imController._status.imInfo = {};
    this._imController._status.beCalledInfo = {};
  }

  private openGateway(gateway: Gateway): Promise<void> {
    this.gatewaySession = gateway;
    // `startSignal` counts the attempt before logging in.
    gateway.attempts = 1;
    if (!this.cloud.gatewayLogin(this, gateway)) {
      // The gateway's packet 25 (`onRoomRefused`): the main controller emits it as `kicked` and destroys.
      later(() => {
        if (this.gatewaySession !== gateway) return;
        this.deliver('kicked', { cmd: 'onRoomRefused', body: { cid: gateway.cid, reason: 1 } }, 'gateway');
        this.gatewaySession = null;
        this.resetStatus();
        this.deliver('disconnect', { code: '406', desc: 'wx: roomRefused' }, 'gateway');
      });
      return Promise.resolve();
    }
    this.answerLogin(gateway);
    // SDK77 resolves once `wx.connectSocket` succeeds, before the login answer (syncDone) arrives.
    return Promise.resolve();
  }

  /** The gateway's login answer, now or, while `holdSyncDone()` is on, when released. */
  private answerLogin(gateway: Gateway): void {
    const answer = () => {
      if (this.gatewaySession !== gateway) return;
      this.deliverSyncDone(this.cloud.userList(this, gateway), gateway);
    };
    if (this.heldSyncDone) this.heldSyncDone.push(answer);
    else answer();
  }

  private deliverSyncDone(list: GatewayUser[], gateway: Gateway): void {
    const userlist: NimRtcUser[] = list.map(({ accid, ...user }) => ({
      ...user,
      account: accid,
      pusher_secret: 'standin',
      scene: gateway.scene,
    }));
    // `_judgeRoleAndSave`: an audience member's own URL moves into rtmpPushAddress.
    if (this.status.role === 1)
      for (const user of userlist)
        if (user.uid === gateway.uid) {
          this.status.rtmpPushAddress = user.url ?? '';
          user.url = null;
        }
    const connectCount = gateway.attempts;
    // `_onSyncDone` reports the attempts, then resets the count for the next reconnect.
    gateway.attempts = 0;
    this.deliver('syncDone', { code: 200, errmsg: '', userlist, connectCount }, 'gateway');
  }

  private closeGateway(event: { code: string; desc: string }): void {
    const gateway = this.gatewaySession;
    if (!gateway) return;
    this.gatewaySession = null;
    this.cloud.gatewayLogout(this, gateway);
    this.deliver('disconnect', event, 'gateway');
  }

  private deliverIm<K extends NimNetcallEventName>(name: K, payload: NimNetcallEventMap[K]): void {
    for (let i = 0; i < this.imControllers; i++) this.deliver(name, payload, 'im');
  }

  /**
   * SDK77's `emit`: the once slot, if set now, is read when its timer fires (unguarded: a second emit before
   * then finds it gone and throws); the `on` handler, if set now, is read when its own timer fires.
   */
  private deliver<K extends NimNetcallEventName>(
    name: K,
    payload: NimNetcallEventMap[K],
    source?: Delivery['source'],
  ): void {
    const copy = clone(payload);
    if (this.onceHandlers.has(name))
      later(() => {
        const once = this.onceHandlers.get(name);
        if (!(once instanceof Function)) {
          this.uncaught.push(new TypeError('n._eventOnceListener[e] is not a function'));
          return;
        }
        (once as NimHandler<K>)(copy);
        this.onceHandlers.delete(name);
      });
    const hadHandler = this.handlers.has(name);
    later(() => {
      this.delivered.push(source ? { name, payload: copy, source } : { name, payload: copy });
      const handler = this.handlers.get(name);
      if (hadHandler && handler) (handler as NimHandler<K>)(copy);
    });
  }
}
