/**
 * What signalling does for a cluster of nodes on one Redis (server/store/cluster.ts carries the messages):
 * take over the devices of a node that died, move the media of calls whose media node is gone or going, and
 * put this node's own devices back in the store after Redis lost them. Each runs in `store.exclusive`.
 */
import { dropConnection, refreshCallMedia } from './calls';
import type { CallState, RoomState } from '../store/types';
import type { SignalingContext } from './context';
import { conns } from './room-state';
import { refreshRoomMedia } from './rooms';
import { LIVE_STREAM_UID, audienceOf, liveUrls } from './live';

/**
 * The devices a dead node held are lost connections: each call and room they are in waits its grace period for
 * them (they are reconnecting to another node), then ends, as when a socket drops on one node.
 */
export async function takeOver(
  ctx: SignalingContext,
  conns: Array<{ connId: string; account: string | null }>,
): Promise<void> {
  for (const { connId, account } of conns)
    await ctx.store.exclusive(() => dropConnection(ctx, { id: connId, account, expiryTimer: null }, false));
}

/**
 * Calls and rooms whose media node `from` is gone (or going) move to another node's media server: their
 * streams get names there, and every member still connected gets a fresh `syncDone` to rebind its pusher and
 * players. A member whose device was on `from` gets its own when it rejoins. Returns how many moved.
 */
export async function moveMedia(
  ctx: SignalingContext,
  from: string,
  nodeOf: (stream: string) => string,
): Promise<number> {
  let moved = 0;
  const on = (stream: string) => nodeOf(stream) === from;
  const callOn = (call: CallState) => call.members.some((member) => on(member.stream));
  const roomOn = (room: RoomState) =>
    room.members.some((member) => member.rtc !== null && on(member.rtc.stream)) ||
    (room.live !== undefined && on(room.live.stream));
  // Only what is on `from` takes the lock, and is read again under it.
  for (const { cid } of (await ctx.store.allCalls()).filter(callOn))
    await ctx.store.exclusive(async () => {
      const call = await ctx.store.getCall(cid);
      if (!call || !callOn(call)) return;
      await ctx.media.place?.(cid, from);
      for (const member of call.members) member.stream = ctx.media.streamName(cid, member.uid);
      await ctx.store.putCall(call);
      moved++;
      refreshCallMedia(ctx, call);
    });
  for (const { cid } of (await ctx.store.allRooms()).filter(roomOn))
    await ctx.store.exclusive(async () => {
      const room = await ctx.store.getRoom(cid);
      if (!room || !roomOn(room)) return;
      await ctx.media.place?.(cid, from);
      for (const member of room.members)
        if (member.rtc) member.rtc.stream = ctx.media.streamName(cid, member.uid);
      if (room.live) room.live.stream = ctx.media.streamName(cid, LIVE_STREAM_UID);
      await ctx.store.putRoom(room);
      moved++;
      refreshRoomMedia(ctx, room);
      if (room.live) {
        // Players of the audience hold the old node's URL: nothing else would tell them where it plays now.
        const { rtmp, flv, h5 } = liveUrls(ctx, room);
        ctx.hub.emitMany(conns(audienceOf(room)), 'liveStreamMoved', { cid, live: { rtmp, flv, h5 } });
      }
    });
  return moved;
}

/**
 * Redis came back (possibly empty, possibly without what this node wrote while it was away): the devices this
 * node holds are put back, and those the store still has for it but it no longer holds are dropped.
 */
export async function reconcile(ctx: SignalingContext, node: string): Promise<void> {
  const held = new Map(ctx.hub.all().flatMap((conn) => (conn.account ? [[conn.id, conn.account]] : [])));
  await ctx.store.exclusive(async () => {
    for (const [connId, account] of held) await ctx.store.addDevice(account, connId);
  });
  const stored = await ctx.store.connsOfNode?.(node);
  const gone = (stored ?? []).filter(({ connId }) => !held.has(connId));
  if (gone.length > 0) await takeOver(ctx, gone);
}
