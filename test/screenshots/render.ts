/**
 * The screenshot renderer: the call screen and the group screen as a person sees them. For each state (states.ts) it renders the
 * real component in miniprogram-simulate, takes the composed DOM, translates the kit's WXSS for a browser
 * (rpx at a 375 px wide window, `:host`, the safe area), adds WeChat's built-in element styles (those the base
 * library injects, and with `"style": "v2"` the WeUI 2 ones on top), the demo app's global styles and a phone
 * frame (status bar, capsule, home indicator), and photographs it with headless Chromium (`playwright-core`,
 * Debian's `chromium`). `npm run screenshots` writes docs/screenshots/; test/screenshots/screens.test.ts
 * renders the same pages and runs the browser checks of checks.ts on them.
 *
 * It must never depend on a real device: the live elements are drawn as fixed "camera pictures" (a bright
 * wall, so the contrast check meets the worst case of a white picture behind the text).
 */
import '../../bench/lib/dom';
import fs from 'fs';
import path from 'path';
import type { Browser, Page } from 'playwright-core';
import { runInAction } from 'mobx-miniprogram';
import { Emitter } from '../../services/netcall/netcall';
import { idleGroupSnapshot, type GroupRecord, type GroupSnapshot } from '../../services/call/group-session';
import { idleSnapshot } from '../../services/call/session';
import type { CallRecord, CallSnapshot } from '../../services/call/types';
import { setScreenInsetsSource, type ScreenInsets } from '../../services/platform/device';
import { bindSessionToStore, callStore, sessionStore, type MediaActionEvent } from '../../services/stores';
import { bindGroupToStore, groupStore } from '../../services/stores/group-store';
import { idleLiveSnapshot, type LiveRecord, type LiveSnapshot } from '../../services/live/live-session';
import { bindLiveToStore, liveStore } from '../../services/stores/live-store';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium';
import { COMPONENTS_ROOT, defineHost, loadComponent, renderHost, simulate } from '../helpers/simulate';
import { STATES, SELF_UID, rtcUser, type ScreenState } from './states';
import { writeLayoutPictures } from './layouts';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const OUT_DIR = path.join(REPO_ROOT, 'docs/screenshots');
export { CHROMIUM, CHROMIUM_ARGS };

export type Lang = 'en' | 'zh-CN';
export type Variant = 'plain' | 'v2';
export const LANGS: readonly Lang[] = ['en', 'zh-CN'];
export const VARIANTS: readonly Variant[] = ['plain', 'v2'];

/** A 375 × 812 phone with a notch, the page drawn under the status bar (`navigationStyle: custom`). */
export const PHONE: ScreenInsets & { height: number; safeBottom: number } = {
  width: 375,
  height: 812,
  statusBar: 44,
  menu: { top: 48, bottom: 80, left: 281, right: 368, width: 87, height: 32 },
  safeBottom: 34,
  immersive: true,
};
const BEZEL = 12;
export const VIEWPORT = { width: PHONE.width + 2 * BEZEL, height: PHONE.height + 2 * BEZEL };

// ---- the component, rendered -------------------------------------------------------------------------

/** The session the screen is bound to: a fixed snapshot; the screen's buttons are not pressed here. */
class StillSession extends Emitter<{
  change: Partial<CallSnapshot>;
  callEnded: CallRecord;
  mediaAction: MediaActionEvent;
}> {
  constructor(private readonly state: CallSnapshot) {
    super();
  }
  snapshot(): CallSnapshot {
    return this.state;
  }
  readonly call = async () => undefined;
  readonly accept = async () => undefined;
  readonly reject = async () => undefined;
  readonly hangup = async () => undefined;
  readonly setMic = async () => undefined;
  readonly setCamera = async () => undefined;
  readonly flipCamera = async () => undefined;
  readonly setSoundMode = async () => undefined;
  readonly requestSwitch = async () => undefined;
  readonly respondSwitch = async () => undefined;
  readonly retryPermissions = async () => undefined;
}

