/**
 * Rooms and group calls: NetEase's multi-person channel (createChannel / joinChannel / leaveChannel, their
 * notices, startRtc and control inside a room), and group calls (`call` with several callees) as rooms of
 * their own that ring every callee's devices with one cid.
 *
 * Owns every change to a room's members and invitees, and what each one is told. The store remembers rooms;
 * timers (a created room nobody joins, an invitee's ring) live in the context like the call timers. A room ends
 * exactly once (`removeRoom`): its name is free again and every stream it authorised is revoked.
 */
import {
  Code,
  NetcallError,
  type CallArgs,
  type EndHint,
  type JoinChannelResult,
  type MediaMode,
  type ResponseArgs,
} from '../../services/protocol';
import type { Invitee, RoomMember, RoomState } from '../store/memory';
import { syncDone, userEntry, type RtcSource } from './calls';
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

const keyOf = (cid: string, account: string): string => `${cid}/${account}`;
const memberOf = (room: RoomState, account: string): RoomMember | undefined =>
  room.members.find((m) => m.account === account);
const inviteeOf = (room: RoomState, account: string): Invitee | undefined =>
  room.invitees.find((i) => i.account === account);
const conns = (members: RoomMember[]): string[] => members.map((m) => m.connId);

function clearTimer(timers: Map<string, ReturnType<typeof setTimeout>>, key: string): void {
  const timer = timers.get(key);
  if (timer !== undefined) clearTimeout(timer);
  timers.delete(key);
}

function later(
  ctx: SignalingContext,
  timers: Map<string, ReturnType<typeof setTimeout>>,
  key: string,
  ms: number,
  run: () => void,
): void {
  clearTimer(timers, key);
  const timer = setTimeout(() => {
    timers.delete(key);
    run();
  }, ms);
  timer.unref?.();
  timers.set(key, timer);
}

/** The room `cid` names, or the connection's current one; 404 when there is none. */
export function findRoom(ctx: SignalingContext, conn: Connection, cid: string | undefined): RoomState {
  const id = cid ?? conn.currentCid;
  const room = id ? ctx.store.getRoom(id) : undefined;
  if (!room) throw new NetcallError(Code.NOT_FOUND, id ? `room ${id} not found` : 'not in a room');
  return room;
}

/** Whether `cid` (or the connection's current one) is a room rather than a 1:1 call. */
export function isRoom(ctx: SignalingContext, conn: Connection, cid: string | undefined): boolean {
  const id = cid ?? conn.currentCid;
  return id !== undefined && id !== null && ctx.store.getRoom(id) !== undefined;
}

/**
 * This connection's membership in `room`. A device that reconnected has a new connection: while its old one's
 * grace period runs, the new one takes the member's place (as `claimIfOrphaned` does for 1:1 calls).
 */
function claimMember(ctx: SignalingContext, room: RoomState, conn: Connection): RoomMember | undefined {
  const account = conn.account;
  const member = account ? memberOf(room, account) : undefined;
  if (!member || member.connId === conn.id) return member;
  const key = keyOf(room.cid, member.account);
  if (!ctx.orphans.has(key)) return undefined;
  clearTimer(ctx.orphans, key);
  member.connId = conn.id;
  conn.currentCid = room.cid;
  ctx.store.putRoom(room);
  ctx.log.info({ cid: room.cid, account: member.account, conn: conn.id }, 'device rejoined its room');
  return member;
}

function requireMember(ctx: SignalingContext, room: RoomState, conn: Connection): RoomMember {
  const member = claimMember(ctx, room, conn);
  if (!member) throw new NetcallError(Code.FORBIDDEN, 'not a member of this room');
  return member;
}

