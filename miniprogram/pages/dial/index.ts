/**
 * Dial: call someone by account (video or audio). The app's CallSession rings whatever page is on top; this
 * page opens the call page when it does.
 */
import type { CallSnapshot } from 'miniprogram-netcall';
import { demoLabels } from '../../i18n';
import { endSession, globalData, listen, toast } from '../../session';

let stop: (() => void) | null = null;

function openCall(query = ''): void {
  wx.navigateTo({ url: `/pages/call/index${query}` });
}

Page({
  data: {
    account: '',
    callee: '',
    t: demoLabels('zh-CN'),
    loggedInAs: '',
  },

  onLoad() {
    const { netcall, account, lang } = globalData();
    if (!netcall) {
      wx.reLaunch({ url: '/pages/login/index' });
      return;
    }
    const t = demoLabels(lang);
    this.setData({ account, t, loggedInAs: t.loggedInAs.replace('{account}', account) });
    wx.setNavigationBarTitle({ title: t.dialTitle });
  },

  onShow() {
    const { netcall, call } = globalData();
    if (!netcall || !call || stop) return;
    const onChange = (change: Partial<CallSnapshot>) => {
      if (change.phase === 'incoming') openCall();
    };
    call.on('change', onChange);
    const unlisten = listen(netcall, {
      disconnect: () => {
        toast(this.data.t.disconnected);
        void endSession().then(() => wx.reLaunch({ url: '/pages/login/index' }));
      },
    });
    stop = () => {
      call.off('change', onChange);
      unlisten();
    };
  },

  onHide() {
    this.stopListening();
  },

  onUnload() {
    this.stopListening();
  },

  stopListening() {
    if (stop) stop();
    stop = null;
  },

  onCalleeInput(event: WechatMiniprogram.Input) {
    this.setData({ callee: event.detail.value.trim() });
  },

  dial(type: 1 | 2) {
    const { callee, account } = this.data;
    if (!callee || callee === account) {
      toast(this.data.t.enterCallee);
      return;
    }
    openCall(`?callee=${encodeURIComponent(callee)}&type=${type}`);
  },

  onVideoCall() {
    this.dial(2);
  },

  onAudioCall() {
    this.dial(1);
  },

  onLogout() {
    this.stopListening();
    void endSession().then(() => wx.reLaunch({ url: '/pages/login/index' }));
  },
});
