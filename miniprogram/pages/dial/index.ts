/**
 * Dial: call someone, or be called. While this page is on top it opens the call page for an incoming
 * call; while the call page is on top, that page answers its own events (and refuses a second caller).
 */
import type { BeCallingEvent } from 'miniprogram-netcall';
import { globalData, listen, toast } from '../../session';

let unsubscribe: (() => void) | null = null;

function openCall(query: Record<string, string | number>): void {
  const search = Object.keys(query)
    .map((key) => `${key}=${encodeURIComponent(String(query[key]))}`)
    .join('&');
  wx.navigateTo({ url: `/pages/call/index?${search}` });
}

Page({
  data: {
    account: '',
    callee: '',
  },

  onLoad() {
    const { netcall, account } = globalData();
    if (!netcall) {
      wx.reLaunch({ url: '/pages/login/index' });
      return;
    }
    this.setData({ account });
  },

  onShow() {
    const { netcall } = globalData();
    if (!netcall || unsubscribe) return;
    unsubscribe = listen(netcall, {
      beCalling: (event: BeCallingEvent) =>
        openCall({ incoming: 1, caller: event.caller, cid: event.cid, type: event.type }),
      disconnect: () => {
        toast('Disconnected from the server');
        globalData().netcall = null;
        wx.reLaunch({ url: '/pages/login/index' });
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
    if (unsubscribe) unsubscribe();
    unsubscribe = null;
  },

  onCalleeInput(event: WechatMiniprogram.Input) {
    this.setData({ callee: event.detail.value.trim() });
  },

  onVideoCall() {
    const { callee, account } = this.data;
    if (!callee || callee === account) {
      toast('Enter someone else’s account');
      return;
    }
    openCall({ callee });
  },

  onLogout() {
    this.stopListening();
    const app = globalData();
    if (app.netcall) app.netcall.close();
    app.netcall = null;
    wx.reLaunch({ url: '/pages/login/index' });
  },
});
