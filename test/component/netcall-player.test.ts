import { runInAction } from 'mobx-miniprogram';
import { MediaRoster } from '../../services/media';
import { callStore, bindRosterToStore } from '../../services/stores';
import { labels } from '../../services/i18n';
import {
  FakeNetcall,
  countSetData,
  defineHost,
  loadComponent,
  playerAttrs,
  recordEvents,
  renderHost,
  rtcUser,
  simulate,
  type Host,
} from '../helpers/simulate';

// Load once per file (miniprogram-simulate#25: a second load renders nothing).
const hostId = defineHost({
  usingComponents: { 'netcall-player': loadComponent('netcall-player') },
  template:
    '<netcall-player id="tile" uid="{{uid}}" sound-mode="{{sound}}" hint="{{hint}}" labels="{{labels}}" />',
  data: { uid: '2', sound: 'speaker', hint: '', labels: labels('en') },
});

const push1 = rtcUser('1', 'alice', 'rtmp://media/live/c1_1?sign=push');
const bob = rtcUser('2', 'bob');
const carol = rtcUser('3', 'carol');

let netcall: FakeNetcall;
let roster: MediaRoster;
let unbind: () => void;
let host: Host;
let context: { stop: jest.Mock; play: jest.Mock };

beforeEach(() => {
  runInAction(() => callStore.reset());
  context = { stop: jest.fn(), play: jest.fn() };
  jest.spyOn(wx, 'createLivePlayerContext').mockReturnValue(context as never);
  netcall = new FakeNetcall('alice');
  roster = new MediaRoster(netcall);
  unbind = bindRosterToStore(roster, callStore);
  roster.setSelf({ uid: '1', account: 'alice', cid: 'c1' });
  host = renderHost(hostId);
});

afterEach(() => {
  host.detach();
  unbind();
  roster.dispose();
  jest.restoreAllMocks();
});

const tile = () => host.querySelector('#tile')!;

