/**
 * What the room modules share: who is in a room or ringing for it, the room a request names, a member's
 * claim after a reconnect, timers keyed by cid and account, and the one way a room ends (`removeRoom`).
 * No op handling here.
 */
import { Code, NetcallError } from '../../services/protocol';
import type { Invitee, RoomMember, RoomState } from '../store/types';
import { takePlace } from './calls';
import type { SignalingContext } from './context';
import type { Connection } from './hub';
import { forgetLive } from './live';

export const keyOf = (cid: string, account: string): string => `${cid}/${account}`;
export const memberOf = (room: RoomState, account: string): RoomMember | undefined =>
  room.members.find((m) => m.account === account);
export const inviteeOf = (room: RoomState, account: string): Invitee | undefined =>
  room.invitees.find((i) => i.account === account);
export const conns = (members: RoomMember[]): string[] => members.map((m) => m.connId);

export function clearTimer(timers: Map<string, ReturnType<typeof setTimeout>>, key: string): void {
  const timer = timers.get(key);
  if (timer !== undefined) clearTimeout(timer);
  timers.delete(key);
}

/** How soon a timer that found the shared store down tries again. */
export const TIMER_RETRY_MS = 1000;

/**
 * Runs `run` in `ms` unless cleared first (a timer under the same key is replaced). By then anything may have
 * changed: `run` re-reads what it acts on. When the shared store is down (503) it runs again every
 * TIMER_RETRY_MS until the store is back: a ring timeout lost to a Redis restart would leave the call ringing
 * for good. Any other failure is logged, never thrown.
 */
export function later(
  ctx: SignalingContext,
  timers: Map<string, ReturnType<typeof setTimeout>>,
  key: string,
  ms: number,
  run: () => void | Promise<void>,
): void {
  clearTimer(timers, key);
  const arm = (delay: number): void => {
    const timer = setTimeout(() => {
      timers.delete(key);
      ctx.store
        .exclusive(async () => run())
        .catch((error: unknown) => {
          const unavailable = error instanceof NetcallError && error.code === Code.UNAVAILABLE;
          // Re-armed only if nothing replaced or cleared it meanwhile, and never once the server is closing.
          if (unavailable && !ctx.closing && !timers.has(key)) {
            ctx.log.warn(
              { timer: key },
              `timer postponed ${TIMER_RETRY_MS} ms: the state store is unavailable`,
            );
            arm(TIMER_RETRY_MS);
            return;
          }
          ctx.log.warn({ timer: key, err: String(error) }, 'timer failed');
        });
    }, delay);
    timer.unref?.();
    timers.set(key, timer);
  };
  arm(ms);
}

/** The room `cid` names, or the connection's current one; 404 when there is none. */
export async function findRoom(
  ctx: SignalingContext,
  conn: Connection,
  cid: string | undefined,
): Promise<RoomState> {
  const id = cid ?? conn.currentCid;
  const room = id ? await ctx.store.getRoom(id) : undefined;
  if (!room) throw new NetcallError(Code.NOT_FOUND, id ? `room ${id} not found` : 'not in a room');
  return room;
}

/** Whether `cid` (or the connection's current one) is a room rather than a 1:1 call. */
export async function isRoom(
  ctx: SignalingContext,
  conn: Connection,
  cid: string | undefined,
): Promise<boolean> {
  const id = cid ?? conn.currentCid;
  return id !== undefined && id !== null && (await ctx.store.getRoom(id)) !== undefined;
}

/**
 * This connection's membership in `room`. A device that reconnected has a new connection: while its old one's
 * grace period runs, the new one takes the member's place (as `claimIfOrphaned` does for 1:1 calls).
 */
export async function claimMember(
  ctx: SignalingContext,
  room: RoomState,
  conn: Connection,
): Promise<RoomMember | undefined> {
  const account = conn.account;
  const member = account ? memberOf(room, account) : undefined;
  if (!member || member.connId === conn.id) return member;
  if (!(await takePlace(ctx, keyOf(room.cid, member.account), member.connId, member.account)))
    return undefined;
  member.connId = conn.id;
  conn.currentCid = room.cid;
  await ctx.store.putRoom(room);
  ctx.log.info({ cid: room.cid, account: member.account, conn: conn.id }, 'device rejoined its room');
  return member;
}

/**
 * `joinChannel` by an account already in `room`: a device that lost its connection joins again on a new one (the
 * kit does after a reconnect) and takes its place back while its grace period runs; anyone else is refused.
 */
export async function joinAgain(
  ctx: SignalingContext,
  room: RoomState,
  conn: Connection,
  existing: RoomMember,
): Promise<RoomMember> {
  const claimed = existing.connId === conn.id ? undefined : await claimMember(ctx, room, conn);
  if (!claimed)
    throw new NetcallError(Code.CONFLICT, `"${existing.account}" is already in this room on another device`);
  return claimed;
}

export async function requireMember(
  ctx: SignalingContext,
  room: RoomState,
  conn: Connection,
): Promise<RoomMember> {
  const member = await claimMember(ctx, room, conn);
  if (!member) throw new NetcallError(Code.FORBIDDEN, 'not a member of this room');
  return member;
}

/** What these members push while in RTC. */
const rtcStreams = (members: RoomMember[]): string[] =>
  members.flatMap((member) => (member.rtc ? [member.rtc.stream] : []));

/** The media streams a room uses: its members' in RTC, and its live mix's. */
export function roomStreams(room: RoomState): string[] {
  const streams = rtcStreams(room.members);
  return room.live ? [...streams, room.live.stream] : streams;
}

/**
 * Forgets a room everywhere: timers, its members' current room, every stream; its name is free again. Returns
 * false when it was already gone.
 */
export async function removeRoom(ctx: SignalingContext, room: RoomState, why: string): Promise<boolean> {
  const stored = await ctx.store.deleteRoom(room.cid);
  if (!stored) return false;
  clearTimer(ctx.roomTimers, room.cid);
  await ctx.media.unplace?.(room.cid);
  // The stored state may be newer than the caller's copy (a networked store): whoever either names is forgotten.
  // By account and by stream: a networked store's copy is other objects with the same contents.
  const members = [...room.members, ...stored.members];
  const accounts = new Set([...members, ...room.invitees, ...stored.invitees].map((who) => who.account));
  const places = [...accounts].map((account) => keyOf(room.cid, account));
  for (const key of places) {
    clearTimer(ctx.orphans, key);
    clearTimer(ctx.ringTimers, key);
  }
  // One round trip for the room, not one per member: a live room ends with thousands in its audience.
  await ctx.store.forgetOrphans(places);
  for (const stream of new Set(rtcStreams(members))) ctx.media.revoke(stream);
  for (const member of members) {
    const conn = ctx.hub.get(member.connId);
    if (conn && conn.currentCid === room.cid) conn.currentCid = null;
  }
  forgetLive(ctx, room);
  ctx.log.info({ cid: room.cid, channelName: room.channelName, kind: room.kind, why }, 'room ended');
  return true;
}

export function accountUidMap(room: RoomState): Record<string, string> {
  // fromEntries defines own properties: an account named `__proto__` is a key like any other.
  return Object.fromEntries([...room.members, ...room.invitees].map((p) => [p.account, p.uid]));
}
