/**
 * Dial: call someone by account (video or audio). The app's CallSession rings whatever page is on top; this
 * page opens the call page when it does.
 */
import type { CallSnapshot } from 'miniprogram-netcall';
import { endSession, globalData, listen, toast } from '../../session';

let stop: (() => void) | null = null;

function openCall(query = ''): void {
  wx.navigateTo({ url: `/pages/call/index${query}` });
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
    const { netcall, call } = globalData();
    if (!netcall || !call || stop) return;
    const onChange = (change: Partial<CallSnapshot>) => {
      if (change.phase === 'incoming') openCall();
    };
    call.on('change', onChange);
    const unlisten = listen(netcall, {
      disconnect: () => {
        toast('Disconnected from the server');
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
      toast('Enter someone else’s account');
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
