/**
 * How calls end, and what the server does to calls on its own: ring timeouts, lost devices (grace period),
 * kicks, expired sessions, shutdown, and handing live members fresh URLs after the media plane restarted.
 * Every end goes through `closeCall`, so each call is forgotten, revoked and reported exactly once.
 */
import { Code, type EndHint, type RtcUser, type SyncDoneEvent } from '../../services/protocol';
import type { CallState, Member } from '../store/types';
import { CloseCode, type CallEnd, type SignalingContext } from './context';
import type { Connection } from './hub';
import { dropFromRooms, endAllRooms, refreshRoomMedia } from './rooms';

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
function devicesToTell(ctx: SignalingContext, call: CallState, account: string): string[] {
  if (call.phase === 'ringing' && account === call.callee) return ctx.store.devicesOf(call.callee);
  const device = deviceOf(call, account);
  return device === null ? [] : [device];
}

function clearTimer(timers: Map<string, ReturnType<typeof setTimeout>>, key: string): void {
  const timer = timers.get(key);
  if (timer !== undefined) clearTimeout(timer);
  timers.delete(key);
}

/**
 * Forgets a call everywhere (store, timers, its devices' current call, media) and reports how it ended.
 * Returns false when it was already gone (e.g. a grace timer racing a hangup). Telling the parties is the
 * caller's job: a hangup and a rejection are told differently.
 */
export function closeCall(ctx: SignalingContext, call: CallState, end: CallEnd): boolean {
  if (!ctx.store.deleteCall(call.cid)) return false;
  for (const account of [call.caller, call.callee]) clearTimer(ctx.orphans, `${call.cid}/${account}`);
  clearTimer(ctx.ringTimers, call.cid);
  for (const member of call.members) ctx.media.revoke(member.stream);
  for (const connId of [call.callerConn, call.calleeConn]) {
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
export function endCall(ctx: SignalingContext, call: CallState, by: string, hint?: EndHint): void {
  const timetag = ctx.now();
  const targets = devicesToTell(ctx, call, peerOf(call, by));
  if (!closeCall(ctx, call, { by, hint, rejected: false, endedAt: timetag })) return;
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
export function endCallByServer(ctx: SignalingContext, call: CallState, hint: EndHint): void {
  const timetag = ctx.now();
  const sides = [call.caller, call.callee].map((account) => ({
    account,
    targets: devicesToTell(ctx, call, account),
  }));
  if (!closeCall(ctx, call, { by: '', hint, rejected: false, endedAt: timetag })) return;
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
  const timer = setTimeout(() => {
    ctx.ringTimers.delete(cid);
    const call = ctx.store.getCall(cid);
    if (call && call.phase === 'ringing') endCallByServer(ctx, call, 'timeout');
  }, ctx.limits.ringTimeoutMs);
  timer.unref?.();
  ctx.ringTimers.set(cid, timer);
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

/** Ends every session of an account now (admin action, or a business-server decision): `kicked`, then close. */
export function kickAccount(ctx: SignalingContext, account: string, reason: string): number {
  // Refused from now on: the token the kicked devices hold must not log them straight back in.
  ctx.tokens.revoke(account);
  const devices = ctx.store.devicesOf(account);
  for (const connId of devices) {
    const conn = ctx.hub.get(connId);
    if (!conn) continue;
    ctx.hub.emit(connId, 'kicked', { reason });
    closeOnPurpose(ctx, conn, CloseCode.KICKED, reason);
  }
  return devices.length;
}

/**
 * Ends a session the server chose to end, now rather than when the close handshake completes: its calls end
 * at once (no grace period), the device stops being the account's, then the socket is closed.
 */
export function closeOnPurpose(ctx: SignalingContext, conn: Connection, code: number, reason: string): void {
  conn.closingOnPurpose = true;
  dropConnection(ctx, conn, true);
  conn.account = null;
  conn.socket.close(code, closeReason(reason));
}

/** Shutdown: every call ends for every party with reason `network`, before the sockets are told to go. */
export function endAllCalls(ctx: SignalingContext): void {
  for (const call of ctx.store.allCalls()) endCallByServer(ctx, call, 'network');
  endAllRooms(ctx);
}

/**
 * The media plane came back after dying: every connection to it was lost, so every member of a live call gets
 * a fresh `syncDone` (new URLs) and rebinds its pusher and players.
 */
export function refreshMedia(ctx: SignalingContext): void {
  for (const call of ctx.store.allCalls())
    for (const member of call.members) {
      ctx.media.authorize(member.stream);
      ctx.hub.emit(member.connId, 'syncDone', syncDoneFor(ctx, call, member));
    }
  refreshRoomMedia(ctx);
}

/**
 * A socket went away. A clean close (the app left) ends its calls at once, as a hangup; an abnormal one (network)
 * keeps them for `graceMs` so the device can reconnect and rejoin, then ends them with the hint 'network'.
 */
export function dropConnection(ctx: SignalingContext, conn: Connection, clean: boolean): void {
  if (conn.expiryTimer !== null) clearTimeout(conn.expiryTimer);
  conn.expiryTimer = null;
  const account = conn.account;
  for (const cid of ctx.store.callsOfConn(conn.id)) {
    const state = ctx.store.getCall(cid);
    if (!state || !account) continue;
    if (clean || ctx.graceMs <= 0) {
      endCall(ctx, state, account, clean ? undefined : 'network');
      continue;
    }
    const key = `${cid}/${account}`;
    const timer = setTimeout(() => {
      ctx.orphans.delete(key);
      const current = ctx.store.getCall(cid);
      if (current) endCall(ctx, current, account, 'network');
    }, ctx.graceMs);
    timer.unref?.();
    ctx.orphans.set(key, timer);
    ctx.log.info({ cid, account, graceMs: ctx.graceMs }, 'device lost; call kept for its grace period');
  }
  dropFromRooms(ctx, conn, clean);
  if (account) {
    ctx.store.removeDevice(account, conn.id);
    // A callee whose last device left cannot answer any more: end the calls still ringing for it.
    if (ctx.store.devicesOf(account).length === 0)
      for (const state of ctx.store.ringingCallsFor(account)) endCall(ctx, state, account, 'network');
  }
  ctx.store.forgetConn(conn.id);
}
