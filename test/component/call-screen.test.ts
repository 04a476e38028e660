import { runInAction } from 'mobx-miniprogram';
import { Emitter } from '../../services/netcall/netcall';
import { idleSnapshot } from '../../services/call/session';
import type { CallRecord, CallSnapshot, EndReason } from '../../services/call/types';
import { labels } from '../../services/i18n';
import { MediaRoster } from '../../services/media';
import {
  bindRosterToStore,
  bindSessionToStore,
  callStore,
  sessionStore,
  type CallSessionLike,
  type MediaActionEvent,
} from '../../services/stores';
import * as device from '../../services/platform/device';
import {
  FakeNetcall,
  defineHost,
  loadComponent,
  playerAttrs,
  pusherAttrs,
  renderHost,
  rtcUser,
  simulate,
  type Host,
} from '../helpers/simulate';

const EVENTS = [
  'accept',
  'close',
  'reject',
  'hangup',
  'mute',
  'camera',
  'flip',
  'sound',
  'switch',
  'switchreply',
  'opensetting',
  'error',
  'statechange',
  'mediaerror',
] as const;

/** What the host heard through `bind:<name>`: the public contract of the screen. */
const heard: Array<{ name: string; detail: unknown }> = [];

// Load once per file (miniprogram-simulate#25: a second load renders nothing); this also registers netcall-room and its tiles.
const hostId = defineHost({
  usingComponents: { 'call-screen': loadComponent('call-screen') },
  template: `<call-screen id="screen" lang="{{lang}}" ringtone="{{ringtone}}" ${EVENTS.map(
    (name) => `bind:${name}="on_${name}"`,
  ).join(' ')} />`,
  data: { lang: 'en', ringtone: '/assets/ring.mp3' },
  methods: Object.fromEntries(
    EVENTS.map((name) => [
      `on_${name}`,
      (event: { detail: unknown }) => heard.push({ name, detail: event.detail }),
    ]),
  ),
});

/** A CallSession stand-in: the real class's events and methods, each method a resolving mock. */
class FakeSession extends Emitter<{
  change: Partial<CallSnapshot>;
  callEnded: CallRecord;
  mediaAction: MediaActionEvent;
}> {
  state: CallSnapshot = idleSnapshot();
  call = jest.fn(async () => undefined);
  accept = jest.fn(async () => undefined);
  reject = jest.fn(async () => undefined);
  hangup = jest.fn(async () => undefined);
  setMic = jest.fn(async () => undefined);
  setCamera = jest.fn(async () => undefined);
  flipCamera = jest.fn(async () => undefined);
  setSoundMode = jest.fn(async () => undefined);
  requestSwitch = jest.fn(async () => undefined);
  respondSwitch = jest.fn(async () => undefined);
  retryPermissions = jest.fn(async () => undefined);
  onMediaState = jest.fn(async () => 'none');

  snapshot(): CallSnapshot {
    return this.state;
  }

  /** Changes state the way CallSession does: the fields that changed, as one `change` event. */
  set(change: Partial<CallSnapshot>): void {
    this.state = { ...this.state, ...change };
    this.emit('change', change);
  }
}

// The real CallSession must fit the interface the store declares; so must its stand-in.
const fits: (session: FakeSession) => CallSessionLike = (session) => session;
void fits;

let host: Host;
let session: FakeSession;
let unbind: () => void;

interface Api {
  attachSession(session: CallSessionLike | null): void;
}

const screen = () => host.querySelector('#screen')!;
const text = () => (screen().dom?.textContent ?? '').replace(/\s+/g, ' ').trim();
const button = (name: string) => screen().querySelector(`.call-screen__${name}`);
/** simulate delivers a tap on a timer, so wait for it before the screen changes under it. */
async function tap(name: string): Promise<void> {
  const element = button(name);
  if (!element) throw new Error(`no .call-screen__${name} on screen: "${text()}"`);
  element.dispatchEvent('tap');
  await simulate.sleep(0);
}

const incomingVideo: Partial<CallSnapshot> = {
  phase: 'incoming',
  cid: 'c1',
  peer: 'bob',
  type: 2,
  direction: 'incoming',
};

const inCall = (change: Partial<CallSnapshot> = {}): Partial<CallSnapshot> => ({
  phase: 'in-call',
  cid: 'c1',
  peer: 'bob',
  type: 2,
  direction: 'outgoing',
  duration: 0,
  ...change,
});

async function show(change: Partial<CallSnapshot>): Promise<void> {
  session.set(change);
  await simulate.sleep(0);
}

async function setLang(lang: string): Promise<void> {
  host.setData({ lang });
  await simulate.sleep(0);
}

