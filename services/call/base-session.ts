/**
 * BaseSession: what every call of the kit shares, whatever its shape (the 1:1 CallSession, the GroupSession):
 * the mechanics of a phase machine (a transition table, a guard per operation, one `change` event carrying
 * only the fields that changed), my own media (mic, camera, side, sound route, told to the others by
 * NetEase's control notices), the background policy, the tiles' media policy, my RTC session, the in-call
 * tick and the connection's own events (kicked, reconnecting, lost). A session adds its flows and owns its
 * one close path (`end`). Never touches `wx` (permissions and timers are injected) and never renders.
 * The media policy (what each status code means, MediaHealth) comes first in this module rather than in one
 * of its own: every file a mini-program ships carries its own CommonJS preamble, and the 1:1 size budget
 * counts them.
 */
import { MediaRoster, type RosterChange } from '../media/roster';
import { Emitter } from '../netcall/netcall';
import type { NetcallEventName, NetcallEvents, NetcallLike } from '../netcall/types';
import { checkCallPermissions, type PermissionResult } from '../platform/device';
import { defaultTimers, type Timers } from '../platform/primitives';
import { Code, NetcallError } from '../protocol/errors';
import type { CallType } from '../protocol/frames';
import type { DevicePosition, EndReason, LocalMedia, PeerState, SoundMode } from './types';

// ---- the media policy ------------------------------------------------------------------------------------
// What a live-pusher / live-player status code means for the call: what the session must do, and which hint
// the tile of that stream shows (WeChat's live-pusher and live-player statechange and binderror code tables;
// errors versus warnings as Tencent's LiteAV event tables class them). `reactToMediaCode` is pure; unknown
// codes are info, never fatal: WeChat versions add undocumented ones.
//
// MediaHealth is the per-stream state that goes with it: the retries each element has spent (one encoder
// restart for the pusher, one replay per player before a fresh URL), the hint each tile shows (by uid, mine
// included), a "poor network" hint expiring once no longer repeated, a tile's hints cleared when its stream
// changes. What to do with the call (end it, restart, rejoin) is CallSession's. Neither touches `wx`.

export type MediaAction =
  | 'none'
  | 'background'
  | 'restart'
  | 'replay'
  | 'refresh-url'
  | 'camera-unavailable'
  /** The microphone cannot be used (-1302, -1311): the call cannot go on. */
  | 'microphone-failed'
  /** The element cannot push (encoder after a restart, unsupported settings): the call cannot go on. */
  | 'media-failed'
  /** The user turned the camera (10001) or microphone (10002) off for the mini-program. */
  | 'permission-camera'
  | 'permission-record';

/** What one tile shows over its video while something is wrong with that stream. */
export type TileHint = 'poor-network' | 'reconnecting' | 'buffering' | 'video-paused';

/** How a code changes the tile's hint: show one, clear some, or leave it as it is. */
export type HintChange = { show: TileHint } | { clear: readonly TileHint[] } | null;

export interface MediaReaction {
  action: MediaAction;
  hint: HintChange;
}

export interface MediaStateEvent {
  source: 'pusher' | 'player';
  /** The uid the element is bound to (for the pusher: my own). */
  uid: string;
  code: number;
}

const NONE: MediaReaction = { action: 'none', hint: null };
const reaction = (action: MediaAction, hint: HintChange = null): MediaReaction => ({ action, hint });
const showing = (hint: TileHint): MediaReaction => reaction('none', { show: hint });
/** The stream is flowing again: whatever the engine was retrying is over. */
const FLOWING = reaction('none', { clear: ['reconnecting', 'buffering'] });
/** The engine retries by itself (a disconnect, LiteAV's RTMP DNS/connect/handshake/read-write family). */
const RECONNECTING = showing('reconnecting');
const POOR = showing('poor-network');
/** The server closed the stream (3004: the signed URL was refused or expired) or gave none: ask for a fresh one. */
const REFRESH = reaction('refresh-url', { show: 'reconnecting' });
const RESTART = reaction('restart', { show: 'reconnecting' });
const MICROPHONE = reaction('microphone-failed');
const FAILED = reaction('media-failed');
const BACKGROUND = reaction('background');
/** Both elements: the RTMP retry family. */
const RTMP: Record<number, MediaReaction> = {
  3001: RECONNECTING,
  3002: RECONNECTING,
  3003: RECONNECTING,
  3004: REFRESH,
  3005: RECONNECTING,
};

