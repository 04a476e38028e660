/**
 * A fresh host mini-program that installs the kit the way docs/quick-start.md tells an app to: package.json and
 * node_modules at the project root, the app in `miniprogram/` (`miniprogramRoot`), WeChat's "build npm" set
 * to `packNpmManually` with one `packNpmRelationList` entry, a call page on `<call-screen>` and a room page on
 * `<room-screen>` written in strict TypeScript against the kit's shipped types, and a module that takes the
 * NetEase adapter and the group entry by their subpaths. `TYPE_CHECKS` holds what must NOT compile (each line
 * an `@ts-expect-error`, which fails when the types let the line through).
 */
import fs from 'fs';
import path from 'path';

export const HOST_PAGES = ['pages/call/index', 'pages/room/index'];

/** The TypeScript template's compiler options (WeChat DevTools, "TS" template), without its `typeRoots`. */
export const TEMPLATE_OPTIONS = {
  strictNullChecks: true,
  noImplicitAny: true,
  module: 'CommonJS',
  target: 'ES2020',
  allowJs: true,
  allowSyntheticDefaultImports: true,
  esModuleInterop: true,
  experimentalDecorators: true,
  noImplicitThis: true,
  noImplicitReturns: true,
  alwaysStrict: true,
  noFallthroughCasesInSwitch: true,
  noUnusedLocals: true,
  noUnusedParameters: true,
  strict: true,
  strictPropertyInitialization: true,
  lib: ['ES2020'],
  // The quick start's one addition: the typings as the npm package (the template copies them into typings/).
  types: ['miniprogram-api-typings'],
};

const CALL_PAGE = `import {
  CallSession,
  Netcall,
  bindRosterToStore,
  callStore,
  type CallScreenEvent,
  type CallScreenInstance,
} from 'miniprogram-netcall';

let session: CallSession | null = null;

Page({
  data: { peerAvatar: '' },
  onLoad() {
    const netcall = new Netcall({ server: 'wss://rtc.example.com', account: 'alice', token: 'a JWT' });
    session = new CallSession({ netcall, callerTimeout: 30000 });
    bindRosterToStore(session.roster, callStore);
    const screen = this.selectComponent('#screen') as CallScreenInstance;
    screen.attachSession(session);
    void session.call('bob', 2);
  },
  onAccept(event: CallScreenEvent<'accept'>) {
    const type: 1 | 2 = event.detail.type;
    console.log('accepted', event.detail.cid, type);
  },
  onClose(event: CallScreenEvent<'close'>) {
    console.log('ended', event.detail.reason);
    wx.navigateBack();
  },
  onUnload() {
    void session?.dispose();
  },
});
`;

const ROOM_PAGE = `import { Netcall, bindRosterToStore, callStore, type RoomScreenInstance, type RoomScreenEvent } from 'miniprogram-netcall';
import { GroupSession } from 'miniprogram-netcall/services/call/group-session';
import { bindGroupToStore, groupStore } from 'miniprogram-netcall/services/stores/group-store';

Page({
  onLoad() {
    const netcall = new Netcall({ server: 'wss://rtc.example.com', account: 'alice', token: 'a JWT' });
    const group = new GroupSession({ netcall });
    bindRosterToStore(group.roster, callStore);
    const unbind: () => void = bindGroupToStore(group, groupStore);
    const screen = this.selectComponent('#screen') as RoomScreenInstance;
    screen.attachSession(group);
    void group.joinChannel('standup', 2).catch(unbind);
  },
  onMembers(event: RoomScreenEvent<'members'>) {
    const open: boolean = event.detail.open;
    console.log('members', open);
  },
});
`;

const ENGINES = `import type { NetcallLike } from 'miniprogram-netcall';
import { NimNetcall, type NimNetcallOptions } from 'miniprogram-netcall/services/netcall/nim-netcall';

/** The app's choice of engine: NetEase's SDK instead of the open server. */
export function neteaseEngine(sdk: NimNetcallOptions['sdk'], account: string): NetcallLike {
  return new NimNetcall({ sdk, account });
}
`;

