/**
 * GroupSession: one multi-person call at a time, a group call or a room, as a state machine on any NetcallLike.
 *   idle → dialing → joining → in-call → ended       (I call several accounts: `call([...])`)
 *   idle → incoming → joining → in-call → ended      (I am one of a group call's callees)
 *   idle → joining → in-call → ended                 (a room, by name: `createChannel` / `joinChannel`)
 * Every call ends exactly once, with one EndReason, and emits one `callEnded` record. It owns the call's
 * MediaRoster (whose stream each tile plays) and its member list: everyone else invited to the call or met in
 * it, with their uid, whether they are ringing, in, or gone, whether their stream is in RTC, and their mic and
 * camera as their control notices said. What every call shares (my media, the background and media policies,
 * the tick, the connection's events) is BaseSession's.
 *
 * On our server a group call's caller hears `callAccepted`/`callRejected` per callee, the members hear
 * `joinChannel`/`leaveChannel`/`clientLeave`, and the last one left hears `hangup`. Only the caller hears that
 * an invitee refused or rang out, so any invitee still ringing here after `ringTimeout` is marked missed.
 * It is a separate entry (`miniprogram-netcall/services/call/group-session`): apps with 1:1 calls only do not
 * ship it. Never touches `wx` and never renders: the group store mirrors its `change` events.
 */
import type { MediaRoster } from '../media/roster';
import type { NetcallLike } from '../netcall/types';
import type { Timers } from '../platform/primitives';
import { Code, NetcallError } from '../protocol/errors';
import type {
  BeCallingEvent,
  CallAnswerEvent,
  CallType,
  ControlEvent,
  HangupEvent,
  JoinChannelEvent,
  LeaveChannelEvent,
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
  type SessionState,
} from './base-session';
import type { Direction, EndReason, PeerState } from './types';

export type GroupPhase = 'idle' | 'dialing' | 'incoming' | 'joining' | 'in-call' | 'ended';

/** A group call (rung, joined by answering) or a room (joined by name). */
export type GroupKind = 'call' | 'room';

/**
 * ringing: invited, not answered yet; joined: in the call (see `rtc` for the stream); declined, busy,
 * missed: refused or rang out; left: was in and left.
 */
export type MemberState = 'ringing' | 'joined' | 'declined' | 'busy' | 'missed' | 'left';

export interface GroupMember extends PeerState {
  account: string;
  /** '' until known: a callee learns the others' uids when they join or their streams come. */
  uid: string;
  state: MemberState;
  /** Their stream is in the RTC session: the roster gives their tile its URL. */
  rtc: boolean;
}

export interface GroupSnapshot extends SessionState<GroupPhase> {
  kind: GroupKind | null;
  /** The room's name; '' for a group call. */
  channelName: string;
  /** Who placed the group call (my account when I did); '' for a room. */
  caller: string;
  direction: Direction | null;
  /** Everyone but me, in the order they were invited or met; those who refused or left stay, marked. */
  members: readonly GroupMember[];
  /** My uid in the RTC session, once my stream is listed. */
  uid: string;
}

/** Emitted once as `callEnded` when a group call or room reaches `ended`. */
export interface GroupRecord {
  cid: string | null;
  kind: GroupKind;
  channelName: string;
  caller: string;
  type: CallType;
  direction: Direction | null;
  /** Whole seconds spent in-call (0 if it never got there). */
  duration: number;
  reason: EndReason;
  /** Everyone who was in it with me at some point. */
  members: string[];
  /** NetcallError code when reason is 'error'; the element's status code for a media failure. */
  errorCode?: number;
}

export interface GroupSessionOptions {
  netcall: NetcallLike;
  /** Created on the netcall when absent. */
  roster?: MediaRoster;
  timers?: Timers;
  /** The caller gives up after this long without anyone answering (ms, default 30 000). */
  callerTimeout?: number;
  /** I stop ringing after this long (ms, default 30 000). */
  calleeTimeout?: number;
  /** An invitee still ringing after this long is marked missed (ms, default 30 000: the server's ring time). */
  ringTimeout?: number;
  checkPermissions?: PermissionCheck;
  background?: BackgroundPolicy;
  /**
   * Another call of the app is going on (the CallSession's): a group invitation is left to it, and the
   * CallSession refuses every invitation while its call goes on.
   */
  busy?: () => boolean;
}

