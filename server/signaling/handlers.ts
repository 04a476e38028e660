/**
 * The op table: what each request means for the call state. Handlers decide; the store remembers; the hub
 * delivers. A handler throws NetcallError to refuse, and the caller turns it into a reply with that code.
 * Nothing here is keyed by a plain object: accounts are user input.
 */
import {
  Code,
  NetcallError,
  type CallResult,
  type LoginResult,
  type Op,
  type StartRtcResult,
} from '../../services/protocol';
import type { CallState, Member } from '../store/types';
import {
  takePlace,
  closeCall,
  closeOnPurpose,
  deviceOf,
  endCall,
  memberOf,
  peerOf,
  startRingTimer,
  stopRingTimer,
  syncDoneFor,
  userEntry,
} from './calls';
import { EMPTY, countCall, newCid, newUid, refuseIfBusy, requireLogin, type Handler } from './common';
import { CloseCode, type SignalingContext } from './context';
import type { Connection } from './hub';
import { MAX_TIMER_MS } from './limits';
import {
  changeRoleToAudience,
  changeRoleToPlayer,
  inviteCoHost,
  removeCoHost,
  requestCoHost,
  respondCoHost,
  respondCoHostInvite,
  sendRoomMessage,
} from './live-ops';
import {
  answerGroupCall,
  controlInRoom,
  createChannel,
  findRoom,
  hangupInRoom,
  inviteToCall,
  isRoom,
  joinChannel,
  leaveChannel,
  placeGroupCall,
  startRtcInRoom,
} from './rooms';

export { dropConnection, kickAccount } from './calls';
export type { CallEnd, SignalingContext } from './context';

export type { Outcome } from './common';

async function findCall(
  ctx: SignalingContext,
  conn: Connection,
  cid: string | undefined,
): Promise<CallState> {
  const id = cid ?? conn.currentCid;
  if (!id) throw new NetcallError(Code.NOT_FOUND, 'no current call');
  const call = await ctx.store.getCall(id);
  if (!call) throw new NetcallError(Code.NOT_FOUND, `call ${id} not found`);
  return call;
}

function isParticipantDevice(call: CallState, conn: Connection): boolean {
  return conn.id === call.callerConn || conn.id === call.calleeConn;
}

/**
 * A device that reconnects gets a new connection: if this account's device in the call is gone (its grace
 * timer is running), the new connection takes its place. Returns whether `conn` now speaks for the account.
 */
async function claimIfOrphaned(ctx: SignalingContext, call: CallState, conn: Connection): Promise<boolean> {
  if (isParticipantDevice(call, conn)) return true;
  const account = conn.account;
  if (!account || (account !== call.caller && account !== call.callee)) return false;
  if (!(await takePlace(ctx, `${call.cid}/${account}`, deviceOf(call, account), account))) return false;
  if (account === call.caller) call.callerConn = conn.id;
  else call.calleeConn = conn.id;
  await ctx.store.putCall(call);
  conn.currentCid = call.cid;
  ctx.log.info({ cid: call.cid, account, conn: conn.id }, 'device rejoined its call');
  return true;
}

const expiresIn = (ctx: SignalingContext, exp: number): number =>
  Math.max(0, exp - Math.floor(ctx.now() / 1000));

/**
 * Ends the session when its token expires (4401), unless `renewToken` re-arms this with a later `exp` first.
 * Long delays are waited in steps: setTimeout fires at once past 2^31-1 ms, and tokens may live 30 days.
 */
function scheduleExpiry(ctx: SignalingContext, conn: Connection, exp: number): void {
  if (conn.expiryTimer !== null) clearTimeout(conn.expiryTimer);
  const arm = (): void => {
    const left = exp * 1000 - ctx.now();
    conn.expiryTimer = setTimeout(
      () => {
        conn.expiryTimer = null;
        if (exp * 1000 > ctx.now()) return arm();
        ctx.log.info({ conn: conn.id, account: conn.account }, 'session ended: token expired');
        closeOnPurpose(ctx, conn, CloseCode.UNAUTHORIZED, 'token expired');
      },
      Math.min(Math.max(0, left), MAX_TIMER_MS),
    );
    conn.expiryTimer.unref?.();
  };
  arm();
}

