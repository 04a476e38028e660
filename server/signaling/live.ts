/**
 * Interactive live: a room its creator joined with `liveEnable`. Owns the rules of its state: roles (one host,
 * co-hosts: the stage, in RTC; the audience: off stage, playing the mixed live stream), pending co-host requests
 * and invites (each times out as a refusal with reason `timeout`), the audience count (to members at most once a
 * second), joining, the room's close (`liveRoomClose`, the host's summary), the directory's entries, and when the
 * mix hook hears of the stage.
 *
 * Everything a live room is lives in its RoomState (`live`, members' `role`), written back with putRoom; the
 * only things kept here are timers (ctx.live.timers). Plain-room behaviour stays in rooms.ts, which calls in
 * here where a room is live; the live ops are in live-ops.ts. Never decides what a plain room or group call does.
 */
import {
  Code,
  NetcallError,
  type JoinChannelArgs,
  type JoinChannelResult,
  type LiveCloseReason,
  type LiveUrls,
} from '../../services/protocol';
import { Layout, parseCustomLayout } from '../../services/protocol/live';
import type { LiveMixRoom } from '../live/mixes';
import type { LiveRoomState, PendingCoHost, RoomMember, RoomState } from '../store/types';
import { newUid, type Outcome } from './common';
import type { SignalingContext } from './context';
import type { Connection } from './hub';
import { clearTimer, conns, joinAgain, later, memberOf, removeRoom } from './room-state';

/** Members hear the audience count at most this often. */
export const AUDIENCE_NOTICE_MS = 1000;
/** The uid part of a room's live stream name: never a member's uid (those are digits). */
export const LIVE_STREAM_UID = 'live';

export const onStage = (member: RoomMember): boolean => member.role !== 'audience';
export const stageOf = (room: RoomState): RoomMember[] => room.members.filter(onStage);
export const audienceOf = (room: RoomState): RoomMember[] =>
  room.members.filter((m) => m.role === 'audience');
export const coHostsOf = (room: RoomState): RoomMember[] => room.members.filter((m) => m.role === 'cohost');

export function requireLive(room: RoomState): LiveRoomState {
  if (!room.live) throw new NetcallError(Code.BAD_REQUEST, `room "${room.channelName}" is not a live room`);
  return room.live;
}

export function requireHost(room: RoomState, member: RoomMember, what: string): void {
  if (member.role !== 'host') throw new NetcallError(Code.FORBIDDEN, `only the host may ${what}`);
}

// ---- URLs and the directory ----------------------------------------------------------------------------

/** Where a live room's mixed stream plays: our media server (RTMP, HTTP-FLV), HLS and the viewer page here. */
export function liveUrls(ctx: SignalingContext, room: RoomState): LiveUrls & { hls: string } {
  const play = ctx.media.playUrls(room.live!.stream);
  // Served by this server (the web viewer, and the HLS the mixer writes): the lead wires those routes.
  const base = ctx.live.httpUrlOf?.(room.live!.stream) ?? ctx.live.httpUrl;
  const page = `${base}/live/${encodeURIComponent(room.channelName)}`;
  return { rtmp: play.rtmp, flv: play.flv, hls: `${page}/live.m3u8`, h5: page };
}

/** A live room as `GET /api/live` lists it. */
export interface LiveDirectoryEntry {
  channelName: string;
  host: string;
  coHosts: string[];
  audience: number;
  startedAt: number;
  play: { rtmp: string; flv: string; hls: string };
  h5: string;
}

export function directoryEntry(ctx: SignalingContext, room: RoomState): LiveDirectoryEntry {
  const { rtmp, flv, hls, h5 } = liveUrls(ctx, room);
  return {
    channelName: room.channelName,
    host: room.live!.host,
    coHosts: coHostsOf(room).map((m) => m.account),
    audience: audienceOf(room).length,
    startedAt: room.live!.startedAt,
    play: { rtmp, flv, hls },
    h5,
  };
}

export async function liveDirectory(ctx: SignalingContext): Promise<LiveDirectoryEntry[]> {
  return (await ctx.store.liveRooms()).map((room) => directoryEntry(ctx, room));
}

export async function liveDirectoryEntry(
  ctx: SignalingContext,
  channelName: string,
): Promise<LiveDirectoryEntry | undefined> {
  const room = await ctx.store.roomByName(channelName);
  return room?.live ? directoryEntry(ctx, room) : undefined;
}

// ---- the mix hook --------------------------------------------------------------------------------------

