/**
 * The ops of a live room: NetEase's role changes (`changeRoleToPlayer`, `changeRoleToAudience`), the co-host
 * flows (request ⇄ respond, invite ⇄ respond, remove) and room messages. Each decides from the room's state in
 * the store and writes it back; live.ts owns that state's rules (roles, pending requests with their timeouts,
 * the audience count, the mix hook) and what rooms.ts asks of live rooms. Never touches a plain room's members
 * beyond `sendRoomMessage`, which works in any room.
 */
import { Code, NetcallError, type LiveRoomArgs } from '../../services/protocol';
import type { RoomMember, RoomState } from '../store/types';
import { EMPTY, requireLogin, type Handler } from './common';
import type { SignalingContext } from './context';
import type { Connection } from './hub';
import {
  addPending,
  audienceChanged,
  dropPending,
  forgetPending,
  onStage,
  pendingOf,
  refuseIfStageFull,
  requireHost,
  requireLive,
  stageChanged,
  stageOf,
} from './live';
import { conns, findRoom, memberOf, requireMember } from './room-state';

/** The live room an op names (or the current one), and the sender's membership in it. */
async function liveMember(ctx: SignalingContext, conn: Connection, { cid }: LiveRoomArgs) {
  requireLogin(conn);
  const room = await findRoom(ctx, conn, cid);
  const member = await requireMember(ctx, room, conn);
  const live = requireLive(room);
  return { room, member, live };
}

/** A co-host leaves the stage (its own choice, or the host's): the stage hears it as a leave of the RTC room. */
async function stepDown(
  ctx: SignalingContext,
  room: RoomState,
  member: RoomMember,
): Promise<() => Promise<void>> {
  const wasInRtc = member.rtc !== null;
  if (member.rtc) ctx.media.revoke(member.rtc.stream);
  member.role = 'audience';
  member.rtc = null;
  forgetPending(ctx, room, member.account);
  await ctx.store.putRoom(room);
  return async () => {
    const stage = conns(stageOf(room));
    ctx.hub.emitMany(stage, 'leaveChannel', { account: member.account, cid: room.cid, channelId: room.cid });
    if (wasInRtc)
      ctx.hub.emitMany(stage, 'clientLeave', { cid: room.cid, account: member.account, uid: member.uid });
    stageChanged(ctx, room);
    await audienceChanged(ctx, room);
  };
}

/**
 * NetEase's `changeRoleToPlayer`: an audience member goes on stage (then `startRtc` to push); the stage hears
 * `joinChannel`. The host and co-hosts are players already: a no-op. With `stageApproval`, only after an
 * accepted request or invite (403); a full stage is 104.
 */
export const changeRoleToPlayer: Handler<'changeRoleToPlayer'> = async (ctx, conn, args) => {
  const { room, member, live } = await liveMember(ctx, conn, args);
  if (onStage(member)) return { result: EMPTY };
  if (live.sessionConfig.stageApproval && !live.approved.includes(member.account))
    throw new NetcallError(
      Code.FORBIDDEN,
      'this room puts members on stage by approval: request it (requestCoHost) or accept an invite first',
    );
  refuseIfStageFull(ctx, room);
  member.role = 'cohost';
  forgetPending(ctx, room, member.account);
  // Stage order is the order members went on stage: the mix lays co-hosts out in it.
  room.members = [...room.members.filter((m) => m !== member), member];
  await ctx.store.putRoom(room);
  const others = conns(stageOf(room).filter((m) => m !== member));
  return {
    result: EMPTY,
    after: async () => {
      ctx.hub.emitMany(others, 'joinChannel', {
        account: member.account,
        uid: member.uid,
        cid: room.cid,
        channelId: room.cid,
      });
      await audienceChanged(ctx, room);
    },
  };
};

/**
 * NetEase's `changeRoleToAudience`: a co-host leaves the stage (its stream ends; the stage hears
 * `leaveChannel` and `clientLeave`). Already audience: a no-op. The host stays on stage (403): its
 * `leaveChannel` ends the live.
 */
export const changeRoleToAudience: Handler<'changeRoleToAudience'> = async (ctx, conn, args) => {
  const { room, member } = await liveMember(ctx, conn, args);
  if (member.role === 'audience') return { result: EMPTY };
  if (member.role === 'host')
    throw new NetcallError(Code.FORBIDDEN, 'the host stays on stage: leaveChannel ends the live');
  return { result: EMPTY, after: await stepDown(ctx, room, member) };
};

/** An audience member asks the host to go on stage: the host hears `coHostRequest`. */
export const requestCoHost: Handler<'requestCoHost'> = async (ctx, conn, args) => {
  const { room, member, live } = await liveMember(ctx, conn, args);
  if (onStage(member)) throw new NetcallError(Code.FORBIDDEN, 'only the audience asks to go on stage');
  if (pendingOf(ctx, live, 'request', member.account))
    throw new NetcallError(Code.CONFLICT, 'a request of yours is waiting for the host');
  refuseIfStageFull(ctx, room);
  addPending(ctx, room, 'request', member.account, (current) => {
    const requester = memberOf(current, member.account);
    if (requester)
      ctx.hub.emit(requester.connId, 'coHostResponse', {
        cid: current.cid,
        accepted: false,
        reason: 'timeout',
      });
  });
  await ctx.store.putRoom(room);
  const host = memberOf(room, live.host)!;
  return {
    result: EMPTY,
    after: () => ctx.hub.emit(host.connId, 'coHostRequest', { cid: room.cid, account: member.account }),
  };
};

