/**
 * CallSession: one P2P call at a time, as a state machine on top of any NetcallLike.
 *   idle → dialing → connecting → in-call → ended       (outgoing)
 *   idle → incoming → connecting → in-call → ended      (incoming)
 * Every call ends exactly once, with exactly one EndReason, and emits one `callEnded` record.
 * Owns the call's timers and its MediaRoster; never touches `wx` (permissions and timers are injected) and
 * never renders: the session store mirrors its `change` events for components.
 */
import { MediaRoster } from '../media/roster';
import { Emitter } from '../netcall/emitter';
import type { NetcallEventName, NetcallEvents, NetcallLike } from '../netcall/types';
import { checkCallPermissions, type PermissionResult } from '../platform/permissions';
import { defaultTimers, type Timers } from '../platform/timers';
import { Code, NetcallError } from '../protocol/errors';
import type {
  BeCallingEvent,
  CallAnswerEvent,
  CallType,
  CallerAckSyncEvent,
  ControlEvent,
  HangupEvent,
  MediaMode,
} from '../protocol/frames';
import { MediaHealth, type MediaAction, type MediaStateEvent } from './media-policy';
import type {
  CallPhase,
  CallRecord,
  CallSnapshot,
  DevicePosition,
  EndReason,
  LocalMedia,
  PeerState,
  SoundMode,
} from './types';

/** NetEase's control commands (NETCALL_CONTROL_COMMAND_*). */
export const Control = {
  AUDIO_ON: 1,
  AUDIO_OFF: 2,
  VIDEO_ON: 3,
  VIDEO_OFF: 4,
  SWITCH_AUDIO_TO_VIDEO: 5,
  SWITCH_AUDIO_TO_VIDEO_AGREE: 6,
  SWITCH_AUDIO_TO_VIDEO_REJECT: 7,
  SWITCH_VIDEO_TO_AUDIO: 8,
  BUSY: 9,
  SELF_CAMERA_INVALID: 10,
  SELF_ON_BACKGROUND: 11,
  START_NOTIFY_RECEIVED: 12,
} as const;

/** Checks camera/mic before dialing or answering; the default is platform's `checkCallPermissions` (wx). */
export type PermissionCheck = (type: CallType) => Promise<PermissionResult>;

export interface BackgroundPolicy {
  /** keep-audio: only tell the peer; pause-video: camera off while hidden; hangup: end after `hangupAfter` s. */
  mode: 'keep-audio' | 'pause-video' | 'hangup';
  hangupAfter?: number;
}

export interface CallSessionOptions {
  netcall: NetcallLike;
  /** Created on the netcall when absent. */
  roster?: MediaRoster;
  timers?: Timers;
  /** Caller gives up after this long without an answer (ms, default 30 000). */
  callerTimeout?: number;
  /** Callee stops ringing after this long (ms, default 30 000). */
  calleeTimeout?: number;
  checkPermissions?: PermissionCheck;
  background?: BackgroundPolicy;
}

export interface CallSessionEvents {
  /** Only the snapshot fields that changed. */
  change: Partial<CallSnapshot>;
  callEnded: CallRecord;
  /** What a media element must do after a status code (restart, replay); URL refreshes are done here. */
  mediaAction: { action: 'restart' | 'replay'; source: 'pusher' | 'player'; uid: string };
}

const ACTIVE: readonly CallPhase[] = ['dialing', 'incoming', 'connecting', 'in-call'];

/** Which phase may follow which: any other transition is a bug and throws. */
const NEXT: Record<CallPhase, readonly CallPhase[]> = {
  idle: ['dialing', 'incoming', 'ended'],
  dialing: ['connecting', 'ended'],
  incoming: ['connecting', 'ended'],
  connecting: ['in-call', 'ended'],
  'in-call': ['ended'],
  ended: ['dialing', 'incoming', 'ended', 'idle'],
};

/** Which user operation is allowed in which phase (the guard of each public method). */
const ALLOWED = {
  call: ['idle', 'ended'],
  accept: ['incoming'],
  reject: ['incoming'],
  hangup: ACTIVE,
  requestSwitch: ['in-call'],
  respondSwitch: ['in-call'],
} as const satisfies Record<string, readonly CallPhase[]>;

const PEER_DEFAULT: PeerState = { micOn: true, cameraOn: true, cameraUnavailable: false, background: false };