/** Forgets a room everywhere: timers, its members' current room, every stream; its name is free again. */
function removeRoom(ctx: SignalingContext, room: RoomState, why: string): void {
  if (!ctx.store.deleteRoom(room.cid)) return;
  clearTimer(ctx.roomTimers, room.cid);
  for (const who of [...room.members, ...room.invitees]) {
    clearTimer(ctx.orphans, keyOf(room.cid, who.account));
    clearTimer(ctx.ringTimers, keyOf(room.cid, who.account));
  }
  for (const member of room.members) {
    if (member.rtc) ctx.media.revoke(member.rtc.stream);
    const conn = ctx.hub.get(member.connId);
    if (conn && conn.currentCid === room.cid) conn.currentCid = null;
  }
  ctx.log.info({ cid: room.cid, channelName: room.channelName, kind: room.kind, why }, 'room ended');
}

/**
 * A group call ends when nobody is in it any more (a caller who gives up cancels it for everyone still
 * ringing), or fewer than two parties are left (members plus accounts still ringing): whoever is left hears
 * `hangup` from `by`, every device still ringing stops.
 */
function endGroupCallIfOver(ctx: SignalingContext, room: RoomState, by: string, hint?: EndHint): void {
  const over = room.members.length === 0 || room.members.length + room.invitees.length < 2;
  if (room.kind !== 'call' || !over) return;
  const timetag = ctx.now();
  const members = [...room.members];
  const ringing = room.invitees.flatMap((i) => ctx.store.devicesOf(i.account));
  removeRoom(ctx, room, 'fewer than two parties');
  const hangup = { cid: room.cid, account: by, timetag, ...(hint ? { reason: hint } : {}) };
  for (const member of members)
    ctx.hub.emit(member.connId, 'hangup', { ...hangup, account: member.account === by ? '' : by });
  ctx.hub.emitMany(ringing, 'hangup', hangup);
}

/**
 * `account` leaves (leaveChannel, hangup, a drop past its grace period, a kick): the others hear
 * `leaveChannel` and, if it was in the RTC session, `clientLeave`; its stream is revoked. An empty room is
 * removed; a group call with fewer than two parties ends.
 */
export function leaveRoom(ctx: SignalingContext, room: RoomState, account: string, hint?: EndHint): void {
  const member = memberOf(room, account);
  if (!member) return;
  clearTimer(ctx.orphans, keyOf(room.cid, account));
  room.members = room.members.filter((m) => m !== member);
  if (member.rtc) ctx.media.revoke(member.rtc.stream);
  const conn = ctx.hub.get(member.connId);
  if (conn && conn.currentCid === room.cid) conn.currentCid = null;
  ctx.log.info({ cid: room.cid, account, hint, left: room.members.length }, 'member left a room');
  const others = conns(room.members);
  ctx.hub.emitMany(others, 'leaveChannel', { account, cid: room.cid, channelId: room.cid });
  if (member.rtc) ctx.hub.emitMany(others, 'clientLeave', { cid: room.cid, account, uid: member.uid });
  if (room.members.length === 0 && room.invitees.length === 0) {
    removeRoom(ctx, room, 'empty');
    return;
  }
  ctx.store.putRoom(room);
  endGroupCallIfOver(ctx, room, account, hint);
}

/** An invitee stops ringing (it refused, did not answer, or its last device went): the caller hears why. */
function dropInvitee(
  ctx: SignalingContext,
  room: RoomState,
  account: string,
  hint: EndHint | undefined,
  except?: string,
): void {
  if (!inviteeOf(room, account)) return;
  clearTimer(ctx.ringTimers, keyOf(room.cid, account));
  room.invitees = room.invitees.filter((i) => i.account !== account);
  ctx.store.putRoom(room);
  const caller = memberOf(room, room.createdBy);
  const answer = { cid: room.cid, account, type: room.type, ...(hint ? { reason: hint } : {}) };
  if (caller) ctx.hub.emit(caller.connId, 'callRejected', answer);
  // Devices of the invitee other than the one that answered stop ringing.
  const devices = ctx.store.devicesOf(account).filter((id) => id !== except);
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
  endGroupCallIfOver(ctx, room, account, hint);
}

