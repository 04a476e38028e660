/**
 * LiveSession: one interactive live at a time, as a state machine of roles on a `LiveNetcallLike` (a room
 * joined with `liveEnable`; NetEase's names where NetEase has them):
 *
 *   idle → joining → host → closing → ended                          (goLive: create, join live, push)
 *   idle → joining → audience ⇄ requesting → cohost → audience …     (watch; requestCoHost, coHostResponse)
 *                    audience ⇄ invited → cohost                      (coHostInvite, acceptInvite/refuseInvite)
 *                    audience → cohost (changeRoleToPlayer, a room without stage approval)
 *                    cohost → audience (changeRoleToAudience, or the host's coHostRemoved)
 *   any of them → ended (liveRoomClose, leaving, the connection lost, kicked, a media failure)
 *
 * The phase is the role (`role` says which one in words): only `host` and `cohost` are in RTC, push and send
 * control notices; the audience plays the room's mixed stream (`live.flv`). Every operation is refused here,
 * before anything is sent, when my role cannot do it (403, as the server would) or a live is already going
 * on (409). Each live ends exactly once with one EndReason (the kit's: a closed room is `remote-hangup`, a
 * host lost or a server gone `network`; `closeReason` keeps the server's words) and emits one `liveEnded`
 * record; the host's end waits for the server's `liveSummary` (duration, peak audience) so its record and
 * end page carry it.
 *
 * It owns: the stage (host and co-hosts, from joinChannel/clientJoin/clientLeave and their control notices,
 * while I am on it), the host's pending co-host requests and invites (each dropped after the server's
 * co-host timeout, since the server tells the host nothing when a request expires), the last room messages
 * (bounded), the audience count, short-lived notices for the view, and timers for all of those. What every
 * call shares (my media, the background and media policies, the tick, the connection's events) is
 * BaseSession's. A separate entry (`miniprogram-netcall/services/live/live-session`): apps with calls or rooms
 * only do not ship it. Never touches `wx` and never renders: the live store mirrors its `change` events.
 */
import { checkCallPermissions } from '../platform/device';
import type { MediaRoster } from '../media/roster';
import type { LiveNetcallLike } from '../netcall/types';
import type { Timers } from '../platform/primitives';
import { Code, NetcallError } from '../protocol/errors';
import type {
  CallType,
  ControlEvent,
  JoinChannelEvent,
  JoinChannelResult,
  LeaveChannelEvent,
  LiveRole,
  LiveSummaryEvent,
  LiveUrls,
  RoomMessageEvent,
  RoomMessageType,
  SessionConfig,
} from '../protocol/frames';
import {
  BaseSession,
  PEER_DEFAULT,
  freshLocal,
  peerStateAfter,
  type BackgroundPolicy,
  type PermissionCheck,
  type PhaseTable,
  type SessionEvents,
  type SessionState,
} from '../call/base-session';
import type { EndReason, PeerState } from '../call/types';

export type LivePhase =
  'idle' | 'joining' | 'host' | 'audience' | 'requesting' | 'invited' | 'cohost' | 'closing' | 'ended';

/** Someone on the stage with me (the host or a co-host), with their mic and camera as their notices said. */
export interface StageMember extends PeerState {
  account: string;
  uid: string;
  role: 'host' | 'cohost';
  /** Their stream is in the RTC session: the roster gives their tile its URL. */
  rtc: boolean;
}

/** An audience member's request to go on stage, waiting for the host. */
export interface CoHostRequest {
  account: string;
  /** When it came (the session's clock, ms). */
  at: number;
}

export interface LiveMessage {
  /** Increasing within a live session: a stable key for the view. */
  id: number;
  account: string;
  type: RoomMessageType;
  content: string;
  /** Server time (ms); mine carry my clock's. */
  time: number;
  mine: boolean;
}

/**
 * What just happened to me or my requests, for a notice the view shows for a moment (`noticeTimeout`).
 * request-refused / request-timeout: the host refused or never answered my request; invite-expired: I let
 * an invite run out; removed: the host took me off stage; invite-declined / invite-timeout: (host) `account`
 * refused or never answered my invite; stage-full: stepping on stage found no room (104).
 */
export type LiveNoticeKind =
  | 'request-refused'
  | 'request-timeout'
  | 'invite-expired'
  | 'removed'
  | 'invite-declined'
  | 'invite-timeout'
  | 'stage-full';

