/**
 * Labels of the group call and room screen, zh-CN and en: the call screen's set (`labels`) plus these, one
 * flat object per language for `{{t.key}}`. A separate module of the group entry, so an app with 1:1 calls
 * only does not ship them. Some reasons read differently in a group (everyone else left), so the group set
 * overrides those keys. Pure data: no `wx`, no state.
 */
import type { MemberState } from '../call/group-session';
import { labels, type CallLabels } from './index';

export type MemberLabelKey = `member.${MemberState}`;

export interface GroupLabels extends CallLabels, Record<MemberLabelKey, string> {
  groupCall: string;
  /** Under the caller's name on an invitation. */
  invitesVideo: string;
  invitesVoice: string;
  /** Above the other invitees' pictures. */
  alsoInvited: string;
  /** Dialing: nobody has answered yet. */
  waitingAnswer: string;
  /** In a call or room with nobody else's stream yet. */
  waitingJoin: string;
  members: string;
  invite: string;
  done: string;
  /** My own tile and row. */
  me: string;
  /** A member joined, their stream not there yet. */
  joining: string;
  /** A member's notices: spoken after their name by screen readers, shown in the member list. */
  micOff: string;
  cameraOff: string;
  away: string;
}

type GroupOnly = Omit<GroupLabels, keyof CallLabels> & Partial<CallLabels>;

/** 多人通话界面的中文文案。 */
const zhCN: GroupOnly = {
  groupCall: '多人通话',
  invitesVideo: '邀请你加入多人视频通话',
  invitesVoice: '邀请你加入多人语音通话',
  alsoInvited: '通话成员',
  waitingAnswer: '等待对方接听…',
  waitingJoin: '等待其他人加入…',
  members: '成员',
  invite: '邀请',
  done: '完成',
  me: '我',
  joining: '正在加入…',
  micOff: '已静音',
  cameraOff: '摄像头已关',
  away: '暂时离开',
  'member.ringing': '呼叫中…',
  'member.joined': '',
  'member.declined': '已拒绝',
  'member.busy': '忙线中',
  'member.missed': '未接听',
  'member.left': '已离开',
  'reason.remote-hangup': '其他人都已离开',
  'reason.rejected': '通话已拒绝',
  'reason.busy': '对方都在忙',
};

/** English labels for the group call and room screen. */
const en: GroupOnly = {
  groupCall: 'Group call',
  invitesVideo: 'Invites you to a group video call',
  invitesVoice: 'Invites you to a group voice call',
  alsoInvited: 'Also in this call',
  waitingAnswer: 'Waiting for others to answer…',
  waitingJoin: 'Waiting for others to join…',
  members: 'Members',
  invite: 'Invite',
  done: 'Done',
  me: 'Me',
  joining: 'Joining…',
  micOff: 'mic off',
  cameraOff: 'camera off',
  away: 'away',
  'member.ringing': 'Ringing…',
  'member.joined': '',
  'member.declined': 'Declined',
  'member.busy': 'Busy',
  'member.missed': 'No answer',
  'member.left': 'Left',
  'reason.remote-hangup': 'Everyone else left',
  'reason.rejected': 'Call declined',
  'reason.busy': 'They are all busy',
};

const TABLE = {
  'zh-CN': Object.freeze({ ...labels('zh-CN'), ...zhCN }) as Readonly<GroupLabels>,
  en: Object.freeze({ ...labels('en'), ...en }) as Readonly<GroupLabels>,
};

/** The flat label object for `lang` (English for any other); always the same object for the same language. */
export function groupLabels(lang: string | undefined): Readonly<GroupLabels> {
  return lang === 'zh-CN' ? TABLE['zh-CN'] : TABLE.en;
}
