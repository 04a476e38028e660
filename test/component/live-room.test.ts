/**
 * live-room in miniprogram-simulate, through a host template (its public contract: what each role sees,
 * the events it emits and the session calls its taps make), on a LiveSession stand-in bound to the live
 * store: the host's stage and requests, the co-host's controls, the audience's player, invite and request,
 * messages by path, the end page, and the setData budget (the tick is one small setData).
 */
import { runInAction } from 'mobx-miniprogram';
import { Emitter } from '../../services/netcall/netcall';
import {
  idleLiveSnapshot,
  type LiveMessage,
  type LiveRecord,
  type LiveSnapshot,
  type StageMember,
} from '../../services/live/live-session';
import { callStore, type MediaActionEvent } from '../../services/stores';
import { bindLiveToStore, liveStore, type LiveSessionLike } from '../../services/stores/live-store';
import * as primitives from '../../services/platform/primitives';
import {
  countSetData,
  defineHost,
  findAttrs,
  loadComponent,
  renderHost,
  rtcUser,
  simulate,
  type Host,
} from '../helpers/simulate';

const EVENTS = [
  'hangup',
  'mute',
  'camera',
  'flip',
  'request',
  'leavestage',
  'invite',
  'respond',
  'send',
  'close',
  'playerstate',
  'error',
] as const;

/** What the host heard through `bind:<name>`: the public contract of the screen. */
const heard: Array<{ name: string; detail: unknown }> = [];

// Load once per file (miniprogram-simulate#25); this also registers netcall-room and its tiles.
const hostId = defineHost({
  usingComponents: { 'live-room': loadComponent('live-room') },
  template: `<live-room id="screen" lang="{{lang}}" ${EVENTS.map((name) => `bind:${name}="on_${name}"`).join(' ')} />`,
  data: { lang: 'en' },
  methods: Object.fromEntries(
    EVENTS.map((name) => [
      `on_${name}`,
      (event: { detail: unknown }) => heard.push({ name, detail: event.detail }),
    ]),
  ),
});

/** A LiveSession stand-in: the real class's events and the methods the screen calls, each a resolving mock. */
class FakeLiveSession extends Emitter<{
  change: Partial<LiveSnapshot>;
  liveEnded: LiveRecord;
  mediaAction: MediaActionEvent;
}> {
  state: LiveSnapshot = idleLiveSnapshot();
  hangup = jest.fn(async () => undefined);
  setMic = jest.fn(async () => undefined);
  setCamera = jest.fn(async () => undefined);
  flipCamera = jest.fn(async () => undefined);
  setSoundMode = jest.fn(async () => undefined);
  requestCoHost = jest.fn(async () => undefined);
  acceptInvite = jest.fn(async () => undefined);
  refuseInvite = jest.fn(async () => undefined);
  changeRoleToAudience = jest.fn(async () => undefined);
  respondCoHost = jest.fn(async () => undefined);
  sendMessage = jest.fn(async () => undefined);
  onMediaState = jest.fn(async () => 'none');
  // The shared screen methods know accept/reject; a live has neither, so they must never be called.
  accept = jest.fn(async () => undefined);
  reject = jest.fn(async () => undefined);

  snapshot(): LiveSnapshot {
    return this.state;
  }

  /** As LiveSession does: the fields that changed, as one `change` event (lists replaced whole). */
  set(change: Partial<LiveSnapshot>): void {
    this.state = { ...this.state, ...change };
    this.emit('change', change);
  }
}

// The stand-in must fit the interface the store declares, as the real LiveSession does.
const fits: (session: FakeLiveSession) => LiveSessionLike = (session) => session;
void fits;

let host: Host;
let session: FakeLiveSession;
let unbind: () => void;

const screen = () => host.querySelector('#screen')!;
const text = () => (screen().dom?.textContent ?? '').replace(/\s+/g, ' ').trim();
const find = (selector: string) => screen().querySelector(selector);
const attach = () =>
  (screen().instance as unknown as { attachSession(s: unknown): void }).attachSession(session);