beforeEach(() => {
  heard.length = 0;
  sessionStore.reset();
  session = new FakeSession();
  unbind = bindSessionToStore(session);
  host = renderHost(hostId);
});

afterEach(() => {
  host.detach();
  unbind();
  jest.restoreAllMocks();
});

describe('call-screen: what each phase shows', () => {
  const cases: Array<{ title: string; change: Partial<CallSnapshot>; buttons: string[] }> = [
    {
      title: 'dialing',
      change: { phase: 'dialing', peer: 'bob', type: 2, direction: 'outgoing' },
      buttons: ['ctl--cancel', 'ctl--camera', 'ctl--flip'],
    },
    {
      title: 'dialing voice',
      change: { phase: 'dialing', peer: 'bob', type: 1, direction: 'outgoing' },
      buttons: ['ctl--cancel', 'ctl--mute', 'ctl--sound'],
    },
    { title: 'incoming video', change: incomingVideo, buttons: ['ctl--reject', 'ctl--accept', 'ctl--voice'] },
    {
      title: 'incoming voice',
      change: { ...incomingVideo, type: 1 },
      buttons: ['ctl--reject', 'ctl--accept'],
    },
    {
      title: 'connecting',
      change: { phase: 'connecting', peer: 'bob' },
      buttons: ['ctl--hangup', 'ctl--camera', 'ctl--flip'],
    },
    {
      title: 'in a video call',
      change: inCall({ duration: 83 }),
      buttons: ['ctl--mute', 'ctl--sound', 'ctl--camera', 'ctl--flip', 'ctl--switch', 'ctl--hangup'],
    },
    {
      title: 'in a voice call',
      change: inCall({ type: 1, local: { ...idleSnapshot().local, soundMode: 'ear' } }),
      buttons: ['ctl--mute', 'ctl--sound', 'ctl--switch', 'ctl--hangup'],
    },
  ];
  const ALL = [
    'ctl--cancel',
    'ctl--reject',
    'ctl--accept',
    'ctl--voice',
    'ctl--hangup',
    'pill-button--settings',
    'ctl--close',
    'ctl--mute',
    'ctl--sound',
    'ctl--camera',
    'ctl--flip',
    'ctl--switch',
  ];
  const expectedText: Record<string, Record<'en' | 'zh-CN', string[]>> = {
    dialing: {
      en: ['bob', 'Calling…', 'Cancel', 'Camera', 'Flip'],
      'zh-CN': ['bob', '正在呼叫…', '取消', '摄像头', '翻转'],
    },
    'dialing voice': { en: ['Calling…', 'Mic', 'Speaker'], 'zh-CN': ['正在呼叫…', '麦克风', '扬声器'] },
    'incoming video': {
      en: ['bob', 'Incoming video call', 'Video call', 'Decline', 'Accept', 'Answer as voice'],
      'zh-CN': ['bob', '邀请你视频通话', '视频通话', '拒绝', '接听', '语音接听'],
    },
    'incoming voice': { en: ['Incoming voice call', 'Voice call'], 'zh-CN': ['邀请你语音通话', '语音通话'] },
    connecting: { en: ['Connecting…', 'Hang up'], 'zh-CN': ['正在连接…', '挂断'] },
    'in a video call': {
      en: ['01:23', 'Mic', 'Camera', 'Speaker', 'Flip', 'Voice call', 'Hang up'],
      'zh-CN': ['01:23', '麦克风', '摄像头', '扬声器', '翻转', '切到语音', '挂断'],
    },
    'in a voice call': {
      en: ['bob', '00:00', 'Speaker', 'Video call'],
      'zh-CN': ['bob', '00:00', '扬声器', '切到视频'],
    },
  };

  it('shows nothing while idle', async () => {
    await simulate.sleep(0);
    expect(screen().querySelector('.call-screen')).toBeFalsy();
    expect(text()).toBe('');
  });

  for (const lang of ['en', 'zh-CN'] as const) {
    for (const { title, change, buttons } of cases) {
      it(`${title} (${lang})`, async () => {
        await setLang(lang);
        await show(change);
        for (const part of expectedText[title][lang]) expect(text()).toContain(part);
        expect(ALL.filter((name) => button(name))).toEqual(ALL.filter((name) => buttons.includes(name)));
      });
    }
  }

  it('renders the room for video and, kept out of sight, for voice (it still carries the sound)', async () => {
    await show({ phase: 'connecting', peer: 'bob', type: 2 });
    expect(screen().querySelector('.call-screen__room')).toBeTruthy();
    expect(screen().querySelector('.call-screen__media--hidden')).toBeFalsy();
    await show({ type: 1 });
    expect(screen().querySelector('.call-screen__room')).toBeTruthy();
    expect(screen().querySelector('.call-screen__media--hidden')).toBeTruthy();
    // A voice call shows the peer (initial as the avatar) instead of video.
    expect(screen().querySelector('.call-screen__avatar')!.dom!.textContent).toBe('B');
    await show({ phase: 'dialing' });
    expect(screen().querySelector('.call-screen__room')).toBeFalsy();
  });

  const reasons: EndReason[] = ['remote-hangup', 'rejected', 'busy', 'callee-timeout', 'network', 'error'];
  for (const reason of reasons) {
    it(`ended: ${reason}, in both languages`, async () => {
      await show({ ...inCall(), phase: 'ended', reason });
      expect(text()).toContain(labels('en')[`reason.${reason}`]);
      await setLang('zh-CN');
      expect(text()).toContain(labels('zh-CN')[`reason.${reason}`]);
      // Nothing to do but close.
      expect(ALL.filter((name) => button(name))).toEqual(['ctl--close']);
    });
  }

  it('falls back to English for a language it does not ship', async () => {
    await setLang('fr');
    await show(incomingVideo);
    expect(text()).toContain('Incoming video call');
  });

  it('shows the peer state notices, the reconnecting banner and switch prompts', async () => {
    await show(inCall());
    expect(text()).not.toContain('Their mic is off');
    await show({
      peerState: { micOn: false, cameraOn: false, cameraUnavailable: false, background: true },
      reconnecting: true,
    });
    expect(text()).toContain('Their mic is off');
    expect(text()).toContain('Their camera is off');
    expect(text()).toContain('They left the app for now');
    expect(screen().querySelector('.call-screen__pill--warning')!.dom!.textContent).toBe('Reconnecting…');

    await show({ peerState: { micOn: true, cameraOn: false, cameraUnavailable: true, background: false } });
    expect(text()).toContain('Their camera is unavailable');
    expect(text()).not.toContain('Their camera is off');

    await setLang('zh-CN');
    await show({ switchRequest: { from: 'peer', to: 2 }, reconnecting: false });
    expect(text()).toContain('对方请求切换为视频通话');
    expect(screen().querySelector('.call-screen__pill--warning')).toBeFalsy();

    await show({ switchRequest: { from: 'me', to: 1 } });
    expect(screen().querySelector('.call-screen__prompt')).toBeFalsy();
    expect(text()).toContain('等待对方回应…');
    // The button keeps its name and shows it cannot be pressed again.
    expect(button('ctl--switch')!.dom!.textContent).toBe('切到语音');
    expect(button('ctl--switch')!.dom!.className).toContain('call-screen__ctl--off');
  });
});