export interface GroupSessionEvents extends SessionEvents<GroupSnapshot> {
  callEnded: GroupRecord;
}

const ACTIVE: readonly GroupPhase[] = ['dialing', 'incoming', 'joining', 'in-call'];
const START: readonly GroupPhase[] = ['idle', 'ended'];

const TABLE: PhaseTable<GroupPhase> = {
  next: {
    idle: ['dialing', 'incoming', 'joining', 'ended'],
    dialing: ['joining', 'ended'],
    incoming: ['joining', 'ended'],
    joining: ['in-call', 'ended'],
    'in-call': ['ended'],
    ended: ['dialing', 'incoming', 'joining', 'ended', 'idle'],
  },
  allowed: {
    call: START,
    createChannel: START,
    joinChannel: START,
    accept: ['incoming'],
    reject: ['incoming'],
    hangup: ACTIVE,
    invite: ['dialing', 'joining', 'in-call'],
  },
  active: ACTIVE,
  live: ['joining', 'in-call'],
};

/** The snapshot of no group call at all: a session before its first call, and the store before one is bound. */
export function idleGroupSnapshot(): GroupSnapshot {
  return {
    phase: 'idle',
    kind: null,
    cid: null,
    channelName: '',
    caller: '',
    type: 2,
    direction: null,
    duration: 0,
    reason: null,
    members: [],
    uid: '',
    local: freshLocal(2),
    reconnecting: false,
    deniedScope: null,
    hints: {},
  };
}

const member = (account: string, state: MemberState, uid = ''): GroupMember => ({
  ...PEER_DEFAULT,
  account,
  uid,
  state,
  rtc: false,
});

export class GroupSession extends BaseSession<GroupPhase, GroupSnapshot, GroupSessionEvents> {
  private readonly options: GroupSessionOptions;
  private ringTimer: unknown = null;
  /** Invitees' ring-out timers, by account. */
  private readonly ringing = new Map<string, unknown>();
  /** Everyone who was in the call with me, for the record. */
  private met = new Set<string>();

  constructor(options: GroupSessionOptions) {
    super(options, idleGroupSnapshot(), TABLE);
    this.options = options;
    this.listen('beCalling', (e) => this.onBeCalling(e));
    this.listen('callAccepted', (e) => this.mine(e.cid) && this.joined(e.account));
    this.listen('callRejected', (e) => this.onCallRejected(e));
    this.listen('callerAckSync', (e) => this.mine(e.cid, 'incoming') && this.end('answered-elsewhere'));
    this.listen('joinChannel', (e: JoinChannelEvent) => this.mine(e.cid) && this.joined(e.account, e.uid));
    this.listen(
      'leaveChannel',
      (e: LeaveChannelEvent) => this.mine(e.cid) && this.update(e.account, { state: 'left', rtc: false }),
    );
    this.listen('hangup', (e) => this.onHangup(e));
    this.listen('control', (e) => this.onControl(e));
  }

  /** Calls `callees` (one or more accounts) into a group call. Rejects with the server's NetcallError (404 offline, 104 full). */
  async call(callees: readonly string[], type: CallType = 2): Promise<void> {
    this.guard('call');
    if (callees.length === 0) throw new NetcallError(Code.BAD_REQUEST, 'call() needs at least one callee');
    const caller = this.netcall.account;
    this.reset({
      kind: 'call',
      caller,
      type,
      direction: 'outgoing',
      members: callees.map((a) => member(a, 'ringing')),
    });
    if (!(await this.permitted(type))) return;
    this.gaveWay();
    this.go('dialing');
    let result;
    try {
      result = await this.netcall.call({ type, callee: [...callees] });
    } catch (error) {
      if (this.state.phase === 'dialing') this.fail(error);
      throw error;
    }
    // Canceled while the request was in flight: the call exists on the server now, so end it there too.
    if (this.state.phase !== 'dialing')
      return void this.netcall.hangup({ cid: result.cid }).catch(() => undefined);
    const uids = result.accountUidMap;
    this.set({
      cid: result.cid,
      members: this.state.members.map((m) => ({ ...m, uid: uids[m.account] || '' })),
    });
    callees.forEach((account) => this.ringOut(account));
    this.ringTimer = this.timers.setTimeout(() => {
      if (this.state.phase !== 'dialing') return;
      const cid = this.state.cid;
      this.end('caller-timeout');
      if (cid) void this.netcall.hangup({ cid, reason: 'timeout' }).catch(() => undefined);
    }, this.options.callerTimeout ?? 30000);
  }

