/**
 * What the demo's pages share: the one Netcall of this login (and its token, for the live directory), its
 * CallSession (1:1), its GroupSession (group calls and rooms) and its LiveSession (interactive live), kept in
 * the app's globalData, created at login and released at logout. The sessions keep out of each other's way
 * (each call session is busy while another's call or live goes on) and share one roster, so one binding
 * feeds the call store every media view reads. An invitation of either call kind opens its page over
 * whatever page is on top; a live is only ever entered from the live pages.
 */
import {
  CallSession,
  bindRosterToStore,
  callStore,
  type BackgroundPolicy,
  type CallSnapshot,
  type Netcall,
  type NetcallEventName,
  type NetcallEvents,
  type NetcallLike,
} from 'miniprogram-netcall';
import { GroupSession, type GroupSnapshot } from 'miniprogram-netcall/services/call/group-session';
import { LiveSession } from 'miniprogram-netcall/services/live/live-session';
import type { DemoLang } from './i18n';
import { LIVE_ACTIVE } from './live';
import { CALL_ACTIVE, CALL_PAGE, GROUP_ACTIVE, ROOM_PAGE } from './room';

export interface DemoGlobalData {
  netcall: Netcall | null;
  call: CallSession | null;
  group: GroupSession | null;
  live: LiveSession | null;
  /** The login's account token: the live directory (`GET /api/live`) asks for it. */
  token: string;
  account: string;
  server: string;
  lang: DemoLang;
}

export interface DemoApp {
  globalData: DemoGlobalData;
}

export function globalData(): DemoGlobalData {
  return getApp<DemoApp>().globalData;
}

/** What startSession set up beyond the sessions themselves, undone by endSession. */
let unbind: (() => void) | null = null;

/** Opens `route` unless it is already on top (it shows the call itself then). */
function openOnTop(route: string): void {
  const pages = getCurrentPages();
  const top = pages[pages.length - 1];
  if (top && top.route === route) return;
  wx.navigateTo({ url: `/${route}` });
}

/** One CallSession and one GroupSession per login: they ring for invitations whatever page is on top. */
export function startSession(netcall: Netcall): CallSession {
  const background: BackgroundPolicy = { mode: 'keep-audio' };
  // Each asks the others lazily: they are only ever asked once an invitation arrives, after all exist.
  const onAir = () => LIVE_ACTIVE.includes(live.phase);
  const call: CallSession = new CallSession({
    netcall,
    background,
    busy: () => GROUP_ACTIVE.includes(group.phase) || onAir(),
  });
  const group: GroupSession = new GroupSession({
    netcall,
    roster: call.roster,
    background,
    busy: () => CALL_ACTIVE.includes(call.phase) || onAir(),
  });
  const live: LiveSession = new LiveSession({ netcall, roster: call.roster, background });
  const unbindRoster = bindRosterToStore(call.roster, callStore);
  const onCall = (change: Partial<CallSnapshot>) => {
    if (change.phase === 'incoming') openOnTop(CALL_PAGE);
  };
  // A room is only ever entered from the room page; only a group call rings.
  const onGroup = (change: Partial<GroupSnapshot>) => {
    if (change.phase === 'incoming' && group.snapshot().kind === 'call') openOnTop(ROOM_PAGE);
  };
  call.on('change', onCall);
  group.on('change', onGroup);
  unbind = () => {
    call.off('change', onCall);
    group.off('change', onGroup);
    unbindRoster();
  };
  Object.assign(globalData(), { netcall, call, group, live });
  return call;
}

export async function endSession(): Promise<void> {
  const app = globalData();
  // Disposing hangs up a call still going on: the store follows its roster to the end before unbinding.
  await Promise.all([app.call?.dispose(), app.group?.dispose(), app.live?.dispose()]);
  if (unbind) unbind();
  unbind = null;
  if (app.netcall) app.netcall.close();
  Object.assign(app, { netcall: null, call: null, group: null, live: null, token: '' });
}

export type Handlers = { [K in NetcallEventName]?: (event: NetcallEvents[K]) => void };

/** Subscribes every handler; the returned function unsubscribes exactly these. */
export function listen(netcall: NetcallLike, handlers: Handlers): () => void {
  const names = Object.keys(handlers) as NetcallEventName[];
  for (const name of names) netcall.on(name, handlers[name] as never);
  return () => {
    for (const name of names) netcall.off(name, handlers[name] as never);
  };
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && 'errMsg' in error)
    return String((error as { errMsg: unknown }).errMsg);
  return String(error);
}

export function toast(title: string): void {
  wx.showToast({ title, icon: 'none', duration: 2000 });
}
