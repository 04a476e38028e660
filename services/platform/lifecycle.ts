/**
 * App visibility and the screen: small wrappers over `wx.onAppShow` / `wx.onAppHide` that return their own
 * `off` (WeChat needs the same function object to unsubscribe, which callers would otherwise have to keep),
 * `wx.setKeepScreenOn`, which only holds while the mini-program is in the foreground, the page's
 * leave-confirmation, and where a full-screen view may draw.
 *
 * Screen insets: the status bar, WeChat's capsule (the menu button, which a page with `navigationStyle:
 * custom` must keep clear of), and the home-indicator strip, read from `wx.getWindowInfo` (base library
 * 2.20.1) and `wx.getMenuButtonBoundingClientRect`. Never throws: an older base library or a failing call
 * gives the insets of a page with WeChat's own navigation bar, which overlap nothing. `setScreenInsetsSource`
 * lets a host (or a test) supply them instead.
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

/**
 * While `message` is set, leaving the page by its back button or a swipe back asks the user first
 * (`wx.enableAlertBeforeUnload`, base library 2.12.0); `null` stops asking. WeChat does not ask for the home
 * button or the capsule, so a page must still end what it owns in `onUnload`.
 */
export function alertBeforeUnload(message: string | null): void {
  try {
    if (message === null) wx.disableAlertBeforeUnload({ fail: () => undefined });
    else wx.enableAlertBeforeUnload({ message, fail: () => undefined });
  } catch {
    // Older than base library 2.12.0: leaving just leaves.
  }
}

/** Keeps the screen from dimming during a call; failures (old base libraries) are not worth surfacing. */
export function setKeepScreenOn(on: boolean): void {
  wx.setKeepScreenOn({ keepScreenOn: on, fail: () => undefined });
}

export interface Rect {
  top: number;
  bottom: number;
  left: number;
  right: number;
  width: number;
  height: number;
}

export interface ScreenInsets {
  /** Window width in px. */
  width: number;
  /** Height of the status bar in px. */
  statusBar: number;
  /** The capsule, in window px; null when WeChat does not report one. */
  menu: Rect | null;
  /**
   * The page draws under the status bar (`navigationStyle: custom`): WeChat's navigation bar is not above it,
   * so the window is as tall as the screen.
   */
  immersive: boolean;
}

export type ScreenInsetsSource = () => ScreenInsets;

const FALLBACK: ScreenInsets = { width: 375, statusBar: 20, menu: null, immersive: false };

export const wxScreenInsets: ScreenInsetsSource = () => {
  try {
    const { windowWidth: width, windowHeight, statusBarHeight: statusBar, screenHeight } = wx.getWindowInfo();
    const rect = wx.getMenuButtonBoundingClientRect();
    return {
      width,
      statusBar,
      // Some clients answer zeros before the page is laid out: a zero rect would put the capsule at the origin.
      menu: rect && rect.width > 0 && rect.height > 0 ? rect : null,
      // WeChat's bar takes the status bar and its own ~44 px from the window; less than that and it is not there.
      // The home indicator needs nothing here: the screen's WXSS uses env(safe-area-inset-bottom).
      immersive: screenHeight - windowHeight < statusBar + 20,
    };
  } catch {
    return FALLBACK;
  }
};

let source: ScreenInsetsSource = wxScreenInsets;

export function getScreenInsets(): ScreenInsets {
  return source();
}

/** Replaces where the insets come from (`null` restores WeChat's); for hosts that lay out differently, and tests. */
export function setScreenInsetsSource(next: ScreenInsetsSource | null): void {
  source = next ?? wxScreenInsets;
}
