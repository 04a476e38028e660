/**
 * The device, as a call needs it: app visibility and the screen (insets, keep-on, the leave confirmation),
 * camera and microphone permission, and the ringtone. One module rather than three, because every file a
 * mini-program ships carries its own CommonJS preamble (the size budgets in bench/budgets.json count them).
 */
import type { CallType } from '../protocol';

// ---- the screen and app visibility --------------------------------------------------------------
// App visibility and the screen: small wrappers over `wx.onAppShow` / `wx.onAppHide` that return their own
// `off` (WeChat needs the same function object to unsubscribe, which callers would otherwise have to keep),
// `wx.setKeepScreenOn`, which only holds while the mini-program is in the foreground, the page's
// leave-confirmation, and where a full-screen view may draw.
//
// Screen insets: the status bar, WeChat's capsule (the menu button, which a page with `navigationStyle:
// custom` must keep clear of), and the home-indicator strip, read from `wx.getWindowInfo` (base library
// 2.20.1) and `wx.getMenuButtonBoundingClientRect`. Never throws: an older base library or a failing call
// gives the insets of a page with WeChat's own navigation bar, which overlap nothing. `setScreenInsetsSource`
// lets a host (or a test) supply them instead.

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

// ---- permissions --------------------------------------------------------------------------------
// Camera and microphone permission for a call (WeChat's authorize and live-media documentation): check before dialing and before accepting,
// prompt for scopes never asked, and report a refused scope instead of failing silently, so the UI can offer
// `wx.openSetting` from a tap (the only way back once the user said no). The `wx` calls sit behind
// `PermissionChecker` so the flow runs in Node tests with a scripted checker.
// The privacy agreement (WeChat's privacy authorisation, since 2023-09-15) comes before any prompt here: WeChat
// holds `wx.authorize` until the user agrees (services/platform/privacy.ts, shown by `<netcall-privacy>`); a refusal
// shows up here as an authorize failure that leaves the scope unasked (`canPrompt: true`).

export type CallScope = 'scope.camera' | 'scope.record';

/** `true` granted, `false` refused, absent: never asked (getSetting lists only scopes already requested). */
export type CallAuthSetting = Partial<Record<CallScope, boolean>>;

export type PermissionResult = { granted: true } | { granted: false; scope: CallScope; canPrompt: boolean };

/** The three `wx` calls the flow needs, promise-shaped. None of them rejects. */
export interface PermissionChecker {
  getSetting(): Promise<CallAuthSetting>;
  /** Resolves whether the scope is granted after the (possible) system prompt. */
  authorize(scope: CallScope): Promise<boolean>;
  /** Opens the settings page; resolves the settings the user left it with. Must run inside a tap handler. */
  openSetting(): Promise<CallAuthSetting>;
}

const pick = (setting: WechatMiniprogram.AuthSetting | undefined): CallAuthSetting => ({
  'scope.camera': setting?.['scope.camera'],
  'scope.record': setting?.['scope.record'],
});

export const wxPermissionChecker: PermissionChecker = {
  getSetting: () =>
    new Promise((resolve) =>
      wx.getSetting({
        success: (result) => resolve(pick(result.authSetting)),
        // Unknown settings: treat every scope as never asked, so authorize decides.
        fail: () => resolve({}),
      }),
    ),
  authorize: (scope) =>
    new Promise((resolve) =>
      wx.authorize({ scope, success: () => resolve(true), fail: () => resolve(false) }),
    ),
  // The executor runs synchronously, so `wx.openSetting` is still called inside the tap that asked for it
  // (from base library 2.3.0 it is ignored otherwise, per WeChat's wx.authorize documentation).
  openSetting: () =>
    new Promise((resolve) =>
      wx.openSetting({
        success: (result) => resolve(pick(result.authSetting)),
        fail: () => resolve({}),
      }),
    ),
};

/** The scopes a call of `type` needs, in the order they are asked: the microphone first, then the camera. */
export function callScopes(type: CallType): CallScope[] {
  return type === 2 ? ['scope.record', 'scope.camera'] : ['scope.record'];
}

/**
 * Makes sure a call of `type` may use the microphone (and the camera for video). Scopes refused before are
 * reported before any prompt is shown, so the user is not asked for one scope only to be stopped by another.
 */
export async function checkCallPermissions(
  type: CallType,
  checker: PermissionChecker = wxPermissionChecker,
): Promise<PermissionResult> {
  const scopes = callScopes(type);
  const setting = await checker.getSetting();
  const refused = scopes.find((scope) => setting[scope] === false);
  if (refused) return { granted: false, scope: refused, canPrompt: false };
  for (const scope of scopes) {
    if (setting[scope] === true) continue;
    if (await checker.authorize(scope)) continue;
    // The user saying no records `false`; anything else (a dismissed privacy sheet, a system error) leaves
    // the scope unasked, and a later authorize may still show the prompt.
    const after = await checker.getSetting();
    return { granted: false, scope, canPrompt: after[scope] !== false };
  }
  return { granted: true };
}

/**
 * Opens the settings page (call it from a tap handler, synchronously) and resolves whether every scope a
 * call of `type` needs is now granted.
 */
export async function openCallSettings(
  type: CallType = 2,
  checker: PermissionChecker = wxPermissionChecker,
): Promise<boolean> {
  const setting = await checker.openSetting();
  return callScopes(type).every((scope) => setting[scope] === true);
}

// ---- the ringtone -------------------------------------------------------------------------------
// The ringtone: a looping `InnerAudioContext`. It must sound even with the phone's mute switch on, which is
// what a call ring is for. `play` and `stop` are idempotent, so a caller can drive them from state changes
// without tracking what already happened; after `destroy` every call is a no-op.

export interface Ringtone {
  play(): void;
  stop(): void;
  destroy(): void;
}

export function createRingtone(src: string): Ringtone {
  // iOS only, and for all inner audio: since base library 2.3.0 the per-context `obeyMuteSwitch` is ignored.
  wx.setInnerAudioOption({ obeyMuteSwitch: false, fail: () => undefined });
  const context = wx.createInnerAudioContext();
  context.src = src;
  context.loop = true;
  context.autoplay = false;
  // Older base libraries read it per context.
  context.obeyMuteSwitch = false;
  let playing = false;
  let destroyed = false;
  return {
    play() {
      if (destroyed || playing) return;
      playing = true;
      context.play();
    },
    stop() {
      if (destroyed || !playing) return;
      playing = false;
      context.stop();
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      if (playing) context.stop();
      playing = false;
      context.destroy();
    },
  };
}
