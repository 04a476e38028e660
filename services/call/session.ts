/**
 * CallSession: one P2P call at a time, as a state machine on top of any NetcallLike.
 *   idle → dialing → connecting → in-call → ended       (outgoing)
 *   idle → incoming → connecting → in-call → ended      (incoming)
 * Every call ends exactly once, with exactly one EndReason, and emits one `callEnded` record.
 * The 1:1 flows live here (dialing, ringing, answering, the peer's notices, switching audio↔video); what
 * every call shares (my media, the background and media policies, the tick, the connection's events) is
 * BaseSession's. Never touches `wx` and never renders: the session store mirrors its `change` events.
 */
import type { MediaRoster } from '../media/roster';
import type { NetcallLike } from '../netcall/types';
import type { Timers } from '../platform/primitives';
import { Code, NetcallError } from '../protocol/errors';
import type {
  BeCallingEvent,
  CallAnswerEvent,
  CallType,
  CallerAckSyncEvent,
  ControlEvent,
  HangupEvent,
} from '../protocol/frames';
import {
  BaseSession,
  PEER_DEFAULT,
  Control,
  freshLocal,
  peerStateAfter,
  type BackgroundPolicy,
  type PermissionCheck,
  type PhaseTable,
  type SessionEvents,
} from './base-session';
import type { CallPhase, CallRecord, CallSnapshot, EndReason, LocalMedia } from './types';

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
  /**
   * Another call of the app is going on (a GroupSession's): a 1:1 call that comes in is refused as busy.
   * Group invitations (`beCalling` with `callees`) are never this session's; while a 1:1 call goes on it
   * refuses them too.
   */
  busy?: () => boolean;
}

export interface CallSessionEvents extends SessionEvents<CallSnapshot> {
  callEnded: CallRecord;
}

const ACTIVE: readonly CallPhase[] = ['dialing', 'incoming', 'connecting', 'in-call'];

const TABLE: PhaseTable<CallPhase> = {
  next: {
    idle: ['dialing', 'incoming', 'ended'],
    dialing: ['connecting', 'ended'],
    incoming: ['connecting', 'ended'],
    connecting: ['in-call', 'ended'],
    'in-call': ['ended'],
    ended: ['dialing', 'incoming', 'ended', 'idle'],
  },
  allowed: {
    call: ['idle', 'ended'],
    accept: ['incoming'],
    reject: ['incoming'],
    hangup: ACTIVE,
    requestSwitch: ['in-call'],
    respondSwitch: ['in-call'],
  },
  active: ACTIVE,
  live: ['connecting', 'in-call'],
};

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
    local: local ?? freshLocal(2),
    switchRequest: null,
    reconnecting: false,
    deniedScope: null,
    hints: {},
  };
}

export class CallSession extends BaseSession<CallPhase, CallSnapshot, CallSessionEvents> {
  private readonly options: CallSessionOptions;
  private ringTimer: unknown = null;

  constructor(options: CallSessionOptions) {
    super(options, idleSnapshot(), TABLE);
    this.options = options;
    this.listen('beCalling', (e) => this.onBeCalling(e));
    this.listen('callAccepted', (e) => this.onCallAccepted(e));
    this.listen('callRejected', (e) => this.onCallRejected(e));
    this.listen('callerAckSync', (e) => this.onCallerAckSync(e));
    this.listen('hangup', (e) => this.onHangup(e));
    this.listen('control', (e) => this.onControl(e));
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
    this.ringTimer = this.timers.setTimeout(() => this.callerTimedOut(), this.options.callerTimeout ?? 30000);
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

  // ---- events from the netcall -------------------------------------------------------------------------

  private onBeCalling(e: BeCallingEvent): void {
    const cid = String(e.cid);
    if (cid === this.state.cid && this.isActive()) return; // a repeated notice of the call already ringing
    // Group invitations are a GroupSession's, unless this call keeps the line busy.
    if (e.callees && !this.isActive()) return;
    if (this.isActive() || this.options.busy?.()) {
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
    this.ringTimer = this.timers.setTimeout(() => this.calleeTimedOut(), this.options.calleeTimeout ?? 30000);
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
    const peerState = peerStateAfter(this.state.peerState, e.command);
    if (peerState) return this.set({ peerState });
    switch (e.command) {
      case Control.BUSY:
        if (this.state.phase === 'dialing') this.end('busy');
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

  /** In-call once my RTC session is up and the peer's stream is listed. */
  protected override rosterChanged(): void {
    if (this.state.phase !== 'connecting' || !this.rtcStarted) return;
    if (!this.roster.players.some((user) => user.account === this.state.peer)) return;
    this.go('in-call');
    this.startTick();
  }

  protected override leave(cid: string): Promise<void> {
    return this.netcall.hangup({ cid });
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

  protected override end(reason: EndReason, errorCode?: number): void {
    const { cid, peer, type, direction, duration, phase } = this.state;
    if ((phase === 'ended' || phase === 'idle') && reason !== 'permission-denied') return;
    this.release();
    this.go('ended', { reason, reconnecting: false, switchRequest: null });
    const record: CallRecord = { cid, peer, type, direction: direction ?? 'outgoing', duration, reason };
    if (errorCode !== undefined) record.errorCode = errorCode;
    this.emit('callEnded', record);
  }

  private reset(fields: Partial<CallSnapshot>): void {
    const fresh = idleSnapshot(this.renew(fields.type ?? 2));
    this.set({ ...fresh, phase: this.state.phase, ...fields });
  }

  private switchType(type: CallType): void {
    this.set({ type });
    this.setLocal({ cameraOn: type === 2, soundMode: type === 2 ? 'speaker' : this.state.local.soundMode });
  }

  private clearRing(): void {
    this.timers.clearTimeout(this.ringTimer);
    this.ringTimer = null;
  }

  protected override clearTimers(): void {
    this.clearRing();
    super.clearTimers();
  }
}
