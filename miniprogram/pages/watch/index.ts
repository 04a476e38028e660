/**
 * Watch / join the stage: the kit's live-room as audience of the room named in the query
 * (`?channel=…&host=…`, as the live list writes it). Watching, asking to join the stage, an invite, being on
 * stage, messages and the end page are all the kit's; this page joins, words a refusal (then goes back), asks
 * before a back gesture would leave, and leaves once the end page is closed.
 */
import { alertBeforeUnload } from 'miniprogram-netcall';
import type { LiveSnapshot } from 'miniprogram-netcall/services/live/live-session';
import { demoLabels } from '../../i18n';
import { LIVE_ACTIVE, liveErrorText, watchTarget } from '../../live';
import { globalData, toast } from '../../session';

let stop: (() => void) | null = null;

Page({
  data: {
    lang: 'zh-CN',
  },

  onLoad(query: Record<string, string | undefined>) {
    const { live, lang } = globalData();
    const target = watchTarget(query);
    if (!live || !target) {
      wx.reLaunch({ url: '/pages/login/index' });
      return;
    }
    this.setData({ lang });
    const t = demoLabels(lang);
    const onChange = (change: Partial<LiveSnapshot>) => {
      if (change.phase === 'ended') alertBeforeUnload(null);
    };
    live.on('change', onChange);
    stop = () => live.off('change', onChange);
    alertBeforeUnload(t.leaveLive);
    live.watch(target.channelName, { host: target.host }).catch((error: unknown) => {
      alertBeforeUnload(null);
      toast(liveErrorText(error, t));
      wx.navigateBack();
    });
  },

  onReady() {
    const screen = this.selectComponent('#screen') as unknown as { attachSession(s: unknown): void } | null;
    screen?.attachSession(globalData().live);
  },

  onShow() {
    globalData().live?.appShown();
  },

  onHide() {
    globalData().live?.appHidden();
  },

  onUnload() {
    alertBeforeUnload(null);
    if (stop) stop();
    stop = null;
    const live = globalData().live;
    if (live && LIVE_ACTIVE.includes(live.phase)) live.hangup().catch(() => undefined);
  },

  /** The end page's close button. */
  onClose() {
    wx.navigateBack();
  },

  onScreenError(event: WechatMiniprogram.CustomEvent<{ code?: number; message: string }>) {
    toast(event.detail.message);
  },
});
