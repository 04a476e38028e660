/**
 * Rooms: NetEase's multi-person channel (createChannel / joinChannel / leaveChannel and their notices), and
 * what a room means for startRtc, control and hangup; what the server does to rooms on its own (a dropped
 * member, shutdown, the media plane coming back). Group calls are rooms too: their ringing lives in
 * group-calls.ts, their members leave here.
 *
 * A room ends exactly once (`removeRoom`): its name is free again and every stream it authorised is revoked.
 */
import {
  Code,
  NetcallError,
  type EndHint,
  type JoinChannelResult,
  type MediaMode,
} from '../../services/protocol';
import type { RoomMember, RoomState } from '../store/types';
import { syncDone, userEntry, type RtcSource } from './calls';
import { EMPTY, newCid, newUid, refuseIfBusy, requireLogin, type Handler, type Outcome } from './common';
import type { SignalingContext } from './context';
import { dropInvitee, endGroupCallIfOver } from './group-calls';
import type { Connection } from './hub';
import {
  closeLive,
  controlTargets,
  graceFor,
  joinLiveRoom,
  leftLiveRoom,
  refreshLive,
  refuseAudienceRtc,
  stagePushes,
} from './live';
import {
  accountUidMap,
  claimMember,
  joinAgain,
  clearTimer,
  conns,
  findRoom,
  inviteeOf,
  keyOf,
  later,
  memberOf,
  removeRoom,
  requireMember,
} from './room-state';

export { findRoom, isRoom } from './room-state';
export { answerGroupCall, inviteToCall, placeGroupCall } from './group-calls';

/**
 * `account` leaves (leaveChannel, hangup, a drop past its grace period, a kick): the others hear
 * `leaveChannel` and, if it was in the RTC session, `clientLeave`; its stream is revoked. An empty room is
 * removed; a group call with fewer than two parties ends.
 */
export async function leaveRoom(
  ctx: SignalingContext,
  room: RoomState,
  account: string,
  hint?: EndHint,
): Promise<void> {
  const member = memberOf(room, account);
  if (!member) return;
  // The host's leave is the live's end, for everyone.
  if (room.live && member.role === 'host')
    return closeLive(ctx, room, hint === 'network' ? 'host-lost' : 'host-left');
  clearTimer(ctx.orphans, keyOf(room.cid, account));
  await ctx.store.claimOrphan(keyOf(room.cid, account));
  room.members = room.members.filter((m) => m !== member);
  if (member.rtc) ctx.media.revoke(member.rtc.stream);
  const conn = ctx.hub.get(member.connId);
  if (conn && conn.currentCid === room.cid) conn.currentCid = null;
  ctx.log.info({ cid: room.cid, account, hint, left: room.members.length }, 'member left a room');
  if (room.live) return leftLiveRoom(ctx, room, member);
  const others = conns(room.members);
  ctx.hub.emitMany(others, 'leaveChannel', { account, cid: room.cid, channelId: room.cid });
  if (member.rtc) ctx.hub.emitMany(others, 'clientLeave', { cid: room.cid, account, uid: member.uid });
  if (room.members.length === 0 && room.invitees.length === 0) {
    await removeRoom(ctx, room, 'empty');
    return;
  }
  await ctx.store.putRoom(room);
  await endGroupCallIfOver(ctx, room, account, hint);
}

// ---- ops ---------------------------------------------------------------------------------------------

export const createChannel: Handler<'createChannel'> = async (ctx, conn, { channelName, custom }) => {
  const account = requireLogin(conn);
  if (await ctx.store.roomByName(channelName))
    throw new NetcallError(Code.EXISTS, `a room named "${channelName}" exists`);
  const room: RoomState = {
    cid: newCid(),
    channelName,
    custom: custom ?? '',
    kind: 'room',
    type: 2,
    capacity: ctx.roomCapacity,
    createdBy: account,
    createdAt: ctx.now(),
    members: [],
    invitees: [],
  };
  await ctx.store.putRoom(room);
  // A name nobody uses is given back: a created room nobody joins expires.
  later(ctx, ctx.roomTimers, room.cid, ctx.roomIdleMs, async () => {
    const current = await ctx.store.getRoom(room.cid);
    if (current && current.members.length === 0) await removeRoom(ctx, current, 'nobody joined');
  });
  return { result: { channelName, cid: room.cid, custom: room.custom } };
};