describe('call-screen: controls', () => {
  const attach = () => (screen().instance as unknown as Api).attachSession(session);

  it('emits its events and, with an attached session, calls the session', async () => {
    attach();
    await show(incomingVideo);
    await tap('ctl--accept');
    await show(inCall());
    await tap('ctl--mute');
    await tap('ctl--camera');
    await tap('ctl--flip');
    await tap('ctl--sound');
    await tap('ctl--switch');
    await tap('ctl--hangup');
    await simulate.sleep(0);

    expect(heard).toEqual([
      { name: 'accept', detail: { cid: 'c1', type: 2 } },
      { name: 'mute', detail: { micOn: false } },
      { name: 'camera', detail: { cameraOn: false } },
      { name: 'flip', detail: { devicePosition: 'back' } },
      { name: 'sound', detail: { soundMode: 'ear' } },
      { name: 'switch', detail: { to: 1 } },
      { name: 'hangup', detail: { cid: 'c1' } },
    ]);
    expect(session.accept).toHaveBeenCalledTimes(1);
    expect(session.setMic).toHaveBeenCalledWith(false);
    expect(session.setCamera).toHaveBeenCalledWith(false);
    expect(session.flipCamera).toHaveBeenCalledTimes(1);
    expect(session.setSoundMode).toHaveBeenCalledWith('ear');
    expect(session.requestSwitch).toHaveBeenCalledWith(1);
    expect(session.hangup).toHaveBeenCalledTimes(1);
  });

  it('cancels a dialing call with hangup, rejects an incoming one, answers a switch request', async () => {
    attach();
    await show({ phase: 'dialing', cid: 'c1', peer: 'bob', direction: 'outgoing' });
    await tap('ctl--cancel');
    await show({ ...incomingVideo, cid: 'c2' });
    await tap('ctl--reject');
    await show(inCall({ switchRequest: { from: 'peer', to: 2 }, type: 1 }));
    expect(text()).toContain('They want to switch to video');
    await tap('pill-button--agree');
    await tap('pill-button--refuse');
    await simulate.sleep(0);
    expect(heard.map((event) => event.name)).toEqual(['hangup', 'reject', 'switchreply', 'switchreply']);
    expect(heard[1].detail).toEqual({ cid: 'c2' });
    expect(session.hangup).toHaveBeenCalledTimes(1);
    expect(session.reject).toHaveBeenCalledTimes(1);
    expect(session.respondSwitch.mock.calls).toEqual([[true], [false]]);
  });

  it('only emits events when no session is attached', async () => {
    await show(inCall());
    await tap('ctl--mute');
    await simulate.sleep(0);
    expect(heard).toEqual([{ name: 'mute', detail: { micOn: false } }]);
    expect(session.setMic).not.toHaveBeenCalled();
  });

  it('reports a failing session call as an error event', async () => {
    attach();
    session.setMic.mockRejectedValueOnce(Object.assign(new Error('not in call'), { code: 403 }));
    await show(inCall());
    await tap('ctl--mute');
    await simulate.sleep(0);
    expect(heard).toContainEqual({
      name: 'error',
      detail: { action: 'mute', code: 403, message: 'not in call' },
    });
  });

  it('binds an attached session to the store by itself, and stops following it once detached', async () => {
    unbind();
    sessionStore.reset();
    const other = new FakeSession();
    other.set(incomingVideo);
    (screen().instance as unknown as Api).attachSession(other);
    await simulate.sleep(0);
    expect(text()).toContain('Incoming video call');
    host.detach();
    other.set({ phase: 'connecting' });
    expect(sessionStore.phase).toBe('incoming');
    host = renderHost(hostId);
    unbind = () => undefined;
  });
  it("hands the room's status codes to the session's media policy and forwards media errors", async () => {
    attach();
    await show(inCall());
    const room = screen().querySelector('.call-screen__room')!.instance as {
      triggerEvent(name: string, detail: object): void;
    };
    room.triggerEvent('statechange', { source: 'pusher', uid: '1', code: -1307 });
    room.triggerEvent('error', { source: 'pusher', uid: '1', errCode: 10001 });
    await simulate.sleep(0);
    // binderror's errCode goes to the same policy: 10001 runs the permission flow there.
    expect(session.onMediaState.mock.calls).toEqual([
      [{ source: 'pusher', uid: '1', code: -1307 }],
      [{ source: 'pusher', uid: '1', code: 10001 }],
    ]);
    expect(heard).toEqual([
      { name: 'statechange', detail: { source: 'pusher', uid: '1', code: -1307 } },
      { name: 'mediaerror', detail: { source: 'pusher', uid: '1', errCode: 10001 } },
    ]);
  });
});