/** Lines that must not compile: a wrong session, missing arguments, a method a component does not have. */
export const TYPE_CHECKS = `import type {
  CallSession,
  CallScreenEvent,
  CallScreenInstance,
  NetcallPlayerInstance,
  NetcallPusherInstance,
  NetcallRoomEvent,
  NetcallRoomInstance,
  RoomScreenInstance,
} from 'miniprogram-netcall';
import type { GroupSession } from 'miniprogram-netcall/services/call/group-session';

export function checks(
  screen: CallScreenInstance,
  roomScreen: RoomScreenInstance,
  room: NetcallRoomInstance,
  pusher: NetcallPusherInstance,
  player: NetcallPlayerInstance,
  call: CallSession,
  group: GroupSession,
  accept: CallScreenEvent<'accept'>,
  state: NetcallRoomEvent<'statechange'>,
): void {
  screen.attachSession(call);
  screen.attachSession(null);
  roomScreen.attachSession(group);
  room.restartPusher();
  room.replay('uid');
  pusher.restart();
  player.replay();
  const source: 'pusher' | 'player' = state.detail.source;
  const code: number = state.detail.code;
  const lang: string = screen.data.lang;
  console.log(source, code, lang);
  // @ts-expect-error a number is not a session
  screen.attachSession(42);
  // @ts-expect-error room-screen drives a GroupSession, not a CallSession
  roomScreen.attachSession(call);
  // @ts-expect-error replay() needs the uid
  room.replay();
  // @ts-expect-error the call screen has no restartPusher()
  screen.restartPusher();
  // @ts-expect-error accept's type is 1 | 2
  const three: 3 = accept.detail.type;
  console.log(three);
}
`;

function write(root: string, file: string, content: string): void {
  const full = path.join(root, file);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, content);
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

export interface HostVersions {
  /** `file:` spec of the kit's tarball. */
  kit: string;
  mobx: string;
  typings: string;
}

/** Writes the host project into `root` (which must exist); the app is `root/miniprogram/`. */
export function writeHost(root: string, versions: HostVersions): void {
  write(
    root,
    'package.json',
    json({
      name: 'host-app',
      version: '1.0.0',
      private: true,
      // "build npm" builds `dependencies` only: the typings are for the compiler.
      dependencies: { 'miniprogram-netcall': versions.kit, 'mobx-miniprogram': versions.mobx },
      devDependencies: { 'miniprogram-api-typings': versions.typings },
    }),
  );
  write(
    root,
    'project.config.json',
    json({
      miniprogramRoot: 'miniprogram/',
      compileType: 'miniprogram',
      appid: 'touristappid',
      projectname: 'host-app',
      libVersion: '2.27.3',
      setting: {
        es6: true,
        minified: true,
        minifyWXML: true,
        minifyWXSS: true,
        packNpmManually: true,
        packNpmRelationList: [{ packageJsonPath: './package.json', miniprogramNpmDistDir: './miniprogram/' }],
      },
    }),
  );
  write(root, 'tsconfig.json', json({ compilerOptions: TEMPLATE_OPTIONS, include: ['./**/*.ts'] }));
  write(
    root,
    'miniprogram/app.json',
    json({
      pages: HOST_PAGES,
      window: { navigationBarTextStyle: 'white' },
      style: 'v2',
      lazyCodeLoading: 'requiredComponents',
      sitemapLocation: 'sitemap.json',
    }),
  );
  write(root, 'miniprogram/app.ts', 'App({});\n');
  write(root, 'miniprogram/app.wxss', 'page { background: #000; }\n');
  write(root, 'miniprogram/sitemap.json', json({ rules: [{ action: 'allow', page: '*' }] }));
  write(
    root,
    'miniprogram/pages/call/index.json',
    json({
      navigationStyle: 'custom',
      usingComponents: { 'call-screen': 'miniprogram-netcall/components/call-screen/index' },
    }),
  );
  write(
    root,
    'miniprogram/pages/call/index.wxml',
    '<call-screen id="screen" lang="zh-CN" avatar="{{peerAvatar}}" bind:accept="onAccept" bind:close="onClose" />\n',
  );
  write(root, 'miniprogram/pages/call/index.ts', CALL_PAGE);
  write(
    root,
    'miniprogram/pages/room/index.json',
    json({
      navigationStyle: 'custom',
      usingComponents: { 'room-screen': 'miniprogram-netcall/components/room-screen/index' },
    }),
  );
  write(root, 'miniprogram/pages/room/index.wxml', '<room-screen id="screen" bind:members="onMembers" />\n');
  write(root, 'miniprogram/pages/room/index.ts', ROOM_PAGE);
  write(root, 'miniprogram/engines.ts', ENGINES);
  // Outside miniprogram/: type-checked with the app, never part of it.
  write(root, 'type-checks.ts', TYPE_CHECKS);
}