export const joinChannel: Handler<'joinChannel'> = async (ctx, conn, args) => {
  const account = requireLogin(conn);
  await refuseIfBusy(ctx, conn);
  const room = await ctx.store.roomByName(args.channelName);
  // A group call's room is joined by answering its ring, never by name.
  if (!room || room.kind !== 'room' || (args.cid !== undefined && args.cid !== room.cid))
    throw new NetcallError(Code.NOT_FOUND, `no room named "${args.channelName}"`);
  if (args.liveEnable || room.live) return joinLiveRoom(ctx, conn, account, room, args);
  const existing = memberOf(room, account);
  if (existing) return { result: roomJoinResult(room, await joinAgain(ctx, room, conn, existing)) };
  if (room.members.length >= room.capacity)
    throw new NetcallError(Code.ROOM_FULL, `the room is full (${room.capacity})`);
  const member: RoomMember = {
    account,
    uid: newUid(),
    connId: conn.id,
    role: 'member',
    rtc: null,
    joinedAt: ctx.now(),
  };
  const others = conns(room.members);
  room.members = [...room.members, member];
  clearTimer(ctx.roomTimers, room.cid);
  await ctx.store.putRoom(room);
  conn.currentCid = room.cid;
  return {
    result: roomJoinResult(room, member),
    after: () =>
      ctx.hub.emitMany(others, 'joinChannel', {
        account,
        uid: member.uid,
        cid: room.cid,
        channelId: room.cid,
      }),
  };
};

function roomJoinResult(room: RoomState, member: RoomMember): JoinChannelResult {
  return {
    channelName: room.channelName,
    cid: room.cid,
    uid: member.uid,
    account: member.account,
    custom: room.custom,
    accountUidMap: accountUidMap(room),
  };
}

export const leaveChannel: Handler<'leaveChannel'> = async (ctx, conn, { cid }) => {
  requireLogin(conn);
  const room = await findRoom(ctx, conn, cid);
  // It only ever takes out the sender: not being in that room is "not in a room".
  const member = await claimMember(ctx, room, conn);
  if (!member) throw new NetcallError(Code.NOT_FOUND, 'not in this room');
  return { result: EMPTY, after: () => leaveRoom(ctx, room, member.account) };
};

// ---- the parts of call / response / hangup / startRtc / control that concern rooms --------------------

/** `hangup` in a room: a ringing invitee refuses; a member leaves (the last two: the call ends). */
export async function hangupInRoom(
  ctx: SignalingContext,
  conn: Connection,
  room: RoomState,
  account: string,
  hint?: EndHint,
): Promise<Outcome<'hangup'>> {
  if (inviteeOf(room, account) && !memberOf(room, account))
    return { result: EMPTY, after: () => dropInvitee(ctx, room, account, hint, conn.id) };
  await requireMember(ctx, room, conn);
  return { result: EMPTY, after: () => leaveRoom(ctx, room, account, hint) };
}

/** A member in the RTC session, as the URL issuer reads it. */
const inRtc = (member: RoomMember): RtcSource | null =>
  member.rtc ? { account: member.account, uid: member.uid, ...member.rtc } : null;
const othersInRtc = (room: RoomState, member: RoomMember): RtcSource[] =>
  room.members.filter((m) => m !== member).flatMap((m) => inRtc(m) ?? []);

