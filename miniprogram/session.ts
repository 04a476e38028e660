/**
 * What the demo's pages share: the one Netcall of this login (kept in the app's globalData) and a helper
 * to subscribe a page to several netcall events and drop them all at once.
 */
import type { Netcall, NetcallEventName, NetcallEvents, NetcallLike } from 'miniprogram-netcall';

export interface DemoGlobalData {
  netcall: Netcall | null;
  account: string;
  server: string;
}

export interface DemoApp {
  globalData: DemoGlobalData;
}

export function globalData(): DemoGlobalData {
  return getApp<DemoApp>().globalData;
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
