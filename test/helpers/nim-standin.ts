/**
 * A stand-in for NetEase's weixin Netcall SDK instance (SDK77), since NetEase's cloud cannot run here.
 * It reproduces the behaviour documented in /work/shared/reference/netcall-api.md, quirks included, so that
 * `NimNetcall` is tested against what the SDK does rather than against what we wish it did:
 *
 * - one handler per event: `on` replaces, `off` throws when there is none (§7.2);
 * - every event is emitted asynchronously (`setTimeout(0)`) with numeric `uid` / `cid` (§7.1);
 * - `syncDone` items carry `account` (renamed from the gateway's `accid`) and the payload `connectCount`;
 *   it fires again after a reconnect (§4, §6);
 * - in P2P a peer's leave reaches the app as `hangup` (gateway `clientLeave` → `_invokeHangup`, local clock)
 *   and then once more from IM `notifyHangup` (server clock) — never as `clientLeave` (§4);
 * - `control` for a cid other than the current channel is dropped (§4);
 * - `call()` resolves `{accountUidMap}` only; the cid stays in `_imController._status.imInfo` (§3);
 * - `switchMode` throws synchronously on a non-number (§9.8); rejections are plain strings or NIM error
 *   objects (`{code: 11001, message, event}` for an offline callee);
 * - after a hangup or leave the gateway closes "normally": `disconnect {code: '0'}` (§6);
 * - `rebuildController()` makes IM events arrive twice, as when the controller is rebuilt (§7.2, trap 2).
 *
 * Instances talk through a `NimCloud`: one per test, holding accounts' devices, calls and rooms in memory.
 */
import type {
  NimCallOptions,
  NimCallResult,
  NimControlOptions,
  NimCreateChannelOptions,
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
  /** Reconnect attempts so far: what `syncDone.connectCount` reports. */
  reconnects: number;
}

interface CloudCall {
  cid: number;
  type: 1 | 2;
  caller: NimStandin;
  callee: string;
  accountUidMap: Record<string, number>;
  phase: 'ringing' | 'talking';
  answeredBy: NimStandin | null;
}

interface CloudRoom {
  name: string;
  cid: number;
  custom: string;
  accountUidMap: Record<string, number>;
}

/** What one delivery looked like, for tests that inspect the SDK side (numbers, duplicates). */
export interface Delivery {
  name: NimNetcallEventName;
  payload: unknown;
}

const clone = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

function verifyOptions(options: object | undefined, keys: string, where: string): void {
  // The SDK's verifyOptions throws synchronously (inside the method, before any promise exists).
  for (const key of keys.split(' ')) {
    if (!options || (options as Record<string, unknown>)[key] === undefined)
      throw new Error(`${where}: 参数错误, 缺少 ${key}`);
  }
}

export class NimCloud {
  /** IM server clock is not the phone's: IM timetags differ from the SDK's local ones. */
  readonly serverClockOffsetMs = 37;
  private nextCid = 6_100_000_001;
  private nextUid = 100_001;
  private readonly devices = new Map<string, NimStandin[]>();
  private readonly calls = new Map<number, CloudCall>();
  private readonly rooms = new Map<string, CloudRoom>();
  /** Media gateway membership: cid → instances logged in to it. */
  private readonly gateways = new Map<number, Set<NimStandin>>();

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

  // ---- IM side -------------------------------------------------------------------------------------------

  initNetcall(
    from: NimStandin,
    type: 1 | 2,
    callee: string,
  ): Promise<{ channelId: number; accountUidMap: Record<string, number> }> {
    const targets = this.devicesOf(callee);
    if (targets.length === 0)
      return Promise.reject({ code: 11001, message: 'callee offline', event: { code: 11001 } });
    const call: CloudCall = {
      cid: this.nextCid++,
      type,
      caller: from,
      callee,
      accountUidMap: { [from.account]: this.nextUid++, [callee]: this.nextUid++ },
      phase: 'ringing',
      answeredBy: null,
    };
    this.calls.set(call.cid, call);
    for (const device of targets) device.imBeCalled(call.cid, from.account, type, { ...call.accountUidMap });
    return Promise.resolve({ channelId: call.cid, accountUidMap: { ...call.accountUidMap } });
  }