const login: Handler<'login'> = async (ctx, conn, { token }) => {
  if (conn.account) throw new NetcallError(Code.BAD_REQUEST, 'already logged in');
  const { account, exp, iat } = ctx.tokens.verify(token);
  if ((await ctx.store.devicesOf(account)).length >= ctx.limits.maxDevicesPerAccount)
    throw new NetcallError(
      Code.RATE_LIMITED,
      `"${account}" already has ${ctx.limits.maxDevicesPerAccount} devices online`,
    );
  // Stored first: a store that fails here leaves the connection logged out rather than half logged in.
  await ctx.store.addDevice(account, conn.id);
  conn.account = account;
  conn.tokenIat = iat;
  scheduleExpiry(ctx, conn, exp);
  const result: LoginResult = { account, heartbeat: ctx.heartbeatMs, exp, expiresIn: expiresIn(ctx, exp) };
  return { result };
};

const renewToken: Handler<'renewToken'> = async (ctx, conn, { token }) => {
  const account = requireLogin(conn);
  const { account: subject, exp, iat } = ctx.tokens.verify(token);
  if (subject !== account)
    throw new NetcallError(Code.FORBIDDEN, `the token is for "${subject}", this session is "${account}"`);
  // A renewal never makes the session older: a token without iat (or an earlier one) keeps the one it had.
  if (iat !== undefined && (conn.tokenIat === undefined || iat > conn.tokenIat)) conn.tokenIat = iat;
  scheduleExpiry(ctx, conn, exp);
  return { result: { exp, expiresIn: expiresIn(ctx, exp) } };
};

