/**
 * Every state of the call screen and of the group screen (room-screen) the gallery shows and the screenshot
 * test checks: a snapshot for the session's store, the media the roster would hold (my push URL, remote play
 * URLs) and the tile hints. One list, so the README gallery, `npm run screenshots` and the test can never
 * disagree about what "every state" means.
 */
import type { GroupMember, GroupSnapshot } from '../../services/call/group-session';
import { idleSnapshot } from '../../services/call/session';
import type { CallSnapshot } from '../../services/call/types';
import type { LiveMessage, LiveSnapshot, StageMember } from '../../services/live/live-session';
import type { RtcUser } from '../../services/protocol';

interface BaseState {
  /** File name stem and gallery key. */
  name: string;
  /** What the gallery says about it. */
  title: string;
  /** My push URL, if the roster holds one. */
  pusher?: boolean;
  /** Remote users by uid (play URLs are made up). */
  players?: string[];
}

/** A state of `<call-screen>`, on the session store. */
export interface CallScreenState extends BaseState {
  screen?: 'call';
  snapshot: Partial<CallSnapshot>;
}

/** A state of `<room-screen>`, on the group store; players are named after the members with their uid. */
export interface RoomScreenState extends BaseState {
  screen: 'room';
  snapshot: Partial<GroupSnapshot>;
  /** The member list is open (the screen's own state: its members button was tapped). */
  panel?: boolean;
}

/** A state of `<live-room>`, on the live store; players are the stage members with their uid. */
export interface LiveRoomState extends BaseState {
  screen: 'live';
  snapshot: Partial<LiveSnapshot>;
}

export type ScreenState = CallScreenState | RoomScreenState | LiveRoomState;

const local = idleSnapshot().local;
const peer = { peer: 'Li Lei', cid: 'c1', direction: 'outgoing' as const };
const video: Partial<CallSnapshot> = { ...peer, type: 2, local: { ...local, soundMode: 'speaker' } };
const voice: Partial<CallSnapshot> = {
  ...peer,
  type: 1,
  local: { ...local, cameraOn: false, soundMode: 'ear' },
};
const inVideo: Partial<CallSnapshot> = { ...video, phase: 'in-call', duration: 83 };
const inVoice: Partial<CallSnapshot> = { ...voice, phase: 'in-call', duration: 312 };
const media = { pusher: true, players: ['2'] };

export const SELF_UID = '1';

export const CALL_STATES: readonly CallScreenState[] = [
  {
    name: 'dialing-video',
    title: 'Dialing a video call: my camera, the callee on top',
    snapshot: { ...video, phase: 'dialing' },
  },
  { name: 'dialing-voice', title: 'Dialing a voice call', snapshot: { ...voice, phase: 'dialing' } },
  {
    name: 'incoming-video',
    title: 'Incoming video call: badge, answer as voice',
    snapshot: { ...video, direction: 'incoming', phase: 'incoming' },
  },
  {
    name: 'incoming-voice',
    title: 'Incoming voice call',
    snapshot: { ...voice, direction: 'incoming', phase: 'incoming' },
  },
  {
    name: 'connecting-video',
    title: 'Connecting a video call',
    snapshot: { ...video, phase: 'connecting' },
    pusher: true,
  },
  { name: 'in-call-video', title: 'In a video call', snapshot: inVideo, ...media },
  {
    name: 'in-call-video-toggles',
    title: 'Mic and camera off, speaker off: the toggles show it',
    snapshot: { ...inVideo, local: { ...local, micOn: false, cameraOn: false, soundMode: 'ear' } },
    ...media,
  },
  {
    name: 'in-call-video-peer-camera-off',
    title: "The peer's camera is off: their picture, not a black box",
    snapshot: {
      ...inVideo,
      peerState: { micOn: false, cameraOn: false, cameraUnavailable: false, background: false },
    },
    ...media,
  },
  { name: 'in-call-voice', title: 'In a voice call', snapshot: inVoice, ...media },
  {
    name: 'reconnecting',
    title: 'Signalling reconnecting: a pill that covers nothing',
    snapshot: { ...inVideo, reconnecting: true },
    ...media,
  },
  {
    name: 'hints',
    title: 'Per-tile hints: my poor network, the peer buffering',
    snapshot: { ...inVideo, hints: { [SELF_UID]: 'poor-network', '2': 'buffering' } },
    ...media,
  },
  {
    name: 'video-paused',
    title: 'The peer stopped publishing: "video paused" on their tile',
    snapshot: { ...inVideo, hints: { '2': 'video-paused' } },
    ...media,
  },
  {
    name: 'second-tile',
    title: 'A second remote tile, clear of the name and timer',
    snapshot: inVideo,
    pusher: true,
    players: ['2', '3'],
  },
  {
    name: 'switch-asked',
    title: 'The peer asks to switch a voice call to video',
    snapshot: { ...inVoice, switchRequest: { from: 'peer', to: 2 } },
    ...media,
  },
  {
    name: 'switch-pending',
    title: 'My switch request waits for the peer',
    snapshot: { ...inVoice, switchRequest: { from: 'me', to: 2 } },
    ...media,
  },
  {
    name: 'ended',
    title: 'Ended: the reason and the duration',
    snapshot: { ...voice, phase: 'ended', reason: 'remote-hangup', duration: 312 },
  },
  {
    name: 'ended-permission',
    title: 'Ended for a refused camera: open settings',
    snapshot: { ...video, phase: 'ended', reason: 'permission-denied', deniedScope: 'scope.camera' },
  },
];