  calleeAck(from: NimStandin, cid: number, accepted: boolean): Promise<void> {
    const call = this.calls.get(cid);
    if (!call || call.callee !== from.account)
      return Promise.reject({ code: 9102, message: 'channel not found or not yours', event: { code: 9102 } });
    if (call.phase !== 'ringing')
      return Promise.reject({
        code: 9103,
        message: 'already answered on another device',
        event: { code: 9103 },
      });
    const others = this.devicesOf(call.callee).filter((d) => d !== from);
    const timetag = String(this.serverNow());
    if (accepted) {
      call.phase = 'talking';
      call.answeredBy = from;
    } else this.calls.delete(cid);
    call.caller.imNotifyCalleeAck(cid, from.account, call.type, accepted);
    for (const device of others) device.imCalleeAckSync(timetag, cid, call.type, accepted);
    return Promise.resolve();
  }

  hangup(from: NimStandin, cid: number): void {
    const call = this.calls.get(cid);
    if (!call) return;
    this.calls.delete(cid);
    const timetag = this.serverNow();
    const targets =
      from === call.caller
        ? call.phase === 'ringing'
          ? this.devicesOf(call.callee)
          : [call.answeredBy!]
        : [call.caller];
    for (const target of targets) target.imNotifyHangup(cid, from.account, timetag);
  }

  control(from: NimStandin, cid: number, command: number): void {
    const call = this.calls.get(cid);
    if (!call) return;
    const targets =
      from === call.caller
        ? call.answeredBy
          ? [call.answeredBy]
          : this.devicesOf(call.callee)
        : [call.caller];
    for (const target of targets) target.imNotifyControl(cid, from.account, command);
  }

  createChannel(name: string, custom: string): Promise<unknown> {
    const room = this.rooms.get(name);
    if (room && (this.gateways.get(room.cid)?.size ?? 0) > 0)
      return Promise.reject({ code: 417, message: 'channel exists', event: { code: 417 } });
    this.rooms.set(name, { name, cid: this.nextCid++, custom, accountUidMap: {} });
    return Promise.resolve({ timetag: this.serverNow() });
  }

  joinRoom(
    from: NimStandin,
    name: string,
  ): Promise<{ channelId: number; accountUidMap: Record<string, number>; custom: string }> {
    const room = this.rooms.get(name);
    if (!room) return Promise.reject({ code: 404, message: 'channel not found', event: { code: 404 } });
    room.accountUidMap[from.account] ??= this.nextUid++;
    const members = this.gateways.get(room.cid) ?? new Set<NimStandin>();
    for (const member of members)
      member.imNotifyJoin(room.cid, { [from.account]: room.accountUidMap[from.account] });
    return Promise.resolve({
      channelId: room.cid,
      accountUidMap: { ...room.accountUidMap },
      custom: room.custom,
    });
  }

  // ---- media gateway side ----------------------------------------------------------------------------------

  pushUrl(cid: number, uid: number): string {
    return `rtmp://standin.invalid/live/${cid}_${uid}?wsSecret=push`;
  }
  playUrl(cid: number, uid: number): string {
    return `rtmp://standin.invalid/live/${cid}_${uid}`;
  }

