/**
 * Labels of the interactive live screen (live-room), zh-CN and en: the call screen's set (`labels`) plus
 * these, one flat object per language for `{{t.key}}`. A separate module of the live entry, so an app
 * without live does not ship them. Some end reasons read differently in a live (leaving is not hanging up),
 * so the live set overrides those keys. `{account}`, `{host}` and `{count}` are filled in by the view.
 * Pure data: no `wx`, no state.
 */
import type { LiveNoticeKind } from '../live/live-session';
import type { LiveCloseReason } from '../protocol/frames';
import { labels, type CallLabels } from './index';

export type LiveNoticeLabelKey = `notice.${LiveNoticeKind}`;
export type LiveCloseLabelKey = `close.${LiveCloseReason}`;

export interface LiveLabels
  extends CallLabels, Record<LiveNoticeLabelKey, string>, Record<LiveCloseLabelKey, string> {
  /** The badge by the room's name while it is live. */
  live: string;
  /** The audience count: "{count} watching". */
  watching: string;
  goingLive: string;
  joiningLive: string;
  closingLive: string;
  /** Host: the big red button. */
  endLive: string;
  /** Co-host: off stage. */
  leaveStage: string;
  /** Audience: out of the room. */
  leave: string;
  /** Audience: ask the host to go on stage. */
  requestStage: string;
  requestPending: string;
  /** Invited: "{host} invites you on stage". */
  invited: string;
  join: string;
  /** Host: "{account} asks to join the stage". */
  asks: string;
  approve: string;
  deny: string;
  /** Host: under the first requests, "{count} more waiting". */
  moreWaiting: string;
  say: string;
  send: string;
  host: string;
  me: string;
  micOff: string;
  cameraOff: string;
  /** The end page. */
  liveEnded: string;
  peakAudience: string;
}

type LiveOnly = Omit<LiveLabels, keyof CallLabels> & Partial<CallLabels>;

/** 互动直播界面的中文文案。 */
const zhCN: LiveOnly = {
  live: '直播中',
  watching: '{count} 人观看',
  goingLive: '正在开播…',
  joiningLive: '正在进入直播…',
  closingLive: '正在结束直播…',
  endLive: '结束直播',
  leaveStage: '下麦',
  leave: '离开',
  requestStage: '申请连麦',
  requestPending: '等待主播同意…',
  invited: '{host} 邀请你连麦',
  join: '连麦',
  asks: '{account} 申请连麦',
  approve: '同意',
  deny: '拒绝',
  moreWaiting: '还有 {count} 个申请',
  say: '说点什么…',
  send: '发送',
  host: '主播',
  me: '我',
  micOff: '已静音',
  cameraOff: '摄像头已关',
  liveEnded: '直播已结束',
  peakAudience: '最高观看',
  'notice.request-refused': '主播拒绝了你的连麦申请',
  'notice.request-timeout': '主播暂未回应你的申请',
  'notice.invite-expired': '连麦邀请已过期',
  'notice.removed': '主播已将你移下麦',
  'notice.invite-declined': '{account} 拒绝了连麦',
  'notice.invite-timeout': '{account} 未回应连麦邀请',
  'notice.stage-full': '麦位已满',
  'close.host-left': '主播已结束直播',
  'close.host-lost': '主播网络断开，直播已结束',
  'close.shutdown': '服务器停止，直播已结束',
  'reason.local-hangup': '你已离开直播',
  'reason.remote-hangup': '直播已结束',
  'reason.network': '网络异常，已离开直播',
  'reason.kicked': '账号在其他设备登录，已离开直播',
  'reason.error': '无法进入直播',
};

/** English labels for the live screen. */
const en: LiveOnly = {
  live: 'LIVE',
  watching: '{count} watching',
  goingLive: 'Going live…',
  joiningLive: 'Joining the live…',
  closingLive: 'Ending the live…',
  endLive: 'End live',
  leaveStage: 'Leave stage',
  leave: 'Leave',
  requestStage: 'Join stage',
  requestPending: 'Waiting for the host…',
  invited: '{host} invites you on stage',
  join: 'Join',
  asks: '{account} asks to join',
  approve: 'Accept',
  deny: 'Decline',
  moreWaiting: '{count} more waiting',
  say: 'Say something…',
  send: 'Send',
  host: 'Host',
  me: 'Me',
  micOff: 'mic off',
  cameraOff: 'camera off',
  liveEnded: 'Live ended',
  peakAudience: 'Peak audience',
  'notice.request-refused': 'The host declined your request',
  'notice.request-timeout': 'The host did not answer',
  'notice.invite-expired': 'The invite expired',
  'notice.removed': 'The host took you off the stage',
  'notice.invite-declined': '{account} declined',
  'notice.invite-timeout': '{account} did not answer',
  'notice.stage-full': 'The stage is full',
  'close.host-left': 'The host ended the live',
  'close.host-lost': 'The host lost the connection',
  'close.shutdown': 'The server stopped the live',
  'reason.local-hangup': 'You left the live',
  'reason.remote-hangup': 'The live has ended',
  'reason.network': 'Left the live: network problem',
  'reason.kicked': 'Left the live: signed in on another device',
  'reason.error': 'Could not join the live',
};

const TABLE = {
  'zh-CN': Object.freeze({ ...labels('zh-CN'), ...zhCN }) as Readonly<LiveLabels>,
  en: Object.freeze({ ...labels('en'), ...en }) as Readonly<LiveLabels>,
};

/** The flat label object for `lang` (English for any other); always the same object for the same language. */
export function liveLabels(lang: string | undefined): Readonly<LiveLabels> {
  return lang === 'zh-CN' ? TABLE['zh-CN'] : TABLE.en;
}