function mixRoom(ctx: SignalingContext, room: RoomState): LiveMixRoom {
  const live = room.live!;
  const stage = stageOf(room)
    .filter((m) => m.rtc)
    .sort((a, b) => (a.role === 'host' ? -1 : b.role === 'host' ? 1 : 0))
    .map((m) => ({
      account: m.account,
      uid: m.uid,
      role: m.role === 'host' ? ('host' as const) : ('cohost' as const),
      mode: m.rtc!.mode,
      url: ctx.media.playUrls(m.rtc!.stream).rtmp,
    }));
  return {
    cid: room.cid,
    channelName: room.channelName,
    sessionConfig: { ...live.sessionConfig },
    stream: live.stream,
    pushUrl: ctx.media.pushUrl(live.stream),
    stage,
  };
}

/** The hook must never take signalling down: a throwing mixer is logged and the room goes on. */
function tellMixes(ctx: SignalingContext, what: string, run: () => void): void {
  try {
    run();
  } catch (error) {
    ctx.log.warn({ what, err: String(error) }, 'live mix hook failed');
  }
}

/** The stage's media changed: a running mix re-lays out. */
export function stageChanged(ctx: SignalingContext, room: RoomState): void {
  if (!room.live?.mixing) return;
  const snapshot = mixRoom(ctx, room);
  tellMixes(ctx, 'update', () => ctx.live.mixes.update(snapshot));
}

/** Someone on stage started RTC: the host's first push starts the mix, anything later re-lays it out. */
export async function stagePushes(ctx: SignalingContext, room: RoomState, member: RoomMember): Promise<void> {
  const live = room.live;
  if (!live) return;
  if (live.mixing) return stageChanged(ctx, room);
  if (member.role !== 'host') return;
  live.mixing = true;
  // The mix starts in the same turn as the host's syncDone, however long the store takes to keep the flag.
  const snapshot = mixRoom(ctx, room);
  tellMixes(ctx, 'start', () => ctx.live.mixes.start(snapshot));
  await ctx.store.putRoom(room);
}

// ---- audience count ------------------------------------------------------------------------------------

const audienceKey = (cid: string) => `${cid}/audience`;

async function sendAudienceCount(ctx: SignalingContext, room: RoomState): Promise<void> {
  const live = room.live!;
  const count = audienceOf(room).length;
  if (count === live.audienceNoticed) return;
  live.audienceNoticed = count;
  live.audienceNoticedAt = ctx.now();
  await ctx.store.putRoom(room);
  ctx.hub.emitMany(conns(room.members), 'audienceCount', { cid: room.cid, count });
}

/**
 * The audience changed: members hear the new count now if the last notice is a second old, else once that
 * second is over (with the count as it is then), so a burst of joins costs one notice per second per member.
 */
export async function audienceChanged(ctx: SignalingContext, room: RoomState): Promise<void> {
  const live = room.live;
  if (!live) return;
  const count = audienceOf(room).length;
  if (count > live.peakAudience) {
    live.peakAudience = count;
    await ctx.store.putRoom(room);
  }
  const key = audienceKey(room.cid);
  if (ctx.live.timers.has(key)) return;
  const wait = live.audienceNoticedAt + AUDIENCE_NOTICE_MS - ctx.now();
  if (wait <= 0) return sendAudienceCount(ctx, room);
  later(ctx, ctx.live.timers, key, wait, async () => {
    const current = await ctx.store.getRoom(room.cid);
    if (current?.live) await sendAudienceCount(ctx, current);
  });
}

// ---- pending requests and invites ------------------------------------------------------------------------

type PendingKind = 'request' | 'invite';
const pendingKey = (cid: string, kind: PendingKind, account: string) => `${cid}/${kind}/${account}`;
const listOf = (live: LiveRoomState, kind: PendingKind) =>
  kind === 'request' ? live.requests : live.invites;

/** The unexpired request (or invite) of `account`; an expired one counts as none (its timer may lag). */
export function pendingOf(
  ctx: SignalingContext,
  live: LiveRoomState,
  kind: PendingKind,
  account: string,
): PendingCoHost | undefined {
  return listOf(live, kind).find((p) => p.account === account && p.expiresAt > ctx.now());
}

export function dropPending(
  ctx: SignalingContext,
  room: RoomState,
  kind: PendingKind,
  account: string,
): void {
  const live = room.live!;
  clearTimer(ctx.live.timers, pendingKey(room.cid, kind, account));
  if (kind === 'request') live.requests = live.requests.filter((p) => p.account !== account);
  else live.invites = live.invites.filter((p) => p.account !== account);
}

/** `account` left the room or went on stage: its requests, invites and approval are over. */
export function forgetPending(ctx: SignalingContext, room: RoomState, account: string): void {
  dropPending(ctx, room, 'request', account);
  dropPending(ctx, room, 'invite', account);
  room.live!.approved = room.live!.approved.filter((a) => a !== account);
}