describe('call-screen: the call at WeChat’s standard', () => {
  const attach = () => (screen().instance as unknown as Api).attachSession(session);
  const local = () => idleSnapshot().local;

  it('answers a video call as voice, and plainly with Accept', async () => {
    attach();
    await show(incomingVideo);
    await tap('ctl--voice');
    expect(heard).toEqual([{ name: 'accept', detail: { cid: 'c1', type: 1 } }]);
    expect(session.accept).toHaveBeenCalledWith({ type: 1 });
    await tap('ctl--accept');
    expect(session.accept.mock.calls[1]).toEqual([]);
    // Voice calls have nothing to downgrade.
    await show({ type: 1 });
    expect(button('ctl--voice')).toBeFalsy();
  });

  it('shows how long an ended call lasted, and no duration for one that never connected', async () => {
    await show({ ...inCall(), phase: 'ended', reason: 'remote-hangup', duration: 312 });
    expect(text()).toContain('The other party hung up');
    expect(text()).toContain('Duration 05:12');
    await setLang('zh-CN');
    expect(text()).toContain('通话时长 05:12');
    await show({ duration: 0, reason: 'caller-timeout' });
    expect(text()).not.toContain('通话时长');
  });

  it('emits close from the ended screen', async () => {
    await show({ ...inCall(), phase: 'ended', reason: 'rejected' });
    await tap('ctl--close');
    expect(heard).toEqual([{ name: 'close', detail: { reason: 'rejected' } }]);
  });

  it('keeps each toggle’s label and shows its state by fill and icon', async () => {
    await show(inCall({ local: { ...local(), soundMode: 'speaker' } }));
    const mute = () => button('ctl--mute')!;
    const icon = (name: string) => button(name)!.dom!.querySelector('[class*="netcall-icon--"]')!.className;
    expect(mute().dom!.className).not.toContain('call-screen__ctl--on');
    expect(icon('ctl--mute')).toMatch(/netcall-icon--mic\s*$/);
    expect(button('ctl--sound')!.dom!.className).toContain('call-screen__ctl--on');

    await show({ local: { ...local(), micOn: false, cameraOn: false, soundMode: 'ear' } });
    expect(mute().dom!.className).toContain('call-screen__ctl--on');
    expect(icon('ctl--mute')).toContain('netcall-icon--mic-off');
    expect(icon('ctl--camera')).toContain('netcall-icon--video-off');
    expect(button('ctl--sound')!.dom!.className).not.toContain('call-screen__ctl--on');
    expect(mute().dom!.textContent).toBe('Mic');
    expect(button('ctl--camera')!.dom!.textContent).toBe('Camera');
    expect(button('ctl--sound')!.dom!.textContent).toBe('Speaker');
  });

  it('shows a disabled control as such and ignores its taps', async () => {
    attach();
    await show(inCall({ local: { ...local(), cameraOn: false } }));
    expect(button('ctl--flip')!.dom!.className).toContain('call-screen__ctl--off');
    await tap('ctl--flip');
    await show({ switchRequest: { from: 'me', to: 1 } });
    await tap('ctl--switch');
    expect(heard).toEqual([]);
    expect(session.flipCamera).not.toHaveBeenCalled();
    expect(session.requestSwitch).not.toHaveBeenCalled();

    await show({ switchRequest: null, local: { ...local(), cameraOn: true } });
    expect(button('ctl--flip')!.dom!.className).not.toContain('call-screen__ctl--off');
    await tap('ctl--flip');
    await tap('ctl--switch');
    expect(heard.map((event) => event.name)).toEqual(['flip', 'switch']);
  });

  it('shows my camera while a video call rings out, and not for a voice call', async () => {
    const preview = jest.fn();
    jest
      .spyOn(wx, 'createLivePusherContext')
      .mockReturnValue({ startPreview: preview, stopPreview: jest.fn() } as never);
    await show({ phase: 'dialing', peer: 'bob', type: 1, direction: 'outgoing' });
    expect(pusherAttrs(host)).toEqual([]);
    await show({ type: 2 });
    await simulate.sleep(0);
    expect(pusherAttrs(host)).toEqual([expect.objectContaining({ url: '', enableCamera: true })]);
    expect(preview).toHaveBeenCalledTimes(1);
  });

  it('shows the peer’s picture where their camera is off, only in a video call', async () => {
    await show(inCall());
    expect(screen().querySelector('.call-screen__away')).toBeFalsy();
    await show({ peerState: { micOn: true, cameraOn: false, cameraUnavailable: false, background: false } });
    expect(screen().querySelector('.call-screen__away .call-screen__avatar')!.dom!.textContent).toBe('B');
    await show({ type: 1 });
    expect(screen().querySelector('.call-screen__away')).toBeFalsy();
  });

  it('places itself under the status bar and beside the capsule when the page draws under them', async () => {
    const immersive: device.ScreenInsets = {
      width: 375,
      statusBar: 44,
      menu: { top: 48, bottom: 80, left: 281, right: 368, width: 87, height: 32 },
      immersive: true,
    };
    const insets = jest.spyOn(device, 'getScreenInsets').mockReturnValue(immersive);
    host.detach();
    host = renderHost(hostId);
    await show(inCall());
    const style = () => screen().querySelector('.call-screen')!.dom!.getAttribute('style');
    expect(style()).toBe(
      '--call-screen-top:44px;--call-screen-bar-top:48px;--call-screen-bar-height:32px;' +
        '--call-screen-bar-right:106px;--netcall-room-top:116px',
    );
    // Under WeChat's own navigation bar: nothing to avoid up there.
    insets.mockReturnValue({ ...immersive, immersive: false });
    host.detach();
    host = renderHost(hostId);
    await show({ duration: 1 });
    expect(style()).toBe(
      '--call-screen-top:0px;--call-screen-bar-top:12px;--call-screen-bar-height:32px;' +
        '--call-screen-bar-right:16px;--netcall-room-top:80px',
    );
  });
});