function ring(ctx: SignalingContext, room: RoomState, invitees: Invitee[]): void {
  const callees = room.invitees.map((i) => i.account);
  for (const invitee of invitees) {
    ctx.hub.emitMany(ctx.store.devicesOf(invitee.account), 'beCalling', {
      caller: room.createdBy,
      type: room.type,
      cid: room.cid,
      ...(room.custom ? { custom: room.custom } : {}),
      callees,
    });
    later(ctx, ctx.ringTimers, keyOf(room.cid, invitee.account), ctx.limits.ringTimeoutMs, () => {
      const current = ctx.store.getRoom(room.cid);
      if (current) dropInvitee(ctx, current, invitee.account, 'timeout');
    });
  }
}

function accountUidMap(room: RoomState): Record<string, string> {
  // fromEntries defines own properties: an account named `__proto__` is a key like any other.
  return Object.fromEntries([...room.members, ...room.invitees].map((p) => [p.account, p.uid]));
}

// ---- ops ---------------------------------------------------------------------------------------------

export const createChannel: Handler<'createChannel'> = (ctx, conn, { channelName, custom }) => {
  const account = requireLogin(conn);
  if (ctx.store.roomByName(channelName))
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
  ctx.store.putRoom(room);
  // A name nobody uses is given back: a created room nobody joins expires.
  later(ctx, ctx.roomTimers, room.cid, ctx.roomIdleMs, () => {
    const current = ctx.store.getRoom(room.cid);
    if (current && current.members.length === 0) removeRoom(ctx, current, 'nobody joined');
  });
  return { result: { channelName, cid: room.cid, custom: room.custom } };
};

export const joinChannel: Handler<'joinChannel'> = (ctx, conn, args) => {
  const account = requireLogin(conn);
  if (args.liveEnable)
    throw new NetcallError(Code.BAD_REQUEST, 'interactive live rooms are not available on this server yet');
  refuseIfBusy(ctx, conn);
  const room = ctx.store.roomByName(args.channelName);
  // A group call's room is joined by answering its ring, never by name.
  if (!room || room.kind !== 'room')
    throw new NetcallError(Code.NOT_FOUND, `no room named "${args.channelName}"`);
  if (memberOf(room, account))
    throw new NetcallError(Code.CONFLICT, `"${account}" is already in this room on another device`);
  if (room.members.length >= room.capacity)
    throw new NetcallError(Code.ROOM_FULL, `the room is full (${room.capacity})`);
  const member: RoomMember = { account, uid: newUid(), connId: conn.id, rtc: null, joinedAt: ctx.now() };
  const others = conns(room.members);
  room.members = [...room.members, member];
  clearTimer(ctx.roomTimers, room.cid);
  ctx.store.putRoom(room);
  conn.currentCid = room.cid;
  const result: JoinChannelResult = {
    channelName: room.channelName,
    cid: room.cid,
    uid: member.uid,
    account,
    custom: room.custom,
    accountUidMap: accountUidMap(room),
  };
  return {
    result,
    after: () =>
      ctx.hub.emitMany(others, 'joinChannel', {
        account,
        uid: member.uid,
        cid: room.cid,
        channelId: room.cid,
      }),
  };
};

export const leaveChannel: Handler<'leaveChannel'> = (ctx, conn, { cid }) => {
  requireLogin(conn);
  const room = findRoom(ctx, conn, cid);
  // It only ever takes out the sender: not being in that room is "not in a room".
  const member = claimMember(ctx, room, conn);
  if (!member) throw new NetcallError(Code.NOT_FOUND, 'not in this room');
  return { result: EMPTY, after: () => leaveRoom(ctx, room, member.account) };
};