/** simulate delivers a tap on a timer, so wait for it before the screen changes under it. */
async function tap(selector: string): Promise<void> {
  const element = find(selector);
  if (!element) throw new Error(`no ${selector} on screen: "${text()}"`);
  element.dispatchEvent('tap');
  await simulate.sleep(0);
}

async function show(change: Partial<LiveSnapshot>): Promise<void> {
  session.set(change);
  await simulate.sleep(0);
}

const PEER = { micOn: true, cameraOn: true, cameraUnavailable: false, background: false };
const cohost = (account: string, uid: string, extra: Partial<StageMember> = {}): StageMember => ({
  ...PEER,
  account,
  uid,
  role: 'cohost',
  rtc: true,
  ...extra,
});
const message = (id: number, content: string, mine = false): LiveMessage => ({
  id,
  account: mine ? 'me' : 'fan',
  type: 'text',
  content,
  time: id,
  mine,
});
const FLV = 'http://media/live/l1_live.flv?sign=1';

const hosting: Partial<LiveSnapshot> = {
  phase: 'host',
  role: 'host',
  cid: 'l1',
  channelName: 'show',
  host: 'me',
  uid: '1',
  duration: 83,
  audienceCount: 12,
};
const watching: Partial<LiveSnapshot> = {
  phase: 'audience',
  role: 'audience',
  cid: 'l1',
  channelName: 'show',
  host: 'star',
  uid: '9',
  duration: 5,
  audienceCount: 12,
  live: { rtmp: 'rtmp://media/live/l1_live', flv: FLV, h5: 'http://h5' },
};

beforeEach(() => {
  heard.length = 0;
  liveStore.reset();
  runInAction(() => callStore.reset());
  session = new FakeLiveSession();
  unbind = bindLiveToStore(session);
  host = renderHost(hostId);
});

afterEach(() => {
  host.detach();
  unbind();
  jest.restoreAllMocks();
});

const CONTROLS = ['mute', 'camera', 'flip', 'hangup', 'leaveStage', 'request', 'close'];
const shownControls = () => CONTROLS.filter((k) => find(`.call-screen__ctl--${k}`));

describe('live-room: what each role sees', () => {
  it('shows nothing before a live, and the screen once there is one', async () => {
    expect(find('.live-room')).toBeFalsy();
    await show(watching);
    expect(find('.live-room')).toBeTruthy();
  });

  it('the host: the stage grid with marks, the audience count, End live; no player', async () => {
    runInAction(() =>
      callStore.rosterLoaded({
        pusher: { uid: '1', account: 'me', url: 'rtmp://push' },
        players: [rtcUser('2', 'bob')],
      }),
    );
    await show({ ...hosting, stage: [cohost('bob', '2', { micOn: false })] });
    expect(shownControls()).toEqual(['mute', 'camera', 'flip', 'hangup']);
    expect(text()).toContain('LIVE');
    expect(text()).toContain('01:23 · 12 watching');
    expect(text()).toContain('End live');
    const room = findAttrs(screen(), 'netcall-room');
    expect(room).toHaveLength(1);
    expect(findAttrs(screen(), 'wx-live-player').some((p) => p.src === FLV)).toBe(false);
    // bob's mic is off: the grid's mark for his uid.
    expect((screen().instance.data as { marks: Record<string, number> }).marks).toEqual({ '2': 1 });
  });

  it('a co-host: the stage with Leave stage instead of End live', async () => {
    await show({ ...hosting, phase: 'cohost', role: 'cohost', host: 'star' });
    expect(shownControls()).toEqual(['mute', 'camera', 'flip', 'leaveStage']);
    expect(text()).toContain('Leave stage');
    expect(text()).not.toContain('End live');
  });

  it('the audience: one live-player on the mixed stream, live mode with a small cache, the whole picture', async () => {
    await show(watching);
    expect(findAttrs(screen(), 'netcall-room')).toHaveLength(0);
    const players = findAttrs(screen(), 'wx-live-player');
    expect(players).toHaveLength(1);
    expect(players[0]).toMatchObject({ src: FLV, mode: 'live', objectFit: 'contain', autoplay: true });
    expect(Number(players[0].minCache)).toBeLessThanOrEqual(1);
    expect(Number(players[0].maxCache)).toBeLessThanOrEqual(1);
    expect(shownControls()).toEqual(['hangup', 'request']);
    expect(text()).toContain('Join stage');
  });

  it('the end page: the host its summary, anyone else why', async () => {
    await show({
      ...hosting,
      phase: 'ended',
      reason: 'local-hangup',
      summary: {
        cid: 'l1',
        channelName: 'show',
        startedAt: 0,
        endedAt: 1,
        duration: 754_000,
        peakAudience: 31,
      },
    });
    expect(text()).toContain('Live ended');
    expect(text()).toContain('Duration 12:34');
    expect(text()).toContain('Peak audience 31');
    expect(shownControls()).toEqual(['close']);
    await show({ ...watching, phase: 'ended', reason: 'network', closeReason: 'host-lost', summary: null });
    expect(text()).toContain('The host lost the connection');
    expect(text()).not.toContain('Peak audience');
  });

  it('speaks Chinese', async () => {
    host.setData({ lang: 'zh-CN' });
    await show({ ...watching, phase: 'invited', invitedBy: 'star' });
    expect(text()).toContain('直播中');
    expect(text()).toContain('star 邀请你连麦');
    expect(text()).toContain('申请连麦');
  });
});