/** The snapshot of no call at all: a session before its first call, and the store before one is bound. */
export function idleSnapshot(local?: LocalMedia): CallSnapshot {
  return {
    phase: 'idle',
    cid: null,
    peer: '',
    type: 2,
    direction: null,
    duration: 0,
    reason: null,
    peerState: PEER_DEFAULT,
    local: local ?? { micOn: true, cameraOn: true, devicePosition: 'front', soundMode: 'speaker' },
    switchRequest: null,
    reconnecting: false,
    deniedScope: null,
    hints: {},
  };
}

const modeOf = (type: CallType): MediaMode => (type === 2 ? 0 : 1);

export class CallSession extends Emitter<CallSessionEvents> {
  readonly roster: MediaRoster;
  private readonly netcall: NetcallLike;
  private readonly timers: Timers;
  private readonly options: Required<Pick<CallSessionOptions, 'callerTimeout' | 'calleeTimeout'>> &
    CallSessionOptions;
  private state: CallSnapshot = idleSnapshot();
  private ringTimer: unknown = null;
  private tickTimer: unknown = null;
  private backgroundTimer: unknown = null;
  private inCallAt = 0;
  private rtcStarted = false;
  private pausedCamera = false;
  private readonly media: MediaHealth;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(options: CallSessionOptions) {
    super();
    this.options = { callerTimeout: 30000, calleeTimeout: 30000, ...options };
    this.netcall = options.netcall;
    this.timers = options.timers ?? defaultTimers;
    this.roster = options.roster ?? new MediaRoster(options.netcall);
    this.media = new MediaHealth(this.timers, (hints) => this.set({ hints }));
    this.listen('beCalling', (e) => this.onBeCalling(e));
    this.listen('callAccepted', (e) => this.onCallAccepted(e));
    this.listen('callRejected', (e) => this.onCallRejected(e));
    this.listen('callerAckSync', (e) => this.onCallerAckSync(e));
    this.listen('hangup', (e) => this.onHangup(e));
    this.listen('control', (e) => this.onControl(e));
    this.listen('kicked', () => this.isActive() && this.end('kicked'));
    this.listen('willreconnect', () => this.isActive() && this.set({ reconnecting: true }));
    this.listen('reconnected', () => this.set({ reconnecting: false }));
    this.listen('callLost', (e) => e.cid === this.state.cid && this.isActive() && this.end('network'));
    this.listen('disconnect', () => this.isActive() && this.end('network'));
    const onRoster = (changes: Parameters<MediaHealth['rosterChanged']>[0]) => {
      this.media.rosterChanged(changes);
      this.checkConnected();
    };
    this.roster.on('changes', onRoster);
    this.unsubscribe.push(() => this.roster.off('changes', onRoster));
  }

  snapshot(): CallSnapshot {
    return this.state;
  }

  get phase(): CallPhase {
    return this.state.phase;
  }

  /** Dials `callee`. Rejects with the server's NetcallError (e.g. 404 offline); the call then ends as 'error'. */
  async call(callee: string, type: CallType = 2): Promise<void> {
    this.guard('call');
    this.reset({ peer: callee, type, direction: 'outgoing' });
    if (!(await this.permitted(type))) return;
    // A call may have come in while the permission prompt was up; it wins, and this dial is refused.
    if (this.isActive())
      throw new NetcallError(Code.CONFLICT, `call() gave way to a call that came in (${this.state.phase})`);
    this.go('dialing');
    let cid: string;
    try {
      ({ cid } = await this.netcall.call({ type, callee }));
    } catch (error) {
      if (this.state.phase === 'dialing') this.fail(error);
      throw error;
    }
    if (this.state.phase !== 'dialing') return; // canceled while the request was in flight
    this.set({ cid });
    this.ringTimer = this.timers.setTimeout(() => this.callerTimedOut(), this.options.callerTimeout);
  }

