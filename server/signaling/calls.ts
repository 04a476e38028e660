/**
 * How calls end, and what the server does to calls on its own: ring timeouts, lost devices (grace period),
 * kicks, expired sessions, shutdown, and handing live members fresh URLs after the media plane restarted.
 * Every end goes through `closeCall`, so each call is forgotten, revoked and reported exactly once.
 */
import { Code, type EndHint, type RtcUser, type SyncDoneEvent } from '../../services/protocol';
import type { CallState, Member } from '../store/types';
import { CloseCode, type CallEnd, type SignalingContext } from './context';
import type { Connection } from './hub';
import { clearTimer, later, roomStreams } from './room-state';
import { dropFromRooms, endAllRooms, leaveRoom, refreshRoomMedia } from './rooms';

/** Who is in an RTC session and what it pushes: a 1:1 call's member, or a room member in RTC. */
export type RtcSource = Pick<Member, 'account' | 'uid' | 'mode' | 'stream'>;

export function userEntry(ctx: SignalingContext, member: RtcSource, forSelf: boolean): RtcUser {
  if (forSelf)
    return {
      account: member.account,
      uid: member.uid,
      mode: member.mode,
      url: ctx.media.pushUrl(member.stream),
    };
  const urls = ctx.media.playUrls(member.stream);
  return { account: member.account, uid: member.uid, mode: member.mode, url: urls.rtmp, flvUrl: urls.flv };
}

/** The `syncDone` a member gets: its own push URL first, everyone else's play URLs after. */
export function syncDone(
  ctx: SignalingContext,
  cid: string,
  self: RtcSource,
  others: RtcSource[],
): SyncDoneEvent {
  return {
    code: Code.OK,
    errmsg: '',
    cid,
    userlist: [userEntry(ctx, self, true), ...others.map((m) => userEntry(ctx, m, false))],
  };
}

/** The `syncDone` a 1:1 call's member gets. */
export function syncDoneFor(ctx: SignalingContext, call: CallState, member: Member): SyncDoneEvent {
  return syncDone(
    ctx,
    call.cid,
    member,
    call.members.filter((m) => m !== member),
  );
}

export const memberOf = (call: CallState, account: string): Member | undefined =>
  call.members.find((m) => m.account === account);

export const peerOf = (call: CallState, account: string): string =>
  account === call.caller ? call.callee : call.caller;

/** The device that speaks for `account` in this call, or null while the callee has not answered. */
export function deviceOf(call: CallState, account: string): string | null {
  return account === call.caller ? call.callerConn : call.calleeConn;
}

/** Devices that must hear about the end on `account`'s side: while ringing, every callee device rings. */
async function devicesToTell(ctx: SignalingContext, call: CallState, account: string): Promise<string[]> {
  if (call.phase === 'ringing' && account === call.callee) return ctx.store.devicesOf(call.callee);
  const device = deviceOf(call, account);
  return device === null ? [] : [device];
}

/**
 * Forgets a call everywhere (store, timers, its devices' current call, media) and reports how it ended.
 * Returns false when it was already gone (e.g. a grace timer racing a hangup). Telling the parties is the
 * caller's job: a hangup and a rejection are told differently.
 */
export async function closeCall(ctx: SignalingContext, call: CallState, end: CallEnd): Promise<boolean> {
  const stored = await ctx.store.deleteCall(call.cid);
  if (!stored) return false;
  const places = [call.caller, call.callee].map((account) => `${call.cid}/${account}`);
  for (const key of places) clearTimer(ctx.orphans, key);
  await ctx.store.forgetOrphans(places);
  clearTimer(ctx.ringTimers, call.cid);
  await ctx.media.unplace?.(call.cid);
  // The stored state may be newer than the caller's copy (a networked store): what either names is forgotten.
  // By name: a networked store's copy is other objects with the same contents.
  for (const stream of new Set([...call.members, ...stored.members].map((m) => m.stream)))
    ctx.media.revoke(stream);
  for (const connId of new Set([call.callerConn, call.calleeConn, stored.callerConn, stored.calleeConn])) {
    const conn = connId ? ctx.hub.get(connId) : undefined;
    if (conn && conn.currentCid === call.cid) conn.currentCid = null;
  }
  ctx.log.info(
    { cid: call.cid, by: end.by, phase: call.phase, hint: end.hint, rejected: end.rejected },
    'call ended',
  );
  try {
    ctx.onCallEnded?.(call, end);
  } catch (error) {
    ctx.log.warn({ cid: call.cid, err: String(error) }, 'onCallEnded failed');
  }
  return true;
}

/**
 * Ends a call for everyone. `by` hung up (or dropped); the other party is told with `clientLeave` (when both
 * were in the RTC session) and then `hangup`. Media URLs of the call are revoked.
 */
