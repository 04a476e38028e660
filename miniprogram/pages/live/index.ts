/**
 * Live list: the rooms live now, from the server's directory (`GET /api/live` with the login's token), each
 * a tap away from watching it (the watch page), and "Go live" (the go-live page). Refreshed on show and on
 * pull-down; the directory changes only when asked again.
 */
import { httpBase } from '../../config';
import { demoLabels } from '../../i18n';
import { GOLIVE_PAGE, WATCH_PAGE, fetchLiveRooms, liveLine, type Fetch, type LiveLine } from '../../live';
import { globalData, messageOf } from '../../session';

Page({
  data: {
    t: demoLabels('zh-CN'),
    rooms: [] as LiveLine[],
    loading: false,
    error: '',
  },

  onLoad() {
    const { netcall, lang } = globalData();
    if (!netcall) {
      wx.reLaunch({ url: '/pages/login/index' });
      return;
    }
    const t = demoLabels(lang);
    this.setData({ t });
    wx.setNavigationBarTitle({ title: t.liveTitle });
  },

  onShow() {
    void this.load();
  },

  onPullDownRefresh() {
    void this.load().then(() => wx.stopPullDownRefresh());
  },

  onRefresh() {
    void this.load();
  },

  async load() {
    const { server, token } = globalData();
    if (!token || this.data.loading) return;
    this.setData({ loading: true, error: '' });
    try {
      const rooms = await fetchLiveRooms(wx.request as unknown as Fetch, httpBase(server), token);
      this.setData({ rooms: rooms.map((room) => liveLine(room, this.data.t)) });
    } catch (error) {
      this.setData({ error: messageOf(error) });
    } finally {
      this.setData({ loading: false });
    }
  },

  onWatch(event: WechatMiniprogram.BaseEvent) {
    const room = this.data.rooms[Number((event.currentTarget.dataset as { index?: number }).index)];
    if (!room) return;
    wx.navigateTo({
      url: `/${WATCH_PAGE}?channel=${encodeURIComponent(room.channelName)}&host=${encodeURIComponent(room.host)}`,
    });
  },

  onGoLive() {
    wx.navigateTo({ url: `/${GOLIVE_PAGE}` });
  },
});
