/**
 * App visibility and the screen: small wrappers over `wx.onAppShow` / `wx.onAppHide` that return their own
 * `off` (WeChat needs the same function object to unsubscribe, which callers would otherwise have to keep),
 * and `wx.setKeepScreenOn`, which only holds while the mini-program is in the foreground.
 */
export type Unsubscribe = () => void;

/** Calls `listener` whenever the mini-program comes to the foreground, until the returned function runs. */
export function onAppShow(listener: () => void): Unsubscribe {
  const handler = () => listener();
  wx.onAppShow(handler);
  return () => wx.offAppShow(handler);
}

/** Calls `listener` whenever the mini-program goes to the background, until the returned function runs. */
export function onAppHide(listener: () => void): Unsubscribe {
  const handler = () => listener();
  wx.onAppHide(handler);
  return () => wx.offAppHide(handler);
}

/** Both at once: `visible` is false on hide and true on show. */
export function onAppVisibility(listener: (visible: boolean) => void): Unsubscribe {
  const offShow = onAppShow(() => listener(true));
  const offHide = onAppHide(() => listener(false));
  return () => {
    offShow();
    offHide();
  };
}

/** Keeps the screen from dimming during a call; failures (old base libraries) are not worth surfacing. */
export function setKeepScreenOn(on: boolean): void {
  wx.setKeepScreenOn({ keepScreenOn: on, fail: () => undefined });
}