/** `startRtc` in a room: `syncDone` with every member in RTC; the others hear `clientJoin`. */
export async function startRtcInRoom(
  ctx: SignalingContext,
  conn: Connection,
  room: RoomState,
  mode: MediaMode,
): Promise<Outcome<'startRtc'>> {
  const member = await requireMember(ctx, room, conn);
  if (room.live) refuseAudienceRtc(member);
  if (!member.rtc) await ctx.media.place?.(room.cid);
  member.rtc = { mode, stream: member.rtc?.stream ?? ctx.media.streamName(room.cid, member.uid) };
  await ctx.store.putRoom(room);
  ctx.media.authorize(member.rtc.stream);
  const self = inRtc(member)!;
  const others = othersInRtc(room, member);
  const peers = conns(room.members.filter((m) => m !== member && m.rtc));
  return {
    result: { uid: member.uid, account: member.account, cid: room.cid },
    after: async () => {
      ctx.hub.emit(conn.id, 'syncDone', syncDone(ctx, room.cid, self, others));
      // A repeated startRtc (after a reconnect) is a rejoin: the others see the fresh entry as a join again.
      ctx.hub.emitMany(peers, 'clientJoin', { cid: room.cid, ...userEntry(ctx, self, false) });
      await stagePushes(ctx, room, member);
    },
  };
}

/** `control` in a room: every other member hears it (mic/camera notices to everyone). */
export async function controlInRoom(
  ctx: SignalingContext,
  conn: Connection,
  room: RoomState,
  command: number,
): Promise<Outcome<'control'>> {
  const member = await requireMember(ctx, room, conn);
  const others = room.live ? controlTargets(room, member) : conns(room.members.filter((m) => m !== member));
  return {
    result: EMPTY,
    after: () => ctx.hub.emitMany(others, 'control', { cid: room.cid, account: member.account, command }),
  };
}

// ---- what the server does to rooms on its own ---------------------------------------------------------

/**
 * A connection went away: in each room it is a member of, it leaves at once (clean close, or no grace) or
 * after the grace period unless it comes back; an account whose last device went stops ringing.
 */
export async function dropFromRooms(
  ctx: SignalingContext,
  conn: Pick<Connection, 'id' | 'account'>,
  clean: boolean,
): Promise<void> {
  const account = conn.account;
  if (!account) return;
  for (const cid of await ctx.store.roomsOfConn(conn.id)) {
    const room = await ctx.store.getRoom(cid);
    const member = room ? memberOf(room, account) : undefined;
    if (!room || !member || member.connId !== conn.id) continue;
    const graceMs = graceFor(ctx, room, member);
    if (clean || graceMs <= 0) {
      await leaveRoom(ctx, room, account, clean ? undefined : 'network');
      continue;
    }
    const key = keyOf(cid, account);
    await ctx.store.markOrphan(key, ctx.now() + graceMs);
    let claimed = false;
    later(ctx, ctx.orphans, key, graceMs, async () => {
      // Claimed already: the device came back (on any node), or another node ended it. A run that claimed it and
      // then found the store down runs again (later()) holding its claim.
      if (!claimed && !(claimed = await ctx.store.claimOrphan(key))) return;
      const current = await ctx.store.getRoom(cid);
      // Still this lost connection's place: a device that came back took the member over.
      if (current && memberOf(current, account)?.connId === conn.id)
        await leaveRoom(ctx, current, account, 'network');
    });
    ctx.log.info({ cid, account, graceMs }, 'device lost; room kept for its grace period');
  }
  if ((await ctx.store.devicesOf(account)).filter((id) => id !== conn.id).length === 0)
    for (const room of await ctx.store.invitingRoomsFor(account))
      await dropInvitee(ctx, room, account, 'network');
}

/** Shutdown: every room ends; its members are being told to reconnect, and will find it gone. */
export async function endAllRooms(ctx: SignalingContext): Promise<void> {
  for (const room of await ctx.store.allRooms())
    if (room.live) await closeLive(ctx, room, 'shutdown');
    else await removeRoom(ctx, room, 'server shutting down');
}

/** A room's media again: the live stream authorised, and every member in its RTC session a fresh `syncDone`. */
export function refreshRoomMedia(ctx: SignalingContext, room: RoomState): void {
  refreshLive(ctx, room);
  for (const member of room.members) {
    const self = inRtc(member);
    if (!self) continue;
    ctx.media.authorize(self.stream);
    ctx.hub.emit(member.connId, 'syncDone', syncDone(ctx, room.cid, self, othersInRtc(room, member)));
  }
}