/** The group screen's session: the same, on the group store. */
class StillGroupSession extends Emitter<{
  change: Partial<GroupSnapshot>;
  callEnded: GroupRecord;
  mediaAction: MediaActionEvent;
}> {
  constructor(private readonly state: GroupSnapshot) {
    super();
  }
  snapshot(): GroupSnapshot {
    return this.state;
  }
}

/** The live screen's session: the same, on the live store. */
class StillLiveSession extends Emitter<{
  change: Partial<LiveSnapshot>;
  liveEnded: LiveRecord;
  mediaAction: MediaActionEvent;
}> {
  constructor(private readonly state: LiveSnapshot) {
    super();
  }
  snapshot(): LiveSnapshot {
    return this.state;
  }
}

type ScreenTag = 'call-screen' | 'room-screen' | 'live-room';
const TAGS = { call: 'call-screen', room: 'room-screen', live: 'live-room' } as const;
const hostIds: Partial<Record<ScreenTag, string>> = {};

function host(tag: ScreenTag): string {
  // Loaded once per process: a second load of the same path renders nothing (miniprogram-simulate#25).
  hostIds[tag] ??= defineHost({
    usingComponents: { [tag]: loadComponent(tag) },
    template: `<${tag} id="screen" lang="{{lang}}" />`,
    data: { lang: 'en' },
  });
  return hostIds[tag]!;
}