// ---- the group screen ----------------------------------------------------------------------------------

const PEER = { micOn: true, cameraOn: true, cameraUnavailable: false, background: false };
const NAMES = [
  'Han Meimei',
  'Wang Fang',
  'Zhang Wei',
  'Liu Yang',
  'Chen Jing',
  'Zhao Min',
  'Sun Hao',
  'Zhou Xin',
];
/** Member n (0-based) of NAMES, in the call with uid n + 2 (mine is 1). */
const inRoom = (n: number, change: Partial<GroupMember> = {}): GroupMember => ({
  ...PEER,
  account: NAMES[n],
  uid: String(n + 2),
  state: 'joined',
  rtc: true,
  ...change,
});
const ringingOut = (n: number): GroupMember => inRoom(n, { uid: '', state: 'ringing', rtc: false });
const uids = (count: number) => Array.from({ length: count }, (_, n) => String(n + 2));

const group: Partial<GroupSnapshot> = {
  kind: 'call',
  cid: 'g1',
  caller: 'Li Lei',
  type: 2,
  direction: 'incoming',
  uid: SELF_UID,
  local: { ...local, soundMode: 'speaker' },
};
const fourInCall: Partial<GroupSnapshot> = {
  ...group,
  phase: 'in-call',
  duration: 83,
  members: [inRoom(0, { micOn: false }), inRoom(1, { cameraOn: false }), inRoom(2)],
};

export const ROOM_STATES: readonly RoomScreenState[] = [
  {
    screen: 'room',
    name: 'room-incoming',
    title: 'Group call invitation: the caller and the invitees',
    snapshot: {
      ...group,
      phase: 'incoming',
      members: [
        { ...PEER, account: 'Li Lei', uid: '', state: 'joined', rtc: false },
        ...[0, 1, 2, 3].map(ringingOut),
      ],
    },
  },
  {
    screen: 'room',
    name: 'room-dialing',
    title: 'Ringing two people out, over my camera',
    snapshot: {
      ...group,
      caller: '',
      direction: 'outgoing',
      phase: 'dialing',
      members: [0, 1].map(ringingOut),
    },
  },
  {
    screen: 'room',
    name: 'room-grid-4',
    title: 'Four in a group video call: a mic off, a camera off',
    snapshot: fourInCall,
    pusher: true,
    players: uids(3),
  },
  {
    screen: 'room',
    name: 'room-grid-9',
    title: 'Nine in a room: three to a row',
    snapshot: {
      ...group,
      kind: 'room',
      channelName: 'design-review',
      caller: '',
      direction: null,
      phase: 'in-call',
      duration: 1834,
      members: NAMES.map((_, n) => inRoom(n, n === 4 ? { micOn: false } : {})),
    },
    pusher: true,
    players: uids(8),
  },
  {
    screen: 'room',
    name: 'room-members',
    title: 'The member list: states, mics and cameras',
    snapshot: {
      ...fourInCall,
      members: [
        ...(fourInCall.members ?? []),
        inRoom(3, { uid: '', rtc: false, state: 'ringing' }),
        inRoom(4, { uid: '', rtc: false, state: 'declined' }),
      ],
    },
    pusher: true,
    players: uids(3),
    panel: true,
  },
  {
    screen: 'room',
    name: 'room-voice',
    title: 'A group voice call: initials, a muted mic',
    snapshot: {
      ...fourInCall,
      type: 1,
      duration: 312,
      local: { ...local, cameraOn: false, soundMode: 'speaker' },
      members: [inRoom(0), inRoom(1, { micOn: false }), inRoom(2)],
    },
    pusher: true,
    players: uids(3),
  },
  {
    screen: 'room',
    name: 'room-ended',
    title: 'Group call ended: the reason and the duration',
    snapshot: { ...fourInCall, phase: 'ended', reason: 'remote-hangup', duration: 1834 },
  },
];