  /**
   * Answers the ringing call. `{ type: 1 }` answers a video call as voice: only the microphone is asked for,
   * my camera stays off, and the caller is told to switch (NetEase's control 8), as it would be mid-call.
   */
  async accept(options: { type?: CallType } = {}): Promise<void> {
    this.guard('accept');
    const { cid, peer, type } = this.state;
    const asVoice = options.type === 1 && type === 2;
    this.clearRing();
    if (!(await this.permitted(asVoice ? 1 : type))) {
      await this.netcall.response({ accepted: false, caller: peer, type, cid: cid! }).catch(() => undefined);
      return;
    }
    if (this.state.phase !== 'incoming' || this.state.cid !== cid) return; // ended while asking
    this.go('connecting');
    try {
      await this.netcall.response({ accepted: true, caller: peer, type, cid: cid! });
      if (asVoice && this.state.type === 2) {
        this.switchType(1);
        await this.tell(Control.SWITCH_VIDEO_TO_AUDIO);
      }
      await this.startRtc();
    } catch (error) {
      if (this.isActive() && this.state.cid === cid) this.fail(error);
      throw error;
    }
  }

  async reject(): Promise<void> {
    this.guard('reject');
    const { cid, peer, type } = this.state;
    this.end('rejected');
    await this.netcall.response({ accepted: false, caller: peer, type, cid: cid! });
  }

  /** Cancels while dialing, rejects while ringing, hangs up while connecting or in-call. */
  async hangup(): Promise<void> {
    this.guard('hangup');
    if (this.state.phase === 'incoming') return this.reject();
    const { cid, phase } = this.state;
    this.end(phase === 'dialing' ? 'canceled' : 'local-hangup');
    if (cid) await this.netcall.hangup({ cid });
  }

  async setMic(on: boolean): Promise<void> {
    this.setLocal({ micOn: on });
    await this.tell(on ? Control.AUDIO_ON : Control.AUDIO_OFF);
  }

  async setCamera(on: boolean): Promise<void> {
    this.pausedCamera = false;
    this.setLocal({ cameraOn: on });
    await this.tell(on ? Control.VIDEO_ON : Control.VIDEO_OFF);
  }

  async flipCamera(): Promise<void> {
    const devicePosition: DevicePosition = this.state.local.devicePosition === 'front' ? 'back' : 'front';
    this.setLocal({ devicePosition });
  }

  async setSoundMode(soundMode: SoundMode): Promise<void> {
    this.setLocal({ soundMode });
  }

  /** Audio→video asks the peer first (5, answered by 6/7); video→audio just tells it (8). */
  async requestSwitch(to: CallType): Promise<void> {
    this.guard('requestSwitch');
    if (to === this.state.type) return;
    if (to === 2) {
      this.set({ switchRequest: { from: 'me', to } });
      await this.tell(Control.SWITCH_AUDIO_TO_VIDEO);
    } else {
      this.switchType(1);
      await this.tell(Control.SWITCH_VIDEO_TO_AUDIO);
    }
  }

  async respondSwitch(agree: boolean): Promise<void> {
    this.guard('respondSwitch');
    const request = this.state.switchRequest;
    if (!request || request.from !== 'peer')
      throw new NetcallError(Code.CONFLICT, 'respondSwitch: the peer has not asked to switch');
    this.set({ switchRequest: null });
    if (agree) this.switchType(request.to);
    await this.tell(agree ? Control.SWITCH_AUDIO_TO_VIDEO_AGREE : Control.SWITCH_AUDIO_TO_VIDEO_REJECT);
  }

  /** After the user came back from the settings page: redial a call that permissions stopped. */
  async retryPermissions(): Promise<void> {
    const { phase, reason, direction, peer, type } = this.state;
    if (phase === 'ended' && reason === 'permission-denied' && direction === 'outgoing')
      await this.call(peer, type);
  }

  /** The app went to the background (onHide, or pusher code 5000/5001). */
  appHidden(): void {
    if (!this.isActive()) return;
    void this.tell(Control.SELF_ON_BACKGROUND).catch(() => undefined);
    const policy = this.options.background ?? { mode: 'keep-audio' };
    if (policy.mode === 'pause-video' && this.state.local.cameraOn && this.state.type === 2) {
      this.setLocal({ cameraOn: false });
      this.pausedCamera = true;
    }
    if (policy.mode === 'hangup' && this.backgroundTimer === null) {
      this.backgroundTimer = this.timers.setTimeout(
        () => {
          this.backgroundTimer = null;
          if (this.isActive()) void this.hangup().catch(() => undefined);
        },
        (policy.hangupAfter ?? 0) * 1000,
      );
    }
  }