describe('live-room: taps call the session and emit events', () => {
  beforeEach(() => attach());

  it("the host's controls and a request's answers", async () => {
    await show({
      ...hosting,
      requests: [
        { account: 'bob', at: 0 },
        { account: 'carol', at: 1 },
      ],
    });
    expect(text()).toContain('bob asks to join');
    expect(text()).toContain('1 more waiting');
    await tap('.call-screen__ctl--mute');
    expect(session.setMic).toHaveBeenCalledWith(false);
    await tap('.call-screen__pill-button--primary');
    expect(session.respondCoHost).toHaveBeenCalledWith('bob', true);
    await tap('.call-screen__prompt .call-screen__pill-button');
    expect(session.respondCoHost).toHaveBeenLastCalledWith('bob', false);
    await tap('.call-screen__ctl--hangup');
    expect(session.hangup).toHaveBeenCalledTimes(1);
    expect(heard.map((e) => e.name)).toEqual(['mute', 'respond', 'respond', 'hangup']);
    expect(heard[1].detail).toEqual({ account: 'bob', accepted: true });
  });

  it("the audience's request, then no second one while it waits; an invite's answers", async () => {
    await show(watching);
    await tap('.call-screen__ctl--request');
    expect(session.requestCoHost).toHaveBeenCalledTimes(1);
    await show({ phase: 'requesting' });
    expect(text()).toContain('Waiting for the host…');
    await tap('.call-screen__ctl--request');
    expect(session.requestCoHost).toHaveBeenCalledTimes(1);
    await show({ phase: 'invited', invitedBy: 'star' });
    expect(text()).toContain('star invites you on stage');
    await tap('.call-screen__pill-button--primary');
    expect(session.acceptInvite).toHaveBeenCalledTimes(1);
    await tap('.call-screen__prompt .call-screen__pill-button');
    expect(session.refuseInvite).toHaveBeenCalledTimes(1);
    expect(heard.map((e) => e.name)).toEqual(['request', 'invite', 'invite']);
    expect(heard.slice(1).map((e) => e.detail)).toEqual([{ accepted: true }, { accepted: false }]);
  });

  it('a co-host leaves the stage', async () => {
    await show({ ...hosting, phase: 'cohost', role: 'cohost' });
    await tap('.call-screen__ctl--leaveStage');
    expect(session.changeRoleToAudience).toHaveBeenCalledTimes(1);
    expect(heard.map((e) => e.name)).toEqual(['leavestage']);
  });

  it('sends a typed message, trimmed, and nothing for a blank line', async () => {
    await show(watching);
    const input = find('.live-room__input')!;
    input.dispatchEvent('input', { detail: { value: '   ' } });
    await tap('.live-room__send');
    expect(session.sendMessage).not.toHaveBeenCalled();
    input.dispatchEvent('input', { detail: { value: ' hello ' } });
    await tap('.live-room__send');
    expect(session.sendMessage).toHaveBeenCalledWith('hello');
    expect(heard.filter((e) => e.name === 'send').map((e) => e.detail)).toEqual([{ content: 'hello' }]);
  });

  it("reports the player's codes and replays it when the session asks", async () => {
    const context = { stop: jest.fn(), play: jest.fn() };
    jest
      .spyOn(primitives, 'createPlayerContext')
      .mockReturnValue(context as unknown as WechatMiniprogram.LivePlayerContext);
    await show(watching);
    const player = screen().querySelector('.live-room__player')!;
    player.dispatchEvent('statechange', { detail: { code: 2007 } });
    await simulate.sleep(0);
    expect(heard).toEqual([{ name: 'playerstate', detail: { code: 2007 } }]);
    expect(session.onMediaState).toHaveBeenCalledWith({ source: 'player', uid: 'live', code: 2007 });
    session.emit('mediaAction', { action: 'replay', source: 'player', uid: 'live' });
    expect(context.stop).toHaveBeenCalledTimes(1);
    expect(context.play).toHaveBeenCalledTimes(1);
    // Its hint, from the session's media policy, is shown over the stream.
    await show({ hints: { live: 'buffering' } });
    expect(text()).toContain('Loading…');
  });
});

