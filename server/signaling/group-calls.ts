/**
 * Group calls (NetEase's team call: `call` with several callees): a room of its own, made by the call, that
 * rings every callee's devices with one cid and is joined only by answering. Owns the invitees: ringing,
 * answering, refusing, ringing out, ringing one more in; and the rule that ends a group call (nobody in it, or
 * fewer than two parties). Members leave through rooms.ts like in any room.
 */
import { Code, NetcallError, type CallArgs, type EndHint, type ResponseArgs } from '../../services/protocol';
import type { Invitee, RoomMember, RoomState } from '../store/types';
import {
  EMPTY,
  countCall,
  newCid,
  newUid,
  refuseIfBusy,
  requireLogin,
  type Handler,
  type Outcome,
} from './common';
import type { SignalingContext } from './context';
import type { Connection } from './hub';
import {
  accountUidMap,
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

/**
 * A group call ends when nobody is in it any more (a caller who gives up cancels it for everyone still
 * ringing), or fewer than two parties are left (members plus accounts still ringing): whoever is left hears
 * `hangup` from `by`, every device still ringing stops.
 */
export async function endGroupCallIfOver(
  ctx: SignalingContext,
  room: RoomState,
  by: string,
  hint?: EndHint,
): Promise<void> {
  const over = room.members.length === 0 || room.members.length + room.invitees.length < 2;
  if (room.kind !== 'call' || !over) return;
  const timetag = ctx.now();
  const members = [...room.members];
  const ringing: string[] = [];
  for (const invitee of room.invitees) ringing.push(...(await ctx.store.devicesOf(invitee.account)));
  // Only the end that removed the room tells anyone: two parties may leave at once.
  if (!(await removeRoom(ctx, room, 'fewer than two parties'))) return;
  const hangup = { cid: room.cid, account: by, timetag, ...(hint ? { reason: hint } : {}) };
  for (const member of members)
    ctx.hub.emit(member.connId, 'hangup', { ...hangup, account: member.account === by ? '' : by });
  ctx.hub.emitMany(ringing, 'hangup', hangup);
}

/** An invitee stops ringing (it refused, did not answer, or its last device went): the caller hears why. */
export async function dropInvitee(
  ctx: SignalingContext,
  room: RoomState,
  account: string,
  hint: EndHint | undefined,
  except?: string,
): Promise<void> {
  if (!inviteeOf(room, account)) return;
  clearTimer(ctx.ringTimers, keyOf(room.cid, account));
  room.invitees = room.invitees.filter((i) => i.account !== account);
  await ctx.store.putRoom(room);
  const caller = memberOf(room, room.createdBy);
  const answer = { cid: room.cid, account, type: room.type, ...(hint ? { reason: hint } : {}) };
  if (caller) ctx.hub.emit(caller.connId, 'callRejected', answer);
  // Devices of the invitee other than the one that answered stop ringing.
  const devices = (await ctx.store.devicesOf(account)).filter((id) => id !== except);
  if (hint === 'timeout')
    ctx.hub.emitMany(devices, 'hangup', {
      cid: room.cid,
      account: room.createdBy,
      timetag: ctx.now(),
      reason: 'timeout',
    });
  else if (except !== undefined)
    ctx.hub.emitMany(devices, 'callerAckSync', {
      timetag: ctx.now(),
      cid: room.cid,
      type: room.type,
      accepted: false,
      fromClientType: 'web',
    });
  await endGroupCallIfOver(ctx, room, account, hint);
}

async function ring(ctx: SignalingContext, room: RoomState, invitees: Invitee[]): Promise<void> {
  const callees = room.invitees.map((i) => i.account);
  for (const invitee of invitees) {
    ctx.hub.emitMany(await ctx.store.devicesOf(invitee.account), 'beCalling', {
      caller: room.createdBy,
      type: room.type,
      cid: room.cid,
      ...(room.custom ? { custom: room.custom } : {}),
      callees,
    });
    later(ctx, ctx.ringTimers, keyOf(room.cid, invitee.account), ctx.limits.ringTimeoutMs, async () => {
      const current = await ctx.store.getRoom(room.cid);
      // Only this invite times out: one the account got again since has a timer of its own.
      if (current && inviteeOf(current, invitee.account)?.invitedAt === invitee.invitedAt)
        await dropInvitee(ctx, current, invitee.account, 'timeout');
    });
  }
}

export const inviteToCall: Handler<'inviteToCall'> = async (ctx, conn, { cid, callee }) => {
  requireLogin(conn);
  const room = await findRoom(ctx, conn, cid);
  if (room.kind !== 'call')
    throw new NetcallError(Code.BAD_REQUEST, 'only a group call rings: this is a room');
  const inviter = await requireMember(ctx, room, conn);
  if (memberOf(room, callee) || inviteeOf(room, callee))
    throw new NetcallError(Code.CONFLICT, `"${callee}" is already in this call`);
  if (room.members.length + room.invitees.length >= room.capacity)
    throw new NetcallError(Code.ROOM_FULL, `the call is full (${room.capacity})`);
  if ((await ctx.store.devicesOf(callee)).length === 0)
    throw new NetcallError(Code.NOT_FOUND, `callee "${callee}" is not online`);
  await countCall(ctx, inviter.account, [callee]);
  const invitee: Invitee = { account: callee, uid: newUid(), invitedAt: ctx.now() };
  room.invitees = [...room.invitees, invitee];
  await ctx.store.putRoom(room);
  return { result: EMPTY, after: () => ring(ctx, room, [invitee]) };
};

/** `call` with several callees: a room of its own, with the caller in it, ringing every callee's devices. */
export async function placeGroupCall(
  ctx: SignalingContext,
  conn: Connection,
  caller: string,
  args: CallArgs & { callee: string[] },
): Promise<Outcome<'call'>> {
  if (args.callee.includes(caller)) throw new NetcallError(Code.BAD_REQUEST, 'cannot call yourself');
  await refuseIfBusy(ctx, conn);
  const offline: string[] = [];
  for (const account of args.callee)
    if ((await ctx.store.devicesOf(account)).length === 0) offline.push(account);
  if (offline.length > 0)
    throw new NetcallError(Code.NOT_FOUND, `not online: ${offline.map((a) => `"${a}"`).join(', ')}`);
  if (args.callee.length + 1 > ctx.roomCapacity)
    throw new NetcallError(Code.ROOM_FULL, `a call holds at most ${ctx.roomCapacity}`);
  await countCall(ctx, caller, args.callee);
  const cid = newCid();
  const now = ctx.now();
  const room: RoomState = {
    cid,
    channelName: `call-${cid}`,
    custom: args.pushConfig?.custom ?? '',
    kind: 'call',
    type: args.type,
    capacity: ctx.roomCapacity,
    createdBy: caller,
    createdAt: now,
    members: [{ account: caller, uid: newUid(), connId: conn.id, role: 'member', rtc: null, joinedAt: now }],
    invitees: args.callee.map((account) => ({ account, uid: newUid(), invitedAt: now })),
  };
  await ctx.store.putRoom(room);
  conn.currentCid = cid;
  return { result: { cid, accountUidMap: accountUidMap(room) }, after: () => ring(ctx, room, room.invitees) };
}

/** A callee answers a group call: accepted, it joins (the caller hears `callAccepted`, members `joinChannel`). */
export async function answerGroupCall(
  ctx: SignalingContext,
  conn: Connection,
  room: RoomState,
  account: string,
  args: ResponseArgs,
): Promise<Outcome<'response'>> {
  const invitee = inviteeOf(room, account);
  if (!invitee)
    throw new NetcallError(
      memberOf(room, account) ? Code.CONFLICT : Code.FORBIDDEN,
      memberOf(room, account) ? 'call was already answered' : 'not your call to answer',
    );
  if (args.caller !== room.createdBy)
    throw new NetcallError(Code.BAD_REQUEST, 'caller does not match the call');
  if (!args.accepted)
    return { result: EMPTY, after: () => dropInvitee(ctx, room, account, args.reason, conn.id) };
  await refuseIfBusy(ctx, conn);
  clearTimer(ctx.ringTimers, keyOf(room.cid, account));
  const member: RoomMember = {
    account,
    uid: invitee.uid,
    connId: conn.id,
    role: 'member',
    rtc: null,
    joinedAt: ctx.now(),
  };
  const before = conns(room.members);
  room.invitees = room.invitees.filter((i) => i !== invitee);
  room.members = [...room.members, member];
  await ctx.store.putRoom(room);
  conn.currentCid = room.cid;
  const caller = memberOf(room, room.createdBy);
  const timetag = ctx.now();
  return {
    result: EMPTY,
    after: async () => {
      if (caller) ctx.hub.emit(caller.connId, 'callAccepted', { cid: room.cid, account, type: room.type });
      ctx.hub.emitMany(
        before.filter((id) => id !== caller?.connId),
        'joinChannel',
        { account, uid: member.uid, cid: room.cid, channelId: room.cid },
      );
      const otherDevices = (await ctx.store.devicesOf(account)).filter((id) => id !== conn.id);
      ctx.hub.emitMany(otherDevices, 'callerAckSync', {
        timetag,
        cid: room.cid,
        type: room.type,
        accepted: true,
        fromClientType: 'web',
      });
    },
  };
}
