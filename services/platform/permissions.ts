/**
 * Camera and microphone permission for a call (WeChat's authorize and live-media documentation): check before dialing and before accepting,
 * prompt for scopes never asked, and report a refused scope instead of failing silently, so the UI can offer
 * `wx.openSetting` from a tap (the only way back once the user said no). The `wx` calls sit behind
 * `PermissionChecker` so the flow runs in Node tests with a scripted checker.
 * It does not handle the privacy agreement (WeChat's privacy authorisation, since 2023-09-15); a refused privacy prompt shows up here as an
 * authorize failure that leaves the scope unasked (`canPrompt: true`).
 */
import type { CallType } from '../protocol';

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