  /** Creates the room `channelName` (417: the name is taken) and joins it. */
  createChannel(channelName: string, type: CallType = 2): Promise<void> {
    return this.enter('createChannel', channelName, type);
  }

  /** Joins the room `channelName` (404: no such room, 104: full). */
  joinChannel(channelName: string, type: CallType = 2): Promise<void> {
    return this.enter('joinChannel', channelName, type);
  }

  /** Answers the ringing group call. */
  async accept(): Promise<void> {
    this.guard('accept');
    const { cid, caller, type } = this.state;
    this.clearRing();
    if (!(await this.permitted(type))) {
      await this.netcall.response({ accepted: false, caller, type, cid: cid! }).catch(() => undefined);
      return;
    }
    if (this.state.phase !== 'incoming' || this.state.cid !== cid) return; // ended while asking
    this.go('joining');
    try {
      await this.netcall.response({ accepted: true, caller, type, cid: cid! });
      // Hung up while the answer was on its way: `hangup` already left the call on the server.
      if (!this.mine(cid!, 'joining')) return;
      // Those already in never heard what I turned off while it rang.
      this.announceIfOff();
      await this.startRtc();
    } catch (error) {
      if (this.isActive() && this.state.cid === cid) this.fail(error);
      throw error;
    }
  }

  async reject(): Promise<void> {
    this.guard('reject');
    const { cid, caller, type } = this.state;
    this.end('rejected');
    await this.netcall.response({ accepted: false, caller, type, cid: cid! });
  }

  /** Cancels while dialing, refuses while ringing, leaves the call or room once in it. */
  async hangup(): Promise<void> {
    this.guard('hangup');
    if (this.state.phase === 'incoming') return this.reject();
    const { cid, phase } = this.state;
    this.end(phase === 'dialing' ? 'canceled' : 'local-hangup');
    if (cid) await this.leave(cid);
  }

  /** Rings `account` into this group call (our server's `inviteToCall`; rooms are joined by name instead). */
  async invite(account: string): Promise<void> {
    this.guard('invite');
    const { kind, cid, members } = this.state;
    if (kind !== 'call' || !cid)
      throw new NetcallError(
        Code.BAD_REQUEST,
        'invite(): only a placed group call rings; a room is joined by name',
      );
    const known = members.find((m) => m.account === account);
    if (known && (known.state === 'ringing' || known.state === 'joined'))
      throw new NetcallError(Code.CONFLICT, `invite(): "${account}" is already in this call`);
    await this.netcall.inviteToCall({ cid, callee: account });
    if (!this.mine(cid)) return;
    if (known) this.update(account, { state: 'ringing' });
    else this.set({ members: [...this.state.members, member(account, 'ringing')] });
    this.ringOut(account);
  }

  // ---- events from the netcall -------------------------------------------------------------------------

  private onBeCalling(e: BeCallingEvent): void {
    if (!e.callees) return; // a 1:1 call: the CallSession's
    const cid = String(e.cid);
    if (this.isActive()) {
      if (cid === this.state.cid) return; // a repeated notice of the call already ringing
      void this.netcall
        .control({ command: Control.BUSY, cid })
        .catch(() => undefined)
        .then(() =>
          this.netcall.response({ accepted: false, caller: e.caller, type: e.type, cid, reason: 'busy' }),
        )
        .catch(() => undefined);
      return;
    }
    if (this.options.busy?.()) return;
    const me = this.netcall.account;
    const invited = e.callees.filter((account) => account !== me && account !== e.caller);
    this.reset({
      kind: 'call',
      cid,
      caller: e.caller,
      type: e.type,
      direction: 'incoming',
      members: [member(e.caller, 'joined'), ...invited.map((account) => member(account, 'ringing'))],
    });
    this.go('incoming');
    invited.forEach((account) => this.ringOut(account));
    this.ringTimer = this.timers.setTimeout(() => {
      if (this.state.phase !== 'incoming') return;
      const { caller, type } = this.state;
      this.end('callee-timeout');
      void this.netcall
        .response({ accepted: false, caller, type, cid, reason: 'timeout' })
        .catch(() => undefined);
    }, this.options.calleeTimeout ?? 30000);
  }

