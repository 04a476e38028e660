/**
 * The op table: what each request means for the call state. Handlers decide; the store remembers; the hub
 * delivers. A handler throws NetcallError to refuse, and the caller turns it into a reply with that code.
 */
import { randomBytes } from 'crypto';
import {
  Code,
  NetcallError,
  type CallResult,
  type EmptyResult,
  type EndHint,
  type LoginResult,
  type Op,
  type RequestArgs,
  type RequestResults,
  type RtcUser,
  type StartRtcResult,
} from '../../services/protocol';
import { verifyToken } from '../auth/tokens';
import type { MediaPlane } from '../media/plane';
import type { CallState, Member, MemoryStore } from '../store/memory';
import type { Connection, Hub } from './hub';

/** How a call ended, for history and notices. `rejected`: the callee refused it (hint says why, if known). */
export interface CallEnd {
  by: string;
  hint?: EndHint;
  rejected: boolean;
  endedAt: number;
}

export interface SignalingContext {
  store: MemoryStore;
  hub: Hub;
  media: MediaPlane;
  secret: string;
  heartbeatMs: number;
  /** Requests one connection may make per second; more get 429 (the connection stays). */
  maxRequestsPerSecond: number;
  /** How long a call waits for a device whose socket dropped to come back before it ends with 'network'. */
  graceMs: number;
  /** Pending grace timers by `${cid}/${account}`. */
  orphans: Map<string, ReturnType<typeof setTimeout>>;
  /** Told about every call that ends (history, notices); must not throw into signalling. */
  onCallEnded?: (call: CallState, end: CallEnd) => void;
  now(): number;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

type Handler<O extends Op> = (ctx: SignalingContext, conn: Connection, args: RequestArgs[O]) => Outcome<O>;

/** The reply data, and what to deliver once the reply has gone out (so replies precede their events). */
export interface Outcome<O extends Op> {
  result: RequestResults[O];
  after?: () => void;
}

let uidCounter = 100000;
const newUid = () => String(++uidCounter);
const newCid = () => randomBytes(8).toString('hex');
const EMPTY: EmptyResult = {};

function requireLogin(conn: Connection): string {
  if (!conn.account) throw new NetcallError(Code.UNAUTHORIZED, 'login first');
  return conn.account;
}

function findCall(ctx: SignalingContext, conn: Connection, cid: string | undefined): CallState {
  const id = cid ?? conn.currentCid;
  if (!id) throw new NetcallError(Code.NOT_FOUND, 'no current call');
  const call = ctx.store.getCall(id);
  if (!call) throw new NetcallError(Code.NOT_FOUND, `call ${id} not found`);
  return call;
}

/** The device that speaks for `account` in this call, or null while the callee has not answered. */
function deviceOf(call: CallState, account: string): string | null {
  return account === call.caller ? call.callerConn : call.calleeConn;
}

function isParticipantDevice(call: CallState, conn: Connection): boolean {
  return conn.id === call.callerConn || conn.id === call.calleeConn;
}

/**
 * A device that reconnects gets a new connection: if this account's device in the call is gone (its grace
 * timer is running), the new connection takes its place. Returns whether `conn` now speaks for the account.
 */
function claimIfOrphaned(ctx: SignalingContext, call: CallState, conn: Connection): boolean {
  if (isParticipantDevice(call, conn)) return true;
  const account = conn.account;
  if (!account || (account !== call.caller && account !== call.callee)) return false;
  const key = `${call.cid}/${account}`;
  const timer = ctx.orphans.get(key);
  if (timer === undefined) return false;
  clearTimeout(timer);
  ctx.orphans.delete(key);
  if (account === call.caller) call.callerConn = conn.id;
  else call.calleeConn = conn.id;
  ctx.store.putCall(call);
  conn.currentCid = call.cid;
  ctx.log.info({ cid: call.cid, account, conn: conn.id }, 'device rejoined its call');
  return true;
}

function userEntry(ctx: SignalingContext, member: Member, forSelf: boolean): RtcUser {
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

/**
 * Forgets a call everywhere (store, grace timers, its devices' current call, media) and reports how it ended.
 * Returns false when it was already gone (e.g. a grace timer racing a hangup). Telling the parties is the
 * caller's job: a hangup and a rejection are told differently.
 */
function closeCall(ctx: SignalingContext, call: CallState, end: CallEnd): boolean {
  if (!ctx.store.deleteCall(call.cid)) return false;
  for (const account of [call.caller, call.callee]) {
    const key = `${call.cid}/${account}`;
    const timer = ctx.orphans.get(key);
    if (timer !== undefined) clearTimeout(timer);
    ctx.orphans.delete(key);
  }
  for (const member of Object.values(call.members)) ctx.media.revoke(member.stream);
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
 * Ends a call for everyone. `by` hung up (or dropped); every other party is told with `clientLeave` for each
 * member that was in the RTC session and then `hangup`. Media URLs of the call are revoked.
 */
export function endCall(ctx: SignalingContext, call: CallState, by: string, hint?: EndHint): void {
  const timetag = ctx.now();
  if (!closeCall(ctx, call, { by, hint, rejected: false, endedAt: timetag })) return;
  const others = call.caller === by ? call.callee : call.caller;
  const leaving = call.members[by];
  // While ringing, every device of the callee rings, so every one of them must stop.
  const targets =
    call.phase === 'ringing' && others === call.callee
      ? ctx.store.devicesOf(call.callee)
      : [deviceOf(call, others)].filter((id): id is string => id !== null);
  if (leaving && call.members[others])
    ctx.hub.emitMany(targets, 'clientLeave', { cid: call.cid, account: by, uid: leaving.uid });
  ctx.hub.emitMany(targets, 'hangup', {
    cid: call.cid,
    account: by,
    timetag,
    ...(hint ? { reason: hint } : {}),
  });
}

const login: Handler<'login'> = (ctx, conn, { token }) => {
  if (conn.account) throw new NetcallError(Code.BAD_REQUEST, 'already logged in');
  const account = verifyToken(ctx.secret, token);
  conn.account = account;
  ctx.store.addDevice(account, conn.id);
  const result: LoginResult = { account, heartbeat: ctx.heartbeatMs };
  return { result };
};

const call: Handler<'call'> = (ctx, conn, args) => {
  const caller = requireLogin(conn);
  if (args.callee === caller) throw new NetcallError(Code.BAD_REQUEST, 'cannot call yourself');
  if (conn.currentCid && ctx.store.getCall(conn.currentCid))
    throw new NetcallError(Code.CONFLICT, 'already in a call');
  const calleeDevices = ctx.store.devicesOf(args.callee);
  if (calleeDevices.length === 0)
    throw new NetcallError(Code.NOT_FOUND, `callee "${args.callee}" is not online`);
  const state: CallState = {
    cid: newCid(),
    caller,
    callee: args.callee,
    type: args.type,
    custom: args.pushConfig?.custom,
    phase: 'ringing',
    callerConn: conn.id,
    calleeConn: null,
    uids: { [caller]: newUid(), [args.callee]: newUid() },
    members: {},
    createdAt: ctx.now(),
  };
  ctx.store.putCall(state);
  conn.currentCid = state.cid;
  const result: CallResult = { cid: state.cid, accountUidMap: { ...state.uids } };
  return {
    result,
    after: () =>
      ctx.hub.emitMany(calleeDevices, 'beCalling', {
        caller,
        type: state.type,
        cid: state.cid,
        ...(state.custom === undefined ? {} : { custom: state.custom }),
      }),
  };
};

const response: Handler<'response'> = (ctx, conn, args) => {
  const account = requireLogin(conn);
  const state = ctx.store.getCall(args.cid);
  if (!state) throw new NetcallError(Code.NOT_FOUND, `call ${args.cid} not found`);
  if (state.callee !== account) throw new NetcallError(Code.FORBIDDEN, 'not your call to answer');
  if (state.phase !== 'ringing') throw new NetcallError(Code.CONFLICT, 'call was already answered');
  if (args.caller !== state.caller)
    throw new NetcallError(Code.BAD_REQUEST, 'caller does not match the call');
  const timetag = ctx.now();
  const otherDevices = ctx.store.devicesOf(account).filter((id) => id !== conn.id);
  const answer = {
    cid: state.cid,
    account,
    type: state.type,
    ...(args.reason ? { reason: args.reason } : {}),
  };
  const sync = { timetag, cid: state.cid, type: state.type, accepted: args.accepted, fromClientType: 'web' };
  if (args.accepted) {
    state.phase = 'accepted';
    state.answeredAt = timetag;
    state.calleeConn = conn.id;
    ctx.store.putCall(state);
    conn.currentCid = state.cid;
    return {
      result: EMPTY,
      after: () => {
        ctx.hub.emit(state.callerConn, 'callAccepted', answer);
        ctx.hub.emitMany(otherDevices, 'callerAckSync', sync);
      },
    };
  }
  closeCall(ctx, state, { by: account, hint: args.reason, rejected: true, endedAt: timetag });
  return {
    result: EMPTY,
    after: () => {
      ctx.hub.emit(state.callerConn, 'callRejected', answer);
      ctx.hub.emitMany(otherDevices, 'callerAckSync', sync);
    },
  };
};

const hangup: Handler<'hangup'> = (ctx, conn, { cid, reason }) => {
  const account = requireLogin(conn);
  const state = findCall(ctx, conn, cid);
  const ringingCallee = state.phase === 'ringing' && account === state.callee;
  if (!claimIfOrphaned(ctx, state, conn) && !ringingCallee)
    throw new NetcallError(Code.FORBIDDEN, 'not your call to hang up');
  return { result: EMPTY, after: () => endCall(ctx, state, account, reason) };
};

const startRtc: Handler<'startRtc'> = (ctx, conn, { mode, cid }) => {
  const account = requireLogin(conn);
  const state = findCall(ctx, conn, cid);
  if (!claimIfOrphaned(ctx, state, conn)) throw new NetcallError(Code.FORBIDDEN, 'not your call');
  if (state.phase !== 'accepted') throw new NetcallError(Code.CONFLICT, 'call is not answered yet');
  const uid = state.uids[account];
  const existing = state.members[account];
  const member: Member = existing
    ? { ...existing, mode, connId: conn.id }
    : { account, uid, mode, connId: conn.id, stream: ctx.media.streamName(state.cid, uid) };
  state.members[account] = member;
  ctx.store.putCall(state);
  ctx.media.authorize(member.stream);
  const result: StartRtcResult = { uid, account, cid: state.cid };
  const others = Object.values(state.members).filter((m) => m.account !== account);
  return {
    result,
    after: () => {
      ctx.hub.emit(conn.id, 'syncDone', {
        code: Code.OK,
        errmsg: '',
        cid: state.cid,
        userlist: [userEntry(ctx, member, true), ...others.map((m) => userEntry(ctx, m, false))],
      });
      // A repeated startRtc (after a reconnect) is a rejoin: peers see the fresh entry as a join again.
      for (const other of others)
        ctx.hub.emit(other.connId, 'clientJoin', { cid: state.cid, ...userEntry(ctx, member, false) });
    },
  };
};

const control: Handler<'control'> = (ctx, conn, { command, cid }) => {
  const account = requireLogin(conn);
  const state = findCall(ctx, conn, cid);
  // A ringing callee may talk to the caller before answering: that is how NetEase's BUSY (9) travels.
  const ringingCallee = state.phase === 'ringing' && account === state.callee;
  if (!claimIfOrphaned(ctx, state, conn) && !ringingCallee)
    throw new NetcallError(Code.FORBIDDEN, 'not your call');
  const peer = deviceOf(state, account === state.caller ? state.callee : state.caller);
  if (!peer) throw new NetcallError(Code.CONFLICT, 'call is not answered yet');
  return { result: EMPTY, after: () => ctx.hub.emit(peer, 'control', { cid: state.cid, account, command }) };
};

const ping: Handler<'ping'> = (_ctx, conn) => {
  requireLogin(conn);
  return { result: EMPTY };
};

export const handlers: { [O in Op]: Handler<O> } = { login, call, response, hangup, startRtc, control, ping };

/** Ends every session of an account now (admin action, or a business-server decision): `kicked`, then close. */
export function kickAccount(ctx: SignalingContext, account: string, reason: string): number {
  const devices = ctx.store.devicesOf(account);
  for (const connId of devices) {
    const conn = ctx.hub.get(connId);
    if (!conn) continue;
    conn.closingOnPurpose = true;
    ctx.hub.emit(connId, 'kicked', { reason });
    for (const cid of ctx.store.callsOfConn(connId)) {
      const state = ctx.store.getCall(cid);
      if (state) endCall(ctx, state, account);
    }
    conn.socket.close(KICKED_CLOSE, reason.slice(0, 100));
  }
  return devices.length;
}

export const KICKED_CLOSE = 4403;

/**
 * A socket went away. A clean close (the app left) ends its calls at once, as a hangup; an abnormal one (network)
 * keeps them for `graceMs` so the device can reconnect and rejoin, then ends them with the hint 'network'.
 */
export function dropConnection(ctx: SignalingContext, conn: Connection, clean: boolean): void {
  for (const cid of ctx.store.callsOfConn(conn.id)) {
    const state = ctx.store.getCall(cid);
    const account = conn.account;
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
  if (conn.account) {
    ctx.store.removeDevice(conn.account, conn.id);
    // A callee whose last device left cannot answer any more: end the calls still ringing for it.
    if (ctx.store.devicesOf(conn.account).length === 0)
      for (const state of ctx.store.ringingCallsFor(conn.account))
        endCall(ctx, state, conn.account, 'network');
  }
  ctx.store.forgetConn(conn.id);
}