describe('call-screen: media of the room', () => {
  const push1 = rtcUser('1', 'alice', 'rtmp://media/live/c1_1?sign=push');
  const bob = rtcUser('2', 'bob');
  const carol = rtcUser('3', 'carol');
  let netcall: FakeNetcall;
  let roster: MediaRoster;
  let unbindRoster: () => void;

  beforeEach(() => {
    runInAction(() => callStore.reset());
    netcall = new FakeNetcall('alice');
    roster = new MediaRoster(netcall);
    unbindRoster = bindRosterToStore(roster, callStore);
    roster.setSelf({ uid: '1', account: 'alice', cid: 'c1' });
  });

  afterEach(() => {
    unbindRoster();
    roster.dispose();
  });

  /** In call with my pusher and two remote players rendered inside the screen's room. */
  async function inCallWithMedia(): Promise<void> {
    await show(inCall());
    netcall.syncDone([push1, bob, carol]);
    await simulate.sleep(0);
    expect(pusherAttrs(host)).toHaveLength(1);
    expect(playerAttrs(host)).toHaveLength(2);
  }

  const setDataOf = (component: { instance: unknown }) => {
    const calls: Array<Record<string, unknown>> = [];
    const instance = component.instance as { setData(data: Record<string, unknown>, cb?: () => void): void };
    const original = instance.setData;
    instance.setData = function (this: unknown, data, callback) {
      calls.push(data);
      return original.call(this, data, callback);
    };
    return calls;
  };

  it('sends sessionStore.local down to the pusher and every player, one small setData per change', async () => {
    await inCallWithMedia();
    expect(pusherAttrs(host)[0]).toMatchObject({
      enableMic: true,
      enableCamera: true,
      devicePosition: 'front',
    });
    expect(playerAttrs(host).map((attrs) => attrs.soundMode)).toEqual(['speaker', 'speaker']);
    const screenCalls = setDataOf(screen());
    const roomCalls = setDataOf(screen().querySelector('.call-screen__room')!);
    const local = () => sessionStore.local;

    await show({ local: { ...local(), micOn: false } });
    expect(pusherAttrs(host)[0].enableMic).toBe(false);
    await show({ local: { ...local(), cameraOn: false } });
    expect(pusherAttrs(host)[0].enableCamera).toBe(false);
    await show({ local: { ...local(), devicePosition: 'back' } });
    expect(pusherAttrs(host)[0].devicePosition).toBe('back');
    await show({ local: { ...local(), soundMode: 'ear' } });
    expect(playerAttrs(host).map((attrs) => attrs.soundMode)).toEqual(['ear', 'ear']);
    expect(pusherAttrs(host)[0]).toMatchObject({ url: push1.url, enableMic: false, enableCamera: false });

    expect(screenCalls).toEqual([
      { micOn: false },
      { cameraOn: false },
      { devicePosition: 'back' },
      { speaker: false },
    ]);
    for (const call of screenCalls) expect(JSON.stringify(call).length).toBeLessThanOrEqual(32);
    // The room only re-renders its bindings: it never resends its player list.
    expect(roomCalls).toEqual([]);
  });

  it("shows each tile's hint over its video, one room setData per change, by path", async () => {
    await inCallWithMedia();
    const roomCalls = setDataOf(screen().querySelector('.call-screen__room')!);
    await show({ hints: { '1': 'poor-network', '3': 'buffering' } });
    expect(roomCalls).toEqual([{ selfHint: 'poor-network', 'players[1].hint': 'buffering' }]);
    expect(text()).toContain('Poor network');
    expect(text()).toContain('Loading…');
    await show({ hints: { '3': 'video-paused' } });
    expect(roomCalls.slice(1)).toEqual([{ selfHint: '', 'players[1].hint': 'video-paused' }]);
    expect(text()).not.toContain('Poor network');
    expect(text()).toContain('Video paused');
    await show({ hints: {} });
    expect(text()).not.toContain('Video paused');
    expect(roomCalls).toHaveLength(3);
  });

  it("runs the attached session's mediaAction on the room: restart my pusher, replay the named player", async () => {
    const pusherCalls: string[] = [];
    jest.spyOn(wx, 'createLivePusherContext').mockReturnValue({
      stop: (options?: { complete?: () => void }) => {
        pusherCalls.push('stop');
        options?.complete?.();
      },
      start: () => pusherCalls.push('start'),
    } as never);
    const player = { stop: jest.fn(), play: jest.fn() };
    const createPlayer = jest.spyOn(wx, 'createLivePlayerContext').mockReturnValue(player as never);
    (screen().instance as unknown as Api).attachSession(session);
    await inCallWithMedia();

    session.emit('mediaAction', { action: 'restart', source: 'pusher', uid: '1' });
    expect(pusherCalls).toEqual(['stop', 'start']);

    session.emit('mediaAction', { action: 'replay', source: 'player', uid: '3' });
    const carolTile = screen()
      .querySelector('.call-screen__room')!
      .querySelectorAll('.netcall-room__player')
      .find((tile) => tile.data.uid === '3')!;
    expect(createPlayer.mock.calls).toEqual([['player-3', carolTile.instance]]);
    expect(player.stop).toHaveBeenCalledTimes(1);
    expect(player.play).toHaveBeenCalledTimes(1);
    expect(player.stop.mock.invocationCallOrder[0]).toBeLessThan(player.play.mock.invocationCallOrder[0]);
  });

  it('ignores mediaAction without a room on screen, and stops listening on detach and re-attach', async () => {
    const createPusher = jest.spyOn(wx, 'createLivePusherContext');
    const api = screen().instance as unknown as Api;
    api.attachSession(session);
    expect(session.listenerCount('mediaAction')).toBe(1);
    // A voice call ringing out: no room (a video one shows my camera in its room).
    await show({ phase: 'dialing', peer: 'bob', direction: 'outgoing', type: 1 });
    session.emit('mediaAction', { action: 'restart', source: 'pusher', uid: '1' });
    expect(createPusher).not.toHaveBeenCalled();

    const other = new FakeSession();
    api.attachSession(other);
    expect(session.listenerCount('mediaAction')).toBe(0);
    expect(other.listenerCount('mediaAction')).toBe(1);
    api.attachSession(null);
    expect(other.listenerCount('mediaAction')).toBe(0);

    api.attachSession(other);
    host.detach();
    expect(other.listenerCount('mediaAction')).toBe(0);
    host = renderHost(hostId); // afterEach detaches again
  });
});