export interface LiveNotice {
  kind: LiveNoticeKind;
  /** Whom it concerns, when not me. */
  account?: string;
}

export interface LiveSnapshot extends SessionState<LivePhase> {
  /** My role (the one I am joining as, while joining), or null before any live. */
  role: LiveRole | null;
  channelName: string;
  /** The host's account ('' while unknown: an audience member learns it from an invite or `watch`'s option). */
  host: string;
  /** My uid in the room. */
  uid: string;
  /** The room's mixed live stream (what the audience plays); null for the host. Kept while I am on stage. */
  live: LiveUrls | null;
  /** Everyone on stage but me, while I am on it (the audience watches the mix and is told nothing of it). */
  stage: readonly StageMember[];
  /** Host: requests waiting for an answer, oldest first. */
  requests: readonly CoHostRequest[];
  /** Host: accounts invited on stage, waiting for their answer. */
  invites: readonly string[];
  /** Invited: who invited me (the host). */
  invitedBy: string;
  notice: LiveNotice | null;
  /** The last `maxMessages` room messages, oldest first, mine included. */
  messages: readonly LiveMessage[];
  /** The room's audience (members off stage), as the server last said. */
  audienceCount: number;
  /** The most the audience count reached while I was in. */
  peakAudience: number;
  /** Why the server closed the room (`liveRoomClose`): 'host-left', 'host-lost', 'shutdown', … */
  closeReason: string | null;
  /** Host: the server's summary when the live ended. */
  summary: LiveSummaryEvent | null;
}

/** Emitted once as `liveEnded` when a live session reaches `ended`. */
export interface LiveRecord {
  cid: string | null;
  channelName: string;
  /** My last role in it (null if I never got in). */
  role: LiveRole | null;
  /** Whole seconds I was in it. */
  duration: number;
  reason: EndReason;
  closeReason?: string;
  /** Host: the server's summary. */
  summary?: LiveSummaryEvent;
  /** NetcallError code when reason is 'error'; the element's status code for a media failure. */
  errorCode?: number;
}

export interface LiveSessionOptions {
  netcall: LiveNetcallLike;
  /** The app's one roster (shared with its call sessions: one RTC session at a time); created when absent. */
  roster?: MediaRoster;
  timers?: Timers;
  checkPermissions?: PermissionCheck;
  background?: BackgroundPolicy;
  /** The server's co-host timeout (ms, default 30 000): pending requests and invites expire after it. */
  coHostTimeout?: number;
  /** How long the host waits for the server's summary after leaving (ms, default 5000). */
  summaryTimeout?: number;
  /** How long a notice stays (ms, default 4000). */
  noticeTimeout?: number;
  /** Room messages kept (default 50). */
  maxMessages?: number;
}

export interface LiveGoOptions {
  type?: CallType;
  /** The host's settings (NetEase's names): split mode, custom layout, bypass push, recording, approval. */
  sessionConfig?: SessionConfig;
}

export interface LiveWatchOptions {
  /** The host's account when the app knows it (the directory lists it). */
  host?: string;
}

export interface LiveSessionEvents extends SessionEvents<LiveSnapshot> {
  liveEnded: LiveRecord;
}

/** The uid the audience's player reports its status codes under (the media policy's hints key it too). */
export const LIVE_PLAYER_UID = 'live';

const IN: readonly LivePhase[] = ['host', 'audience', 'requesting', 'invited', 'cohost'];
const ACTIVE: readonly LivePhase[] = ['joining', ...IN];
const WATCHING: readonly LivePhase[] = ['audience', 'requesting', 'invited'];
const START: readonly LivePhase[] = ['idle', 'ended'];

const TABLE: PhaseTable<LivePhase> = {
  next: {
    idle: ['joining', 'ended'],
    joining: ['host', 'audience', 'ended'],
    host: ['closing', 'ended'],
    audience: ['requesting', 'invited', 'cohost', 'ended'],
    requesting: ['audience', 'invited', 'cohost', 'ended'],
    invited: ['audience', 'cohost', 'ended'],
    cohost: ['audience', 'ended'],
    closing: ['ended'],
    ended: ['joining', 'ended', 'idle'],
  },
  allowed: {
    goLive: START,
    watch: START,
    hangup: ACTIVE,
    requestCoHost: ['audience'],
    changeRoleToPlayer: ['audience'],
    acceptInvite: ['invited'],
    refuseInvite: ['invited'],
    changeRoleToAudience: ['cohost'],
    respondCoHost: ['host'],
    inviteCoHost: ['host'],
    removeCoHost: ['host'],
    sendMessage: IN,
  },
  active: ACTIVE,
  // Only the stage is in RTC: my control notices go out from these (the audience's would be refused).
  live: ['host', 'cohost'],
};

