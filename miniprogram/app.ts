/**
 * Demo app for WeChat DevTools: login → dial → call, room or live, on top of the kit (`miniprogram-netcall`).
 * The app holds the connected Netcall and its three sessions (1:1, group, live); pages do the rest.
 */
import { DEFAULT_SERVER } from './config';
import type { DemoLang } from './i18n';
import type { DemoApp } from './session';

App<DemoApp>({
  globalData: {
    netcall: null,
    call: null,
    group: null,
    live: null,
    token: '',
    account: '',
    server: DEFAULT_SERVER,
    lang: (wx.getStorageSync<DemoLang>('lang') || 'zh-CN') as DemoLang,
  },
});