describe('call-screen: setData budget', () => {
  it('costs one setData per second in call: only {timer}, at most 32 bytes', async () => {
    await show(inCall({ duration: 0 }));
    const instance = screen().instance as { setData(data: Record<string, unknown>, cb?: () => void): void };
    const original = instance.setData;
    const calls: Array<{ keys: string[]; bytes: number }> = [];
    instance.setData = function (this: unknown, data, callback) {
      calls.push({ keys: Object.keys(data), bytes: JSON.stringify(data).length });
      return original.call(this, data, callback);
    };

    for (let duration = 1; duration <= 10; duration++) await show({ duration });

    expect(calls).toHaveLength(10);
    for (const call of calls) {
      expect(call.keys).toEqual(['timer']);
      expect(call.bytes).toBeLessThanOrEqual(32);
    }
    expect(screen().querySelector('.call-screen__timer')!.dom!.textContent).toBe('00:10');
  });

  it('sends nothing for a change the screen does not show', async () => {
    await show(inCall());
    const instance = screen().instance as { setData(data: Record<string, unknown>): void };
    const setData = jest.spyOn(instance, 'setData');
    await show({ cid: 'c1', reconnecting: false, local: { ...idleSnapshot().local } });
    expect(setData).not.toHaveBeenCalled();
  });
});