/** The snapshot of no live at all: a session before its first live, and the store before one is bound. */
export function idleLiveSnapshot(): LiveSnapshot {
  return {
    phase: 'idle',
    role: null,
    cid: null,
    channelName: '',
    host: '',
    uid: '',
    type: 2,
    duration: 0,
    reason: null,
    live: null,
    stage: [],
    requests: [],
    invites: [],
    invitedBy: '',
    notice: null,
    messages: [],
    audienceCount: 0,
    peakAudience: 0,
    closeReason: null,
    summary: null,
    local: freshLocal(2),
    reconnecting: false,
    deniedScope: null,
    hints: {},
  };
}

/** The kit's end reason for the server's close reason (the exact words stay in `closeReason`). */
const closedAs = (reason: string): EndReason =>
  reason === 'host-lost' || reason === 'shutdown' ? 'network' : 'remote-hangup';

const forbidden = (message: string) => new NetcallError(Code.FORBIDDEN, message);

export class LiveSession extends BaseSession<LivePhase, LiveSnapshot, LiveSessionEvents> {
  private readonly options: LiveSessionOptions;
  private readonly live: LiveNetcallLike;
  /** Timers by key: `request:<account>`, `invite:<account>`, `mine` (my request or invite), `summary`, `notice`. */
  private readonly waits = new Map<string, unknown>();
  private nextMessageId = 1;
  /** Why the live is closing (the host waits for its summary before ending with it). */
  private closing: EndReason = 'local-hangup';

  constructor(options: LiveSessionOptions) {
    super(options, idleLiveSnapshot(), TABLE);
    this.options = options;
    this.live = options.netcall;
    this.listen('joinChannel', (e) => this.onStageJoin(e));
    this.listen('leaveChannel', (e) => this.onStageLeave(e));
    this.listen('control', (e) => this.onControl(e));
    this.listen('coHostRequest', (e) => this.mine(e.cid, 'host') && this.onRequest(e.account));
    this.listen('coHostResponse', (e) => {
      if (!this.mine(e.cid, 'requesting')) return;
      this.stopWait('mine');
      if (e.accepted) void this.stepUp().catch(() => undefined);
      else this.backToAudience(e.reason === 'timeout' ? 'request-timeout' : 'request-refused');
    });
    this.listen('coHostInvite', (e) => this.onInvite(e.cid, e.account));
    this.listen('coHostInviteResponse', (e) => {
      if (!this.mine(e.cid, 'host')) return;
      this.dropInvite(e.account);
      if (!e.accepted)
        this.tellUser(e.reason === 'timeout' ? 'invite-timeout' : 'invite-declined', e.account);
    });
    this.listen('coHostRemoved', (e) => {
      if (this.mine(e.cid, 'cohost') && e.account === this.netcall.account) this.stepDown('removed');
    });
    this.listen('roomMessage', (e) => this.mine(e.cid) && this.isIn() && this.addMessage(e, false));
    this.listen('audienceCount', (e) => {
      if (!this.mine(e.cid) || !this.isIn()) return;
      this.set({ audienceCount: e.count, peakAudience: Math.max(this.state.peakAudience, e.count) });
    });
    this.listen('liveRoomClose', (e) => this.mine(e.cid) && this.onClose(e.reason));
    // Back after a reconnect: the live stream may play elsewhere now (its media moved with a node).
    this.listen(
      'roomRejoined',
      (e) => this.mine(e.cid) && e.result.live && this.set({ live: e.result.live }),
    );
    this.listen('liveStreamMoved', (e) => this.mine(e.cid) && this.set({ live: e.live }));
    this.listen('liveSummary', (e) => {
      if (!this.mine(e.cid) || this.state.role !== 'host' || !this.isActiveOrClosing()) return;
      this.set({ summary: e });
      this.end(this.closing);
    });
  }