  /** Gateway login; returns the user list as the login response has it (`accid`, not `account`). */
  gatewayLogin(
    from: NimStandin,
    gateway: Gateway,
  ): { uid: number; accid: string; url: string; mode: NimMode }[] {
    const members = this.gateways.get(gateway.cid) ?? new Set<NimStandin>();
    this.gateways.set(gateway.cid, members);
    const rejoin = members.has(from);
    members.add(from);
    if (!rejoin)
      for (const member of members)
        if (member !== from)
          member.gatewayClientJoin({
            uid: gateway.uid,
            accid: from.account,
            cid: gateway.cid,
            url: this.playUrl(gateway.cid, gateway.uid),
            mode: gateway.mode,
          });
    return [...members].map((member) => {
      const g = member.gatewaySession!;
      return {
        uid: g.uid,
        accid: member.account,
        url: member === from ? this.pushUrl(g.cid, g.uid) : this.playUrl(g.cid, g.uid),
        mode: g.mode,
      };
    });
  }

  gatewayLogout(from: NimStandin, gateway: Gateway): void {
    const members = this.gateways.get(gateway.cid);
    if (!members?.delete(from)) return;
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

  private devicesOf(account: string): NimStandin[] {
    return this.devices.get(account) ?? [];
  }
}

/** One SDK instance (`NetcallWeixin.getInstance({nim})`), as observed. */
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
  /** Every delivery to a handler (after the async hop), in order: the SDK side of what a test sees. */
  readonly delivered: Delivery[] = [];
  /** The gateway session (after startRtc / joinChannel), null otherwise. */
  gatewaySession: Gateway | null = null;

  private readonly handlers = new Map<NimNetcallEventName, (payload: never) => void>();
  private status: NimStatus = NimStandin.idleStatus();
  private imControllers = 1;

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
   * The gateway socket drops and the SDK logs in again: `willreconnect {count}`, then a fresh `syncDone`
   * whose `connectCount` counts reconnect attempts (override it to prove nothing keys on it alone).
   */
  simulateReconnect(options: { connectCount?: number } = {}): void {
    const gateway = this.gatewaySession;
    if (!gateway) throw new Error('simulateReconnect: no gateway session');
    this.deliver('willreconnect', { count: gateway.reconnects });
    gateway.reconnects++;
    const list = this.cloud.gatewayLogin(this, gateway);
    this.deliverSyncDone(list, options.connectCount ?? gateway.reconnects);
  }

  /** The gateway kicks this instance (`kicked` with the raw packet), then the SDK destroys: `disconnect 405`. */
  simulateKick(reason = 1): void {
    const gateway = this.gatewaySession;
    if (!gateway) throw new Error('simulateKick: no gateway session');
    this.deliver('kicked', { cmd: 'onKicked', body: { cid: gateway.cid, reason } });
    this.closeGateway({ code: '405', desc: 'wx: kicked' });
    this.resetStatus();
  }

  // ---- API (§3) ---------------------------------------------------------------------------------------------

  call(options: NimCallOptions): Promise<NimCallResult> {
    if (this.status.calling) return Promise.reject('呼叫失败: 当前正在通话中');
    verifyOptions(options, 'type callee', 'call');
    if (Array.isArray(options.callee))
      return Promise.reject({ code: 414, message: 'team calls are not modelled by the stand-in' });
    Object.assign(this.status, { calling: true, isCaller: true, sessionMode: 0, signalInited: true });
    return this.cloud.initNetcall(this, options.type, options.callee).then(
      (info) => {
        this._imController._status.imInfo = { ...info, type: options.type, account: this.account };
        return { accountUidMap: info.accountUidMap };
      },
      (error: unknown) => {
        this.destroy();
        return Promise.reject(error);
      },
    );
  }

  response(options: NimResponseOptions): Promise<void> {
    verifyOptions(options, 'caller accepted type cid', 'response');
    return this.cloud.calleeAck(this, Number(options.cid), options.accepted).then(() => {
      Object.assign(this.status, { calling: options.accepted, onTheCall: options.accepted, isCaller: false });
      if (!options.accepted) this.resetStatus();
    });
  }

