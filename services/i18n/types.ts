/**
 * The call screen's label set: one flat object per language, so a template binds `{{t.accept}}` and a lookup
 * is one property read. Every language must fill every key (the type makes a missing one a compile error).
 * Button labels are fixed (a toggle shows its state by its icon and fill, not by a changing word) and short
 * enough to stay on one line under a 120 px button at 12 px; the screenshot test proves it in both languages.
 */
import type { EndReason } from '../call/types';
import type { TileHint } from '../call/base-session';

export type Lang = 'zh-CN' | 'en';

export type EndReasonLabelKey = `reason.${EndReason}`;
export type TileHintLabelKey = `hint.${TileHint}`;

export interface CallLabels extends Record<EndReasonLabelKey, string>, Record<TileHintLabelKey, string> {
  calling: string;
  connecting: string;
  incomingVideo: string;
  incomingAudio: string;
  /** The badge of a video / voice call. */
  videoCall: string;
  audioCall: string;
  /** Before the ended call's length: "Duration 01:23". */
  duration: string;
  accept: string;
  answerAsVoice: string;
  reject: string;
  cancel: string;
  hangup: string;
  mic: string;
  speaker: string;
  camera: string;
  flip: string;
  /** Spoken after a toggle's name by screen readers: "Mic, off". */
  on: string;
  off: string;
  reconnecting: string;
  peerMicOff: string;
  peerCameraOff: string;
  peerCameraUnavailable: string;
  peerBackground: string;
  switchToAudio: string;
  switchToVideo: string;
  switchPending: string;
  peerAsksVideo: string;
  agree: string;
  refuse: string;
  openSettings: string;
  close: string;
  deniedCamera: string;
  deniedRecord: string;
}