describe('live-room: setData budget', () => {
  it('the tick is one small setData: only the timer', async () => {
    await show(hosting);
    const counter = countSetData(screen());
    for (let second = 84; second < 94; second++) await show({ duration: second });
    expect(counter.count).toBe(10);
    expect(counter.paths.every((paths) => paths.length === 1 && paths[0] === 'timer')).toBe(true);
  });

  it('the audience count is one {count}', async () => {
    await show(watching);
    const counter = countSetData(screen());
    await show({ audienceCount: 13 });
    expect(counter.paths).toEqual([['count']]);
  });

  it('messages go by path: one msgs[n] each, never the list, until it is resent as the last ones', async () => {
    await show(watching);
    const counter = countSetData(screen());
    const messages: LiveMessage[] = [];
    for (let id = 1; id <= 6; id++) {
      messages.push(message(id, `m${id}`, id === 3));
      await show({ messages: [...messages] });
    }
    expect(counter.paths.slice(0, 4)).toEqual([['msgs[0]'], ['msgs[1]'], ['msgs[2]'], ['msgs[3]']]);
    expect(counter.paths[4].sort()).toEqual(['first', 'msgs[4]']);
    expect(counter.paths.some((paths) => paths.includes('msgs'))).toBe(false);
    // Only the last four are shown; mine is named "Me".
    const shown = () =>
      screen()
        .querySelectorAll('.live-room__message')
        .map((node) => (node.dom?.textContent ?? '').replace(/\s+/g, ' ').trim());
    expect(shown()).toEqual(['Me m3', 'fan m4', 'fan m5', 'fan m6']);
    // Twice what is shown: the list is resent once, as the last four.
    for (let id = 7; id <= 9; id++) {
      messages.push(message(id, `m${id}`));
      await show({ messages: [...messages] });
    }
    expect(counter.paths.at(-1)!.sort()).toEqual(['first', 'msgs']);
    expect(shown()).toEqual(['fan m6', 'fan m7', 'fan m8', 'fan m9']);
    // After that resend, a tick and a new message go by path again: the list is not resent each time.
    const before = counter.paths.length;
    await show({ duration: 200 });
    messages.push(message(10, 'm10'));
    await show({ messages: [...messages] });
    expect(counter.paths.slice(before).map((paths) => [...paths].sort())).toEqual([
      ['timer'],
      ['first', 'msgs[4]'],
    ]);
  });
});
