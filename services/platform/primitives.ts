/**
 * The platform's small primitives the services and components are given: timers (behind an interface, so
 * services run under fake clocks), the socket the netcall client needs, and the media element contexts.
 * One module rather than three, because every file a mini-program ships carries its own CommonJS preamble
 * and gzip header (the 1:1 size budget in bench/budgets.json counts them).
 */

// ---- timers ------------------------------------------------------------------------------------------

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  now(): number;
}

export const defaultTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
  now: () => Date.now(),
};

// ---- the socket: WeChat's SocketTask shape, so `wx.connectSocket` fits as is and Node tests can pass an
// adapter over `ws`. Nothing here may depend on Node. ------------------------------------------------------

export interface SocketTaskLike {
  send(options: { data: string }): void;
  close(options?: { code?: number; reason?: string }): void;
  onOpen(callback: () => void): void;
  onMessage(callback: (result: { data: string | ArrayBuffer }) => void): void;
  onClose(callback: (result: { code: number; reason: string }) => void): void;
  onError(callback: (result: { errMsg: string }) => void): void;
}

export type ConnectSocket = (url: string) => SocketTaskLike;

/** The production factory. `wx` is only ever touched in this folder. */
export const wxConnectSocket: ConnectSocket = (url) =>
  wx.connectSocket({ url, timeout: 10000 }) as unknown as SocketTaskLike;

// ---- media element contexts: components get them here instead of calling `wx` themselves, so the one-way
// dependency rule holds and tests can spy on a single place. ----------------------------------------------

export function createPusherContext(): WechatMiniprogram.LivePusherContext {
  // The current API takes no arguments and binds to the page's only <live-pusher>.
  return wx.createLivePusherContext();
}

export function createPlayerContext(
  id: string,
  component: WechatMiniprogram.Component.TrivialInstance,
): WechatMiniprogram.LivePlayerContext {
  // Players live inside our components, so the component must be passed or the context never reaches them.
  return wx.createLivePlayerContext(id, component);
}