  /** Creates the room `channelName` and hosts it live: join with `liveEnable` and the host's settings, push. */
  async goLive(channelName: string, options: LiveGoOptions = {}): Promise<void> {
    this.allow('goLive', Code.CONFLICT);
    const type = options.type ?? 2;
    this.reset({ channelName, type, role: 'host' });
    if (!(await this.permitted(type))) return;
    this.go('joining');
    const joined = await this.join(async () => {
      await this.netcall.createChannel({ channelName });
      return this.netcall.joinChannel({
        channelName,
        type,
        liveEnable: true,
        sessionConfig: options.sessionConfig,
      });
    });
    if (joined) await this.entered(joined);
  }

  /** Joins the live room `channelName` as audience (the host, if it is mine, hosts it again). */
  async watch(channelName: string, options: LiveWatchOptions = {}): Promise<void> {
    this.allow('watch', Code.CONFLICT);
    this.reset({ channelName, type: 2, role: 'audience', host: options.host ?? '' });
    this.go('joining');
    const joined = await this.join(() =>
      this.netcall.joinChannel({ channelName, type: 2, liveEnable: true }),
    );
    if (joined) await this.entered(joined);
  }

  /** Leaves: the host ends the live for everyone (and waits for its summary); anyone else just leaves. */
  async hangup(): Promise<void> {
    this.allow('hangup', Code.CONFLICT);
    const { cid, phase } = this.state;
    if (phase === 'host' && cid) {
      this.close('local-hangup');
      await this.netcall.leaveChannel({ cid }).catch(() => {
        // The server will not answer with a summary: end without one.
        if (this.state.phase === 'closing') this.end('local-hangup');
      });
      return;
    }
    this.end('local-hangup');
    if (cid) await this.leave(cid);
  }

  /** Audience: asks the host to go on stage; `coHostResponse` puts me on it or back in the audience. */
  async requestCoHost(): Promise<void> {
    this.allow('requestCoHost');
    await this.mayPush();
    this.go('requesting', { notice: null });
    const cid = this.state.cid!;
    // The server answers a request it let expire; this only covers an answer lost on the way (a reconnect).
    this.wait('mine', this.coHostTimeout() + 2000, () => {
      if (this.mine(cid, 'requesting')) this.backToAudience('request-timeout');
    });
    try {
      await this.live.requestCoHost({ cid });
    } catch (error) {
      if (this.mine(cid, 'requesting')) {
        this.stopWait('mine');
        this.go('audience');
      }
      throw error;
    }
  }

  /** Audience: straight on stage, where the host lets anyone step up (NetEase's `changeRoleToPlayer`). */
  async changeRoleToPlayer(): Promise<void> {
    this.allow('changeRoleToPlayer');
    await this.mayPush();
    await this.stepUp();
  }

  /** Invited: yes; on stage at once. */
  async acceptInvite(): Promise<void> {
    this.allow('acceptInvite');
    const cid = this.state.cid!;
    try {
      await this.mayPush();
    } catch (error) {
      // I cannot push: the host hears no rather than waiting out the invite.
      await this.refuseInvite().catch(() => undefined);
      throw error;
    }
    this.stopWait('mine');
    await this.live.respondCoHostInvite({ cid, accepted: true });
    if (this.mine(cid, 'invited')) await this.stepUp();
  }

  /** Invited: no; back to watching. */
  async refuseInvite(): Promise<void> {
    this.allow('refuseInvite');
    const cid = this.state.cid!;
    this.stopWait('mine');
    this.go('audience', { invitedBy: '' });
    await this.live.respondCoHostInvite({ cid, accepted: false });
  }

  /** Co-host: off stage, back to watching the mix (my stream ends). */
  async changeRoleToAudience(): Promise<void> {
    this.allow('changeRoleToAudience');
    const cid = this.state.cid!;
    await this.live.changeRoleToAudience({ cid });
    if (this.mine(cid, 'cohost')) this.stepDown(null);
  }

  /** Host: answers `account`'s request (404 here when none is waiting from them). */
  async respondCoHost(account: string, accepted: boolean): Promise<void> {
    this.allow('respondCoHost');
    if (!this.state.requests.some((r) => r.account === account))
      throw new NetcallError(Code.NOT_FOUND, `no co-host request from "${account}" is waiting`);
    const cid = this.state.cid!;
    try {
      await this.live.respondCoHost({ cid, account, accepted });
      this.dropRequest(account);
    } catch (error) {
      // Expired or withdrawn on the server (the requester left): nothing is waiting any more.
      if (error instanceof NetcallError && error.code === Code.NOT_FOUND) this.dropRequest(account);
      throw error;
    }
  }