  hangup(): Promise<void> {
    const cid = this.currentCid();
    const active = cid !== undefined && (this.status.calling || this.status.onTheCall);
    // `destroy()` closes the gateway socket before IM's notifyHangup reaches the peer, so in P2P the peer's
    // SDK first turns the gateway `clientLeave` into a hangup, then emits IM's hangup as well. (With IM first
    // the peer's SDK leaves the gateway itself and emits one hangup; the wrapper must cope with both.)
    this.destroy();
    if (active) this.cloud.hangup(this, cid);
    return Promise.resolve();
  }

  control(options: NimControlOptions): Promise<void> {
    verifyOptions(options, 'command', 'control');
    const cid = options.cid !== undefined ? Number(options.cid) : this.currentCid();
    if (!options.command || cid === undefined)
      return Promise.reject('IMController: control: command或channelId为空！');
    this.cloud.control(this, cid, options.command);
    return Promise.resolve();
  }

  startRtc(options: NimStartRtcOptions): Promise<NimRtcIdentity> {
    verifyOptions(options, 'mode', 'startRtc');
    const info = this.status.isCaller
      ? this._imController._status.imInfo
      : this._imController._status.beCalledInfo;
    // Like the SDK: with no call this reads a property of undefined and throws a TypeError.
    const uid = info.accountUidMap![this.account];
    const cid = info.channelId!;
    this.status.signalInited = true;
    return this.openGateway({ cid, uid, mode: options.mode, scene: 0, reconnects: 0 }).then(() => ({
      uid,
      cid,
      account: this.account,
    }));
  }

  createChannel(options: NimCreateChannelOptions): Promise<unknown> {
    verifyOptions(options, 'channelName', 'createChannel');
    return this.cloud.createChannel(options.channelName, options.custom ?? '');
  }

  joinChannel(options: NimJoinChannelOptions): Promise<NimJoinChannelResult> {
    verifyOptions(options, 'channelName mode role', 'joinChannel');
    if (this.status.signalInited) return Promise.reject('已经在房间中了');
    return this.cloud.joinRoom(this, options.channelName).then((room) => {
      const uid = room.accountUidMap[this.account];
      Object.assign(this.status, { signalInited: true, sessionMode: 1, role: options.role });
      this._imController._status.imInfo = { channelId: room.channelId, accountUidMap: room.accountUidMap };
      return this.openGateway({ cid: room.channelId, uid, mode: options.mode, scene: 1, reconnects: 0 }).then(
        () => ({
          accountUidMap: room.accountUidMap,
          uid,
          cid: room.channelId,
          account: this.account,
          custom: room.custom,
        }),
      );
    });
  }

  leaveChannel(): Promise<void> {
    if (!this.status.signalInited) return Promise.reject('未处于房间中');
    this.resetStatus();
    this.closeGateway({ code: '0', desc: 'wx: normally closed' });
    return Promise.resolve();
  }