/** live-pusher: statechange and binderror. Codes not listed (1003–1008, 1103–1106, ROOM codes, 4998…) are info. */
const PUSHER: Record<number, MediaReaction> = {
  1001: FLOWING, // connected
  1002: FLOWING, // handshake done, pushing
  1101: POOR, // uplink too weak
  1102: RECONNECTING, // disconnected, the engine reconnects
  5000: BACKGROUND, // suspended (undocumented; the capsule on iOS)
  5001: BACKGROUND, // a phone or WeChat call took the microphone
  10001: reaction('permission-camera'),
  10002: reaction('permission-record'),
  [-1301]: reaction('camera-unavailable'), // another app holds the camera, or it is broken: go on with audio
  [-1302]: MICROPHONE, // the microphone could not be opened
  [-1311]: MICROPHONE, // Android: it opened but records nothing
  [-1303]: RESTART, // video encoding failed: one restart (see below)
  [-1304]: RESTART, // audio encoding failed: the same
  [-1305]: FAILED, // unsupported resolution: the attributes are wrong, a restart changes nothing
  [-1306]: FAILED, // unsupported sample rate: the same
  [-1307]: RESTART, // the engine gave up reconnecting and asks the app to restart the push
};

/** live-player: statechange. Codes not listed (2005, 2008, 2009, 2030, decode warnings…) are info. */
const PLAYER: Record<number, MediaReaction> = {
  2001: FLOWING, // connected
  2002: FLOWING, // pulling
  2003: FLOWING, // first video packet
  2004: FLOWING, // playing
  2032: FLOWING, // first frame rendered
  2006: showing('video-paused'), // the publisher stopped; signalling, not this code, says whether they left
  2007: showing('buffering'), // loading
  2103: RECONNECTING, // disconnected, the engine reconnects
  2104: POOR, // incoming packets unstable
  2105: POOR, // stutter: a frame gap over 500 ms
  [-2301]: reaction('replay', { show: 'reconnecting' }), // the player gave up: replay once, then a fresh URL
  [-2302]: REFRESH, // no play URL
};

/**
 * The session's action and the tile's hint for one status code (or `binderror` errCode). `failures`: retries
 * already spent on this element in this call: an encoder gets one restart and a player one replay, then the
 * encoder ends the call and the player asks for a fresh URL.
 */
export function reactToMediaCode(event: MediaStateEvent, failures = 0): MediaReaction {
  const { source, code } = event;
  const found = RTMP[code] || (source === 'pusher' ? PUSHER : PLAYER)[code] || NONE;
  if (failures === 0) return found;
  if (source === 'pusher' && (code === -1303 || code === -1304)) return FAILED;
  if (source === 'player' && code === -2301) return REFRESH;
  return found;
}

/** How long "poor network" stays after the last code that reported it (the engine repeats it while it lasts). */
export const POOR_NETWORK_HINT_MS = 5000;

/** A stronger hint is not hidden by a weaker one; "video paused" waits for a new URL. */
const RANK: Record<TileHint, number> = {
  'poor-network': 1,
  buffering: 2,
  reconnecting: 3,
  'video-paused': 4,
};

export type Hints = Readonly<Record<string, TileHint>>;

export class MediaHealth {
  private hints: Hints = {};
  /** Restarts (pusher encoder) and replays (player) spent, by `source:uid`. */
  private readonly failures = new Map<string, number>();
  private readonly expiries = new Map<string, unknown>();

  constructor(
    private readonly timers: Timers,
    /** Called with a new object whenever any tile's hint changes. */
    private readonly onHints: (hints: Hints) => void,
  ) {}