describe('call-screen: ringtone and screen', () => {
  function fakeRingtone() {
    const ringtone = { play: jest.fn(), stop: jest.fn(), destroy: jest.fn() };
    const create = jest.spyOn(device, 'createRingtone').mockReturnValue(ringtone);
    return { ringtone, create };
  }

  it('rings on incoming and stops when the call connects', async () => {
    const { ringtone, create } = fakeRingtone();
    await show(incomingVideo);
    expect(create).toHaveBeenCalledWith('/assets/ring.mp3');
    expect(ringtone.play).toHaveBeenCalledTimes(1);
    await show({ phase: 'connecting' });
    await show(inCall());
    expect(ringtone.stop).toHaveBeenCalledTimes(1);
    expect(ringtone.play).toHaveBeenCalledTimes(1);
    host.detach();
    expect(ringtone.destroy).toHaveBeenCalledTimes(1);
    host = renderHost(hostId);
  });

  it('rings back while dialing and stops when the call ends unanswered', async () => {
    const { ringtone } = fakeRingtone();
    await show({ phase: 'dialing', peer: 'bob', direction: 'outgoing' });
    expect(ringtone.play).toHaveBeenCalledTimes(1);
    await show({ phase: 'ended', reason: 'caller-timeout' });
    expect(ringtone.stop).toHaveBeenCalledTimes(1);
    expect(text()).toContain('No answer');
  });

  it('keeps the screen on from ringing until the call ends', async () => {
    jest.spyOn(device, 'createRingtone').mockReturnValue({ play() {}, stop() {}, destroy() {} });
    const keep = jest.spyOn(device, 'setKeepScreenOn').mockImplementation(() => undefined);
    await show(incomingVideo);
    await show(inCall());
    await show({ phase: 'ended', reason: 'remote-hangup' });
    expect(keep.mock.calls).toEqual([[true], [false]]);
  });

  it('wraps an InnerAudioContext that loops and ignores the mute switch', () => {
    const context = {
      src: '',
      loop: false,
      autoplay: true,
      obeyMuteSwitch: true,
      play: jest.fn(),
      stop: jest.fn(),
      destroy: jest.fn(),
    };
    jest.spyOn(wx, 'createInnerAudioContext').mockReturnValue(context as never);
    const option = jest.spyOn(wx, 'setInnerAudioOption').mockImplementation((() => undefined) as never);
    const ringtone = device.createRingtone('/ring.mp3');
    expect(context).toMatchObject({ src: '/ring.mp3', loop: true, autoplay: false, obeyMuteSwitch: false });
    expect(option).toHaveBeenCalledWith(expect.objectContaining({ obeyMuteSwitch: false }));
    ringtone.play();
    ringtone.play();
    ringtone.stop();
    ringtone.stop();
    ringtone.destroy();
    ringtone.play();
    expect(context.play).toHaveBeenCalledTimes(1);
    expect(context.stop).toHaveBeenCalledTimes(1);
    expect(context.destroy).toHaveBeenCalledTimes(1);
  });
});