// ---- the live screen -----------------------------------------------------------------------------------

const onStage = (n: number, change: Partial<StageMember> = {}): StageMember => ({
  ...PEER,
  account: NAMES[n],
  uid: String(n + 2),
  role: 'cohost',
  rtc: true,
  ...change,
});
const said = (id: number, account: string, content: string, mine = false): LiveMessage => ({
  id,
  account,
  type: 'text',
  content,
  time: 0,
  mine,
});
const MESSAGES: LiveMessage[] = [
  said(1, 'Wang Fang', '晚上好！Good evening!'),
  said(2, 'Zhang Wei', 'The second song, please!'),
  said(3, 'Liu Yang', '主播声音很清楚'),
  said(4, 'me', 'Thanks for coming, everyone', true),
];
const hosting: Partial<LiveSnapshot> = {
  phase: 'host',
  role: 'host',
  cid: 'l1',
  channelName: 'friday-music',
  host: 'me',
  uid: SELF_UID,
  duration: 754,
  audienceCount: 128,
  peakAudience: 131,
  local: { ...local, soundMode: 'speaker' },
};
const audience: Partial<LiveSnapshot> = {
  ...hosting,
  phase: 'audience',
  role: 'audience',
  host: 'Li Lei',
  uid: '9',
  duration: 95,
  live: {
    rtmp: 'rtmp://media.example/live/l1_live?sign=screenshot',
    flv: 'http://media.example/live/l1_live.flv?sign=screenshot',
    h5: 'http://media.example/live/friday-music',
  },
};

export const LIVE_STATES: readonly LiveRoomState[] = [
  {
    screen: 'live',
    name: 'live-host-stage',
    title: 'Hosting with two co-hosts on stage: one mic off; messages',
    snapshot: {
      ...hosting,
      stage: [onStage(0, { micOn: false }), onStage(1)],
      messages: MESSAGES.slice(0, 2),
    },
    pusher: true,
    players: uids(2),
  },
  {
    screen: 'live',
    name: 'live-host-request',
    title: 'The host with a co-host request waiting (and two more)',
    snapshot: {
      ...hosting,
      stage: [onStage(0)],
      requests: [
        { account: 'Zhao Min', at: 0 },
        { account: 'Sun Hao', at: 1 },
        { account: 'Zhou Xin', at: 2 },
      ],
    },
    pusher: true,
    players: uids(1),
  },
  {
    screen: 'live',
    name: 'live-audience-invited',
    title: 'Watching the live stream: the host invites me on stage',
    snapshot: { ...audience, phase: 'invited', invitedBy: 'Li Lei' },
  },
  {
    screen: 'live',
    name: 'live-audience-messages',
    title: 'Watching with messages, my request to join waiting',
    snapshot: { ...audience, phase: 'requesting', messages: MESSAGES },
  },
  {
    screen: 'live',
    name: 'live-ended',
    title: "The host's end page: duration and peak audience",
    snapshot: {
      ...hosting,
      phase: 'ended',
      reason: 'local-hangup',
      closeReason: 'host-left',
      summary: {
        cid: 'l1',
        channelName: 'friday-music',
        startedAt: 0,
        endedAt: 3_723_000,
        duration: 3_723_000,
        peakAudience: 131,
      },
    },
  },
];

export const STATES: readonly ScreenState[] = [...CALL_STATES, ...ROOM_STATES, ...LIVE_STATES];

/** A wire user for `uid`: my own entry carries a push URL, the others a play URL. */
export function rtcUser(uid: string, account: string): RtcUser {
  return { uid, account, mode: 0, url: `rtmp://media.example/live/c1_${uid}?sign=screenshot` };
}
