/**
 * The group call's state for the room screen: a field-by-field mirror of `GroupSession.snapshot()`, written
 * only through the actions `bindGroupToStore` feeds with the session's `change` events (a MirrorStore, as the
 * session store mirrors a CallSession). It never decides anything and never talks to the netcall or to `wx`.
 * Only the group entry and room-screen load it: an app with 1:1 calls only never ships it.
 */
import {
  idleGroupSnapshot,
  type GroupKind,
  type GroupMember,
  type GroupPhase,
  type GroupRecord,
  type GroupSnapshot,
} from '../call/group-session';
import type { TileHint } from '../call/base-session';
import type { Direction, EndReason, LocalMedia, SoundMode } from '../call/types';
import type { CallType } from '../protocol/frames';
import { MirrorStore, bindSessionToStore, type MediaActionEvent, type Mirrored } from './call-store';

export class GroupStore extends MirrorStore<GroupSnapshot> implements GroupSnapshot {
  declare phase: GroupPhase;
  declare kind: GroupKind | null;
  declare cid: string | null;
  declare channelName: string;
  declare caller: string;
  declare type: CallType;
  declare direction: Direction | null;
  declare duration: number;
  declare reason: EndReason | null;
  declare members: readonly GroupMember[];
  declare uid: string;
  declare local: LocalMedia;
  declare reconnecting: boolean;
  declare deniedScope: 'scope.camera' | 'scope.record' | null;
  declare hints: Readonly<Record<string, TileHint>>;

  constructor() {
    super(idleGroupSnapshot);
  }
}

/** The group screen's store: room-screen reads it, `bindGroupToStore` writes it. */
export const groupStore = new GroupStore();

/**
 * What the store and the room screen need from a `GroupSession` (services/call/group-session.ts); the real
 * class fits as is. Results are `unknown`: the screen only waits for them and reports failures.
 */
export interface GroupSessionLike extends Mirrored<GroupSnapshot> {
  on(name: 'change', listener: (change: Partial<GroupSnapshot>) => void): unknown;
  on(name: 'callEnded', listener: (record: GroupRecord) => void): unknown;
  on(name: 'mediaAction', listener: (event: MediaActionEvent) => void): unknown;
  off(name: 'change', listener: (change: Partial<GroupSnapshot>) => void): unknown;
  off(name: 'callEnded', listener: (record: GroupRecord) => void): unknown;
  off(name: 'mediaAction', listener: (event: MediaActionEvent) => void): unknown;
  accept(): Promise<unknown>;
  reject(): Promise<unknown>;
  hangup(): Promise<unknown>;
  setMic(on: boolean): Promise<unknown>;
  setCamera(on: boolean): Promise<unknown>;
  flipCamera(): Promise<unknown>;
  setSoundMode(mode: SoundMode): Promise<unknown>;
  onMediaState?(event: { source: 'pusher' | 'player'; uid: string; code: number }): Promise<unknown>;
}

/** Keeps `store` in step with `session` until the returned function is called (see `bindSessionToStore`). */
export function bindGroupToStore(
  session: Mirrored<GroupSnapshot>,
  store: GroupStore = groupStore,
): () => void {
  return bindSessionToStore(session, store);
}