  /** Host: asks `account` (in the room's audience) on stage. */
  async inviteCoHost(account: string): Promise<void> {
    this.allow('inviteCoHost');
    if (account === this.netcall.account || this.state.stage.some((m) => m.account === account))
      throw new NetcallError(Code.CONFLICT, `"${account}" is on stage already`);
    if (this.state.invites.includes(account))
      throw new NetcallError(Code.CONFLICT, `an invite to "${account}" is waiting for an answer`);
    const cid = this.state.cid!;
    await this.live.inviteCoHost({ cid, account });
    if (!this.mine(cid, 'host')) return;
    this.set({ invites: [...this.state.invites, account] });
    this.wait(`invite:${account}`, this.coHostTimeout(), () => this.dropInvite(account));
  }

  /** Host: takes co-host `account` off stage. */
  async removeCoHost(account: string): Promise<void> {
    this.allow('removeCoHost');
    if (!this.state.stage.some((m) => m.account === account && m.role === 'cohost'))
      throw new NetcallError(Code.NOT_FOUND, `"${account}" is not a co-host here`);
    await this.live.removeCoHost({ cid: this.state.cid!, account });
  }

  /** A room message to everyone else (stage and audience); shown in my list too. */
  async sendMessage(content: string, type: RoomMessageType = 'text'): Promise<void> {
    this.allow('sendMessage');
    const cid = this.state.cid!;
    await this.live.sendRoomMessage({ cid, type, content });
    if (this.mine(cid) && this.isIn())
      this.addMessage({ cid, account: this.netcall.account, type, content, time: this.timers.now() }, true);
  }

  // ---- into the room -------------------------------------------------------------------------------------

  /** Runs the join; a failure ends the session as 'error' (and is rethrown); a hangup meanwhile leaves. */
  private async join(run: () => Promise<JoinChannelResult>): Promise<JoinChannelResult | null> {
    let joined: JoinChannelResult;
    try {
      joined = await run();
    } catch (error) {
      if (this.state.phase === 'joining') this.fail(error);
      throw error;
    }
    // Left while joining: I am in the room on the server now, so leave it there too.
    if (this.state.phase !== 'joining') {
      void this.netcall.leaveChannel({ cid: joined.cid }).catch(() => undefined);
      return null;
    }
    return joined;
  }

  private async entered(joined: JoinChannelResult): Promise<void> {
    const me = this.netcall.account;
    const role = joined.role ?? 'audience';
    if (role === 'host') {
      this.set({ cid: joined.cid, uid: joined.uid, role, host: me });
      this.go('host');
      this.startTick();
      await this.rtc(joined.cid);
      return;
    }
    // The host is the room's first member: first in its map, unless the app told me.
    const host = this.state.host || Object.keys(joined.accountUidMap).find((a) => a !== me) || '';
    this.set({ cid: joined.cid, uid: joined.uid, role: 'audience', host, live: joined.live ?? null });
    this.go('audience');
    this.startTick();
  }

  /** Starts my RTC session (on stage); a failure ends the live as 'error'. */
  private async rtc(cid: string): Promise<void> {
    // Switched off before there was a stage to tell.
    const { micOn, cameraOn } = this.state.local;
    if (!micOn || (this.state.type === 2 && !cameraOn)) this.announce();
    try {
      await this.startRtc();
    } catch (error) {
      if (this.isActive() && this.state.cid === cid) this.fail(error);
      throw error;
    }
  }

  /** Audience → co-host: `changeRoleToPlayer`, then push. A full stage (104) leaves me watching, told. */
  private async stepUp(): Promise<void> {
    const cid = this.state.cid!;
    try {
      await this.live.changeRoleToPlayer({ cid });
    } catch (error) {
      if (this.mine(cid) && WATCHING.includes(this.state.phase)) {
        if (error instanceof NetcallError && error.code === Code.ROOM_FULL) this.backToAudience('stage-full');
        else this.backToAudience(null);
      }
      throw error;
    }
    if (!this.mine(cid) || !WATCHING.includes(this.state.phase)) return;
    this.stopWait('mine');
    this.go('cohost', { role: 'cohost', invitedBy: '', notice: null, stage: [] });
    await this.rtc(cid);
  }

  /** Co-host → audience (my choice or the host's): my RTC session goes, the live stream plays again. */
  private stepDown(notice: LiveNoticeKind | null): void {
    this.rtcStarted = false;
    this.roster.clear();
    this.media.reset();
    this.go('audience', { role: 'audience', stage: [] });
    if (notice) this.tellUser(notice);
  }

