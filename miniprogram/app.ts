/**
 * Demo app for WeChat DevTools: login → dial → call, on top of the kit (`miniprogram-netcall`).
 * The app itself holds only the connected Netcall; pages do the rest.
 */
import { DEFAULT_SERVER } from './config';
import type { DemoApp } from './session';

App<DemoApp>({
  globalData: {
    netcall: null,
    account: '',
    server: DEFAULT_SERVER,
  },
});
