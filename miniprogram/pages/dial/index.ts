/**
 * Dial: call someone by account (video or voice): one account is a 1:1 call on the call page, several a
 * group call on the room page; rooms by name and live rooms are one tap away. Invitations open their pages by themselves
 * (the app's sessions, session.ts); this page only notices a lost connection and sends the user to log in.
 */
import type { CallType } from 'miniprogram-netcall';
import { demoLabels } from '../../i18n';
import { LIVE_PAGE } from '../../live';
import { ROOM_PAGE, dialTarget } from '../../room';
import { endSession, globalData, listen, toast } from '../../session';

let stop: (() => void) | null = null;

Page({
  data: {
    account: '',
    callee: '',
    lang: 'zh-CN',
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
    this.setData({ account, lang, t, loggedInAs: t.loggedInAs.replace('{account}', account) });
    wx.setNavigationBarTitle({ title: t.dialTitle });
  },

  onShow() {
    const { netcall } = globalData();
    if (!netcall || stop) return;
    stop = listen(netcall, {
      disconnect: () => {
        toast(this.data.t.disconnected);
        void endSession().then(() => wx.reLaunch({ url: '/pages/login/index' }));
      },
    });
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
    this.setData({ callee: event.detail.value });
  },

  dial(type: CallType) {
    const { callee, account, t } = this.data;
    const target = dialTarget(callee, account, type, t);
    if ('problem' in target) toast(target.problem);
    else wx.navigateTo({ url: target.url });
  },

  onVideoCall() {
    this.dial(2);
  },

  onAudioCall() {
    this.dial(1);
  },

  onRooms() {
    wx.navigateTo({ url: `/${ROOM_PAGE}` });
  },

  onLive() {
    wx.navigateTo({ url: `/${LIVE_PAGE}` });
  },

  onLogout() {
    this.stopListening();
    void endSession().then(() => wx.reLaunch({ url: '/pages/login/index' }));
  },
});
