/**
 * Call: the kit's call-screen on the app's CallSession. Outgoing when opened with `?callee=…&type=…`,
 * otherwise it shows the call that is ringing. Everything else (ringing, accept, controls, reasons, recovery)
 * is the kit's; this page only dials, reports show/hide, and leaves once the call has ended.
 */
import type { CallSnapshot, CallType } from 'miniprogram-netcall';
import { globalData, messageOf, toast } from '../../session';

interface CallScreen {
  attachSession(session: unknown): void;
}

let leaveTimer: ReturnType<typeof setTimeout> | null = null;
let stop: (() => void) | null = null;

function leave(): void {
  wx.navigateBack({ fail: () => wx.reLaunch({ url: '/pages/dial/index' }) });
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
    const onChange = (change: Partial<CallSnapshot>) => {
      // Leave a moment after the end so the reason can be read.
      if (change.phase === 'ended' && leaveTimer === null) leaveTimer = setTimeout(leave, 2000);
    };
    call.on('change', onChange);
    stop = () => call.off('change', onChange);
    if (query.callee) {
      const type: CallType = query.type === '1' ? 1 : 2;
      call.call(decodeURIComponent(query.callee), type).catch((error: unknown) => toast(messageOf(error)));
    } else if (call.phase !== 'incoming') {
      leave();
    }
  },

  onReady() {
    const screen = this.selectComponent('#screen') as unknown as CallScreen | null;
    screen?.attachSession(globalData().call);
  },

  onShow() {
    globalData().call?.appShown();
  },

  onHide() {
    globalData().call?.appHidden();
  },

  onUnload() {
    if (leaveTimer !== null) clearTimeout(leaveTimer);
    leaveTimer = null;
    if (stop) stop();
    stop = null;
    const call = globalData().call;
    // Leaving the page ends the call: a call without its screen could not be hung up.
    if (call && ['dialing', 'incoming', 'connecting', 'in-call'].includes(call.phase))
      call.hangup().catch(() => undefined);
  },

  onScreenError(event: WechatMiniprogram.CustomEvent<{ message: string }>) {
    toast(event.detail.message);
  },
});
