/**
 * What every op handler shares: the handler and outcome shapes, ids, and the checks that come first (logged
 * in, not already busy). No call or room logic here.
 */
import { randomFillSync } from 'crypto';
import {
  Code,
  NetcallError,
  type EmptyResult,
  type Op,
  type RequestArgs,
  type RequestResults,
} from '../../services/protocol';
import type { SignalingContext } from './context';
import type { Connection } from './hub';

export type Handler<O extends Op> = (
  ctx: SignalingContext,
  conn: Connection,
  args: RequestArgs[O],
) => Promise<Outcome<O>>;

/** The reply data, and what to deliver once the reply has gone out (so replies precede their events). */
export interface Outcome<O extends Op> {
  result: RequestResults[O];
  after?: () => void | Promise<void>;
}

export const EMPTY: EmptyResult = {};

let uidCounter = 100000;
/** NetEase's uids are numbers; ours are their decimal strings, unique per server process. */
export const newUid = (): string => String(++uidCounter);

/**
 * Random bytes for cids, drawn a page at a time: a cid is 8 of them, and asking the CSPRNG for 8 bytes costs
 * about ten times the hex of them. The same generator either way, so cids are as unguessable as before.
 */
const cidBytes = Buffer.alloc(4096);
let cidOffset = cidBytes.length;
export function newCid(): string {
  if (cidOffset + 8 > cidBytes.length) {
    randomFillSync(cidBytes);
    cidOffset = 0;
  }
  const cid = cidBytes.toString('hex', cidOffset, cidOffset + 8);
  cidOffset += 8;
  return cid;
}

export function requireLogin(conn: Connection): string {
  if (!conn.account) throw new NetcallError(Code.UNAUTHORIZED, 'login first');
  return conn.account;
}

/** A device takes part in one call or room at a time, as with NetEase's SDK. */
export async function refuseIfBusy(ctx: SignalingContext, conn: Connection): Promise<void> {
  const cid = conn.currentCid;
  if (cid && ((await ctx.store.getCall(cid)) || (await ctx.store.getRoom(cid))))
    throw new NetcallError(Code.CONFLICT, 'already in a call or room');
}

/**
 * The abuse caps every call counts against, 1:1 or group: calls ringing per caller, calls per caller→callee
 * pair a minute. Called last, right before the call is placed, so refused attempts use up no quota.
 */
export async function countCall(ctx: SignalingContext, caller: string, callees: string[]): Promise<void> {
  const ringing =
    (await ctx.store.ringingCallsBy(caller)).length + (await ctx.store.ringingRoomsBy(caller)).length;
  if (ringing >= ctx.limits.maxRingingPerCaller)
    throw new NetcallError(
      Code.RATE_LIMITED,
      `more than ${ctx.limits.maxRingingPerCaller} calls ringing at once`,
    );
  const now = ctx.now();
  let over: string | undefined;
  for (const callee of callees) {
    const key = `pair\n${caller}\n${callee}`;
    if (await ctx.store.tryHit(key, ctx.limits.maxCallsPerPairPerMinute, 60_000, now)) continue;
    over = callee;
    break;
  }
  if (over !== undefined)
    throw new NetcallError(
      Code.RATE_LIMITED,
      `more than ${ctx.limits.maxCallsPerPairPerMinute} calls to "${over}" in a minute`,
    );
}
