/**
 * Login: get a dev token for an account from the server (`POST /api/login`), connect a Netcall with it
 * and keep it for the other pages. The server address is editable so a phone can reach a LAN machine.
 */
import { Netcall } from 'miniprogram-netcall';
import { httpBase } from '../../config';
import { demoLabels, type DemoLang } from '../../i18n';
import { endSession, globalData, messageOf, startSession, toast } from '../../session';

function fetchToken(server: string, account: string): Promise<string> {
  return new Promise((resolve, reject) => {
    wx.request<{ token?: string; message?: string }>({
      url: `${httpBase(server)}/api/login`,
      method: 'POST',
      data: { account },
      header: { 'content-type': 'application/json' },
      success: ({ statusCode, data }) => {
        if (statusCode === 200 && data && data.token) resolve(data.token);
        else reject(new Error((data && data.message) || `login failed (${statusCode})`));
      },
      fail: ({ errMsg }) => reject(new Error(errMsg)),
    });
  });
}

Page({
  data: {
    account: '',
    server: '',
    busy: false,
    t: demoLabels('zh-CN'),
  },

  onLoad() {
    this.setData({
      account: wx.getStorageSync<string>('account') || '',
      server: wx.getStorageSync<string>('server') || globalData().server,
    });
    this.showLang(globalData().lang);
  },

  showLang(lang: DemoLang) {
    const t = demoLabels(lang);
    this.setData({ t });
    wx.setNavigationBarTitle({ title: t.loginTitle });
  },

  /** The app's language, for these pages and the call screen; remembered for next time. */
  onToggleLang() {
    const lang: DemoLang = globalData().lang === 'zh-CN' ? 'en' : 'zh-CN';
    globalData().lang = lang;
    wx.setStorageSync('lang', lang);
    this.showLang(lang);
  },

  onAccountInput(event: WechatMiniprogram.Input) {
    this.setData({ account: event.detail.value.trim() });
  },

  onServerInput(event: WechatMiniprogram.Input) {
    this.setData({ server: event.detail.value.trim() });
  },

  async onLogin() {
    const { account, server, busy } = this.data;
    if (busy) return;
    if (!account) {
      toast(this.data.t.enterAccount);
      return;
    }
    this.setData({ busy: true });
    try {
      const token = await fetchToken(server, account);
      // One socket per login: a mini-program may hold only 5, and a stale one would still ring.
      await endSession();
      const netcall = new Netcall({ server, account, token });
      // The server ends a session at its token's expiry: fetch a fresh token ahead of it and hand it over,
      // trying again while the session lasts (a phone on a flaky network may fail the first time).
      const renew = (): void => {
        fetchToken(server, account)
          .then((fresh) => {
            globalData().token = fresh;
            return netcall.renewToken(fresh);
          })
          .catch((error: unknown) => {
            toast(messageOf(error));
            if (netcall.isConnected) setTimeout(renew, 10_000);
          });
      };
      netcall.on('tokenWillExpire', renew);
      await netcall.connect();
      startSession(netcall);
      Object.assign(globalData(), { account, server, token });
      wx.setStorageSync('account', account);
      wx.setStorageSync('server', server);
      wx.redirectTo({ url: '/pages/dial/index' });
    } catch (error) {
      toast(messageOf(error));
    } finally {
      this.setData({ busy: false });
    }
  },
});