export async function endCall(
  ctx: SignalingContext,
  call: CallState,
  by: string,
  hint?: EndHint,
): Promise<void> {
  const timetag = ctx.now();
  const targets = await devicesToTell(ctx, call, peerOf(call, by));
  if (!(await closeCall(ctx, call, { by, hint, rejected: false, endedAt: timetag }))) return;
  const leaving = memberOf(call, by);
  if (leaving && memberOf(call, peerOf(call, by)))
    ctx.hub.emitMany(targets, 'clientLeave', { cid: call.cid, account: by, uid: leaving.uid });
  ctx.hub.emitMany(targets, 'hangup', {
    cid: call.cid,
    account: by,
    timetag,
    ...(hint ? { reason: hint } : {}),
  });
}

/**
 * Ends a call on the server's own decision (ring timeout, shutdown): each side gets `hangup` naming the other
 * party, with the reason, and the record says the server ended it (`by: ''`).
 */
export async function endCallByServer(ctx: SignalingContext, call: CallState, hint: EndHint): Promise<void> {
  const timetag = ctx.now();
  const sides: { account: string; targets: string[] }[] = [];
  for (const account of [call.caller, call.callee])
    sides.push({ account, targets: await devicesToTell(ctx, call, account) });
  if (!(await closeCall(ctx, call, { by: '', hint, rejected: false, endedAt: timetag }))) return;
  for (const { account, targets } of sides)
    ctx.hub.emitMany(targets, 'hangup', {
      cid: call.cid,
      account: peerOf(call, account),
      timetag,
      reason: hint,
    });
}

/** Starts the server-side ring timeout: a call nobody answers ends for both sides even if both are silent. */
export function startRingTimer(ctx: SignalingContext, cid: string): void {
  later(ctx, ctx.ringTimers, cid, ctx.limits.ringTimeoutMs, async () => {
    const call = await ctx.store.getCall(cid);
    if (call && call.phase === 'ringing') await endCallByServer(ctx, call, 'timeout');
  });
}

export function stopRingTimer(ctx: SignalingContext, cid: string): void {
  clearTimer(ctx.ringTimers, cid);
}

/** A close reason `ws` accepts: at most 123 UTF-8 bytes (it throws beyond), cut between characters. */
export function closeReason(text: string): string {
  let out = '';
  let bytes = 0;
  for (const char of text) {
    bytes += Buffer.byteLength(char, 'utf8');
    if (bytes > 123) break;
    out += char;
  }
  return out;
}

/**
 * Ends every session of an account on this server now (admin action, or a business-server decision): `kicked`,
 * then close. Returns how many it ended. Counted from the connections this server holds, not the store, so it
 * answers at once. `at`: the kick's second (UNIX seconds), default now. `fromBus`: another node kicked, and the
 * kick may arrive after the business server minted a new token and a device logged in with it here; that session
 * is not the kicked one (its token is not revoked either), so a session whose newest token was issued after `at`
 * stays. On the kicking node every session ends: nothing logged in there between the kick and this call.
 */
export function kickAccount(
  ctx: SignalingContext,
  account: string,
  reason: string,
  at?: number,
  fromBus = false,
): number {
  // Refused from now on: the token the kicked devices hold must not log them straight back in.
  ctx.tokens.revoke(account, at);
  const devices = ctx.hub
    .all()
    .filter(
      (conn) =>
        conn.account === account &&
        !conn.closingOnPurpose &&
        (!fromBus || at === undefined || conn.tokenIat === undefined || conn.tokenIat <= at),
    );
  for (const conn of devices) {
    ctx.hub.emit(conn.id, 'kicked', { reason });
    closeOnPurpose(ctx, conn, CloseCode.KICKED, reason);
  }
  return devices.length;
}

/**
 * Ends a session the server chose to end, without waiting for the close handshake: nothing it sends from now on
 * is read; once the frames it sent before are answered (its queue), the socket is closed, its calls end without
 * a grace period and the device stops being the account's.
 */
export function closeOnPurpose(ctx: SignalingContext, conn: Connection, code: number, reason: string): void {
  conn.closingOnPurpose = true;
  conn.socket.close(code, closeReason(reason));
  void conn.queue.push(
    () =>
      ctx.store.exclusive(async () => {
        await dropConnection(ctx, conn, true);
        conn.account = null;
      }),
    (error) => ctx.log.warn({ conn: conn.id, err: String(error) }, 'ending a session failed'),
  );
}

/** Shutdown: every call ends for every party with reason `network`, before the sockets are told to go. */
export async function endAllCalls(ctx: SignalingContext): Promise<void> {
  for (const call of await ctx.store.allCalls()) await endCallByServer(ctx, call, 'network');
  await endAllRooms(ctx);
}

/**
 * The media plane came back after dying: every connection to it was lost, so every member of a live call gets
 * a fresh `syncDone` (new URLs) and rebinds its pusher and players. `carries`: whether a stream is on that plane
 * (a cluster node's media carries only the calls and rooms placed there; the others' members lost nothing).
 */