  /** Back in the foreground: undo the policy and re-announce my mic/camera, which clears "in background". */
  appShown(): void {
    if (this.backgroundTimer !== null) this.timers.clearTimeout(this.backgroundTimer);
    this.backgroundTimer = null;
    if (this.pausedCamera) {
      this.pausedCamera = false;
      this.setLocal({ cameraOn: true });
    }
    if (this.state.phase !== 'connecting' && this.state.phase !== 'in-call') return;
    const { micOn, cameraOn } = this.state.local;
    void this.tell(micOn ? Control.AUDIO_ON : Control.AUDIO_OFF).catch(() => undefined);
    void this.tell(cameraOn ? Control.VIDEO_ON : Control.VIDEO_OFF).catch(() => undefined);
  }

  /**
   * A status code (or `binderror` errCode) from netcall-pusher / netcall-player, classified by `media-policy`.
   * The stream's tile hint lands in `hints`. Background codes run the background policy; a URL the server
   * refused (3004, or a player failing again after a replay) is refreshed by rejoining the RTC session, which
   * makes the server issue a fresh syncDone; element restarts are emitted as `mediaAction`. A microphone or
   * encoder that cannot work ends the call with a reason the user understands, and a permission withdrawn
   * mid-call ends it as 'permission-denied' so the screen can offer the settings page.
   */
  async onMediaState(event: MediaStateEvent): Promise<MediaAction> {
    if (!this.isActive()) return 'none';
    const action = this.media.handle(event);
    switch (action) {
      case 'background':
        this.appHidden();
        break;
      case 'camera-unavailable':
        this.setLocal({ cameraOn: false });
        await this.tell(Control.SELF_CAMERA_INVALID).catch(() => undefined);
        break;
      case 'refresh-url':
        if (this.rtcStarted) await this.startRtc();
        break;
      case 'restart':
      case 'replay':
        this.emit('mediaAction', { action, source: event.source, uid: event.uid });
        break;
      case 'microphone-failed':
      case 'media-failed':
        await this.endAndHangup(action, event.code);
        break;
      case 'permission-camera':
      case 'permission-record':
        this.set({ deniedScope: action === 'permission-camera' ? 'scope.camera' : 'scope.record' });
        await this.endAndHangup('permission-denied');
        break;
    }
    return action;
  }

  /** Stops listening; ends an active call first (as a local hangup). */
  async dispose(): Promise<void> {
    if (this.isActive()) await this.hangup().catch(() => undefined);
    for (const off of this.unsubscribe.splice(0)) off();
    this.clearTimers();
  }

  // ---- events from the netcall -------------------------------------------------------------------------

  private onBeCalling(e: BeCallingEvent): void {
    const cid = String(e.cid);
    if (this.isActive()) {
      if (cid === this.state.cid) return; // a repeated notice of the call already ringing
      // Busy: tell the caller why (NetEase's BUSY control), then refuse. Our state is untouched.
      void this.netcall
        .control({ command: Control.BUSY, cid })
        .catch(() => undefined)
        .then(() =>
          this.netcall.response({ accepted: false, caller: e.caller, type: e.type, cid, reason: 'busy' }),
        )
        .catch(() => undefined);
      return;
    }
    this.reset({ peer: e.caller, type: e.type, direction: 'incoming', cid });
    this.go('incoming');
    this.ringTimer = this.timers.setTimeout(() => this.calleeTimedOut(), this.options.calleeTimeout);
  }

  private onCallAccepted(e: CallAnswerEvent): void {
    if (!this.mine(e.cid, 'dialing')) return;
    this.clearRing();
    this.go('connecting');
    this.startRtc().catch((error: unknown) => this.isActive() && this.fail(error));
  }

  private onCallRejected(e: CallAnswerEvent): void {
    if (!this.mine(e.cid, 'dialing')) return;
    this.end(e.reason === 'busy' ? 'busy' : e.reason === 'timeout' ? 'callee-timeout' : 'rejected');
  }

  private onCallerAckSync(e: CallerAckSyncEvent): void {
    if (this.mine(e.cid, 'incoming')) this.end('answered-elsewhere');
  }

