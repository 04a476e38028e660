import { runInAction } from 'mobx-miniprogram';
import { MediaRoster } from '../../services/media';
import { callStore, bindRosterToStore } from '../../services/stores';
import { labels } from '../../services/i18n';
import {
  FakeNetcall,
  countSetData,
  defineHost,
  loadComponent,
  pusherAttrs,
  renderHost,
  recordEvents,
  rtcUser,
  simulate,
  type Host,
} from '../helpers/simulate';

// Load once per file (miniprogram-simulate#25: a second load renders nothing).
const hostId = defineHost({
  usingComponents: { 'netcall-pusher': loadComponent('netcall-pusher') },
  // The parent binds my media switches (netcall-room does, from sessionStore.local).
  template:
    '<netcall-pusher id="pusher" enable-mic="{{mic}}" enable-camera="{{camera}}" device-position="{{side}}" preview="{{preview}}" hint="{{hint}}" labels="{{labels}}" />',
  data: { mic: true, camera: true, side: 'front', preview: false, hint: '', labels: labels('en') },
});

const push1 = rtcUser('1', 'alice', 'rtmp://media/live/c1_1?sign=push1');
const bob = rtcUser('2', 'bob');

let netcall: FakeNetcall;
let roster: MediaRoster;
let unbind: () => void;
let host: Host;
let events: Array<{ name: string; detail: unknown }>;

beforeEach(() => {
  runInAction(() => callStore.reset());
  netcall = new FakeNetcall('alice');
  roster = new MediaRoster(netcall);
  unbind = bindRosterToStore(roster, callStore);
  roster.setSelf({ uid: '1', account: 'alice', cid: 'c1' });
  host = renderHost(hostId);
  events = recordEvents(host.querySelector('#pusher')!);
});

afterEach(() => {
  host.detach();
  unbind();
  roster.dispose();
  jest.restoreAllMocks();
});

const element = () => host.querySelector('#pusher')!.querySelector('#live-pusher')!;

describe('netcall-pusher', () => {
  it('renders no <live-pusher> before a push URL is known', async () => {
    netcall.clientJoin(bob);
    await simulate.sleep(0);
    expect(pusherAttrs(host)).toEqual([]);
  });

  it('binds the self entry of syncDone with call-friendly attributes', async () => {
    netcall.syncDone([push1, bob]);
    await simulate.sleep(0);
    const [attrs] = pusherAttrs(host);
    expect(attrs).toMatchObject({
      url: push1.url,
      mode: 'RTC',
      autopush: true,
      enableCamera: true,
      enableMic: true,
      minBitrate: '200',
      maxBitrate: '500',
      audioQuality: 'high',
      audioVolumeType: 'voicecall',
      enableAgc: true,
      enableAns: true,
      aspect: '3:4',
    });
  });

  it('rebinds and restarts on a new URL after a second syncDone', async () => {
    const context = {
      stop: jest.fn((options?: { complete?: () => void }) => options?.complete?.()),
      start: jest.fn(),
    };
    jest.spyOn(wx, 'createLivePusherContext').mockReturnValue(context as never);
    netcall.syncDone([push1, bob]);
    await simulate.sleep(0);

    const push2 = { ...push1, url: 'rtmp://media/live/c1_1?sign=push2' };
    netcall.syncDone([push2, bob]);
    await simulate.sleep(0);
    expect(pusherAttrs(host)[0].url).toBe(push2.url);
    expect(context.stop).toHaveBeenCalledTimes(1);
    expect(context.start).toHaveBeenCalledTimes(1);
  });

  it('binds enableMic, enableCamera and devicePosition to the element, without a setData of its own', async () => {
    netcall.syncDone([push1]);
    await simulate.sleep(0);
    expect(pusherAttrs(host)[0]).toMatchObject({
      enableMic: true,
      enableCamera: true,
      devicePosition: 'front',
    });
    const counter = countSetData(host.querySelector('#pusher')!);
    host.setData({ mic: false, camera: false, side: 'back' });
    await simulate.sleep(0);
    expect(pusherAttrs(host)[0]).toMatchObject({
      enableMic: false,
      enableCamera: false,
      devicePosition: 'back',
      url: push1.url,
    });
    expect(counter.count).toBe(0);
  });

  it("restart() stops the push, then starts it in stop's complete; without a URL it does nothing", async () => {
    const calls: string[] = [];
    const context = {
      stop: jest.fn((options?: { complete?: () => void }) => {
        calls.push('stop');
        options?.complete?.();
      }),
      start: jest.fn(() => calls.push('start')),
    };
    jest.spyOn(wx, 'createLivePusherContext').mockReturnValue(context as never);
    const pusher = host.querySelector('#pusher')!.instance as unknown as { restart(): void };
    pusher.restart();
    expect(calls).toEqual([]);

    netcall.syncDone([push1]);
    await simulate.sleep(0);
    pusher.restart();
    expect(calls).toEqual(['stop', 'start']);
    expect(pusherAttrs(host)[0].url).toBe(push1.url);
  });

  it('does not setData when only remote users change', async () => {
    netcall.syncDone([push1]);
    await simulate.sleep(0);
    const counter = countSetData(host.querySelector('#pusher')!);
    netcall.clientJoin(bob);
    netcall.clientLeave(bob);
    await simulate.sleep(0);
    expect(counter.count).toBe(0);
  });

  it('removes the element and stops pushing on hangup', async () => {
    const context = { stop: jest.fn(), start: jest.fn() };
    jest.spyOn(wx, 'createLivePusherContext').mockReturnValue(context as never);
    netcall.syncDone([push1, bob]);
    await simulate.sleep(0);
    netcall.peerHangup('bob');
    await simulate.sleep(0);
    expect(pusherAttrs(host)).toEqual([]);
    expect(context.stop).toHaveBeenCalledTimes(1);
  });

  it('forwards statechange and error with the same detail', async () => {
    netcall.syncDone([push1]);
    await simulate.sleep(0);
    element().dispatchEvent('statechange', { detail: { code: 1002, message: 'ok' } });
    element().dispatchEvent('error', { detail: { errCode: 10001, errMsg: 'camera denied' } });
    await simulate.sleep(0);
    expect(events).toEqual([
      { name: 'statechange', detail: { code: 1002, message: 'ok' } },
      { name: 'error', detail: { errCode: 10001, errMsg: 'camera denied' } },
    ]);
  });

  it('forwards netstatus at most once per second and never puts it in data', async () => {
    let now = 10_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    netcall.syncDone([push1]);
    await simulate.sleep(0);
    const pusher = host.querySelector('#pusher')!;
    const counter = countSetData(pusher);

    for (const [at, videoBitrate] of [
      [10_000, 1],
      [10_300, 2],
      [10_999, 3],
      [11_000, 4],
      [11_500, 5],
    ]) {
      now = at;
      element().dispatchEvent('netstatus', { detail: { info: { videoBitrate } } });
      await simulate.sleep(0);
    }
    expect(events.map((event) => event.detail)).toEqual([
      { info: { videoBitrate: 1 } },
      { info: { videoBitrate: 4 } },
    ]);
    expect(counter.count).toBe(0);
    expect(Object.keys(pusher.data)).not.toContain('info');
  });

  it('stops watching the store once detached', async () => {
    netcall.syncDone([push1]);
    await simulate.sleep(0);
    const counter = countSetData(host.querySelector('#pusher')!);
    host.detach();
    netcall.syncDone([{ ...push1, url: 'rtmp://media/live/c1_1?sign=other' }]);
    await simulate.sleep(0);
    expect(counter.count).toBe(0);
    host = renderHost(hostId); // afterEach detaches again
  });
});