  private backToAudience(notice: LiveNoticeKind | null): void {
    this.stopWait('mine');
    if (this.state.phase !== 'audience') this.go('audience', { invitedBy: '' });
    if (notice) this.tellUser(notice);
  }

  // ---- events ------------------------------------------------------------------------------------------

  private onRequest(account: string): void {
    const requests = this.state.requests.filter((r) => r.account !== account);
    this.set({ requests: [...requests, { account, at: this.timers.now() }] });
    // The server tells the requester, never the host, when a request expires: drop it when it would have.
    this.wait(`request:${account}`, this.coHostTimeout(), () => this.dropRequest(account));
  }

  private onInvite(cid: string, host: string): void {
    if (!this.mine(cid) || (this.state.phase !== 'audience' && this.state.phase !== 'requesting')) return;
    this.go('invited', { invitedBy: host, host: this.state.host || host, notice: null });
    this.wait('mine', this.coHostTimeout(), () => {
      if (this.mine(cid, 'invited')) this.backToAudience('invite-expired');
    });
  }

  private onStageJoin(e: JoinChannelEvent): void {
    if (!this.mine(e.cid) || !this.onStage() || e.account === this.netcall.account) return;
    const known = this.state.stage.find((m) => m.account === e.account);
    if (known) return this.updateMember(e.account, { uid: String(e.uid) });
    this.set({ stage: [...this.state.stage, this.member(e.account, String(e.uid))] });
  }

  private onStageLeave(e: LeaveChannelEvent): void {
    if (!this.mine(e.cid) || !this.onStage()) return;
    const stage = this.state.stage.filter((m) => m.account !== e.account);
    if (stage.length !== this.state.stage.length) this.set({ stage });
  }

  private onControl(e: ControlEvent): void {
    if (!this.mine(e.cid) || !this.onStage()) return;
    const known = this.state.stage.find((m) => m.account === e.account) ?? this.member(e.account, '');
    const next = peerStateAfter(known, e.command);
    if (!next) return;
    if (this.state.stage.includes(known)) this.updateMember(e.account, next);
    // A notice (sent as they joined) may beat their stream: keep what it says.
    else this.set({ stage: [...this.state.stage, { ...known, ...next }] });
  }

  private onClose(reason: string): void {
    if (!this.isActiveOrClosing()) return;
    this.set({ closeReason: reason });
    if (this.state.phase === 'closing') return;
    // The host hears its summary right after: end with it.
    if (this.state.role === 'host') this.close(closedAs(reason));
    else this.end(closedAs(reason));
  }

  /** The roster changed: who on stage is in RTC (and their uid); my uid once my stream is listed. */
  protected override rosterChanged(): void {
    if (!this.onStage()) return;
    // My own stream is never a stage member's, whatever uid a rejoin gave it.
    const me = this.netcall.account;
    const players = this.roster.players.filter((p) => p.account !== me);
    let stage = this.state.stage.map((m) => {
      const player = players.find((p) => p.account === m.account);
      const uid = player ? player.uid : m.uid;
      return !!player === m.rtc && uid === m.uid ? m : { ...m, rtc: !!player, uid };
    });
    for (const player of players)
      if (!stage.some((m) => m.account === player.account))
        stage = [...stage, { ...this.member(player.account, player.uid), rtc: true }];
    const changed =
      stage.length !== this.state.stage.length || stage.some((m, i) => m !== this.state.stage[i]);
    const uid = this.roster.pusher ? this.roster.pusher.uid : this.state.uid;
    this.set(changed ? { stage, uid } : { uid });
  }

  // ---- the end ---------------------------------------------------------------------------------------------

  /** The host's live is over on the server: stop pushing, wait for the summary (not forever). */
  private close(reason: EndReason): void {
    this.closing = reason;
    this.release();
    this.go('closing');
    this.wait('summary', this.options.summaryTimeout ?? 5000, () => this.end(reason));
  }

  protected override leave(cid: string): Promise<void> {
    return this.netcall.leaveChannel({ cid });
  }