/** The host answers a request: the requester hears `coHostResponse`. No such request (or expired): 404. */
export const respondCoHost: Handler<'respondCoHost'> = async (ctx, conn, args) => {
  const { room, member, live } = await liveMember(ctx, conn, args);
  requireHost(room, member, 'answer a co-host request');
  if (!pendingOf(ctx, live, 'request', args.account))
    throw new NetcallError(Code.NOT_FOUND, `no co-host request from "${args.account}" is waiting`);
  if (args.accepted) refuseIfStageFull(ctx, room);
  dropPending(ctx, room, 'request', args.account);
  if (args.accepted && !live.approved.includes(args.account))
    live.approved = [...live.approved, args.account];
  await ctx.store.putRoom(room);
  const requester = memberOf(room, args.account);
  return {
    result: EMPTY,
    after: () => {
      if (requester)
        ctx.hub.emit(requester.connId, 'coHostResponse', { cid: room.cid, accepted: args.accepted });
    },
  };
};

/**
 * The host asks someone on stage: an audience member hears `coHostInvite`; an online account not in the room
 * (our extension) hears it on every device with the room's `channelName`, joins, and answers from inside.
 */
export const inviteCoHost: Handler<'inviteCoHost'> = async (ctx, conn, args) => {
  const { room, member, live } = await liveMember(ctx, conn, args);
  requireHost(room, member, 'invite a co-host');
  const target = memberOf(room, args.account);
  const devices = target ? [target.connId] : await ctx.store.devicesOf(args.account);
  if (devices.length === 0)
    throw new NetcallError(Code.NOT_FOUND, `"${args.account}" is neither in this room nor online`);
  if (target && onStage(target))
    throw new NetcallError(Code.CONFLICT, `"${args.account}" is on stage already`);
  if (pendingOf(ctx, live, 'invite', args.account))
    throw new NetcallError(Code.CONFLICT, `an invite to "${args.account}" is waiting for an answer`);
  refuseIfStageFull(ctx, room);
  addPending(ctx, room, 'invite', args.account, (current) => {
    const host = memberOf(current, current.live!.host);
    if (host)
      ctx.hub.emit(host.connId, 'coHostInviteResponse', {
        cid: current.cid,
        account: args.account,
        accepted: false,
        reason: 'timeout',
      });
  });
  await ctx.store.putRoom(room);
  const invite = target
    ? { cid: room.cid, account: member.account }
    : { cid: room.cid, account: member.account, channelName: room.channelName };
  return { result: EMPTY, after: () => ctx.hub.emitMany(devices, 'coHostInvite', invite) };
};

/** The invited member answers: the host hears `coHostInviteResponse`. No such invite (or expired): 404. */
export const respondCoHostInvite: Handler<'respondCoHostInvite'> = async (ctx, conn, args) => {
  const { room, member, live } = await liveMember(ctx, conn, args);
  if (!pendingOf(ctx, live, 'invite', member.account))
    throw new NetcallError(Code.NOT_FOUND, 'no co-host invite is waiting for you');
  dropPending(ctx, room, 'invite', member.account);
  if (args.accepted && !live.approved.includes(member.account))
    live.approved = [...live.approved, member.account];
  await ctx.store.putRoom(room);
  const host = memberOf(room, live.host)!;
  return {
    result: EMPTY,
    after: () =>
      ctx.hub.emit(host.connId, 'coHostInviteResponse', {
        cid: room.cid,
        account: member.account,
        accepted: args.accepted,
      }),
  };
};

/** The host takes a co-host off stage: it hears `coHostRemoved` and is audience again; the stage hears it leave. */
export const removeCoHost: Handler<'removeCoHost'> = async (ctx, conn, args) => {
  const { room, member } = await liveMember(ctx, conn, args);
  requireHost(room, member, 'remove a co-host');
  const target = memberOf(room, args.account);
  if (!target || target.role !== 'cohost')
    throw new NetcallError(Code.NOT_FOUND, `"${args.account}" is not a co-host of this room`);
  const notify = await stepDown(ctx, room, target);
  return {
    result: EMPTY,
    after: async () => {
      ctx.hub.emit(target.connId, 'coHostRemoved', { cid: room.cid, account: target.account });
      await notify();
    },
  };
};

/**
 * A message to everyone else in the room (stage and audience), any room: `roomMessage {account, type, content,
 * time}`. Its size is capped by the protocol (400); more than `maxRoomMessagesPerSecond` a second: 429.
 */
export const sendRoomMessage: Handler<'sendRoomMessage'> = async (ctx, conn, args) => {
  requireLogin(conn);
  const room = await findRoom(ctx, conn, args.cid);
  const member = await requireMember(ctx, room, conn);
  const now = ctx.now();
  if (!(await ctx.store.tryHit(`msg\n${member.account}`, ctx.live.maxRoomMessagesPerSecond, 1000, now)))
    throw new NetcallError(
      Code.RATE_LIMITED,
      `more than ${ctx.live.maxRoomMessagesPerSecond} room messages a second`,
    );
  const others = conns(room.members.filter((m) => m !== member));
  const event = { cid: room.cid, account: member.account, type: args.type, content: args.content, time: now };
  return { result: EMPTY, after: () => ctx.hub.emitMany(others, 'roomMessage', event) };
};
