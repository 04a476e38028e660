/**
 * The live session's state for live-room: a field-by-field mirror of `LiveSession.snapshot()`, written only
 * through the actions `bindLiveToStore` feeds with the session's `change` events (a MirrorStore, as the group
 * store mirrors a GroupSession). It never decides anything and never talks to the netcall or to `wx`. Only
 * the live entry and live-room load it: an app without interactive live never ships it.
 */
import {
  idleLiveSnapshot,
  type CoHostRequest,
  type LiveMessage,
  type LiveNotice,
  type LivePhase,
  type LiveRecord,
  type LiveSnapshot,
  type StageMember,
} from '../live/live-session';
import type { TileHint } from '../call/base-session';
import type { EndReason, LocalMedia, SoundMode } from '../call/types';
import type { CallType, LiveRole, LiveSummaryEvent, LiveUrls, RoomMessageType } from '../protocol/frames';
import { MirrorStore, bindSessionToStore, type MediaActionEvent, type Mirrored } from './call-store';

export class LiveStore extends MirrorStore<LiveSnapshot> implements LiveSnapshot {
  declare phase: LivePhase;
  declare role: LiveRole | null;
  declare cid: string | null;
  declare channelName: string;
  declare host: string;
  declare uid: string;
  declare type: CallType;
  declare duration: number;
  declare reason: EndReason | null;
  declare live: LiveUrls | null;
  declare stage: readonly StageMember[];
  declare requests: readonly CoHostRequest[];
  declare invites: readonly string[];
  declare invitedBy: string;
  declare notice: LiveNotice | null;
  declare messages: readonly LiveMessage[];
  declare audienceCount: number;
  declare peakAudience: number;
  declare closeReason: string | null;
  declare summary: LiveSummaryEvent | null;
  declare local: LocalMedia;
  declare reconnecting: boolean;
  declare deniedScope: 'scope.camera' | 'scope.record' | null;
  declare hints: Readonly<Record<string, TileHint>>;

  constructor() {
    super(idleLiveSnapshot);
  }
}

/** The live screen's store: live-room reads it, `bindLiveToStore` writes it. */
export const liveStore = new LiveStore();

/**
 * What the store and live-room need from a `LiveSession` (services/live/live-session.ts); the real class fits
 * as is. Results are `unknown`: the view only waits for them and reports failures.
 */
export interface LiveSessionLike extends Mirrored<LiveSnapshot> {
  on(name: 'change', listener: (change: Partial<LiveSnapshot>) => void): unknown;
  on(name: 'liveEnded', listener: (record: LiveRecord) => void): unknown;
  on(name: 'mediaAction', listener: (event: MediaActionEvent) => void): unknown;
  off(name: 'change', listener: (change: Partial<LiveSnapshot>) => void): unknown;
  off(name: 'liveEnded', listener: (record: LiveRecord) => void): unknown;
  off(name: 'mediaAction', listener: (event: MediaActionEvent) => void): unknown;
  hangup(): Promise<unknown>;
  setMic(on: boolean): Promise<unknown>;
  setCamera(on: boolean): Promise<unknown>;
  flipCamera(): Promise<unknown>;
  setSoundMode(mode: SoundMode): Promise<unknown>;
  requestCoHost(): Promise<unknown>;
  acceptInvite(): Promise<unknown>;
  refuseInvite(): Promise<unknown>;
  changeRoleToAudience(): Promise<unknown>;
  respondCoHost(account: string, accepted: boolean): Promise<unknown>;
  sendMessage(content: string, type?: RoomMessageType): Promise<unknown>;
  onMediaState?(event: { source: 'pusher' | 'player'; uid: string; code: number }): Promise<unknown>;
}

/** Keeps `store` in step with `session` until the returned function is called (see `bindSessionToStore`). */
export function bindLiveToStore(session: Mirrored<LiveSnapshot>, store: LiveStore = liveStore): () => void {
  return bindSessionToStore(session, store);
}
