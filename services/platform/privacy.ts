/**
 * WeChat's privacy authorisation (the privacy guide declared in the admin console, agreed once per user and
 * version): a privacy API such as `wx.authorize` for the camera or microphone waits until the app shows its
 * privacy sheet and the user taps an `open-type="agreePrivacyAuthorization"` button (WeChat's
 * wx.onNeedPrivacyAuthorization, base library 2.32.3). One app-wide listener; the newest subscriber (the
 * page on top) is asked, and a request that comes while nobody listens waits for the next one.
 * A module of its own: only `<netcall-privacy>` uses it, so apps without it do not ship it.
 */
import type { Unsubscribe } from './device';

/** One pending privacy request: answer it once, from the sheet. */
export interface PrivacyRequest {
  /** What asked (WeChat's `referrer`, e.g. `authorize`), for the sheet's wording. */
  referrer: string;
  /** After the agree button's `bindagreeprivacyauthorization`, with that button's `id`. */
  agree(buttonId: string): void;
  disagree(): void;
}

type PrivacyResolve = (result: { event: 'agree' | 'disagree'; buttonId?: string }) => void;

const privacyListeners: Array<(request: PrivacyRequest) => void> = [];
let privacyWaiting: PrivacyRequest[] = [];
let privacyHooked = false;

/**
 * Calls `listener` with every privacy request until the returned function runs. Older base libraries have
 * no privacy API: nothing is ever asked there.
 */
export function onPrivacyRequest(listener: (request: PrivacyRequest) => void): Unsubscribe {
  if (!privacyHooked && typeof wx.onNeedPrivacyAuthorization === 'function') {
    privacyHooked = true;
    // The typings give the listener a result object; WeChat calls it with (resolve, eventInfo).
    (
      wx.onNeedPrivacyAuthorization as unknown as (
        handler: (resolve: PrivacyResolve, info?: { referrer?: string }) => void,
      ) => void
    )((resolve, info) => {
      let answered = false;
      const answer = (result: Parameters<PrivacyResolve>[0]) => {
        if (answered) return;
        answered = true;
        resolve(result);
      };
      const request: PrivacyRequest = {
        referrer: info?.referrer ?? '',
        agree: (buttonId) => answer({ event: 'agree', buttonId }),
        disagree: () => answer({ event: 'disagree' }),
      };
      const newest = privacyListeners[privacyListeners.length - 1];
      if (newest) newest(request);
      else privacyWaiting.push(request);
    });
  }
  privacyListeners.push(listener);
  const waiting = privacyWaiting;
  privacyWaiting = [];
  waiting.forEach(listener);
  return () => {
    const index = privacyListeners.lastIndexOf(listener);
    if (index >= 0) privacyListeners.splice(index, 1);
  };
}

/** The privacy guide's name (for the sheet), and whether the user still has to agree; never rejects. */
export function getPrivacySetting(): Promise<{ needAuthorization: boolean; contractName: string }> {
  return new Promise((resolve) => {
    if (typeof wx.getPrivacySetting !== 'function')
      return resolve({ needAuthorization: false, contractName: '' });
    wx.getPrivacySetting({
      success: (result) =>
        resolve({ needAuthorization: result.needAuthorization, contractName: result.privacyContractName }),
      fail: () => resolve({ needAuthorization: false, contractName: '' }),
    });
  });
}

/** Opens the privacy guide (WeChat's own page). */
export function openPrivacyContract(): void {
  if (typeof wx.openPrivacyContract === 'function') wx.openPrivacyContract({});
}