export function addPending(
  ctx: SignalingContext,
  room: RoomState,
  kind: PendingKind,
  account: string,
  onTimeout: (room: RoomState) => void,
): void {
  const live = room.live!;
  const at = ctx.now();
  const pending: PendingCoHost = { account, at, expiresAt: at + ctx.live.coHostTimeoutMs };
  if (kind === 'request') live.requests = [...live.requests.filter((p) => p.account !== account), pending];
  else live.invites = [...live.invites.filter((p) => p.account !== account), pending];
  later(ctx, ctx.live.timers, pendingKey(room.cid, kind, account), ctx.live.coHostTimeoutMs, async () => {
    const current = await ctx.store.getRoom(room.cid);
    if (!current?.live || !listOf(current.live, kind).some((p) => p.account === account && p.at === at))
      return;
    dropPending(ctx, current, kind, account);
    await ctx.store.putRoom(current);
    onTimeout(current);
  });
}

export function refuseIfStageFull(ctx: SignalingContext, room: RoomState): void {
  if (coHostsOf(room).length >= ctx.live.maxCoHosts)
    throw new NetcallError(
      Code.ROOM_FULL,
      `the stage is full: the host and ${ctx.live.maxCoHosts} co-host${ctx.live.maxCoHosts === 1 ? '' : 's'}`,
    );
}

// ---- joining ---------------------------------------------------------------------------------------------

/** The host's layout settings, checked before they are kept: a bad custom layout is 208. */
function checkLayout(config: JoinChannelArgs['sessionConfig']): void {
  if (!config) return;
  if (config.layout !== undefined) parseCustomLayout(config.layout);
  else if (config.splitMode === Layout.LAYOUT_SPLITCUSTOMLAYOUT)
    throw new NetcallError(
      Code.BAD_LAYOUT,
      'bad layout: LAYOUT_SPLITCUSTOMLAYOUT needs sessionConfig.layout',
    );
}

/** Stage members' uids, and mine: what a live member's `accountUidMap` shows (the audience stays unlisted). */
function stageUidMap(room: RoomState, self: RoomMember): Record<string, string> {
  // fromEntries defines own properties: an account named `__proto__` is a key like any other.
  return Object.fromEntries(
    room.members.filter((m) => onStage(m) || m === self).map((m) => [m.account, m.uid]),
  );
}

/**
 * `joinChannel` with `liveEnable`, or into a live room. The creator joining first makes the room live and hosts
 * it; anyone else is audience. Host settings (`sessionConfig`) from anyone but the creator: 105 while the host
 * is in the room, 106 otherwise. A live room is joined with liveEnable (400 otherwise), a plain room with
 * members in it cannot turn live (409), and a room whose host has not joined has no live yet (404).
 */
export async function joinLiveRoom(
  ctx: SignalingContext,
  conn: Connection,
  account: string,
  room: RoomState,
  args: JoinChannelArgs,
): Promise<Outcome<'joinChannel'>> {
  if (!args.liveEnable)
    throw new NetcallError(Code.BAD_REQUEST, `"${room.channelName}" is a live room: join it with liveEnable`);
  const existing = memberOf(room, account);
  // Back with its role, and the URLs as they are now.
  if (existing) return { result: joinResult(ctx, room, await joinAgain(ctx, room, conn, existing)) };
  const config = args.sessionConfig ?? {};
  const hostSettings = Object.keys(config).length > 0;
  const now = ctx.now();
  let member: RoomMember;
  if (!room.live) {
    if (account !== room.createdBy) {
      if (hostSettings)
        throw new NetcallError(Code.NOT_HOST, `only the room's creator hosts "${room.channelName}"`);
      throw new NetcallError(Code.NOT_FOUND, `"${room.channelName}" is not live: its host has not joined`);
    }
    if (room.members.length > 0)
      throw new NetcallError(Code.CONFLICT, `"${room.channelName}" is in use as a plain room`);
    checkLayout(config);
    // The mix and the stage are placed together: the mixer pulls the stage from one media server.
    await ctx.media.place?.(room.cid);
    room.live = {
      host: account,
      sessionConfig: { ...config },
      stream: ctx.media.streamName(room.cid, LIVE_STREAM_UID),
      startedAt: now,
      mixing: false,
      requests: [],
      invites: [],
      approved: [],
      peakAudience: 0,
      audienceNoticed: 0,
      audienceNoticedAt: 0,
    };
    // Players may connect before the mix publishes; its URLs work from the start of the live.
    ctx.media.authorize(room.live.stream);
    member = { account, uid: newUid(), connId: conn.id, role: 'host', rtc: null, joinedAt: now };
  } else {
    if (hostSettings)
      throw new NetcallError(
        Code.HOST_EXISTS,
        `"${room.channelName}" already has its host (${room.live.host})`,
      );
    if (audienceOf(room).length >= ctx.live.maxAudience)
      throw new NetcallError(Code.ROOM_FULL, `the audience is full (${ctx.live.maxAudience})`);
    member = { account, uid: newUid(), connId: conn.id, role: 'audience', rtc: null, joinedAt: now };
  }
  room.members = [...room.members, member];
  clearTimer(ctx.roomTimers, room.cid);
  await ctx.store.putRoom(room);
  conn.currentCid = room.cid;
  // The audience is not announced (no joinChannel to anyone): the count says it.
  return { result: joinResult(ctx, room, member), after: () => audienceChanged(ctx, room) };
}

