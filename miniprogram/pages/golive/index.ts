/**
 * Go live: a form (the live room's name, the mix's split mode, whether the stage needs approval), then the
 * kit's live-room as the host, drawn under the status bar (`navigationStyle: custom`; the form draws its own
 * bar beside the capsule). Everything in the live (the stage, requests, messages, the end page and its
 * summary) is the kit's; this page starts the live, words its refusals, asks before a back gesture would end
 * it, and leaves once its end page is closed.
 */
import { alertBeforeUnload, getScreenInsets } from 'miniprogram-netcall';
import type { LiveSnapshot } from 'miniprogram-netcall/services/live/live-session';
import { demoLabels } from '../../i18n';
import { LIVE_ACTIVE, SPLIT_MODES, liveErrorText, liveNameProblem, sessionConfigOf } from '../../live';
import { barStyle } from '../../room';
import { globalData, toast } from '../../session';

let stop: (() => void) | null = null;

Page({
  data: {
    lang: 'zh-CN',
    t: demoLabels('zh-CN'),
    bar: '',
    view: 'form' as 'form' | 'screen',
    name: '',
    splits: [] as string[],
    split: 0,
    approval: false,
    entering: false,
    error: '',
  },

  onLoad() {
    const { live, lang } = globalData();
    if (!live) {
      wx.reLaunch({ url: '/pages/login/index' });
      return;
    }
    const t = demoLabels(lang);
    this.setData({
      lang,
      t,
      bar: barStyle(getScreenInsets()),
      splits: SPLIT_MODES.map((s) => t[s.key]),
    });
    const onChange = (change: Partial<LiveSnapshot>) => {
      if (change.phase === 'ended') alertBeforeUnload(null);
    };
    live.on('change', onChange);
    stop = () => live.off('change', onChange);
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
    // The home button and the capsule leave without asking: a live without its screen could not be ended.
    if (live && LIVE_ACTIVE.includes(live.phase)) live.hangup().catch(() => undefined);
  },

  onNameInput(event: WechatMiniprogram.Input) {
    this.setData({ name: event.detail.value, error: '' });
  },

  onSplitChange(event: WechatMiniprogram.PickerChange) {
    this.setData({ split: Number(event.detail.value) });
  },

  onApprovalChange(event: WechatMiniprogram.SwitchChange) {
    this.setData({ approval: event.detail.value });
  },

  async onGoLive() {
    const live = globalData().live;
    const { name, split, approval, t, entering } = this.data;
    if (!live || entering) return;
    const channelName = name.trim();
    const problem = liveNameProblem(channelName, t);
    if (problem !== null) {
      this.setData({ error: problem });
      return;
    }
    this.setData({ entering: true, error: '' });
    const started = live.goLive(channelName, { sessionConfig: sessionConfigOf(split, approval) });
    // The screen shows going live (and a refused camera's end page) as soon as there is something to show.
    this.setData({ view: 'screen' }, () => this.attach());
    try {
      await started;
      alertBeforeUnload(t.leaveLive);
    } catch (error) {
      this.setData({ view: 'form', error: liveErrorText(error, t) });
    } finally {
      this.setData({ entering: false });
    }
  },

  attach() {
    const screen = this.selectComponent('#screen') as unknown as { attachSession(s: unknown): void } | null;
    screen?.attachSession(globalData().live);
  },

  onBack() {
    wx.navigateBack();
  },

  /** The end page's close button: the live is over, back to the list. */
  onClose() {
    wx.navigateBack();
  },

  onScreenError(event: WechatMiniprogram.CustomEvent<{ code?: number; message: string }>) {
    toast(event.detail.message);
  },
});