  /** Classifies one code, spends a retry if the answer is one, updates the tile's hint; returns the action. */
  handle(event: MediaStateEvent): MediaAction {
    const key = `${event.source}:${event.uid}`;
    const spent = this.failures.get(key) || 0;
    const { action, hint } = reactToMediaCode(event, spent);
    if (action === 'restart' && (event.code === -1303 || event.code === -1304))
      this.failures.set(key, spent + 1);
    if (action === 'replay') this.failures.set(key, spent + 1);
    if (action === 'refresh-url') this.failures.delete(key);
    if (hint && 'show' in hint) this.show(event.uid, hint.show);
    else if (hint) this.clear(event.uid, hint.clear);
    return action;
  }

  /** The roster changed: a tile with a new URL starts afresh, a tile that left has nothing to show. */
  rosterChanged(changes: readonly RosterChange[]): void {
    for (const change of changes) {
      if (change.kind === 'clear') this.reset();
      else if (change.kind === 'remove') this.forget(change.uid);
      else if (change.kind === 'update') this.forget(change.user.uid);
      else if (change.kind === 'pusher' && change.pusher) this.forget(change.pusher.uid);
    }
  }

  /** A new call, or the end of one: no hints, no retries spent, no timers. */
  reset(): void {
    for (const handle of this.expiries.values()) this.timers.clearTimeout(handle);
    this.expiries.clear();
    this.failures.clear();
    this.publish({});
  }

  private show(uid: string, hint: TileHint): void {
    const current = this.hints[uid];
    if (current && RANK[current] > RANK[hint]) return;
    if (hint === 'poor-network') this.expireLater(uid);
    if (current !== hint) this.publish({ ...this.hints, [uid]: hint });
  }

  private clear(uid: string, which: readonly TileHint[]): void {
    const current = this.hints[uid];
    if (current && which.includes(current)) this.drop(uid);
  }

  private forget(uid: string): void {
    this.failures.delete(`player:${uid}`);
    this.failures.delete(`pusher:${uid}`);
    if (this.hints[uid]) this.drop(uid);
  }

  private drop(uid: string): void {
    const rest = { ...this.hints };
    delete rest[uid];
    this.publish(rest);
  }

  private expireLater(uid: string): void {
    const previous = this.expiries.get(uid);
    if (previous !== undefined) this.timers.clearTimeout(previous);
    this.expiries.set(
      uid,
      this.timers.setTimeout(() => {
        this.expiries.delete(uid);
        if (this.hints[uid] === 'poor-network') this.drop(uid);
      }, POOR_NETWORK_HINT_MS),
    );
  }

  private publish(hints: Hints): void {
    if (Object.keys(hints).length === 0 && Object.keys(this.hints).length === 0) return;
    this.hints = hints;
    this.onHints(hints);
  }
}

// ---- the session -----------------------------------------------------------------------------------------

// Module constants, so a minifier can inline them; `Control` below names them for everyone else.
const AUDIO_ON = 1;
const AUDIO_OFF = 2;
const VIDEO_ON = 3;
const VIDEO_OFF = 4;
const BUSY = 9;
const SELF_CAMERA_INVALID = 10;
const SELF_ON_BACKGROUND = 11;

/** NetEase's control commands (NETCALL_CONTROL_COMMAND_*). */
export const Control = {
  AUDIO_ON,
  AUDIO_OFF,
  VIDEO_ON,
  VIDEO_OFF,
  SWITCH_AUDIO_TO_VIDEO: 5,
  SWITCH_AUDIO_TO_VIDEO_AGREE: 6,
  SWITCH_AUDIO_TO_VIDEO_REJECT: 7,
  SWITCH_VIDEO_TO_AUDIO: 8,
  BUSY,
  SELF_CAMERA_INVALID,
  SELF_ON_BACKGROUND,
  START_NOTIFY_RECEIVED: 12,
} as const;

/** Another party before any control notice of theirs: everything on, in the foreground. */
export const PEER_DEFAULT: PeerState = {
  micOn: true,
  cameraOn: true,
  cameraUnavailable: false,
  background: false,
};

/**
 * What another party's control notice says about their media (commands 1–4, 10, 11), or null for a command
 * that says nothing about it. Any notice of theirs but "in the background" means they are back.
 */
