/**
 * What a live-pusher / live-player status code means for the call: what the session must do, and which hint
 * the tile of that stream shows (WeChat's live-pusher and live-player statechange and binderror code tables;
 * errors versus warnings as Tencent's LiteAV event tables class them). `reactToMediaCode` is pure; unknown
 * codes are info, never fatal: WeChat versions add undocumented ones.
 *
 * MediaHealth is the per-stream state that goes with it: the retries each element has spent (one encoder
 * restart for the pusher, one replay per player before a fresh URL), the hint each tile shows (by uid, mine
 * included), a "poor network" hint expiring once no longer repeated, a tile's hints cleared when its stream
 * changes. What to do with the call (end it, restart, rejoin) is CallSession's. Neither touches `wx`.
 */
import type { RosterChange } from '../media/roster';
import type { Timers } from '../platform/primitives';

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