  private onCallRejected(e: CallAnswerEvent): void {
    if (!this.mine(e.cid)) return;
    this.update(e.account, {
      state: e.reason === 'busy' ? 'busy' : e.reason === 'timeout' ? 'missed' : 'declined',
    });
  }

  private onHangup(e: HangupEvent): void {
    if (!this.mine(e.cid)) return;
    const network = e.reason === 'network';
    switch (this.state.phase) {
      case 'incoming':
        // The caller gave up, or my ring time ran out on the server.
        this.end(network ? 'network' : e.reason === 'timeout' ? 'callee-timeout' : 'canceled');
        break;
      case 'dialing': {
        // Nobody is left to answer: why, as the callees said.
        const states = this.state.members.map((m) => m.state);
        const all = (state: MemberState) => states.every((s) => s === state);
        this.end(network ? 'network' : all('missed') ? 'caller-timeout' : all('busy') ? 'busy' : 'rejected');
        break;
      }
      default:
        // The last one with me left: a group call needs two.
        this.end(network ? 'network' : 'remote-hangup');
    }
  }

  private onControl(e: ControlEvent): void {
    if (!this.mine(e.cid)) return;
    const known = this.state.members.find((m) => m.account === e.account);
    if (known) {
      const next = peerStateAfter(known, e.command);
      if (next) this.update(e.account, next);
      return;
    }
    // Only members send notices. One rung in alone learns of the others from their streams, and a notice
    // (sent once, as they joined) may come first: keep what it says.
    const next = peerStateAfter(PEER_DEFAULT, e.command);
    if (!next) return;
    this.met.add(e.account);
    this.set({ members: [...this.state.members, { ...member(e.account, 'joined'), ...next }] });
  }

  // ---- internals ---------------------------------------------------------------------------------------

  /** Into a room: create it first when asked, join, start RTC. */
  private async enter(operation: 'createChannel' | 'joinChannel', channelName: string, type: CallType) {
    this.guard(operation);
    this.reset({ kind: 'room', channelName, type });
    if (!(await this.permitted(type))) return;
    this.gaveWay();
    this.go('joining');
    let joined;
    try {
      if (operation === 'createChannel') await this.netcall.createChannel({ channelName });
      joined = await this.netcall.joinChannel({ channelName, type });
    } catch (error) {
      if (this.state.phase === 'joining') this.fail(error);
      throw error;
    }
    // Left while joining: I am in the room on the server now, so leave it there too.
    if (this.state.phase !== 'joining')
      return void this.netcall.leaveChannel({ cid: joined.cid }).catch(() => undefined);
    const me = this.netcall.account;
    const others = Object.keys(joined.accountUidMap).filter((account) => account !== me);
    others.forEach((account) => this.met.add(account));
    this.set({
      cid: joined.cid,
      members: others.map((account) => member(account, 'joined', joined.accountUidMap[account])),
    });
    // Switched off while joining, before there was a room to tell.
    this.announceIfOff();
    try {
      await this.startRtc();
    } catch (error) {
      if (this.isActive() && this.state.cid === joined.cid) this.fail(error);
      throw error;
    }
  }

  /** A call may have come in while the permission prompt was up; it wins, and this one is refused. */
  private gaveWay(): void {
    if (this.isActive())
      throw new NetcallError(Code.CONFLICT, `gave way to a call that came in (${this.state.phase})`);
  }