export function peerStateAfter(peer: PeerState, command: number): PeerState | null {
  switch (command) {
    case AUDIO_ON:
    case AUDIO_OFF:
      return { ...peer, micOn: command === AUDIO_ON, background: false };
    case VIDEO_ON:
    case VIDEO_OFF:
      return {
        ...peer,
        cameraOn: command === VIDEO_ON,
        cameraUnavailable: command === VIDEO_ON ? false : peer.cameraUnavailable,
        background: false,
      };
    case SELF_CAMERA_INVALID:
      return { ...peer, cameraUnavailable: true, cameraOn: false };
    case SELF_ON_BACKGROUND:
      return { ...peer, background: true };
  }
  return null;
}

/** Every EndReason, for whoever must handle each one (labels, analytics). */
export const END_REASONS: readonly EndReason[] = [
  'local-hangup',
  'remote-hangup',
  'rejected',
  'busy',
  'caller-timeout',
  'callee-timeout',
  'canceled',
  'answered-elsewhere',
  'network',
  'kicked',
  'permission-denied',
  'microphone-failed',
  'media-failed',
  'error',
];

/** Checks camera/mic before dialing or answering; the default is platform's `checkCallPermissions` (wx). */
export type PermissionCheck = (type: CallType) => Promise<PermissionResult>;

export interface BackgroundPolicy {
  /** keep-audio: only tell the others; pause-video: camera off while hidden; hangup: end after `hangupAfter` s. */
  mode: 'keep-audio' | 'pause-video' | 'hangup';
  hangupAfter?: number;
}

/** What every session takes. */
export interface SessionOptions {
  netcall: NetcallLike;
  /** Created on the netcall when absent. */
  roster?: MediaRoster;
  timers?: Timers;
  checkPermissions?: PermissionCheck;
  background?: BackgroundPolicy;
}

/** The part of a snapshot every session has. */
export interface SessionState<P extends string = string> {
  phase: P;
  cid: string | null;
  type: CallType;
  /** Seconds in-call, updated once per second while in-call. */
  duration: number;
  reason: EndReason | null;
  local: LocalMedia;
  /** Signalling is reconnecting; the call is kept by the server for its grace period. */
  reconnecting: boolean;
  /** Which scope was refused when reason is 'permission-denied' (so the UI can offer openSetting). */
  deniedScope: 'scope.camera' | 'scope.record' | null;
  /** Each stream's tile hint, by uid (mine included); replaced whole on every change. */
  hints: Readonly<Record<string, TileHint>>;
}

export interface SessionEvents<S> {
  /** Only the snapshot fields that changed. */
  change: Partial<S>;
  /** What a media element must do after a status code (restart, replay); URL refreshes are done here. */
  mediaAction: { action: 'restart' | 'replay'; source: 'pusher' | 'player'; uid: string };
}

/** A session's phases: which may follow which, which user operation each allows, and two groups of them. */
export interface PhaseTable<P extends string> {
  /** Any other transition is a bug and throws. */
  next: Record<P, readonly P[]>;
  /** The guard of each public operation. */
  allowed: Record<string, readonly P[]>;
  /** A call is going on: the connection's events and media codes concern it. */
  active: readonly P[];
  /** My RTC session is (being) started: my control notices reach the others. */
  live: readonly P[];
}

/** My switches at the start of a call of `type`: all on, the camera only for video, the earpiece for voice. */
export function freshLocal(type: CallType, devicePosition: DevicePosition = 'front'): LocalMedia {
  return { micOn: true, cameraOn: type === 2, devicePosition, soundMode: type === 2 ? 'speaker' : 'ear' };
}

export abstract class BaseSession<
  P extends string,
  S extends SessionState<P>,
  E extends SessionEvents<S>,