/** Tag names of the kit's components in the composed DOM (the root one is registered as `main`). */
const COMPONENT_TAGS: Record<string, string> = {
  main: 'call-screen',
  'room-screen': 'room-screen',
  'live-room': 'live-room',
  'netcall-room': 'netcall-room',
  'netcall-pusher': 'netcall-pusher',
  'netcall-player': 'netcall-player',
};
/** simulate prefixes every class with its component's tag (`main--call-screen__name`); the browser needs none. */
const PREFIX = new RegExp(`^(?:${Object.keys(COMPONENT_TAGS).join('|')})--`);
const KEPT_ATTRIBUTES = ['class', 'style', 'src'];

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttribute = (text: string) => escapeHtml(text).replace(/"/g, '&quot;');

function serialize(node: Node, root: ScreenTag): string {
  if (node.nodeType === 3) return escapeHtml(node.textContent ?? '');
  if (node.nodeType !== 1) return '';
  const element = node as Element;
  const raw = element.tagName.toLowerCase();
  const tag = raw === 'main' ? root : (COMPONENT_TAGS[raw] ?? raw);
  const attributes = KEPT_ATTRIBUTES.flatMap((name) => {
    let value = element.getAttribute(name);
    if (value === null) return [];
    if (name === 'class')
      value = value
        .split(/\s+/)
        .filter(Boolean)
        .map((token) => token.replace(PREFIX, ''))
        .join(' ');
    return [` ${name}="${escapeAttribute(value)}"`];
  }).join('');
  const children = Array.from(element.childNodes).map((child) => serialize(child, root));
  return `<${tag}${attributes}>${children.join('')}</${tag}>`;
}

/** The screen of `state` in `lang`, as the composed DOM's HTML (kit classes, unprefixed). */
export async function captureState(state: ScreenState, lang: Lang): Promise<string> {
  setScreenInsetsSource(() => PHONE);
  const tag: ScreenTag = TAGS[state.screen ?? 'call'];
  const unbind =
    state.screen === 'room'
      ? bindGroupToStore(new StillGroupSession({ ...idleGroupSnapshot(), ...state.snapshot }))
      : state.screen === 'live'
        ? bindLiveToStore(new StillLiveSession({ ...idleLiveSnapshot(), ...state.snapshot }))
        : bindSessionToStore(new StillSession({ ...idleSnapshot(), ...state.snapshot }));
  // A group's and a stage's tiles carry their members' names; the 1:1 screen shows none.
  const accountOf = (uid: string) =>
    (state.screen === 'room' && state.snapshot.members?.find((m) => m.uid === uid)?.account) ||
    (state.screen === 'live' && state.snapshot.stage?.find((m) => m.uid === uid)?.account) ||
    `user${uid}`;
  runInAction(() =>
    callStore.rosterLoaded({
      pusher: state.pusher ? { uid: SELF_UID, account: 'me', url: rtcUser(SELF_UID, 'me').url } : null,
      players: (state.players ?? []).map((uid) => rtcUser(uid, accountOf(uid))),
    }),
  );
  const rendered = renderHost(host(tag));
  try {
    rendered.setData({ lang });
    await simulate.sleep(0);
    if (state.screen === 'room' && state.panel) {
      // As a tap on the members button would.
      (
        rendered.querySelector('#screen')!.instance as unknown as { showPanel(open: boolean): void }
      ).showPanel(true);
    }
    await simulate.sleep(0);
    const root = (rendered as unknown as { dom: Element }).dom.firstElementChild;
    if (!root) throw new Error(`${state.name}: the ${tag} rendered nothing`);
    return serialize(root, tag);
  } finally {
    rendered.detach();
    unbind();
    sessionStore.reset();
    groupStore.reset();
    liveStore.reset();
    runInAction(() => callStore.reset());
    setScreenInsetsSource(null);
  }
}

// ---- styles --------------------------------------------------------------------------------------------

const RPX = PHONE.width / 750;

/** Inlines `@import`s the way WeChat's WXSS compiler does (relative to the importing file). */
function readWxss(file: string): string {
  const css = fs.readFileSync(file, 'utf8');
  return css.replace(/@import\s+["']([^"']+)["'];?/g, (_all, spec: string) =>
    readWxss(path.resolve(path.dirname(file), spec)),
  );
}

/** WXSS as a browser reads it: comments out, rpx in px, `:host` as the component's tag, the safe area set. */
export function translateWxss(css: string, hostTag = 'page'): string {
  return css
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(-?\d*\.?\d+)rpx/g, (_all, value: string) => `${+(Number(value) * RPX).toFixed(3)}px`)
    .replace(/:host/g, hostTag)
    .replace(/env\(safe-area-inset-bottom\)/g, `${PHONE.safeBottom}px`)
    .replace(/(^|[\s,}])(view|text|image|button)(?=[\s,.{:[])/g, '$1wx-$2');
}

const COMPONENT_STYLES = [...new Set(Object.values(COMPONENT_TAGS))]
  .map((tag) => translateWxss(readWxss(path.join(COMPONENTS_ROOT, tag, 'index.wxss')), tag))
  .join('\n');

/** The demo app's global styles: what every page of an app like ours carries into the kit's components. */
const APP_STYLES = ['miniprogram/app.wxss', 'miniprogram/pages/call/index.wxss']
  .map((file) => translateWxss(readWxss(path.join(REPO_ROOT, file))))
  .join('\n');

/**
 * WeChat's built-in element styles (the base library's, for the elements the kit and a typical app use),
 * condensed from the WebView base stylesheet: blocks, inline text, the 320 × 240 image default, and the
 * original button.
 */
export const BUILTIN_STYLES = `
page, wx-view { display: block; }
wx-view[hidden] { display: none; }
wx-text { display: inline; white-space: pre-wrap; }
wx-image { display: inline-block; width: 320px; height: 240px; overflow: hidden; }
wx-live-pusher { display: block; width: 100%; }
wx-live-player { display: block; width: 300px; height: 225px; }
wx-scroll-view { display: block; overflow: hidden auto; }
wx-button { position: relative; display: block; margin-left: auto; margin-right: auto; padding-left: 14px;
  padding-right: 14px; box-sizing: border-box; font-size: 18px; text-align: center; text-decoration: none;
  line-height: 2.55555556; border-radius: 5px; overflow: hidden; color: #000; background-color: #f8f8f8; }
wx-button:after { content: " "; width: 200%; height: 200%; position: absolute; top: 0; left: 0;
  border: 1px solid rgba(0, 0, 0, 0.2); transform: scale(0.5); transform-origin: 0 0; box-sizing: border-box;
  border-radius: 10px; }
wx-button[disabled]:not([type]) { color: rgba(0, 0, 0, 0.3); background-color: #f7f7f7; }
`;

/** What `"style": "v2"` adds (WeUI 2's button: the 184 px wide, bold, auto-margined slab). */
export const BUILTIN_V2_STYLES = `
wx-button { padding: 8px 24px; font-size: 17px; font-weight: 700; line-height: 1.41176471; border-radius: 4px;
  color: #06ae56; background-color: #f2f2f2; }
wx-button:not([size=mini]) { width: 184px; margin-left: auto; margin-right: auto; }
wx-button:after { border: none; }
wx-button[disabled]:not([type]) { color: rgba(0, 0, 0, 0.18); background-color: #f2f2f2; }
`;

/**
 * What an app's careless global styles look like (WeChat applies tag selectors from app.wxss inside every
 * component): the test renders with these too and expects every control the same size.
 */
export const HOSTILE_APP_STYLES = translateWxss(`
page { font-size: 40rpx; line-height: 2.4; letter-spacing: 2px; color: #333; }
view { box-sizing: content-box; padding: 2px; margin: 3px; font-size: 36rpx; line-height: 3; }
text { font-size: 40rpx; }
`);

/** The live elements have no picture in a browser: draw a person in front of a bright wall. */
const CAMERA_STYLES = `
wx-live-player { width: 100%; height: 100%; background:
  radial-gradient(ellipse 12% 8% at 50% 43%, #c99f84 97%, transparent 100%),
  radial-gradient(ellipse 30% 18% at 50% 70%, #3f5f86 97%, transparent 100%),
  linear-gradient(180deg, #f7f5ef 0%, #ebe5d8 60%, #d8cfbe 100%); }
wx-live-pusher { height: 100%; background:
  radial-gradient(ellipse 14% 9% at 50% 44%, #8f6b55 97%, transparent 100%),
  radial-gradient(ellipse 34% 20% at 50% 72%, #8e3b3b 97%, transparent 100%),
  linear-gradient(180deg, #e4eaee 0%, #cfd8dc 100%); }
`;

const FRAME_STYLES = `
html, body { margin: 0; background: #0c0c0d; }
body { font-family: -apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif; }
.phone { position: relative; width: ${PHONE.width}px; height: ${PHONE.height}px; margin: ${BEZEL}px;
  border-radius: 40px; overflow: hidden; background: #fff; }
.phone > page { position: absolute; top: 0; left: 0; width: 100%; height: 100%; }
.phone__status { position: absolute; top: 0; left: 0; right: 0; height: ${PHONE.statusBar}px; z-index: 1000;
  display: flex; align-items: center; justify-content: space-between; padding: 0 26px 0 34px; box-sizing: border-box;
  color: #fff; font: 600 15px/1 -apple-system, "Noto Sans CJK SC", sans-serif; pointer-events: none; }
.phone__battery { width: 24px; height: 11px; border: 1.5px solid rgba(255,255,255,.9); border-radius: 3px;
  box-sizing: border-box; padding: 1px; }
.phone__battery::after { content: ""; display: block; width: 70%; height: 100%; background: #fff; border-radius: 1px; }
.phone__capsule { position: absolute; z-index: 1000; top: ${PHONE.menu!.top}px; left: ${PHONE.menu!.left}px;
  width: ${PHONE.menu!.width}px; height: ${PHONE.menu!.height}px; box-sizing: border-box; border-radius: 16px;
  border: 0.5px solid rgba(255,255,255,.3); background: rgba(0,0,0,.2); display: flex; align-items: center;
  pointer-events: none; }
.phone__capsule i { flex: 1; text-align: center; color: #fff; font: 700 14px/1 sans-serif; font-style: normal; }
.phone__capsule b { width: 0.5px; height: 18px; background: rgba(255,255,255,.3); }
.phone__home { position: absolute; z-index: 1000; left: 50%; bottom: 8px; width: 134px; height: 5px;
  margin-left: -67px; border-radius: 3px; background: rgba(255,255,255,.85); pointer-events: none; }
`;

const FRAME_HTML =
  '<div class="phone__status"><span>9:41</span><span class="phone__battery"></span></div>' +
  '<div class="phone__capsule"><i>···</i><b></b><i>◉</i></div><div class="phone__home"></div>';

export interface PageOptions {
  variant: Variant;
  /** Extra app styles (the hostile set in the robustness check). */
  appStyles?: string;
}

/** A whole HTML page: the phone with the screen's DOM in its page, every style in cascade order. */
export function pageHtml(body: string, { variant, appStyles = '' }: PageOptions): string {
  const builtin = BUILTIN_STYLES + (variant === 'v2' ? BUILTIN_V2_STYLES : '');
  return (
    '<!doctype html><html><head><meta charset="utf-8"><style>' +
    FRAME_STYLES +
    builtin +
    CAMERA_STYLES +
    APP_STYLES +
    appStyles +
    COMPONENT_STYLES +
    `</style></head><body><div class="phone"><page>${body}</page>${FRAME_HTML}</div></body></html>`
  );
}

// ---- the browser ---------------------------------------------------------------------------------------

/** Headless Debian Chromium. A missing browser is an error that says what to install, never a skip. */
export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(
      `No Chromium at ${CHROMIUM}: the screenshots need Debian's chromium and a CJK font ` +
        '(apt-get install -y --no-install-recommends chromium fonts-noto-cjk; .ci/run does it).',
    );
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export async function openPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
  return context.newPage();
}