export const inviteToCall: Handler<'inviteToCall'> = (ctx, conn, { cid, callee }) => {
  requireLogin(conn);
  const room = findRoom(ctx, conn, cid);
  if (room.kind !== 'call')
    throw new NetcallError(Code.BAD_REQUEST, 'only a group call rings: this is a room');
  const inviter = requireMember(ctx, room, conn);
  if (memberOf(room, callee) || inviteeOf(room, callee))
    throw new NetcallError(Code.CONFLICT, `"${callee}" is already in this call`);
  if (room.members.length + room.invitees.length >= room.capacity)
    throw new NetcallError(Code.ROOM_FULL, `the call is full (${room.capacity})`);
  if (ctx.store.devicesOf(callee).length === 0)
    throw new NetcallError(Code.NOT_FOUND, `callee "${callee}" is not online`);
  countCall(ctx, inviter.account, [callee]);
  const invitee: Invitee = { account: callee, uid: newUid(), invitedAt: ctx.now() };
  room.invitees = [...room.invitees, invitee];
  ctx.store.putRoom(room);
  return { result: EMPTY, after: () => ring(ctx, room, [invitee]) };
};

// ---- the parts of call / response / hangup / startRtc / control that concern rooms --------------------

/** `call` with several callees: a room of its own, with the caller in it, ringing every callee's devices. */
export function placeGroupCall(
  ctx: SignalingContext,
  conn: Connection,
  caller: string,
  args: CallArgs & { callee: string[] },
): Outcome<'call'> {
  if (args.callee.includes(caller)) throw new NetcallError(Code.BAD_REQUEST, 'cannot call yourself');
  refuseIfBusy(ctx, conn);
  const offline = args.callee.filter((account) => ctx.store.devicesOf(account).length === 0);
  if (offline.length > 0)
    throw new NetcallError(Code.NOT_FOUND, `not online: ${offline.map((a) => `"${a}"`).join(', ')}`);
  if (args.callee.length + 1 > ctx.roomCapacity)
    throw new NetcallError(Code.ROOM_FULL, `a call holds at most ${ctx.roomCapacity}`);
  countCall(ctx, caller, args.callee);
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
    members: [{ account: caller, uid: newUid(), connId: conn.id, rtc: null, joinedAt: now }],
    invitees: args.callee.map((account) => ({ account, uid: newUid(), invitedAt: now })),
  };
  ctx.store.putRoom(room);
  conn.currentCid = cid;
  return { result: { cid, accountUidMap: accountUidMap(room) }, after: () => ring(ctx, room, room.invitees) };
}

