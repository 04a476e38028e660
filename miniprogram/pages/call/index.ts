/**
 * Call: the kit's call-screen on the app's CallSession, drawn under the status bar (`navigationStyle:
 * custom`; the screen keeps clear of the capsule itself). Outgoing when opened with `?callee=…&type=…`,
 * otherwise it shows the call that is ringing. Everything else (ringing, accept, controls, reasons, recovery)
 * is the kit's; this page dials, reports show/hide, asks before a back gesture would hang up a live call, and
 * leaves once the call has ended: a moment later when there is nothing left to do, and only when the user
 * closes the screen when there is (a refused permission: "Open settings").
 */
import { alertBeforeUnload, type CallSnapshot, type CallType, type EndReason } from 'miniprogram-netcall';
import { demoLabels } from '../../i18n';
import { globalData, messageOf, toast } from '../../session';

/** How long an ended call's reason and duration stay before the page goes back. */
const LEAVE_AFTER_MS = 2500;
/** Ends the user can do something about on this screen: they stay until it is closed. */
const STAY: readonly EndReason[] = ['permission-denied'];
const LIVE = ['dialing', 'incoming', 'connecting', 'in-call'];

let leaveTimer: ReturnType<typeof setTimeout> | null = null;
let stop: (() => void) | null = null;

function leave(): void {
  wx.navigateBack({ fail: () => wx.reLaunch({ url: '/pages/dial/index' }) });
}

function cancelLeave(): void {
  if (leaveTimer !== null) clearTimeout(leaveTimer);
  leaveTimer = null;
}

Page({
  data: {
    lang: 'zh-CN',
  },

  onLoad(query: Record<string, string | undefined>) {
    const { call, lang } = globalData();
    if (!call) {
      wx.reLaunch({ url: '/pages/login/index' });
      return;
    }
    this.setData({ lang });
    const leaveMessage = demoLabels(lang).leaveCall;
    const onChange = (change: Partial<CallSnapshot>) => {
      if (!change.phase) return;
      if (LIVE.includes(change.phase)) {
        // A retry from the settings page dials again: this page is needed once more.
        cancelLeave();
        alertBeforeUnload(leaveMessage);
      } else if (change.phase === 'ended') {
        alertBeforeUnload(null);
        const reason = call.snapshot().reason;
        if (leaveTimer === null && !(reason && STAY.includes(reason)))
          leaveTimer = setTimeout(leave, LEAVE_AFTER_MS);
      }
    };
    call.on('change', onChange);
    stop = () => call.off('change', onChange);
    if (query.callee) {
      const type: CallType = query.type === '1' ? 1 : 2;
      call.call(decodeURIComponent(query.callee), type).catch((error: unknown) => toast(messageOf(error)));
    } else if (call.phase !== 'incoming') {
      leave();
    } else {
      alertBeforeUnload(leaveMessage);
    }
  },

  onReady() {
    const screen = this.selectComponent('#screen') as unknown as {
      attachSession(session: unknown): void;
    } | null;
    screen?.attachSession(globalData().call);
  },

  onShow() {
    globalData().call?.appShown();
  },

  onHide() {
    globalData().call?.appHidden();
  },

  onUnload() {
    cancelLeave();
    alertBeforeUnload(null);
    if (stop) stop();
    stop = null;
    const call = globalData().call;
    // The home button and the capsule leave without asking: a call without its screen could not be hung up.
    if (call && LIVE.includes(call.phase)) call.hangup().catch(() => undefined);
  },

  /** The ended screen's close button. */
  onClose() {
    cancelLeave();
    leave();
  },

  onScreenError(event: WechatMiniprogram.CustomEvent<{ message: string }>) {
    toast(event.detail.message);
  },
});
