/**
 * Labels for the call screen in the languages the kit ships. The host app picks the language (the kit never
 * guesses it from the system), and an unknown one falls back to English rather than showing keys.
 * Pure data and formatting: no `wx`, no state. Both tables live here, side by side for translators and in
 * one module for the package (every file an app ships costs it a few hundred bytes of its own).
 */
import type { EndReason } from '../call/types';
import type { CallLabels, Lang } from './types';

export type { CallLabels, EndReasonLabelKey, Lang, TileHintLabelKey } from './types';

export const LANGS: readonly Lang[] = ['zh-CN', 'en'];

/** 通话界面的中文文案。 */
const zhCN: CallLabels = {
  calling: '正在呼叫…',
  connecting: '正在连接…',
  incomingVideo: '邀请你视频通话',
  incomingAudio: '邀请你语音通话',
  videoCall: '视频通话',
  audioCall: '语音通话',
  duration: '通话时长',
  accept: '接听',
  answerAsVoice: '语音接听',
  reject: '拒绝',
  cancel: '取消',
  hangup: '挂断',
  mic: '麦克风',
  speaker: '扬声器',
  camera: '摄像头',
  flip: '翻转',
  on: '已开',
  off: '已关',
  reconnecting: '网络重连中…',
  peerMicOff: '对方已静音',
  peerCameraOff: '对方已关闭摄像头',
  peerCameraUnavailable: '对方摄像头不可用',
  peerBackground: '对方暂时离开',
  switchToAudio: '切到语音',
  switchToVideo: '切到视频',
  switchPending: '等待对方回应…',
  peerAsksVideo: '对方请求切换为视频通话',
  agree: '切换',
  refuse: '暂不',
  openSettings: '去设置',
  close: '关闭',
  deniedCamera: '请在设置中允许使用摄像头，才能进行视频通话。',
  deniedRecord: '请在设置中允许使用麦克风，才能进行通话。',
  'hint.poor-network': '网络不佳',
  'hint.reconnecting': '正在重连…',
  'hint.buffering': '加载中…',
  'hint.video-paused': '视频已暂停',
  'reason.local-hangup': '通话已结束',
  'reason.remote-hangup': '对方已挂断',
  'reason.rejected': '通话已拒绝',
  'reason.busy': '对方忙线中',
  'reason.caller-timeout': '对方无应答',
  'reason.callee-timeout': '未接来电',
  'reason.canceled': '通话已取消',
  'reason.answered-elsewhere': '已在其他设备接听',
  'reason.network': '网络异常，通话已结束',
  'reason.kicked': '账号在其他设备登录，通话已结束',
  'reason.permission-denied': '未获得摄像头或麦克风权限',
  'reason.microphone-failed': '麦克风无法使用，通话已结束',
  'reason.media-failed': '音视频异常，通话已结束',
  'reason.error': '通话失败',
};

/** English labels for the call screen. */
const en: CallLabels = {
  calling: 'Calling…',
  connecting: 'Connecting…',
  incomingVideo: 'Incoming video call',
  incomingAudio: 'Incoming voice call',
  videoCall: 'Video call',
  audioCall: 'Voice call',
  duration: 'Duration',
  accept: 'Accept',
  answerAsVoice: 'Answer as voice',
  reject: 'Decline',
  cancel: 'Cancel',
  hangup: 'Hang up',
  mic: 'Mic',
  speaker: 'Speaker',
  camera: 'Camera',
  flip: 'Flip',
  on: 'on',
  off: 'off',
  reconnecting: 'Reconnecting…',
  peerMicOff: 'Their mic is off',
  peerCameraOff: 'Their camera is off',
  peerCameraUnavailable: 'Their camera is unavailable',
  peerBackground: 'They left the app for now',
  switchToAudio: 'Voice call',
  switchToVideo: 'Video call',
  switchPending: 'Waiting for an answer…',
  peerAsksVideo: 'They want to switch to video',
  agree: 'Switch',
  refuse: 'Not now',
  openSettings: 'Open settings',
  close: 'Close',
  deniedCamera: 'Allow the camera in Settings to make video calls.',
  deniedRecord: 'Allow the microphone in Settings to make calls.',
  'hint.poor-network': 'Poor network',
  'hint.reconnecting': 'Reconnecting…',
  'hint.buffering': 'Loading…',
  'hint.video-paused': 'Video paused',
  'reason.local-hangup': 'Call ended',
  'reason.remote-hangup': 'The other party hung up',
  'reason.rejected': 'Call declined',
  'reason.busy': 'The other party is busy',
  'reason.caller-timeout': 'No answer',
  'reason.callee-timeout': 'Missed call',
  'reason.canceled': 'Call canceled',
  'reason.answered-elsewhere': 'Answered on another device',
  'reason.network': 'Call ended: network problem',
  'reason.kicked': 'Call ended: signed in on another device',
  'reason.permission-denied': 'No access to the camera or microphone',
  'reason.microphone-failed': 'The microphone is not working',
  'reason.media-failed': 'Audio or video stopped working',
  'reason.error': 'Call failed',
};

// Frozen and shared: a component can compare the object by reference and send it to the view only once.
const TABLE: Record<Lang, Readonly<CallLabels>> = {
  'zh-CN': Object.freeze(zhCN),
  en: Object.freeze(en),
};

/** The flat label object for `lang`; always the same object for the same language. */
export function labels(lang: string | undefined): Readonly<CallLabels> {
  return Object.prototype.hasOwnProperty.call(TABLE, lang ?? '') ? TABLE[lang as Lang] : TABLE.en;
}

/** Why the call ended, in `lang`. */
export function endReasonLabel(reason: EndReason, lang: string | undefined): string {
  return labels(lang)[`reason.${reason}`];
}

/** Whole seconds as `mm:ss`, or `h:mm:ss` from an hour on; the same in every language. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const two = (value: number) => (value < 10 ? `0${value}` : String(value));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = `${two(minutes)}:${two(total % 60)}`;
  return hours > 0 ? `${hours}:${rest}` : rest;
}