/** A callee answers a group call: accepted, it joins (the caller hears `callAccepted`, members `joinChannel`). */
export function answerGroupCall(
  ctx: SignalingContext,
  conn: Connection,
  room: RoomState,
  account: string,
  args: ResponseArgs,
): Outcome<'response'> {
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
  refuseIfBusy(ctx, conn);
  clearTimer(ctx.ringTimers, keyOf(room.cid, account));
  const member: RoomMember = { account, uid: invitee.uid, connId: conn.id, rtc: null, joinedAt: ctx.now() };
  const before = conns(room.members);
  room.invitees = room.invitees.filter((i) => i !== invitee);
  room.members = [...room.members, member];
  ctx.store.putRoom(room);
  conn.currentCid = room.cid;
  const caller = memberOf(room, room.createdBy);
  const timetag = ctx.now();
  return {
    result: EMPTY,
    after: () => {
      if (caller) ctx.hub.emit(caller.connId, 'callAccepted', { cid: room.cid, account, type: room.type });
      ctx.hub.emitMany(
        before.filter((id) => id !== caller?.connId),
        'joinChannel',
        { account, uid: member.uid, cid: room.cid, channelId: room.cid },
      );
      const otherDevices = ctx.store.devicesOf(account).filter((id) => id !== conn.id);
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

/** `hangup` in a room: a ringing invitee refuses; a member leaves (the last two: the call ends). */
export function hangupInRoom(
  ctx: SignalingContext,
  conn: Connection,
  room: RoomState,
  account: string,
  hint?: EndHint,
): Outcome<'hangup'> {
  if (inviteeOf(room, account) && !memberOf(room, account))
    return { result: EMPTY, after: () => dropInvitee(ctx, room, account, hint, conn.id) };
  requireMember(ctx, room, conn);
  return { result: EMPTY, after: () => leaveRoom(ctx, room, account, hint) };
}

/** A member in the RTC session, as the URL issuer reads it. */
const inRtc = (member: RoomMember): RtcSource | null =>
  member.rtc ? { account: member.account, uid: member.uid, ...member.rtc } : null;
const othersInRtc = (room: RoomState, member: RoomMember): RtcSource[] =>
  room.members.filter((m) => m !== member).flatMap((m) => inRtc(m) ?? []);

/** `startRtc` in a room: `syncDone` with every member in RTC; the others hear `clientJoin`. */
export function startRtcInRoom(
  ctx: SignalingContext,
  conn: Connection,
  room: RoomState,
  mode: MediaMode,
): Outcome<'startRtc'> {
  const member = requireMember(ctx, room, conn);
  member.rtc = { mode, stream: member.rtc?.stream ?? ctx.media.streamName(room.cid, member.uid) };
  ctx.store.putRoom(room);
  ctx.media.authorize(member.rtc.stream);
  const self = inRtc(member)!;
  const others = othersInRtc(room, member);
  const peers = conns(room.members.filter((m) => m !== member && m.rtc));
  return {
    result: { uid: member.uid, account: member.account, cid: room.cid },
    after: () => {
      ctx.hub.emit(conn.id, 'syncDone', syncDone(ctx, room.cid, self, others));
      // A repeated startRtc (after a reconnect) is a rejoin: the others see the fresh entry as a join again.
      ctx.hub.emitMany(peers, 'clientJoin', { cid: room.cid, ...userEntry(ctx, self, false) });
    },
  };
}

/** `control` in a room: every other member hears it (mic/camera notices to everyone). */
export function controlInRoom(
  ctx: SignalingContext,
  conn: Connection,
  room: RoomState,
  command: number,
): Outcome<'control'> {
  const member = requireMember(ctx, room, conn);
  const others = conns(room.members.filter((m) => m !== member));
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
export function dropFromRooms(ctx: SignalingContext, conn: Connection, clean: boolean): void {
  const account = conn.account;
  if (!account) return;
  for (const cid of ctx.store.roomsOfConn(conn.id)) {
    const room = ctx.store.getRoom(cid);
    const member = room ? memberOf(room, account) : undefined;
    if (!room || !member || member.connId !== conn.id) continue;
    if (clean || ctx.graceMs <= 0) {
      leaveRoom(ctx, room, account, clean ? undefined : 'network');
      continue;
    }
    later(ctx, ctx.orphans, keyOf(cid, account), ctx.graceMs, () => {
      const current = ctx.store.getRoom(cid);
      if (current) leaveRoom(ctx, current, account, 'network');
    });
    ctx.log.info({ cid, account, graceMs: ctx.graceMs }, 'device lost; room kept for its grace period');
  }
  if (ctx.store.devicesOf(account).filter((id) => id !== conn.id).length === 0)
    for (const room of ctx.store.invitingRoomsFor(account)) dropInvitee(ctx, room, account, 'network');
}

/** Shutdown: every room ends; its members are being told to reconnect, and will find it gone. */
export function endAllRooms(ctx: SignalingContext): void {
  for (const room of ctx.store.allRooms()) removeRoom(ctx, room, 'server shutting down');
}

/** The media plane is back after dying: every member in a room's RTC session gets a fresh `syncDone`. */
export function refreshRoomMedia(ctx: SignalingContext): void {
  for (const room of ctx.store.allRooms())
    for (const member of room.members) {
      const self = inRtc(member);
      if (!self) continue;
      ctx.media.authorize(self.stream);
      ctx.hub.emit(member.connId, 'syncDone', syncDone(ctx, room.cid, self, othersInRtc(room, member)));
    }
}