/** Puts `html` in the page and waits for its fonts, so text is measured and drawn in its real face. */
export async function show(page: Page, html: string): Promise<void> {
  await page.setContent(html, { waitUntil: 'load' });
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
}

export const fileName = (state: string, lang: Lang, variant: Variant) =>
  `${state}.${lang}${variant === 'v2' ? '.v2' : ''}.png`;

/** Every state × language × variant into `outDir`; returns the files written. */
export async function writeScreenshots(outDir = OUT_DIR, states = STATES): Promise<string[]> {
  fs.mkdirSync(outDir, { recursive: true });
  const browser = await launchBrowser();
  const written: string[] = [];
  try {
    const page = await openPage(browser);
    for (const state of states)
      for (const lang of LANGS) {
        const body = await captureState(state, lang);
        for (const variant of VARIANTS) {
          await show(page, pageHtml(body, { variant }));
          const file = path.join(outDir, fileName(state.name, lang, variant));
          await page.screenshot({ path: file, clip: { x: 0, y: 0, ...VIEWPORT } });
          written.push(file);
        }
      }
  } finally {
    await browser.close();
  }
  return written;
}

// Run as a script (`npm run screenshots`, or `npm run screenshots -- room` for the states whose names start
// with the given words), not when a test imports it.
if (process.argv[1] && path.resolve(process.argv[1]) === __filename) {
  const only = process.argv.slice(2);
  const wanted = (name: string) => only.length === 0 || only.some((prefix) => name.startsWith(prefix));
  // The live mix's layout pictures (SVG, drawn from the server's layout function) go with the screens.
  const layouts = wanted('layout') ? writeLayoutPictures(OUT_DIR) : [];
  writeScreenshots(
    OUT_DIR,
    STATES.filter((state) => wanted(state.name)),
  )
    .then((files) => {
      console.log(
        `wrote ${files.length} screenshots and ${layouts.length} layout pictures to ${path.relative(process.cwd(), OUT_DIR)}/`,
      );
      process.exit(0);
    })
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    });
}