  /** `account` is in (answered, or joined the room): the caller's first answer starts my RTC session. */
  private joined(account: string, uid?: string): void {
    this.met.add(account);
    const known = this.state.members.some((m) => m.account === account);
    if (known) this.update(account, uid ? { state: 'joined', uid } : { state: 'joined' });
    else this.set({ members: [...this.state.members, member(account, 'joined', uid)] });
    if (this.state.phase === 'dialing') {
      this.clearRing();
      this.go('joining');
      this.startRtc().catch((error: unknown) => this.isActive() && this.fail(error));
    }
    // They did not hear my earlier notices: tell them what is off.
    this.announceIfOff();
  }

  /** Everyone assumes my mic and camera on until told otherwise. */
  private announceIfOff(): void {
    const { micOn, cameraOn } = this.state.local;
    if (!micOn || (this.state.type === 2 && !cameraOn)) this.announce();
  }

  /** The roster changed: who is in RTC (and their uid); my RTC session up means in-call. */
  protected override rosterChanged(): void {
    const players = this.roster.players;
    let members = this.state.members.map((m) => {
      const player = players.find((p) => p.account === m.account);
      const rtc = !!player;
      const uid = player ? player.uid : m.uid;
      return rtc === m.rtc && uid === m.uid ? m : { ...m, rtc, uid, state: rtc ? 'joined' : m.state };
    });
    for (const player of players) {
      // In the RTC session with me: met, whether I knew of them before (a callee's caller) or not.
      this.met.add(player.account);
      if (!members.some((m) => m.account === player.account))
        members = [...members, { ...member(player.account, 'joined', player.uid), rtc: true }];
    }
    const changed = members.some((m, i) => m !== this.state.members[i]);
    const uid = this.roster.pusher ? this.roster.pusher.uid : this.state.uid;
    this.set(changed ? { members, uid } : { uid });
    if (this.state.phase === 'joining' && this.rtcStarted) {
      this.go('in-call');
      this.startTick();
    }
  }

  /** Replaces one member (by account) with the fields changed. */
  private update(account: string, fields: Partial<GroupMember>): void {
    if (fields.state && fields.state !== 'ringing') this.stopRinging(account);
    this.set({ members: this.state.members.map((m) => (m.account === account ? { ...m, ...fields } : m)) });
  }

  /** An invitee rings for `ringTimeout`; still ringing then, they missed it. */
  private ringOut(account: string): void {
    this.stopRinging(account);
    this.ringing.set(
      account,
      this.timers.setTimeout(() => {
        this.ringing.delete(account);
        if (this.state.members.some((m) => m.account === account && m.state === 'ringing'))
          this.update(account, { state: 'missed' });
      }, this.options.ringTimeout ?? 30000),
    );
  }

  private stopRinging(account: string): void {
    const timer = this.ringing.get(account);
    if (timer !== undefined) this.timers.clearTimeout(timer);
    this.ringing.delete(account);
  }

  protected override leave(cid: string): Promise<void> {
    return this.state.kind === 'room' ? this.netcall.leaveChannel({ cid }) : this.netcall.hangup({ cid });
  }

  protected override end(reason: EndReason, errorCode?: number): void {
    const { cid, kind, channelName, caller, type, direction, duration, phase } = this.state;
    if ((phase === 'ended' || phase === 'idle') && reason !== 'permission-denied') return;
    // `leave` after `end` still needs to know a room from a call: `kind` stays until the next call.
    this.release();
    this.go('ended', { reason, reconnecting: false });
    const record: GroupRecord = {
      cid,
      kind: kind ?? 'call',
      channelName,
      caller,
      type,
      direction,
      duration,
      reason,
      members: [...this.met],
    };
    if (errorCode !== undefined) record.errorCode = errorCode;
    this.emit('callEnded', record);
  }

  private reset(fields: Partial<GroupSnapshot>): void {
    this.met = new Set();
    const local = this.renew(fields.type ?? 2);
    this.set({ ...idleGroupSnapshot(), phase: this.state.phase, local, ...fields });
  }

  private clearRing(): void {
    this.timers.clearTimeout(this.ringTimer);
    this.ringTimer = null;
  }

  protected override clearTimers(): void {
    this.clearRing();
    for (const timer of this.ringing.values()) this.timers.clearTimeout(timer);
    this.ringing.clear();
    super.clearTimers();
  }
}
