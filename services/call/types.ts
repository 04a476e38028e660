/**
 * The public shape of a P2P call as the UI sees it: phases, end reasons, the per-call record, and the
 * snapshot a store mirrors. Pure types: no behaviour here.
 */
import type { CallType } from '../protocol';
import type { TileHint } from './base-session';

export type CallPhase = 'idle' | 'dialing' | 'incoming' | 'connecting' | 'in-call' | 'ended';

/** Exactly one per ended call (`END_REASONS` lists them). */
export type EndReason =
  | 'local-hangup'
  | 'remote-hangup'
  | 'rejected'
  | 'busy'
  | 'caller-timeout'
  | 'callee-timeout'
  | 'canceled'
  | 'answered-elsewhere'
  | 'network'
  | 'kicked'
  | 'permission-denied'
  | 'microphone-failed'
  | 'media-failed'
  | 'error';

export type Direction = 'outgoing' | 'incoming';

/** Emitted once as `callEnded` when a call reaches `ended`. */
export interface CallRecord {
  cid: string | null;
  peer: string;
  type: CallType;
  direction: Direction;
  /** Whole seconds spent in-call (0 if it never connected). */
  duration: number;
  reason: EndReason;
  /** NetcallError code when reason is 'error'; the element's status code for 'microphone-failed' / 'media-failed'. */
  errorCode?: number;
}

/** What the peer told us through NetEase's control notices (commands 1–4, 10, 11). */
export interface PeerState {
  micOn: boolean;
  cameraOn: boolean;
  cameraUnavailable: boolean;
  background: boolean;
}

export type SoundMode = 'speaker' | 'ear';
export type DevicePosition = 'front' | 'back';

/** My own media switches; components bind these to live-pusher / live-player attributes. */
export interface LocalMedia {
  micOn: boolean;
  cameraOn: boolean;
  devicePosition: DevicePosition;
  soundMode: SoundMode;
}

/** A pending audio↔video switch request (NetEase controls 5–8). */
export type SwitchRequest = null | { from: 'me' | 'peer'; to: CallType };

/** Everything the call screen shows; the store mirrors it field by field. */
export interface CallSnapshot {
  phase: CallPhase;
  cid: string | null;
  peer: string;
  type: CallType;
  direction: Direction | null;
  /** Seconds in-call, updated once per second while in-call. */
  duration: number;
  reason: EndReason | null;
  peerState: PeerState;
  local: LocalMedia;
  switchRequest: SwitchRequest;
  /** Signalling is reconnecting; the call is kept by the server for its grace period. */
  reconnecting: boolean;
  /** Which scope was refused when reason is 'permission-denied' (so the UI can offer openSetting). */
  deniedScope: 'scope.camera' | 'scope.record' | null;
  /**
   * What each stream's tile shows over its video, by uid (mine included): poor network, the engine
   * reconnecting, buffering, the publisher gone. Absent: nothing wrong. Replaced whole on every change.
   */
  hints: Readonly<Record<string, TileHint>>;
}
