/**
 * Wire frames between `Netcall` and the server: JSON text, one object per WebSocket message.
 * This module and its validators are the only code `server/` shares with `services/`.
 *
 * - request  client → server  `{seq, op, args}`; exactly one reply per request.
 * - reply    server → client  `{seq, code, data?, message?}`; code 200 is success.
 * - event    server → client  `{event, data}`; pushed, no seq.
 * A frame the server cannot even attribute to a request gets `{event:'error', data:{code, message}}`.
 */

/** Call type, as NetEase: 1 audio, 2 video. */
export type CallType = 1 | 2;
/** Media mode, as NetEase: 0 audio+video, 1 audio only, 2 video only, 3 neither. */
export type MediaMode = 0 | 1 | 2 | 3;

/** Largest request the server reads (a login with a 4 KB token fits); bigger ones are refused unparsed. */
export const MAX_FRAME_BYTES = 8 * 1024;
export const ACCOUNT_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;
/** Room names: what NetEase's demos use, and safe in URLs and logs. */
export const CHANNEL_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** Callees of one group call (NetEase's team calls ring at most 8, with the caller 9: a full room). */
export const MAX_GROUP_CALLEES = 8;

export interface PushConfig {
  custom?: string;
}

export interface LoginArgs {
  token: string;
}
export interface CallArgs {
  type: CallType;
  /** One account for a 1:1 call; several (as NetEase's team call) for a group call in a room of its own. */
  callee: string | string[];
  forceKeepCalling?: boolean;
  pushConfig?: PushConfig;
}
/**
 * Why a call is refused or ended, when it is not a plain user action. An extension of ours: NetEase's payloads
 * lack it, so every consumer must treat it as optional.
 */
export type EndHint = 'timeout' | 'busy' | 'network';
export const END_HINTS: readonly EndHint[] = ['timeout', 'busy', 'network'];

export interface ResponseArgs {
  accepted: boolean;
  caller: string;
  type: CallType;
  cid: string;
  /** Why a rejection happened (our extension): forwarded to the caller in `callRejected.reason`. */
  reason?: EndHint;
}
export interface HangupArgs {
  /** Defaults to the connection's current call. */
  cid?: string;
  /** Why (our extension): forwarded to the peer in `hangup.reason`. */
  reason?: EndHint;
}
export interface StartRtcArgs {
  mode: MediaMode;
  /** Defaults to the connection's current call. */
  cid?: string;
}
export interface ControlArgs {
  command: number;
  cid?: string;
}
export type PingArgs = Record<string, never>;
/** Replaces the session's token before it expires (our extension; NetEase's SDK has none). */
export interface RenewTokenArgs {
  token: string;
}
export interface CreateChannelArgs {
  channelName: string;
  /** Handed to everyone who joins. */
  custom?: string;
  /** NetEase's flag; accepted for compatibility, WebRTC has no meaning here. */
  webrtcEnable?: boolean;
}
/**
 * Interactive-live settings of a room, NetEase's names; only the host (the room's creator) may give them: anyone
 * else gets 105 while the host is in the room, 106 otherwise.
 */
export interface SessionConfig {
  /** Bypass push of the mixed live stream to any RTMP server: `rtmp://…` (else 400). */
  rtmpUrl?: string;
  /** Also record the live stream to a file. */
  rtmpRecord?: boolean;
  /** NetEase's SPLIT_MODE (`LAYOUT_SPLIT…`, 0..5); default lattice tile. */
  splitMode?: number;
  /** NetEase's custom layout JSON (for LAYOUT_SPLITCUSTOMLAYOUT); a malformed one is refused with 208. */
  layout?: string;
  /**
   * Our extension: going on stage (`changeRoleToPlayer`) needs a request the host accepted or an invite one
   * accepted (403 otherwise). Without it, as in NetEase's API, anyone in the audience may step on stage.
   */
  stageApproval?: boolean;
}
export interface JoinChannelArgs {
  channelName: string;
  type: CallType;
  /** A live room: its creator hosts, everyone else is audience until on stage. */
  liveEnable?: boolean;
  sessionConfig?: SessionConfig;
  /**
   * Our extension: the room a device is joining again after a reconnect. Refused (404) when the name now names
   * another room (the old one closed and its name was taken again).
   */
  cid?: string;
}
export interface LeaveChannelArgs {
  /** Defaults to the connection's current room. */
  cid?: string;
}
/** Rings one more account into a running group call (our extension). */
export interface InviteToCallArgs {
  cid: string;
  callee: string;
}

// ---- interactive live (a room joined with liveEnable) ------------------------------------------------------

/** A member's part in a live room (a plain room's members are all on stage and have none). */
export type LiveRole = 'host' | 'cohost' | 'audience';
/** Why a co-host request or invite ended without an answer (our extension; absent for a plain refusal). */
export type CoHostHint = 'timeout';
/** Why a live room closed. */
export type LiveCloseReason = 'host-left' | 'host-lost' | 'shutdown';
export type RoomMessageType = 'text' | 'custom';
/** Longest room message, in characters; longer is refused with 400. */
export const MAX_ROOM_MESSAGE_CHARS = 1024;

/** Ops of a live room that act on the connection's current room unless `cid` names it. */
export interface LiveRoomArgs {
  cid?: string;
}
export interface RespondCoHostArgs extends LiveRoomArgs {
  /** The audience member whose request this answers. */
  account: string;
  accepted: boolean;
}
export interface CoHostTargetArgs extends LiveRoomArgs {
  account: string;
}
export interface RespondCoHostInviteArgs extends LiveRoomArgs {
  accepted: boolean;
}
export interface SendRoomMessageArgs extends LiveRoomArgs {
  type: RoomMessageType;
  /** 1..MAX_ROOM_MESSAGE_CHARS characters; `custom` carries the app's own JSON, as a string. */
  content: string;
}

export interface RequestArgs {
  login: LoginArgs;
  call: CallArgs;
  response: ResponseArgs;
  hangup: HangupArgs;
  startRtc: StartRtcArgs;
  control: ControlArgs;
  ping: PingArgs;
  renewToken: RenewTokenArgs;
  createChannel: CreateChannelArgs;
  joinChannel: JoinChannelArgs;
  leaveChannel: LeaveChannelArgs;
  inviteToCall: InviteToCallArgs;
  changeRoleToPlayer: LiveRoomArgs;
  changeRoleToAudience: LiveRoomArgs;
  requestCoHost: LiveRoomArgs;
  respondCoHost: RespondCoHostArgs;
  inviteCoHost: CoHostTargetArgs;
  respondCoHostInvite: RespondCoHostInviteArgs;
  removeCoHost: CoHostTargetArgs;
  sendRoomMessage: SendRoomMessageArgs;
}
export type Op = keyof RequestArgs;

export interface LoginResult {
  account: string;
  /** Server's heartbeat interval, ms: the client pings at this pace. */
  heartbeat: number;
  /** When the token expires (UNIX seconds): the server ends the session then unless it is renewed. */
  exp: number;
  /** Seconds from now until `exp` by the server's clock: a phone's own clock may be wrong. */
  expiresIn: number;
}
export type RenewTokenResult = Pick<LoginResult, 'exp' | 'expiresIn'>;
export interface CallResult {
  cid: string;
  accountUidMap: Record<string, string>;
}
export interface StartRtcResult {
  uid: string;
  account: string;
  cid: string;
}
export type EmptyResult = Record<string, never>;
export interface CreateChannelResult {
  channelName: string;
  cid: string;
  custom: string;
}
export interface JoinChannelResult {
  channelName: string;
  cid: string;
  uid: string;
  account: string;
  custom: string;
  /** Every member's uid, self included, as NetEase's `accountUidMap`. In a live room: the stage's, and mine. */
  accountUidMap: Record<string, string>;
  /** A live room: my role (the host, or audience until on stage). Absent in a plain room. */
  role?: LiveRole;
  /** The audience's view: the room's mixed live stream, and the web viewer's page. */
  live?: LiveUrls;
}
/** Where the room's mixed live stream plays. */
export interface LiveUrls {
  rtmp: string;
  flv: string;
  /** The web viewer's page for the room. */
  h5: string;
}

export interface RequestResults {
  login: LoginResult;
  call: CallResult;
  response: EmptyResult;
  hangup: EmptyResult;
  startRtc: StartRtcResult;
  control: EmptyResult;
  ping: EmptyResult;
  renewToken: RenewTokenResult;
  createChannel: CreateChannelResult;
  joinChannel: JoinChannelResult;
  leaveChannel: EmptyResult;
  inviteToCall: EmptyResult;
  changeRoleToPlayer: EmptyResult;
  changeRoleToAudience: EmptyResult;
  requestCoHost: EmptyResult;
  respondCoHost: EmptyResult;
  inviteCoHost: EmptyResult;
  respondCoHostInvite: EmptyResult;
  removeCoHost: EmptyResult;
  sendRoomMessage: EmptyResult;
}

export interface RequestFrame<O extends Op = Op> {
  seq: number;
  op: O;
  args: RequestArgs[O];
}
export interface ReplyFrame {
  seq: number;
  code: number;
  data?: unknown;
  message?: string;
}

/** One member of an RTC session, as NetEase's `syncDone.userlist` items and `clientJoin`. */
export interface RtcUser {
  account: string;
  uid: string;
  mode: MediaMode;
  /** Push URL for the receiver's own entry, play URL (RTMP) for everyone else's. */
  url: string;
  /** Same stream over HTTP-FLV, for players and tests that prefer it. Absent on the self entry. */
  flvUrl?: string;
}

export interface BeCallingEvent {
  caller: string;
  type: CallType;
  cid: string;
  custom?: string;
  /** A group call: everyone it rings, this callee included. Absent for a 1:1 call. */
  callees?: string[];
}
export interface CallAnswerEvent {
  cid: string;
  account: string;
  type: CallType;
  reason?: EndHint;
}
export interface CallerAckSyncEvent {
  timetag: number;
  cid: string;
  type: CallType;
  accepted: boolean;
  fromClientType: string;
}
export interface HangupEvent {
  cid: string;
  account: string;
  timetag: number;
  reason?: EndHint;
}
export interface ControlEvent {
  cid: string;
  account: string;
  command: number;
}
export interface SyncDoneEvent {
  code: number;
  errmsg: string;
  cid: string;
  userlist: RtcUser[];
}
export interface ClientJoinEvent extends RtcUser {
  cid: string;
}
export interface ClientLeaveEvent {
  cid: string;
  account: string;
  uid: string;
}
/** Someone joined my room (NetEase: one notice per account). `channelId` is NetEase's name for the cid. */
export interface JoinChannelEvent {
  account: string;
  uid: string;
  cid: string;
  channelId: string;
}
/** Someone left my room; a `clientLeave` follows for a member that was in the RTC session. */
export interface LeaveChannelEvent {
  account: string;
  cid: string;
  channelId: string;
}
export interface KickedEvent {
  reason: string;
}
/** To the host: an audience member asks to go on stage; answer with `respondCoHost`. */
export interface CoHostRequestEvent {
  cid: string;
  account: string;
}
/** To the requester: the host's answer, or `reason: 'timeout'` when none came in time. */
export interface CoHostResponseEvent {
  cid: string;
  accepted: boolean;
  reason?: CoHostHint;
}
/** To the invited audience member: the host (`account`) asks it on stage; answer with `respondCoHostInvite`. */
export interface CoHostInviteEvent {
  cid: string;
  account: string;
  /**
   * Set when the invited account is not in the room yet (our extension): every device of it is asked, and the
   * one that accepts joins the room by this name first (`joinChannel` with `liveEnable`), then answers.
   */
  channelName?: string;
}
/** To the host: the invited member's answer, or `reason: 'timeout'` when none came in time. */
export interface CoHostInviteResponseEvent {
  cid: string;
  account: string;
  accepted: boolean;
  reason?: CoHostHint;
}
/** To the co-host the host took off stage: it is audience again. */
export interface CoHostRemovedEvent {
  cid: string;
  account: string;
}
export interface RoomMessageEvent {
  cid: string;
  account: string;
  type: RoomMessageType;
  content: string;
  /** Server time, ms. */
  time: number;
}
/** The room's audience (members off stage), at most once a second. */
export interface AudienceCountEvent {
  cid: string;
  count: number;
}
/** NetEase's: the live room is over for everyone (the host left, or was lost past its grace period). */
export interface LiveRoomCloseEvent {
  cid: string;
  /** Our server: a LiveCloseReason. NetEase's engine: its gateway's reason, as a string. */
  reason: string;
}
/**
 * To the audience (our extension): the room's live stream plays elsewhere now, its media having moved to
 * another node of a cluster (the node it was on died or drained). Play `live` instead.
 */
export interface LiveStreamMovedEvent {
  cid: string;
  live: LiveUrls;
}
/** To the host when its live ends: what the end page shows. */
export interface LiveSummaryEvent {
  cid: string;
  channelName: string;
  startedAt: number;
  endedAt: number;
  /** ms */
  duration: number;
  peakAudience: number;
}
export interface ErrorEvent {
  code: number;
  message: string;
}

export interface ServerEvents {
  beCalling: BeCallingEvent;
  callAccepted: CallAnswerEvent;
  callRejected: CallAnswerEvent;
  callerAckSync: CallerAckSyncEvent;
  hangup: HangupEvent;
  control: ControlEvent;
  syncDone: SyncDoneEvent;
  clientJoin: ClientJoinEvent;
  clientLeave: ClientLeaveEvent;
  joinChannel: JoinChannelEvent;
  leaveChannel: LeaveChannelEvent;
  kicked: KickedEvent;
  error: ErrorEvent;
  coHostRequest: CoHostRequestEvent;
  coHostResponse: CoHostResponseEvent;
  coHostInvite: CoHostInviteEvent;
  coHostInviteResponse: CoHostInviteResponseEvent;
  coHostRemoved: CoHostRemovedEvent;
  roomMessage: RoomMessageEvent;
  audienceCount: AudienceCountEvent;
  liveRoomClose: LiveRoomCloseEvent;
  liveStreamMoved: LiveStreamMovedEvent;
  liveSummary: LiveSummaryEvent;
}
export type ServerEventName = keyof ServerEvents;

export interface EventFrame<E extends ServerEventName = ServerEventName> {
  event: E;
  data: ServerEvents[E];
}

export type ServerFrame = ReplyFrame | EventFrame;

export function isReply(frame: ServerFrame): frame is ReplyFrame {
  return typeof (frame as ReplyFrame).seq === 'number';
}

/**
 * NetEase's layout constants, flat, as NetEase's Web SDK spreads them onto `WebRTC`/`Netcall`. Two families
 * share the one namespace there and so here: `splitMode` values (SPLIT_MODE, 0..5) and the corner a floating
 * picture sits in (MIX_VIDEO_MODE, 1..4). Their numbers overlap on purpose — they are read from different
 * fields — so never look a name up by its value.
 */
export const Layout = {
  /** Host full screen, co-hosts as a row of small windows along the bottom (底部横排浮窗). */
  LAYOUT_SPLITBOTTOMHORFLOATING: 0,
  /** Host full screen, co-hosts as a row of small windows along the top (顶部横排浮窗). */
  LAYOUT_SPLITTOPHORFLOATING: 1,
  /** A grid; each picture whole inside its cell (平铺). */
  LAYOUT_SPLITLATTICETILE: 2,
  /** A grid; each picture fills its cell, cropped (裁剪平铺). */
  LAYOUT_SPLITLATTICECUTTINGTILE: 3,
  /** The host's `layout` JSON (自定义布局). */
  LAYOUT_SPLITCUSTOMLAYOUT: 4,
  /** Sound only (纯音频布局). */
  LAYOUT_SPLITAUDIOLAYOUT: 5,
  /** NetEase Web SDK's name for LAYOUT_SPLITCUSTOMLAYOUT. */
  LAYOUT_SPLITCUSTOM: 4,
  /** NetEase Web SDK's name for LAYOUT_SPLITAUDIOLAYOUT. */
  LAYOUT_SPLITAUDIO: 5,
  /** Floating pictures stacked in the top-left corner. */
  LAYOUT_TOP_LEFT: 1,
  /** Floating pictures stacked in the top-right corner. */
  LAYOUT_TOP_RIGHT: 2,
  /** Floating pictures stacked in the bottom-left corner. */
  LAYOUT_BOTTOM_LEFT: 3,
  /** Floating pictures stacked in the bottom-right corner. */
  LAYOUT_BOTTOM_RIGHT: 4,
} as const;