describe('netcall-player', () => {
  it('renders nothing until its user is in the session', async () => {
    netcall.syncDone([push1, carol]);
    await simulate.sleep(0);
    expect(playerAttrs(host)).toEqual([]);
  });

  it('binds its own user URL once clientJoin arrives, with RTC attributes', async () => {
    netcall.clientJoin(bob);
    await simulate.sleep(0);
    expect(playerAttrs(host)).toEqual([
      expect.objectContaining({
        id: 'player-2',
        src: bob.url,
        mode: 'RTC',
        autoplay: true,
        minCache: '0.2',
        maxCache: '0.8',
        objectFit: 'fillCrop',
      }),
    ]);
  });

  it('replays on a new URL after a second syncDone', async () => {
    netcall.syncDone([push1, bob]);
    await simulate.sleep(0);
    const bob2 = { ...bob, url: 'rtmp://media/live/c1_2?sign=2' };
    netcall.syncDone([push1, bob2]);
    await simulate.sleep(0);
    expect(playerAttrs(host)[0].src).toBe(bob2.url);
    expect(wx.createLivePlayerContext).toHaveBeenCalledWith('player-2', tile().instance);
    expect(context.stop).toHaveBeenCalledTimes(1);
    expect(context.play).toHaveBeenCalledTimes(1);
  });

  it('binds soundMode to the element, without a setData of its own', async () => {
    netcall.syncDone([push1, bob]);
    await simulate.sleep(0);
    expect(playerAttrs(host)[0]).toMatchObject({ soundMode: 'speaker', muted: false });
    const counter = countSetData(tile());
    host.setData({ sound: 'ear' });
    await simulate.sleep(0);
    expect(playerAttrs(host)[0]).toMatchObject({ soundMode: 'ear', src: bob.url });
    expect(counter.count).toBe(0);
  });

  it('replay() stops and plays its own element again; without a URL it does nothing', async () => {
    const tileApi = () => tile().instance as unknown as { replay(): void };
    tileApi().replay();
    expect(wx.createLivePlayerContext).not.toHaveBeenCalled();

    netcall.syncDone([push1, bob]);
    await simulate.sleep(0);
    tileApi().replay();
    expect(wx.createLivePlayerContext).toHaveBeenCalledWith('player-2', tile().instance);
    expect(context.stop).toHaveBeenCalledTimes(1);
    expect(context.play).toHaveBeenCalledTimes(1);
    expect(context.stop.mock.invocationCallOrder[0]).toBeLessThan(context.play.mock.invocationCallOrder[0]);
    expect(playerAttrs(host)[0].src).toBe(bob.url);
  });

  it('ignores changes of other users: no setData on this tile', async () => {
    netcall.syncDone([push1, bob]);
    await simulate.sleep(0);
    const counter = countSetData(tile());
    netcall.clientJoin(carol);
    netcall.clientJoin({ ...carol, url: 'rtmp://media/live/c1_3?sign=2' });
    netcall.clientLeave(carol);
    await simulate.sleep(0);
    expect(counter.count).toBe(0);
  });

  it('stops and removes the element on clientLeave', async () => {
    netcall.syncDone([push1, bob]);
    await simulate.sleep(0);
    netcall.clientLeave(bob);
    await simulate.sleep(0);
    expect(playerAttrs(host)).toEqual([]);
    expect(context.stop).toHaveBeenCalledTimes(1);
  });

  it('stops and removes the element on hangup', async () => {
    netcall.syncDone([push1, bob]);
    await simulate.sleep(0);
    netcall.peerHangup('bob');
    await simulate.sleep(0);
    expect(playerAttrs(host)).toEqual([]);
    expect(context.stop).toHaveBeenCalledTimes(1);
  });

  it('rebinds to another user when its uid changes', async () => {
    netcall.syncDone([push1, bob, carol]);
    await simulate.sleep(0);
    host.setData({ uid: '3' });
    await simulate.sleep(0);
    expect(playerAttrs(host)).toEqual([expect.objectContaining({ id: 'player-3', src: carol.url })]);
    netcall.clientJoin({ ...bob, url: 'rtmp://other' });
    await simulate.sleep(0);
    expect(playerAttrs(host)[0].src).toBe(carol.url);
  });

  it('forwards statechange and error, and netstatus at most once per second', async () => {
    let now = 50_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    netcall.syncDone([push1, bob]);
    await simulate.sleep(0);
    const events = recordEvents(tile());
    const element = tile().querySelector('#player-2')!;
    element.dispatchEvent('statechange', { detail: { code: 2004 } });
    element.dispatchEvent('error', { detail: { errMsg: 'x' } });
    for (const at of [50_000, 50_500, 51_000]) {
      now = at;
      element.dispatchEvent('netstatus', { detail: { info: { at } } });
      await simulate.sleep(0);
    }
    expect(events).toEqual([
      { name: 'statechange', detail: { code: 2004 } },
      { name: 'error', detail: { errMsg: 'x' } },
      { name: 'netstatus', detail: { info: { at: 50_000 } } },
      { name: 'netstatus', detail: { info: { at: 51_000 } } },
    ]);
  });
});

describe('netcall-player: hints over the video', () => {
  const text = () => (tile().dom!.textContent ?? '').replace(/\s+/g, ' ').trim();

  it('shows the hint its parent binds, a spinner while loading, nothing without one', async () => {
    netcall.syncDone([push1, bob]);
    await simulate.sleep(0);
    expect(text()).toBe('');
    host.setData({ hint: 'buffering' });
    await simulate.sleep(0);
    expect(text()).toBe('Loading…');
    expect(tile().dom!.querySelector('[class*="netcall-tile__spinner"]')).toBeTruthy();
    host.setData({ hint: 'video-paused', labels: labels('zh-CN') });
    await simulate.sleep(0);
    expect(text()).toBe('视频已暂停');
    expect(tile().dom!.querySelector('[class*="netcall-tile__spinner"]')).toBeFalsy();
    host.setData({ hint: '' });
    await simulate.sleep(0);
    expect(text()).toBe('');
    expect(playerAttrs(host)[0].src).toBe(bob.url);
  });
});