  private onHangup(e: HangupEvent): void {
    if (!this.mine(e.cid)) return;
    switch (this.state.phase) {
      case 'incoming':
        this.end(e.reason === 'timeout' ? 'caller-timeout' : e.reason === 'network' ? 'network' : 'canceled');
        break;
      case 'dialing':
        // The callee's last device vanished while ringing, the server's ring timeout ran out, or the callee
        // hung up instead of rejecting.
        this.end(e.reason === 'network' ? 'network' : e.reason === 'timeout' ? 'caller-timeout' : 'rejected');
        break;
      case 'connecting':
      case 'in-call':
        this.end(e.reason === 'network' ? 'network' : 'remote-hangup');
        break;
    }
  }

  private onControl(e: ControlEvent): void {
    if (!this.mine(e.cid)) return;
    const peer = this.state.peerState;
    switch (e.command) {
      case Control.BUSY:
        if (this.state.phase === 'dialing') this.end('busy');
        return;
      case Control.AUDIO_ON:
      case Control.AUDIO_OFF:
        this.set({ peerState: { ...peer, micOn: e.command === Control.AUDIO_ON, background: false } });
        return;
      case Control.VIDEO_ON:
      case Control.VIDEO_OFF:
        this.set({
          peerState: {
            ...peer,
            cameraOn: e.command === Control.VIDEO_ON,
            cameraUnavailable: e.command === Control.VIDEO_ON ? false : peer.cameraUnavailable,
            background: false,
          },
        });
        return;
      case Control.SELF_CAMERA_INVALID:
        this.set({ peerState: { ...peer, cameraUnavailable: true, cameraOn: false } });
        return;
      case Control.SELF_ON_BACKGROUND:
        this.set({ peerState: { ...peer, background: true } });
        return;
      case Control.SWITCH_AUDIO_TO_VIDEO:
        if (this.state.phase === 'in-call' && this.state.type === 1)
          this.set({ switchRequest: { from: 'peer', to: 2 } });
        return;
      case Control.SWITCH_AUDIO_TO_VIDEO_AGREE:
        if (this.state.switchRequest?.from === 'me') {
          this.set({ switchRequest: null });
          this.switchType(2);
        }
        return;
      case Control.SWITCH_AUDIO_TO_VIDEO_REJECT:
        if (this.state.switchRequest?.from === 'me') this.set({ switchRequest: null });
        return;
      case Control.SWITCH_VIDEO_TO_AUDIO:
        this.switchType(1);
        return;
    }
  }

  // ---- internals ---------------------------------------------------------------------------------------

  private async startRtc(): Promise<void> {
    const cid = this.state.cid;
    const self = await this.netcall.startRtc({ mode: modeOf(this.state.type), cid: cid ?? undefined });
    if (!this.isActive() || this.state.cid !== cid) return;
    this.rtcStarted = true;
    this.roster.setSelf(self);
    this.checkConnected();
  }

  /** In-call once my RTC session is up and the peer's stream is listed. */
  private checkConnected(): void {
    if (this.state.phase !== 'connecting' || !this.rtcStarted) return;
    if (!this.roster.players.some((user) => user.account === this.state.peer)) return;
    this.go('in-call');
    this.inCallAt = this.timers.now();
    this.tickTimer = this.timers.setInterval(() => {
      const duration = Math.floor((this.timers.now() - this.inCallAt) / 1000);
      if (duration !== this.state.duration) this.set({ duration });
    }, 1000);
  }

  private callerTimedOut(): void {
    this.ringTimer = null;
    if (this.state.phase !== 'dialing') return;
    const cid = this.state.cid;
    this.end('caller-timeout');
    if (cid) void this.netcall.hangup({ cid, reason: 'timeout' }).catch(() => undefined);
  }

  private calleeTimedOut(): void {
    this.ringTimer = null;
    if (this.state.phase !== 'incoming') return;
    const { cid, peer, type } = this.state;
    this.end('callee-timeout');
    void this.netcall
      .response({ accepted: false, caller: peer, type, cid: cid!, reason: 'timeout' })
      .catch(() => undefined);
  }

  private async permitted(type: CallType): Promise<boolean> {
    const check = this.options.checkPermissions ?? ((t: CallType) => checkCallPermissions(t));
    const result = await check(type).catch((): PermissionResult => ({
      granted: false,
      scope: type === 2 ? 'scope.camera' : 'scope.record',
      canPrompt: false,
    }));
    if (result.granted) return true;
    this.set({ deniedScope: result.scope });
    this.end('permission-denied');
    return false;
  }