/** What `joinChannel` answers a member of a live room: the audience also gets where the live stream plays. */
function joinResult(ctx: SignalingContext, room: RoomState, member: RoomMember): JoinChannelResult {
  const result: JoinChannelResult = {
    channelName: room.channelName,
    cid: room.cid,
    uid: member.uid,
    account: member.account,
    custom: room.custom,
    accountUidMap: stageUidMap(room, member),
    role: member.role === 'host' ? 'host' : 'audience',
  };
  if (member.role === 'audience') {
    const { rtmp, flv, h5 } = liveUrls(ctx, room);
    result.live = { rtmp, flv, h5 };
  }
  return result;
}

// ---- what rooms.ts asks of live rooms ----------------------------------------------------------------------

/**
 * A member other than the host leaves a live room (already taken out of `room.members`): a stage member's leave
 * is heard by the stage, an audience member's only in the count.
 */
export async function leftLiveRoom(
  ctx: SignalingContext,
  room: RoomState,
  member: RoomMember,
): Promise<void> {
  forgetPending(ctx, room, member.account);
  await ctx.store.putRoom(room);
  if (!onStage(member)) return audienceChanged(ctx, room);
  const stage = conns(stageOf(room));
  ctx.hub.emitMany(stage, 'leaveChannel', { account: member.account, cid: room.cid, channelId: room.cid });
  if (member.rtc)
    ctx.hub.emitMany(stage, 'clientLeave', { cid: room.cid, account: member.account, uid: member.uid });
  stageChanged(ctx, room);
}

/** Who hears a member's `control` in a live room: the rest of the stage. The audience may not send one. */
export function controlTargets(room: RoomState, member: RoomMember): string[] {
  if (!onStage(member))
    throw new NetcallError(Code.FORBIDDEN, 'the audience is not in the RTC session: go on stage first');
  return conns(stageOf(room).filter((m) => m !== member));
}

/** `startRtc` in a live room is for the stage only. */
export function refuseAudienceRtc(member: RoomMember): void {
  if (!onStage(member))
    throw new NetcallError(
      Code.FORBIDDEN,
      'the audience is not in the RTC session: go on stage first (changeRoleToPlayer)',
    );
}

/** The grace period a dropped member keeps its place for: the host's is `hostGraceMs`. */
export function graceFor(ctx: SignalingContext, room: RoomState, member: RoomMember): number {
  return room.live && member.role === 'host' ? ctx.live.hostGraceMs : ctx.graceMs;
}

/**
 * The live room ends (the host left or was lost, or the server shuts down): everyone in it hears
 * `liveRoomClose`, the host its summary; the mix stops and the room is gone, from the directory too.
 */
export async function closeLive(
  ctx: SignalingContext,
  room: RoomState,
  reason: LiveCloseReason,
): Promise<void> {
  const live = room.live!;
  const members = [...room.members];
  // Only the close that removed the room tells anyone: a host's leave may race the shutdown.
  if (!(await removeRoom(ctx, room, `live closed: ${reason}`))) return;
  const endedAt = ctx.now();
  ctx.hub.emitMany(conns(members), 'liveRoomClose', { cid: room.cid, reason });
  const host = members.find((m) => m.role === 'host');
  if (host)
    ctx.hub.emit(host.connId, 'liveSummary', {
      cid: room.cid,
      channelName: room.channelName,
      startedAt: live.startedAt,
      endedAt,
      duration: endedAt - live.startedAt,
      peakAudience: live.peakAudience,
    });
}

/** Part of `removeRoom` for a live room: its timers, its mix, its live stream. */
export function forgetLive(ctx: SignalingContext, room: RoomState): void {
  if (!room.live) return;
  const prefix = `${room.cid}/`;
  for (const key of [...ctx.live.timers.keys()]) if (key.startsWith(prefix)) clearTimer(ctx.live.timers, key);
  tellMixes(ctx, 'stop', () => ctx.live.mixes.stop(room.cid));
  ctx.media.revoke(room.live.stream);
}

/** The media plane is back: the live stream is authorised again and a running mix reconnects. */
export function refreshLive(ctx: SignalingContext, room: RoomState): void {
  if (!room.live) return;
  ctx.media.authorize(room.live.stream);
  stageChanged(ctx, room);
}