  protected override end(reason: EndReason, errorCode?: number): void {
    const { phase, cid, channelName, role, duration, closeReason, summary } = this.state;
    if ((phase === 'ended' || phase === 'idle') && reason !== 'permission-denied') return;
    this.release();
    this.go('ended', {
      reason,
      reconnecting: false,
      requests: [],
      invites: [],
      invitedBy: '',
      notice: null,
      stage: [],
    });
    const record: LiveRecord = { cid, channelName, role, duration, reason };
    if (closeReason) record.closeReason = closeReason;
    if (summary) record.summary = summary;
    if (errorCode !== undefined) record.errorCode = errorCode;
    this.emit('liveEnded', record);
  }

  // ---- internals -----------------------------------------------------------------------------------------

  /**
   * The guard of every operation: refused here, before anything is sent. A role that cannot do it is 403 (as
   * the server would answer); starting a live while one goes on is 409.
   */
  private allow(operation: string, code: number = Code.FORBIDDEN): void {
    const allowed = TABLE.allowed[operation];
    if (allowed.includes(this.state.phase)) return;
    const error = code === Code.FORBIDDEN ? forbidden : (m: string) => new NetcallError(code, m);
    throw error(`${operation}() is not allowed while ${this.state.phase} (allowed: ${allowed.join(', ')})`);
  }

  /** Going on stage pushes: the camera and microphone must be allowed, or I stay in the audience (403). */
  private async mayPush(): Promise<void> {
    const type = this.state.type;
    const check = this.options.checkPermissions ?? checkCallPermissions;
    const result = await check(type).catch(() => ({
      granted: false as const,
      scope: (type === 2 ? 'scope.camera' : 'scope.record') as 'scope.camera' | 'scope.record',
    }));
    if (result.granted) return;
    this.set({ deniedScope: result.scope });
    throw forbidden(`going on stage needs ${result.scope}`);
  }

  private onStage(): boolean {
    return this.state.phase === 'host' || this.state.phase === 'cohost';
  }

  private isIn(): boolean {
    return IN.includes(this.state.phase);
  }

  private isActiveOrClosing(): boolean {
    return this.isActive() || this.state.phase === 'closing';
  }

  private member(account: string, uid: string): StageMember {
    return {
      ...PEER_DEFAULT,
      account,
      uid,
      role: account === this.state.host ? 'host' : 'cohost',
      rtc: false,
    };
  }

  private updateMember(account: string, fields: Partial<StageMember>): void {
    this.set({ stage: this.state.stage.map((m) => (m.account === account ? { ...m, ...fields } : m)) });
  }

  private addMessage(e: RoomMessageEvent, mine: boolean): void {
    const message: LiveMessage = {
      id: this.nextMessageId++,
      account: e.account,
      type: e.type,
      content: e.content,
      time: e.time,
      mine,
    };
    const max = this.options.maxMessages ?? 50;
    this.set({ messages: [...this.state.messages, message].slice(-max) });
  }

  private dropRequest(account: string): void {
    this.stopWait(`request:${account}`);
    const requests = this.state.requests.filter((r) => r.account !== account);
    if (requests.length !== this.state.requests.length) this.set({ requests });
  }

  private dropInvite(account: string): void {
    this.stopWait(`invite:${account}`);
    if (this.state.invites.includes(account))
      this.set({ invites: this.state.invites.filter((a) => a !== account) });
  }

  /** A notice for the view, gone after `noticeTimeout` unless another replaces it. */
  private tellUser(kind: LiveNoticeKind, account?: string): void {
    this.set({ notice: account ? { kind, account } : { kind } });
    this.wait('notice', this.options.noticeTimeout ?? 4000, () => this.set({ notice: null }));
  }

  private coHostTimeout(): number {
    return this.options.coHostTimeout ?? 30000;
  }

  private wait(key: string, ms: number, run: () => void): void {
    this.stopWait(key);
    this.waits.set(
      key,
      this.timers.setTimeout(() => {
        this.waits.delete(key);
        run();
      }, ms),
    );
  }

  private stopWait(key: string): void {
    const timer = this.waits.get(key);
    if (timer !== undefined) this.timers.clearTimeout(timer);
    this.waits.delete(key);
  }

  private reset(fields: Partial<LiveSnapshot>): void {
    this.nextMessageId = 1;
    this.closing = 'local-hangup';
    const local = this.renew(fields.type ?? 2);
    this.set({ ...idleLiveSnapshot(), phase: this.state.phase, local, ...fields });
  }

  protected override clearTimers(): void {
    for (const timer of this.waits.values()) this.timers.clearTimeout(timer);
    this.waits.clear();
    super.clearTimers();
  }
}