  /**
   * Ends the call for a reason found here (not by the peer or the server), and tells the peer. Media codes
   * come from elements that exist from dialing on (my preview) and never while ringing, so it is a hangup.
   */
  private async endAndHangup(reason: EndReason, errorCode?: number): Promise<void> {
    const { cid } = this.state;
    this.end(reason, errorCode);
    if (cid) await this.netcall.hangup({ cid }).catch(() => undefined);
  }

  private fail(error: unknown): void {
    this.end('error', error instanceof NetcallError ? error.code : Code.INTERNAL);
  }

  /** The only way into `ended`: one reason, one record, everything of the call released. */
  private end(reason: EndReason, errorCode?: number): void {
    if (this.state.phase === 'ended' || this.state.phase === 'idle') {
      if (reason !== 'permission-denied') return;
    }
    this.clearTimers();
    const { cid, peer, type, direction, duration } = this.state;
    this.rtcStarted = false;
    this.roster.clear();
    this.media.reset();
    this.go('ended', { reason, reconnecting: false, switchRequest: null });
    const record: CallRecord = { cid, peer, type, direction: direction ?? 'outgoing', duration, reason };
    if (errorCode !== undefined) record.errorCode = errorCode;
    this.emit('callEnded', record);
  }

  private reset(fields: Partial<CallSnapshot>): void {
    this.clearTimers();
    this.rtcStarted = false;
    this.pausedCamera = false;
    this.media.reset();
    const fresh = idleSnapshot({
      ...this.state.local,
      micOn: true,
      cameraOn: (fields.type ?? 2) === 2,
      soundMode: (fields.type ?? 2) === 2 ? 'speaker' : 'ear',
    });
    const { phase: _phase, ...rest } = fresh;
    this.set({ ...rest, ...fields });
  }

  private go(phase: CallPhase, fields: Partial<CallSnapshot> = {}): void {
    if (!NEXT[this.state.phase].includes(phase))
      throw new NetcallError(
        Code.INTERNAL,
        `CallSession: ${this.state.phase} → ${phase} is not a transition`,
      );
    this.set({ ...fields, phase });
  }

  private guard(operation: keyof typeof ALLOWED): void {
    if (!(ALLOWED[operation] as readonly CallPhase[]).includes(this.state.phase))
      throw new NetcallError(Code.CONFLICT, `${operation}() is not allowed while ${this.state.phase}`);
  }

  private set(fields: Partial<CallSnapshot>): void {
    const changed: Partial<CallSnapshot> = {};
    let any = false;
    for (const key of Object.keys(fields) as (keyof CallSnapshot)[]) {
      if (this.state[key] === fields[key]) continue;
      (changed as Record<string, unknown>)[key] = fields[key];
      any = true;
    }
    if (!any) return;
    this.state = { ...this.state, ...changed };
    this.emit('change', changed);
  }

  private setLocal(fields: Partial<LocalMedia>): void {
    this.set({ local: { ...this.state.local, ...fields } });
  }

  private switchType(type: CallType): void {
    this.set({ type });
    this.setLocal({ cameraOn: type === 2, soundMode: type === 2 ? 'speaker' : this.state.local.soundMode });
  }

  /** Sends a control notice to the peer when there is a call to send it in. */
  private async tell(command: number): Promise<void> {
    const { phase, cid } = this.state;
    if ((phase === 'connecting' || phase === 'in-call') && cid) await this.netcall.control({ command, cid });
  }

  private mine(cid: string | number, phase?: CallPhase): boolean {
    return String(cid) === this.state.cid && (phase === undefined || this.state.phase === phase);
  }

  private isActive(): boolean {
    return ACTIVE.includes(this.state.phase);
  }

  private clearRing(): void {
    if (this.ringTimer !== null) this.timers.clearTimeout(this.ringTimer);
    this.ringTimer = null;
  }

  private clearTimers(): void {
    this.clearRing();
    if (this.tickTimer !== null) this.timers.clearInterval(this.tickTimer);
    this.tickTimer = null;
    if (this.backgroundTimer !== null) this.timers.clearTimeout(this.backgroundTimer);
    this.backgroundTimer = null;
  }

  private listen<K extends NetcallEventName>(name: K, listener: (payload: NetcallEvents[K]) => void): void {
    this.netcall.on(name, listener);
    this.unsubscribe.push(() => this.netcall.off(name, listener));
  }
}