export async function refreshMedia(
  ctx: SignalingContext,
  carries: (stream: string) => boolean = () => true,
): Promise<void> {
  for (const call of await ctx.store.allCalls())
    if (call.members.some((member) => carries(member.stream))) refreshCallMedia(ctx, call);
  for (const room of await ctx.store.allRooms())
    if (roomStreams(room).some(carries)) refreshRoomMedia(ctx, room);
}

/** Each member of a call is authorised again and gets a fresh `syncDone` (its streams' URLs as they are now). */
export function refreshCallMedia(ctx: SignalingContext, call: CallState): void {
  for (const member of call.members) {
    ctx.media.authorize(member.stream);
    ctx.hub.emit(member.connId, 'syncDone', syncDoneFor(ctx, call, member));
  }
}

/** What a lost connection leaves to clean up: a socket of this node, or one a dead node held. */
export type LostConnection = Pick<Connection, 'id' | 'account' | 'expiryTimer'>;

/**
 * A socket went away. A clean close (the app left) ends its calls at once, as a hangup; an abnormal one (network)
 * keeps them for `graceMs` so the device can reconnect and rejoin, then ends them with the hint 'network'.
 */
export async function dropConnection(
  ctx: SignalingContext,
  conn: LostConnection,
  clean: boolean,
): Promise<void> {
  if (conn.expiryTimer !== null) clearTimeout(conn.expiryTimer);
  conn.expiryTimer = null;
  const account = conn.account;
  for (const cid of await ctx.store.callsOfConn(conn.id)) {
    const state = await ctx.store.getCall(cid);
    if (!state || !account) continue;
    if (clean || ctx.graceMs <= 0) {
      await endCall(ctx, state, account, clean ? undefined : 'network');
      continue;
    }
    const key = `${cid}/${account}`;
    await ctx.store.markOrphan(key, ctx.now() + ctx.graceMs);
    let claimed = false;
    later(ctx, ctx.orphans, key, ctx.graceMs, async () => {
      // Claimed already: the device came back (on any node), or another node ended it. A run that claimed it and
      // then found the store down runs again (later()) holding its claim.
      if (!claimed && !(claimed = await ctx.store.claimOrphan(key))) return;
      const current = await ctx.store.getCall(cid);
      // Still this lost connection's to answer for: a device that came back took the call over.
      if (current && deviceOf(current, account) === conn.id) await endCall(ctx, current, account, 'network');
    });
    ctx.log.info({ cid, account, graceMs: ctx.graceMs }, 'device lost; call kept for its grace period');
  }
  await dropFromRooms(ctx, conn, clean);
  if (account) {
    await ctx.store.removeDevice(account, conn.id);
    // A callee whose last device left cannot answer any more: end the calls still ringing for it.
    if ((await ctx.store.devicesOf(account)).length === 0)
      for (const state of await ctx.store.ringingCallsFor(account))
        await endCall(ctx, state, account, 'network');
  }
  await ctx.store.forgetConn(conn.id);
}

/**
 * Places whose grace period ran out without their timer ending them: the node that lost the device went away
 * with its timer (several nodes). Whoever claims one ends it as that timer would have.
 */
export async function endExpiredOrphans(ctx: SignalingContext, now: number): Promise<void> {
  for (const key of await ctx.store.expiredOrphans(now)) {
    if (!(await ctx.store.claimOrphan(key))) continue;
    const cut = key.indexOf('/');
    const cid = key.slice(0, cut);
    const account = key.slice(cut + 1);
    const call = await ctx.store.getCall(cid);
    if (call) {
      await endCall(ctx, call, account, 'network');
      continue;
    }
    const room = await ctx.store.getRoom(cid);
    if (room?.members.some((member) => member.account === account))
      await leaveRoom(ctx, room, account, 'network');
  }
}

/**
 * A reconnected device takes the place `key` (`${cid}/${account}`) of its lost connection `lost`, in a call or
 * a room: true when that place was waiting for it. The mark decides, not the timer: the device may have been
 * lost on another node, whose timer this one cannot see.
 */
export async function takePlace(
  ctx: SignalingContext,
  key: string,
  lost: string | null,
  account: string,
): Promise<boolean> {
  if (!(await ctx.store.claimOrphan(key)) && !(await takeFromDeadNode(ctx, lost, account, key))) return false;
  clearTimer(ctx.orphans, key);
  return true;
}

/**
 * A device comes back (on this node) while the one it replaces is still on record at a node that died: the
 * cluster has not taken that one over yet, so it is lost here and now, and its place is claimed. Returns whether
 * the place (`key`) was claimed.
 */
async function takeFromDeadNode(
  ctx: SignalingContext,
  connId: string | null | undefined,
  account: string,
  key: string,
): Promise<boolean> {
  if (!connId || !ctx.lostElsewhere || !(await ctx.lostElsewhere(connId))) return false;
  await dropConnection(ctx, { id: connId, account, expiryTimer: null }, false);
  return ctx.store.claimOrphan(key);
}
