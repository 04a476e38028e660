/**
 * The call screen's label set: one flat object per language, so a template binds `{{t.accept}}` and a lookup
 * is one property read. Every language must fill every key (the type makes a missing one a compile error).
 */
import type { EndReason } from '../call/types';

export type Lang = 'zh-CN' | 'en';

export type EndReasonLabelKey = `reason.${EndReason}`;

export interface CallLabels extends Record<EndReasonLabelKey, string> {
  calling: string;
  connecting: string;
  incomingVideo: string;
  incomingAudio: string;
  videoCall: string;
  audioCall: string;
  callEnded: string;
  accept: string;
  reject: string;
  cancel: string;
  hangup: string;
  mute: string;
  unmute: string;
  cameraOn: string;
  cameraOff: string;
  flip: string;
  speaker: string;
  earpiece: string;
  reconnecting: string;
  peerMicOff: string;
  peerCameraOff: string;
  peerCameraUnavailable: string;
  peerBackground: string;
  switchToAudio: string;
  switchToVideo: string;
  switchPending: string;
  peerAsksVideo: string;
  peerAsksAudio: string;
  agree: string;
  refuse: string;
  openSettings: string;
  deniedCamera: string;
  deniedRecord: string;
}