describe('netcall-pusher: before the URL, and over the video', () => {
  const text = () => (host.querySelector('#pusher')!.dom!.textContent ?? '').replace(/\s+/g, ' ').trim();
  function fakeContext() {
    const calls: string[] = [];
    const record = (name: string) => (options?: { complete?: () => void }) => {
      calls.push(name);
      options?.complete?.();
    };
    jest.spyOn(wx, 'createLivePusherContext').mockReturnValue({
      startPreview: record('startPreview'),
      stopPreview: record('stopPreview'),
      start: record('start'),
      stop: record('stop'),
    } as never);
    return calls;
  }

  it('shows my camera when asked before there is a URL, then pushes to the URL when it comes', async () => {
    const calls = fakeContext();
    host.setData({ preview: true });
    await simulate.sleep(0);
    expect(pusherAttrs(host)).toEqual([expect.objectContaining({ url: '', autopush: true })]);
    expect(calls).toEqual(['startPreview']);
    netcall.syncDone([push1, bob]);
    await simulate.sleep(0);
    expect(pusherAttrs(host)[0].url).toBe(push1.url);
    // The element was already there: autopush does not apply, so it is told to start.
    expect(calls).toEqual(['startPreview', 'start']);
    host.setData({ preview: false });
    await simulate.sleep(0);
    expect(calls).toEqual(['startPreview', 'start']);
    expect(pusherAttrs(host)).toHaveLength(1);
  });

  it('stops the preview and drops the element when no longer asked', async () => {
    const calls = fakeContext();
    host.setData({ preview: true });
    await simulate.sleep(0);
    host.setData({ preview: false });
    await simulate.sleep(0);
    expect(calls).toEqual(['startPreview', 'stopPreview']);
    expect(pusherAttrs(host)).toEqual([]);
  });

  it('covers the video with a placeholder while my camera is off, and shows its hint otherwise', async () => {
    netcall.syncDone([push1, bob]);
    await simulate.sleep(0);
    expect(text()).toBe('');
    const placeholder = () =>
      host.querySelector('#pusher')!.dom!.querySelector('[class*="netcall-tile__overlay--off"]');
    expect(placeholder()).toBeFalsy();
    host.setData({ camera: false, hint: 'poor-network' });
    await simulate.sleep(0);
    // The placeholder covers the video, and the hint under it.
    expect(placeholder()!.innerHTML).toContain('netcall-icon--video-off');
    expect(text()).toBe('');
    host.setData({ camera: true });
    await simulate.sleep(0);
    expect(text()).toBe('Poor network');
    host.setData({ hint: 'reconnecting', labels: labels('zh-CN') });
    await simulate.sleep(0);
    expect(text()).toBe('正在重连…');
    expect(
      host.querySelector('#pusher')!.dom!.querySelector('[class*="netcall-tile__spinner"]'),
    ).toBeTruthy();
    host.setData({ hint: '' });
    await simulate.sleep(0);
    expect(text()).toBe('');
  });
});
