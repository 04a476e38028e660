/**
 * What the demo's pages share: the one Netcall of this login and the one CallSession on top of it (kept in
 * the app's globalData), created at login and released at logout.
 */
import {
  CallSession,
  bindRosterToStore,
  callStore,
  type Netcall,
  type NetcallEventName,
  type NetcallEvents,
  type NetcallLike,
} from 'miniprogram-netcall';
import type { DemoLang } from './i18n';

export interface DemoGlobalData {
  netcall: Netcall | null;
  call: CallSession | null;
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

let unbindRoster: (() => void) | null = null;

/** One CallSession per login: it rings for incoming calls whatever page is on top. */
export function startSession(netcall: Netcall): CallSession {
  const call = new CallSession({ netcall, background: { mode: 'keep-audio' } });
  unbindRoster = bindRosterToStore(call.roster, callStore);
  Object.assign(globalData(), { netcall, call });
  return call;
}

export async function endSession(): Promise<void> {
  const app = globalData();
  if (app.call) await app.call.dispose();
  if (unbindRoster) unbindRoster();
  unbindRoster = null;
  if (app.netcall) app.netcall.close();
  Object.assign(app, { netcall: null, call: null });
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