> extends Emitter<E> {
  readonly roster: MediaRoster;
  protected readonly netcall: NetcallLike;
  protected readonly timers: Timers;
  protected state: S;
  protected readonly media: MediaHealth;
  /** My startRtc resolved in the current call. */
  protected rtcStarted = false;
  private tickTimer: unknown = null;
  private backgroundTimer: unknown = null;
  private inCallAt = 0;
  private pausedCamera = false;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly base: SessionOptions,
    initial: S,
    private readonly table: PhaseTable<P>,
  ) {
    super();
    this.netcall = base.netcall;
    // `||` where the value is an object or a function, never falsy: tsc's ES2017 output spells `??` out in
    // about 40 bytes, and this file ships inside every app.
    this.timers = base.timers || defaultTimers;
    this.roster = base.roster || new MediaRoster(base.netcall);
    this.state = initial;
    this.media = new MediaHealth(this.timers, (hints) => this.set({ hints } as Partial<S>));
    this.listen('kicked', () => this.isActive() && this.end('kicked'));
    this.listen('willreconnect', () => this.isActive() && this.set({ reconnecting: true } as Partial<S>));
    this.listen('reconnected', () => this.set({ reconnecting: false } as Partial<S>));
    this.listen('callLost', (e) => e.cid === this.state.cid && this.isActive() && this.end('network'));
    this.listen('disconnect', () => this.isActive() && this.end('network'));
    const onRoster = (changes: readonly RosterChange[]) => {
      this.media.rosterChanged(changes);
      this.rosterChanged();
    };
    this.roster.on('changes', onRoster);
    this.unsubscribe.push(() => this.roster.off('changes', onRoster));
  }

  snapshot(): S {
    return this.state;
  }

  get phase(): P {
    return this.state.phase;
  }

  /** Cancels, refuses or leaves, by phase. */
  abstract hangup(): Promise<void>;

  async setMic(on: boolean): Promise<void> {
    this.setLocal({ micOn: on });
    await this.tell(on ? AUDIO_ON : AUDIO_OFF);
  }

  async setCamera(on: boolean): Promise<void> {
    this.pausedCamera = false;
    this.setLocal({ cameraOn: on });
    await this.tell(on ? VIDEO_ON : VIDEO_OFF);
  }

  async flipCamera(): Promise<void> {
    this.setLocal({ devicePosition: this.state.local.devicePosition === 'front' ? 'back' : 'front' });
  }

  async setSoundMode(soundMode: SoundMode): Promise<void> {
    this.setLocal({ soundMode });
  }

  /** The app went to the background (onHide, or pusher code 5000/5001). */
  appHidden(): void {
    if (!this.isActive()) return;
    void this.tell(SELF_ON_BACKGROUND).catch(() => undefined);
    const policy = this.base.background || { mode: 'keep-audio' };
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
    this.timers.clearTimeout(this.backgroundTimer);
    this.backgroundTimer = null;
    if (this.pausedCamera) {
      this.pausedCamera = false;
      this.setLocal({ cameraOn: true });
    }
    if (this.table.live.includes(this.state.phase)) this.announce();
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
        await this.tell(SELF_CAMERA_INVALID).catch(() => undefined);
        break;
      case 'refresh-url':
        if (this.rtcStarted) await this.startRtc();
        break;
      case 'restart':
      case 'replay':
        this.emit('mediaAction', { action, source: event.source, uid: event.uid } as E['mediaAction']);
        break;
      case 'microphone-failed':
      case 'media-failed':
        await this.endAndLeave(action, event.code);
        break;
      case 'permission-camera':
      case 'permission-record':
        this.set({
          deniedScope: action === 'permission-camera' ? 'scope.camera' : 'scope.record',
        } as Partial<S>);
        await this.endAndLeave('permission-denied');
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

  // ---- for the sessions ----------------------------------------------------------------------------------

  /** The only way into `ended`: one reason, one record, everything of the call released (`release`). */
  protected abstract end(reason: EndReason, errorCode?: number): void;

  /** Tells the server I am out of call `cid` (a hangup, or leaving a room). */
  protected abstract leave(cid: string): Promise<void>;

  /** The roster changed (someone's stream came or went, or mine). */
  protected rosterChanged(): void {}

  /** Joins the RTC session of the current call and tells the roster who I am. */
  protected async startRtc(): Promise<void> {
    const { cid, type } = this.state;
    const self = await this.netcall.startRtc({ mode: type === 2 ? 0 : 1, cid: cid ?? undefined });
    if (!this.isActive() || this.state.cid !== cid) return;
    this.rtcStarted = true;
    this.roster.setSelf(self);
    this.rosterChanged();
  }

  /** The duration ticks from now, once a second. */
  protected startTick(): void {
    this.inCallAt = this.timers.now();
    this.tickTimer = this.timers.setInterval(() => {
      const duration = Math.floor((this.timers.now() - this.inCallAt) / 1000);
      if (duration !== this.state.duration) this.set({ duration } as Partial<S>);
    }, 1000);
  }

  /** My mic and camera as they are, for whoever listens (after the background, to a newcomer). */
  protected announce(): void {
    const { micOn, cameraOn } = this.state.local;
    void this.tell(micOn ? AUDIO_ON : AUDIO_OFF).catch(() => undefined);
    void this.tell(cameraOn ? VIDEO_ON : VIDEO_OFF).catch(() => undefined);
  }

  /** Resolves whether the call may go on; a refusal ends it as 'permission-denied', with the scope. */
  protected async permitted(type: CallType): Promise<boolean> {
    const check = this.base.checkPermissions || ((t: CallType) => checkCallPermissions(t));
    const result = await check(type).catch((): PermissionResult => ({
      granted: false,
      scope: type === 2 ? 'scope.camera' : 'scope.record',
      canPrompt: false,
    }));
    if (result.granted) return true;
    this.set({ deniedScope: result.scope } as Partial<S>);
    this.end('permission-denied');
    return false;
  }

  /**
   * Ends the call for a reason found here (not by the others or the server), and tells the server. Media codes
   * come from elements that exist from dialing on (my preview) and never while ringing, so it is a leave.
   */
  protected async endAndLeave(reason: EndReason, errorCode?: number): Promise<void> {
    const { cid } = this.state;
    this.end(reason, errorCode);
    if (cid) await this.leave(cid).catch(() => undefined);
  }

  protected fail(error: unknown): void {
    this.end('error', error instanceof NetcallError ? error.code : Code.INTERNAL);
  }

  /** A call is over: its timers, my RTC session, the roster and the tiles' hints go. */
  protected release(): void {
    this.clearTimers();
    this.rtcStarted = false;
    this.roster.clear();
    this.media.reset();
  }

  /** A new call starts: nothing of the last one's timers and media state, my switches fresh for `type`. */
  protected renew(type: CallType): LocalMedia {
    this.clearTimers();
    this.rtcStarted = false;
    this.pausedCamera = false;
    this.media.reset();
    return freshLocal(type, this.state.local.devicePosition);
  }

  protected go(phase: P, fields: Partial<S> = {}): void {
    if (!this.table.next[this.state.phase].includes(phase))
      throw new NetcallError(Code.INTERNAL, `${this.state.phase} → ${phase} is not a transition`);
    this.set({ ...fields, phase });
  }

  protected guard(operation: string): void {
    if (!this.table.allowed[operation].includes(this.state.phase))
      throw new NetcallError(Code.CONFLICT, `${operation}() is not allowed while ${this.state.phase}`);
  }

  protected set(fields: Partial<S>): void {
    const changed: Partial<S> = {};
    let any = false;
    for (const key of Object.keys(fields) as (keyof S)[]) {
      if (this.state[key] === fields[key]) continue;
      changed[key] = fields[key];
      any = true;
    }
    if (!any) return;
    this.state = { ...this.state, ...changed };
    this.emit('change', changed as E['change']);
  }

  protected setLocal(fields: Partial<LocalMedia>): void {
    this.set({ local: { ...this.state.local, ...fields } } as Partial<S>);
  }

  /** Sends a control notice to the others when my RTC session is (being) started. */
  protected async tell(command: number): Promise<void> {
    const { phase, cid } = this.state;
    if (this.table.live.includes(phase) && cid) await this.netcall.control({ command, cid });
  }

  protected mine(cid: string | number, phase?: P): boolean {
    return String(cid) === this.state.cid && (phase === undefined || this.state.phase === phase);
  }

  protected isActive(): boolean {
    return this.table.active.includes(this.state.phase);
  }

  protected clearTimers(): void {
    this.timers.clearInterval(this.tickTimer);
    this.tickTimer = null;
    this.timers.clearTimeout(this.backgroundTimer);
    this.backgroundTimer = null;
  }

  protected listen<K extends NetcallEventName>(name: K, listener: (payload: NetcallEvents[K]) => void): void {
    this.netcall.on(name, listener);
    this.unsubscribe.push(() => this.netcall.off(name, listener));
  }
}
