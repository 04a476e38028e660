/**
 * `NetcallLike`: the one interface everything above `netcall/` depends on, shaped like NetEase's weixin
 * Netcall instance. Two engines implement it: our `Netcall` (own backend) and `NimNetcall` (NetEase's SDK; a
 * separate entry, `services/netcall/nim-netcall`, so apps on our backend do not ship it).
 * Ids are strings at this boundary, whatever the engine delivers.
 */
import type {
  CallArgs,
  CallResult,
  ControlArgs,
  CreateChannelArgs,
  CreateChannelResult,
  HangupArgs,
  InviteToCallArgs,
  JoinChannelArgs,
  JoinChannelResult,
  LeaveChannelArgs,
  CoHostTargetArgs,
  LiveRoomArgs,
  RespondCoHostArgs,
  RespondCoHostInviteArgs,
  ResponseArgs,
  SendRoomMessageArgs,
  ServerEvents,
  StartRtcArgs,
  StartRtcResult,
} from '../protocol';
import type { Listener } from './netcall';

export interface DisconnectEvent {
  /**
   * A WebSocket close code, or the code of a refused login: 401 (bad or expired token; final), 429 (the
   * account's device cap), 408 (no answer); 599 once reconnecting gave up.
   */
  code: number;
  reason: string;
}

export interface ReconnectEvent {
  /** Attempt number, from 1. */
  count: number;
}

/** After a reconnect the current call could not be rejoined (the server ended it, e.g. its grace period ran out). */
export interface CallLostEvent {
  cid: string;
  code: number;
  message: string;
}

/**
 * After a reconnect, this device joined its room again (it had no RTC session there: the audience of a live
 * room, a member not pushing yet) and holds its place: `result` is as `joinChannel` answers now, with the live
 * stream's URLs as they are now (they change when the room's media moved to another node). Our extension.
 */
export interface RoomRejoinedEvent {
  cid: string;
  result: JoinChannelResult;
}

/**
 * The session's token expires soon (`tokenWarning` ahead, 60 s by default, or half the token's life if that is
 * shorter): call `renewToken` with a fresh one to keep the session.
 */
export interface TokenWillExpireEvent {
  /** UNIX seconds. */
  exp: number;
}

/** What the server pushes, plus what the client itself reports about its connection. */
export interface NetcallEvents extends ServerEvents {
  tokenWillExpire: TokenWillExpireEvent;
  willreconnect: ReconnectEvent;
  reconnected: ReconnectEvent;
  callLost: CallLostEvent;
  roomRejoined: RoomRejoinedEvent;
  disconnect: DisconnectEvent;
}

export type NetcallEventName = keyof NetcallEvents;

export interface NetcallLike {
  readonly account: string;
  call(options: CallArgs): Promise<CallResult>;
  response(options: ResponseArgs): Promise<void>;
  hangup(options?: HangupArgs): Promise<void>;
  startRtc(options: StartRtcArgs): Promise<StartRtcResult>;
  control(options: ControlArgs): Promise<void>;
  createChannel(options: CreateChannelArgs): Promise<CreateChannelResult>;
  joinChannel(options: JoinChannelArgs): Promise<JoinChannelResult>;
  leaveChannel(options?: LeaveChannelArgs): Promise<void>;
  inviteToCall(options: InviteToCallArgs): Promise<void>;
  on<K extends NetcallEventName>(name: K, listener: Listener<NetcallEvents[K]>): unknown;
  off<K extends NetcallEventName>(name: K, listener?: Listener<NetcallEvents[K]>): unknown;
}

/**
 * Interactive live on top of rooms: a room joined with `liveEnable` (NetEase's names where NetEase has them:
 * `changeRoleToPlayer`, `changeRoleToAudience`, `liveRoomClose`; the co-host flows and room messages are ours).
 * Apart from `NetcallLike` so that 1:1-only code and its test doubles need none of it. Each acts on the current
 * room unless `cid` names one. NimNetcall rejects what NetEase's weixin SDK cannot do with 501.
 */
export interface LiveNetcallLike extends NetcallLike {
  /** Audience → on stage (then `startRtc`); a no-op for the host and co-hosts. 403 needs approval, 104 stage full. */
  changeRoleToPlayer(options?: LiveRoomArgs): Promise<void>;
  /** Co-host → audience (its stream ends); a no-op for the audience; 403 for the host. */
  changeRoleToAudience(options?: LiveRoomArgs): Promise<void>;
  /** Audience: ask the host to go on stage (`coHostRequest` to the host; `coHostResponse` comes back). */
  requestCoHost(options?: LiveRoomArgs): Promise<void>;
  /** Host: answer a request (404 when none is waiting from that account). */
  respondCoHost(options: RespondCoHostArgs): Promise<void>;
  /** Host: ask an audience member on stage (`coHostInvite`; `coHostInviteResponse` comes back). */
  inviteCoHost(options: CoHostTargetArgs): Promise<void>;
  /** Answer the host's invite (404 when none is waiting). */
  respondCoHostInvite(options: RespondCoHostInviteArgs): Promise<void>;
  /** Host: take a co-host off stage (`coHostRemoved` to it). */
  removeCoHost(options: CoHostTargetArgs): Promise<void>;
  /** To everyone else in the room: `roomMessage`. Over the size cap 400, too fast 429. */
  sendRoomMessage(options: SendRoomMessageArgs): Promise<void>;
}