  switchMode(mode: number): Promise<void> {
    if (typeof mode !== 'number') throw Error('switchMode: 入参类型必须为Number');
    if (![0, 1, 2, 3].includes(mode)) return Promise.reject('RTC: switchMode: mode值无效！');
    const gateway = this.gatewaySession;
    if (!gateway) return Promise.reject({ code: 404, desc: 'no gateway session' });
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

  // ---- emitter (§7.2) ----------------------------------------------------------------------------------------

  on<K extends NimNetcallEventName>(name: K, handler: NimHandler<K>): void {
    this.handlers.set(name, handler as (payload: never) => void);
  }

  once<K extends NimNetcallEventName>(name: K, handler: NimHandler<K>): void {
    this.on(name, ((payload: NimNetcallEventMap[K]) => {
      this.handlers.delete(name);
      handler(payload);
    }) as NimHandler<K>);
  }

  off(name: NimNetcallEventName): void {
    if (!this.handlers.has(name)) throw new Error(`off: no handler for "${name}"`);
    this.handlers.delete(name);
  }

  emit<K extends NimNetcallEventName>(name: K, payload: NimNetcallEventMap[K]): void {
    this.deliver(name, payload);
  }

  eventReset(): void {
    this.handlers.clear();
  }

  // ---- what the cloud delivers: the SDK's internal handling -------------------------------------------------

  imBeCalled(cid: number, caller: string, type: 1 | 2, accountUidMap: Record<string, number>): void {
    if (!this.status.onTheCall) {
      this._imController._status.beCalledInfo = { channelId: cid, accountUidMap, type, account: caller };
      Object.assign(this.status, { signalInited: true, isCaller: false, sessionMode: 0, calling: true });
    }
    this.deliverIm('beCalling', { caller, cid, type });
  }

  imNotifyCalleeAck(cid: number, account: string, type: 1 | 2, accepted: boolean): void {
    if (accepted) this.status.onTheCall = true;
    else this.resetStatus();
    this.deliverIm(accepted ? 'callAccepted' : 'callRejected', { cid, account, type });
  }

  imCalleeAckSync(timetag: string, cid: number, type: 1 | 2, accepted: boolean): void {
    // 16: the "web" client type byte.
    this.deliverIm('callerAckSync', { timetag, cid, type, accepted, fromClientType: 16 });
    this.resetStatus();
  }

  /** `viaGateway`: SDK77's `_invokeHangup` calls the handler directly, so a rebuilt IM controller does not double it. */
  imNotifyHangup(cid: number, account: string, timetag: number, viaGateway = false): void {
    if (cid === this.currentCid()) {
      this.resetStatus();
      this.closeGateway({ code: '0', desc: 'wx: normally closed' });
    }
    if (viaGateway) this.deliver('hangup', { cid, timetag, account });
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

  gatewayClientJoin(packet: { uid: number; accid: string; cid: number; url: string; mode: NimMode }): void {
    const { accid, ...rest } = packet;
    this.deliver('clientJoin', { ...rest, account: accid });
  }

  gatewayClientLeave(packet: { uid: number; accid: string; cid: number }): void {
    if (this.status.sessionMode === 0) {
      // SDK77 `_onClientLeave` in P2P: `_invokeHangup` → `_onNotifyHangup`, stamped with the local clock.
      this.imNotifyHangup(packet.cid, packet.accid, Date.now(), true);
      return;
    }
    this.deliver('clientLeave', { uid: packet.uid, account: packet.accid, cid: packet.cid });
  }

  gatewayClientUpdate(packet: { uid: number; accid: string; cid: number; mode: NimMode }): void {
    this.deliver('clientUpdate', { ...packet, account: undefined });
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
    // The SDK resolves once the socket is open; the login response (syncDone) follows.
    const list = this.cloud.gatewayLogin(this, gateway);
    this.deliverSyncDone(list, gateway.reconnects);
    return Promise.resolve();
  }

  private deliverSyncDone(
    list: { uid: number; accid: string; url: string; mode: NimMode }[],
    connectCount: number,
  ): void {
    const gateway = this.gatewaySession!;
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
    this.deliver('syncDone', { code: 200, errmsg: '', userlist, connectCount });
  }

  private closeGateway(event: { code: string; desc: string }): void {
    const gateway = this.gatewaySession;
    if (!gateway) return;
    this.gatewaySession = null;
    this.cloud.gatewayLogout(this, gateway);
    this.deliver('disconnect', event);
  }

  private deliverIm<K extends NimNetcallEventName>(name: K, payload: NimNetcallEventMap[K]): void {
    for (let i = 0; i < this.imControllers; i++) this.deliver(name, payload);
  }

  private deliver<K extends NimNetcallEventName>(name: K, payload: NimNetcallEventMap[K]): void {
    const copy = clone(payload);
    setTimeout(() => {
      this.delivered.push({ name, payload: copy });
      const handler = this.handlers.get(name);
      if (handler) (handler as NimHandler<K>)(copy);
    }, 0);
  }
}