const call: Handler<'call'> = async (ctx, conn, args) => {
  const caller = requireLogin(conn);
  // An array, even of one, is a group call (NetEase's team call): a room that can ring more in later.
  if (Array.isArray(args.callee)) return placeGroupCall(ctx, conn, caller, { ...args, callee: args.callee });
  const callee = args.callee;
  if (callee === caller) throw new NetcallError(Code.BAD_REQUEST, 'cannot call yourself');
  await refuseIfBusy(ctx, conn);
  const calleeDevices = await ctx.store.devicesOf(callee);
  if (calleeDevices.length === 0) throw new NetcallError(Code.NOT_FOUND, `callee "${callee}" is not online`);
  await countCall(ctx, caller, [callee]);
  const state: CallState = {
    cid: newCid(),
    caller,
    callee,
    type: args.type,
    custom: args.pushConfig?.custom,
    phase: 'ringing',
    callerConn: conn.id,
    calleeConn: null,
    callerUid: newUid(),
    calleeUid: newUid(),
    members: [],
    createdAt: ctx.now(),
  };
  await ctx.store.putCall(state);
  conn.currentCid = state.cid;
  startRingTimer(ctx, state.cid);
  const result: CallResult = {
    cid: state.cid,
    // Computed keys define own properties, so an account named `__proto__` is a key like any other (and unlike
    // Object.fromEntries, whose dictionary-mode result cost a tenth of the handler).
    accountUidMap: { [caller]: state.callerUid, [state.callee]: state.calleeUid },
  };
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

const response: Handler<'response'> = async (ctx, conn, args) => {
  const account = requireLogin(conn);
  const room = await ctx.store.getRoom(args.cid);
  if (room) return answerGroupCall(ctx, conn, room, account, args);
  const state = await ctx.store.getCall(args.cid);
  if (!state) throw new NetcallError(Code.NOT_FOUND, `call ${args.cid} not found`);
  if (state.callee !== account) throw new NetcallError(Code.FORBIDDEN, 'not your call to answer');
  if (state.phase !== 'ringing') throw new NetcallError(Code.CONFLICT, 'call was already answered');
  if (args.caller !== state.caller)
    throw new NetcallError(Code.BAD_REQUEST, 'caller does not match the call');
  const timetag = ctx.now();
  const otherDevices = (await ctx.store.devicesOf(account)).filter((id) => id !== conn.id);
  const answer = {
    cid: state.cid,
    account,
    type: state.type,
    ...(args.reason ? { reason: args.reason } : {}),
  };
  const sync = { timetag, cid: state.cid, type: state.type, accepted: args.accepted, fromClientType: 'web' };
  if (args.accepted) {
    await refuseIfBusy(ctx, conn);
    stopRingTimer(ctx, state.cid);
    state.phase = 'accepted';
    state.answeredAt = timetag;
    state.calleeConn = conn.id;
    await ctx.store.putCall(state);
    conn.currentCid = state.cid;
    return {
      result: EMPTY,
      after: () => {
        ctx.hub.emit(state.callerConn, 'callAccepted', answer);
        ctx.hub.emitMany(otherDevices, 'callerAckSync', sync);
      },
    };
  }
  await closeCall(ctx, state, { by: account, hint: args.reason, rejected: true, endedAt: timetag });
  return {
    result: EMPTY,
    after: () => {
      ctx.hub.emit(state.callerConn, 'callRejected', answer);
      ctx.hub.emitMany(otherDevices, 'callerAckSync', sync);
    },
  };
};

const hangup: Handler<'hangup'> = async (ctx, conn, { cid, reason }) => {
  const account = requireLogin(conn);
  if (await isRoom(ctx, conn, cid))
    return hangupInRoom(ctx, conn, await findRoom(ctx, conn, cid), account, reason);
  const state = await findCall(ctx, conn, cid);
  const ringingCallee = state.phase === 'ringing' && account === state.callee;
  if (!(await claimIfOrphaned(ctx, state, conn)) && !ringingCallee)
    throw new NetcallError(Code.FORBIDDEN, 'not your call to hang up');
  return { result: EMPTY, after: () => endCall(ctx, state, account, reason) };
};

const startRtc: Handler<'startRtc'> = async (ctx, conn, { mode, cid }) => {
  const account = requireLogin(conn);
  if (await isRoom(ctx, conn, cid)) return startRtcInRoom(ctx, conn, await findRoom(ctx, conn, cid), mode);
  const state = await findCall(ctx, conn, cid);
  if (!(await claimIfOrphaned(ctx, state, conn))) throw new NetcallError(Code.FORBIDDEN, 'not your call');
  if (state.phase !== 'accepted') throw new NetcallError(Code.CONFLICT, 'call is not answered yet');
  const uid = account === state.caller ? state.callerUid : state.calleeUid;
  const existing = memberOf(state, account);
  if (!existing) await ctx.media.place?.(state.cid);
  const member: Member = existing
    ? { ...existing, mode, connId: conn.id }
    : { account, uid, mode, connId: conn.id, stream: ctx.media.streamName(state.cid, uid) };
  state.members = [...state.members.filter((m) => m.account !== account), member];
  await ctx.store.putCall(state);
  ctx.media.authorize(member.stream);
  const result: StartRtcResult = { uid, account, cid: state.cid };
  const others = state.members.filter((m) => m !== member);
  // Members of a 1:1 call stay until it ends, so this is the second side's first startRtc, once per call.
  const setUp = !existing && others.length === 1;
  return {
    result,
    after: () => {
      if (setUp) tellSetUp(ctx, state);
      ctx.hub.emit(conn.id, 'syncDone', syncDoneFor(ctx, state, member));
      // A repeated startRtc (after a reconnect) is a rejoin: peers see the fresh entry as a join again.
      for (const other of others)
        ctx.hub.emit(other.connId, 'clientJoin', { cid: state.cid, ...userEntry(ctx, member, false) });
    },
  };
};

/** After the reply that set the call up was written: metrics must not cost the call its delivery. */
function tellSetUp(ctx: SignalingContext, state: CallState): void {
  try {
    ctx.onCallSetUp?.(state, ctx.now());
  } catch (error) {
    ctx.log.warn({ cid: state.cid, err: String(error) }, 'onCallSetUp failed');
  }
}

const control: Handler<'control'> = async (ctx, conn, { command, cid }) => {
  const account = requireLogin(conn);
  if (await isRoom(ctx, conn, cid)) return controlInRoom(ctx, conn, await findRoom(ctx, conn, cid), command);
  const state = await findCall(ctx, conn, cid);
  // A ringing callee may talk to the caller before answering: that is how NetEase's BUSY (9) travels.
  const ringingCallee = state.phase === 'ringing' && account === state.callee;
  if (!(await claimIfOrphaned(ctx, state, conn)) && !ringingCallee)
    throw new NetcallError(Code.FORBIDDEN, 'not your call');
  const peer = deviceOf(state, peerOf(state, account));
  if (!peer) throw new NetcallError(Code.CONFLICT, 'call is not answered yet');
  return { result: EMPTY, after: () => ctx.hub.emit(peer, 'control', { cid: state.cid, account, command }) };
};

const ping: Handler<'ping'> = async (_ctx, conn) => {
  requireLogin(conn);
  return { result: EMPTY };
};

export const handlers: { [O in Op]: Handler<O> } = {
  login,
  renewToken,
  call,
  response,
  hangup,
  startRtc,
  control,
  ping,
  createChannel,
  joinChannel,
  leaveChannel,
  inviteToCall,
  changeRoleToPlayer,
  changeRoleToAudience,
  requestCoHost,
  respondCoHost,
  inviteCoHost,
  respondCoHostInvite,
  removeCoHost,
  sendRoomMessage,
};