describe('call-screen: permission denied', () => {
  it('offers open settings; its tap opens them and, once granted, retries on the session', async () => {
    (screen().instance as unknown as Api).attachSession(session);
    const open = jest.spyOn(device, 'openCallSettings').mockResolvedValue(true);
    await show({
      phase: 'ended',
      reason: 'permission-denied',
      deniedScope: 'scope.camera',
      type: 2,
      peer: 'bob',
    });
    expect(text()).toContain('No access to the camera or microphone');
    expect(text()).toContain('Allow the camera in Settings');
    await tap('pill-button--settings');
    expect(open).toHaveBeenCalledWith(2);
    expect(heard).toEqual([{ name: 'opensetting', detail: { granted: true } }]);
    expect(session.retryPermissions).toHaveBeenCalledTimes(1);
  });

  it('stays on the screen without retrying while the scope is still refused', async () => {
    (screen().instance as unknown as Api).attachSession(session);
    jest.spyOn(device, 'openCallSettings').mockResolvedValue(false);
    await setLang('zh-CN');
    await show({ phase: 'ended', reason: 'permission-denied', deniedScope: 'scope.record', type: 1 });
    expect(text()).toContain('请在设置中允许使用麦克风');
    expect(button('pill-button--settings')!.dom!.textContent).toBe('去设置');
    await tap('pill-button--settings');
    await simulate.sleep(0);
    expect(heard).toEqual([{ name: 'opensetting', detail: { granted: false } }]);
    expect(session.retryPermissions).not.toHaveBeenCalled();
    expect(button('pill-button--settings')).toBeTruthy();
  });
});

describe('sessionStore + bindSessionToStore', () => {
  it('loads the snapshot, then applies only the fields a change names, replacing objects', () => {
    const other = new FakeSession();
    other.state = { ...idleSnapshot(), ...incomingVideo };
    const release = bindSessionToStore(other);
    expect(sessionStore.snapshot()).toEqual(other.state);

    const local = { ...other.state.local, micOn: false };
    const before = sessionStore.peerState;
    other.set({ local });
    expect(sessionStore.local).toEqual(local);
    // A copy: the session mutating its own object later cannot change the store behind mobx's back.
    expect(sessionStore.local).not.toBe(local);
    expect(sessionStore.peerState).toBe(before);
    expect(sessionStore.phase).toBe('incoming');
    release();
  });

  it('shares one listener for the same session and hands the store over to a new one', () => {
    const first = bindSessionToStore(session);
    expect(session.listenerCount('change')).toBe(1);
    first();
    // The beforeEach binding still holds.
    expect(session.listenerCount('change')).toBe(1);

    const other = new FakeSession();
    const release = bindSessionToStore(other);
    expect(session.listenerCount('change')).toBe(0);
    session.set({ phase: 'dialing' });
    expect(sessionStore.phase).toBe('idle');
    other.set({ phase: 'incoming' });
    expect(sessionStore.phase).toBe('incoming');
    release();
    expect(other.listenerCount('change')).toBe(0);
  });
});

describe('platform lifecycle helpers', () => {
  it('unsubscribes the very function they subscribed', () => {
    const on = jest.spyOn(wx, 'onAppHide');
    const off = jest.spyOn(wx, 'offAppHide');
    const listener = jest.fn();
    const stop = device.onAppHide(listener);
    const handler = on.mock.calls[0][0] as () => void;
    handler();
    expect(listener).toHaveBeenCalledTimes(1);
    stop();
    expect(off).toHaveBeenCalledWith(handler);
  });

  it('reports visibility both ways through one subscription', () => {
    const shows = jest.spyOn(wx, 'onAppShow');
    const hides = jest.spyOn(wx, 'onAppHide');
    const seen: boolean[] = [];
    const stop = device.onAppVisibility((visible) => seen.push(visible));
    (hides.mock.calls[0][0] as () => void)();
    (shows.mock.calls[0][0] as () => void)();
    expect(seen).toEqual([false, true]);
    stop();
  });
});
