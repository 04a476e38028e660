import { runInAction } from 'mobx-miniprogram';
import { Emitter } from '../../services/netcall/netcall';
import {
  idleGroupSnapshot,
  type GroupMember,
  type GroupRecord,
  type GroupSnapshot,
} from '../../services/call/group-session';
import type { EndReason } from '../../services/call/types';
import { groupLabels } from '../../services/i18n/group';
import { callStore, type MediaActionEvent } from '../../services/stores';
import { bindGroupToStore, groupStore, type GroupSessionLike } from '../../services/stores/group-store';
import * as device from '../../services/platform/device';
import {
  defineHost,
  findAttrs,
  loadComponent,
  renderHost,
  rtcUser,
  simulate,
  type Host,
} from '../helpers/simulate';

const EVENTS = [
  'accept',
  'reject',
  'hangup',
  'mute',
  'camera',
  'flip',
  'sound',
  'close',
  'members',
  'error',
] as const;

/** What the host heard through `bind:<name>`: the public contract of the screen. */
const heard: Array<{ name: string; detail: unknown }> = [];

// Load once per file (miniprogram-simulate#25); this also registers netcall-room and its tiles.
const hostId = defineHost({
  usingComponents: { 'room-screen': loadComponent('room-screen') },
  template: `<room-screen id="screen" lang="{{lang}}" avatar="{{avatar}}" ${EVENTS.map(
    (name) => `bind:${name}="on_${name}"`,
  ).join(' ')} />`,
  data: { lang: 'en', avatar: '' },
  methods: Object.fromEntries(
    EVENTS.map((name) => [
      `on_${name}`,
      (event: { detail: unknown }) => heard.push({ name, detail: event.detail }),
    ]),
  ),
});

/** A GroupSession stand-in: the real class's events and methods, each method a resolving mock. */
class FakeGroupSession extends Emitter<{
  change: Partial<GroupSnapshot>;
  callEnded: GroupRecord;
  mediaAction: MediaActionEvent;
}> {
  state: GroupSnapshot = idleGroupSnapshot();
  accept = jest.fn(async () => undefined);
  reject = jest.fn(async () => undefined);
  hangup = jest.fn(async () => undefined);
  setMic = jest.fn(async () => undefined);
  setCamera = jest.fn(async () => undefined);
  flipCamera = jest.fn(async () => undefined);
  setSoundMode = jest.fn(async () => undefined);
  onMediaState = jest.fn(async () => 'none');

  snapshot(): GroupSnapshot {
    return this.state;
  }

  /** As GroupSession does: the fields that changed, as one `change` event (members replaced whole). */
  set(change: Partial<GroupSnapshot>): void {
    this.state = { ...this.state, ...change };
    this.emit('change', change);
  }
}

// The stand-in must fit the interface the store declares, as the real GroupSession does.
const fits: (session: FakeGroupSession) => GroupSessionLike = (session) => session;
void fits;

interface Api {
  attachSession(session: GroupSessionLike | null): void;
}

let host: Host;
let session: FakeGroupSession;
let unbind: () => void;

const screen = () => host.querySelector('#screen')!;
const text = () => (screen().dom?.textContent ?? '').replace(/\s+/g, ' ').trim();
/** A control by its class after the block's name: the shared call-screen__ ones, then room-screen__'s own. */
const button = (name: string) =>
  screen().querySelector(`.call-screen__${name}`) ?? screen().querySelector(`.room-screen__${name}`);
const all = (selector: string) => screen().querySelectorAll(selector);
const attach = () => (screen().instance as unknown as Api).attachSession(session);

/** simulate delivers a tap on a timer, so wait for it before the screen changes under it. */
async function tap(name: string): Promise<void> {
  const element = button(name);
  if (!element) throw new Error(`no ${name} on screen: "${text()}"`);
  element.dispatchEvent('tap');
  await simulate.sleep(0);
}

async function show(change: Partial<GroupSnapshot>): Promise<void> {
  session.set(change);
  await simulate.sleep(0);
}

async function setLang(lang: string): Promise<void> {
  host.setData({ lang });
  await simulate.sleep(0);
}

const PEER = { micOn: true, cameraOn: true, cameraUnavailable: false, background: false };
const joined = (account: string, uid: string, extra: Partial<GroupMember> = {}): GroupMember => ({
  ...PEER,
  account,
  uid,
  state: 'joined',
  rtc: true,
  ...extra,
});
const ringing = (account: string): GroupMember => ({
  ...PEER,
  account,
  uid: '',
  state: 'ringing',
  rtc: false,
});

const incoming: Partial<GroupSnapshot> = {
  phase: 'incoming',
  kind: 'call',
  cid: 'g1',
  caller: 'bob',
  type: 2,
  direction: 'incoming',
  members: [joined('bob', '', { rtc: false }), ringing('carol'), ringing('dave'), ringing('erin')],
};

const dialing: Partial<GroupSnapshot> = {
  phase: 'dialing',
  kind: 'call',
  cid: 'g1',
  caller: 'alice',
  type: 2,
  direction: 'outgoing',
  members: [ringing('bob'), ringing('carol')],
};

const inCall = (change: Partial<GroupSnapshot> = {}): Partial<GroupSnapshot> => ({
  phase: 'in-call',
  kind: 'call',
  cid: 'g1',
  caller: 'alice',
  type: 2,
  direction: 'outgoing',
  duration: 0,
  uid: '1',
  members: [joined('bob', '2'), joined('carol', '3'), ringing('dave')],
  ...change,
});

beforeEach(() => {
  heard.length = 0;
  groupStore.reset();
  runInAction(() => callStore.reset());
  session = new FakeGroupSession();
  unbind = bindGroupToStore(session);
  host = renderHost(hostId);
});

afterEach(() => {
  host.detach();
  unbind();
  jest.restoreAllMocks();
});

describe('room-screen: what each phase shows', () => {
  const ALL = [
    'ctl--reject',
    'ctl--accept',
    'ctl--hangup',
    'ctl--close',
    'ctl--mute',
    'ctl--camera',
    'ctl--sound',
    'ctl--flip',
    'ctl--members',
  ];
  const cases: Array<{
    title: string;
    change: Partial<GroupSnapshot>;
    buttons: string[];
    room: boolean;
    texts: Record<'en' | 'zh-CN', string[]>;
  }> = [
    {
      title: 'an invitation to a video call',
      change: incoming,
      buttons: ['ctl--reject', 'ctl--accept'],
      room: false,
      texts: {
        en: [
          'bob',
          'Invites you to a group video call',
          'Also in this call',
          'carol',
          'dave',
          'erin',
          'Decline',
          'Accept',
        ],
        'zh-CN': ['bob', '邀请你加入多人视频通话', '通话成员', 'carol', '拒绝', '接听'],
      },
    },
    {
      title: 'an invitation to a voice call',
      change: { ...incoming, type: 1 },
      buttons: ['ctl--reject', 'ctl--accept'],
      room: false,
      texts: { en: ['Invites you to a group voice call'], 'zh-CN': ['邀请你加入多人语音通话'] },
    },
    {
      title: 'ringing others out, video',
      change: dialing,
      buttons: ['ctl--hangup', 'ctl--mute', 'ctl--camera', 'ctl--sound', 'ctl--flip', 'ctl--members'],
      room: true,
      texts: {
        en: ['Group call', 'Waiting for others to answer…', 'bob', 'carol', 'Cancel', 'Members'],
        'zh-CN': ['多人通话', '等待对方接听…', '取消', '成员'],
      },
    },
    {
      title: 'ringing others out, voice',
      change: { ...dialing, type: 1 },
      buttons: ['ctl--hangup', 'ctl--mute', 'ctl--sound', 'ctl--members'],
      room: false,
      texts: { en: ['Group call', 'Waiting for others to answer…'], 'zh-CN': ['等待对方接听…'] },
    },
    {
      title: 'joining a room',
      change: { phase: 'joining', kind: 'room', channelName: 'standup', type: 2 },
      buttons: ['ctl--hangup', 'ctl--mute', 'ctl--camera', 'ctl--sound', 'ctl--flip', 'ctl--members'],
      room: true,
      texts: { en: ['standup', 'Connecting…', 'Hang up'], 'zh-CN': ['standup', '正在连接…', '挂断'] },
    },
    {
      title: 'in a video call',
      change: inCall({ duration: 83 }),
      buttons: ['ctl--hangup', 'ctl--mute', 'ctl--camera', 'ctl--sound', 'ctl--flip', 'ctl--members'],
      room: true,
      texts: {
        en: ['Group call', '01:23', 'Mic', 'Camera', 'Speaker', 'Flip', 'Members', 'Hang up'],
        'zh-CN': ['多人通话', '01:23', '麦克风', '摄像头', '扬声器', '翻转', '成员', '挂断'],
      },
    },
    {
      title: 'in a voice call',
      change: inCall({ type: 1 }),
      buttons: ['ctl--hangup', 'ctl--mute', 'ctl--sound', 'ctl--members'],
      room: true,
      texts: { en: ['00:00', 'Speaker'], 'zh-CN': ['00:00', '扬声器'] },
    },
    {
      title: 'in a room nobody else is in yet',
      change: inCall({ kind: 'room', channelName: 'standup', members: [] }),
      buttons: ['ctl--hangup', 'ctl--mute', 'ctl--camera', 'ctl--sound', 'ctl--flip', 'ctl--members'],
      room: true,
      texts: { en: ['standup', 'Waiting for others to join…'], 'zh-CN': ['等待其他人加入…'] },
    },
  ];

  it('shows nothing while idle', async () => {
    await simulate.sleep(0);
    expect(screen().querySelector('.room-screen')).toBeFalsy();
    expect(text()).toBe('');
  });

  for (const lang of ['en', 'zh-CN'] as const)
    for (const { title, change, buttons, room, texts } of cases)
      it(`${title} (${lang})`, async () => {
        await setLang(lang);
        await show(change);
        for (const part of texts[lang]) expect(text()).toContain(part);
        expect(ALL.filter((name) => button(name))).toEqual(ALL.filter((name) => buttons.includes(name)));
        expect(!!screen().querySelector('.room-screen__room')).toBe(room);
      });

  it('shows at most eight invitees, the caller apart, with their initials', async () => {
    const many = ['carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory'];
    await show({ ...incoming, members: [joined('bob', ''), ...many.map(ringing)] });
    const names = all('.room-screen__invitee .room-screen__name').map((node) => node.dom!.textContent);
    expect(names).toEqual(many.slice(0, 8));
    expect(all('.room-screen__invitee .room-screen__initial')[0].dom!.textContent).toBe('C');
    // The caller is the big picture: their initial, or the avatar the host gives.
    expect(button('avatar')!.dom!.textContent).toBe('B');
    host.setData({ avatar: '/bob.png' });
    await simulate.sleep(0);
    expect(findAttrs(host, 'wx-image')).toEqual([expect.objectContaining({ src: '/bob.png' })]);
  });

  const reasons: EndReason[] = ['remote-hangup', 'rejected', 'busy', 'caller-timeout', 'network', 'error'];
  for (const reason of reasons)
    it(`ended: ${reason}, in both languages, with nothing to do but close`, async () => {
      await show({ ...inCall(), phase: 'ended', reason, duration: 0 });
      expect(text()).toContain(groupLabels('en')[`reason.${reason}`]);
      await setLang('zh-CN');
      expect(text()).toContain(groupLabels('zh-CN')[`reason.${reason}`]);
      expect(ALL.filter((name) => button(name))).toEqual(['ctl--close']);
      expect(screen().querySelector('.room-screen__room')).toBeFalsy();
    });

  it('shows how long an ended call lasted, and the permission to allow', async () => {
    await show({ ...inCall(), phase: 'ended', reason: 'remote-hangup', duration: 312 });
    expect(text()).toContain('Everyone else left');
    expect(text()).toContain('Duration 05:12');
    await setLang('zh-CN');
    expect(text()).toContain('通话时长 05:12');
    await show({ duration: 0, reason: 'permission-denied', deniedScope: 'scope.record' });
    expect(text()).not.toContain('通话时长');
    expect(text()).toContain('请在设置中允许使用麦克风');
  });

  it('shows the reconnecting pill while signalling is away', async () => {
    await show(inCall({ reconnecting: true }));
    expect(screen().querySelector('.call-screen__pill')!.dom!.textContent).toBe('Reconnecting…');
    await show({ reconnecting: false });
    expect(screen().querySelector('.call-screen__pill')).toBeFalsy();
  });

  it('places itself under the status bar and beside the capsule, as call-screen does', async () => {
    jest.spyOn(device, 'getScreenInsets').mockReturnValue({
      width: 375,
      statusBar: 44,
      menu: { top: 48, bottom: 80, left: 281, right: 368, width: 87, height: 32 },
      immersive: true,
    });
    host.detach();
    host = renderHost(hostId);
    await show(inCall());
    expect(screen().querySelector('.room-screen')!.dom!.getAttribute('style')).toBe(
      '--call-screen-top:44px;--call-screen-bar-top:48px;--call-screen-bar-height:32px;' +
        '--call-screen-bar-right:106px;--netcall-room-top:116px',
    );
  });
});

describe('room-screen: controls', () => {
  it('emits its events and, with an attached session, calls the session', async () => {
    attach();
    await show(incoming);
    await tap('ctl--accept');
    await show(inCall({ cid: 'g1' }));
    await tap('ctl--mute');
    await tap('ctl--camera');
    await tap('ctl--flip');
    await tap('ctl--sound');
    await tap('ctl--hangup');
    await show({ phase: 'ended', reason: 'local-hangup' });
    await tap('ctl--close');

    expect(heard).toEqual([
      { name: 'accept', detail: { cid: 'g1', type: 2 } },
      { name: 'mute', detail: { micOn: false } },
      { name: 'camera', detail: { cameraOn: false } },
      { name: 'flip', detail: { devicePosition: 'back' } },
      { name: 'sound', detail: { soundMode: 'ear' } },
      { name: 'hangup', detail: { cid: 'g1' } },
      { name: 'close', detail: { reason: 'local-hangup' } },
    ]);
    expect(session.accept).toHaveBeenCalledTimes(1);
    expect(session.setMic).toHaveBeenCalledWith(false);
    expect(session.setCamera).toHaveBeenCalledWith(false);
    expect(session.flipCamera).toHaveBeenCalledTimes(1);
    expect(session.setSoundMode).toHaveBeenCalledWith('ear');
    expect(session.hangup).toHaveBeenCalledTimes(1);
  });

  it('declines an invitation and cancels ringing others out', async () => {
    attach();
    await show(incoming);
    await tap('ctl--reject');
    await show({ ...dialing, cid: 'g2' });
    expect(button('ctl--hangup')!.dom!.textContent).toBe('Cancel');
    await tap('ctl--hangup');
    expect(heard).toEqual([
      { name: 'reject', detail: { cid: 'g1' } },
      { name: 'hangup', detail: { cid: 'g2' } },
    ]);
    expect(session.reject).toHaveBeenCalledTimes(1);
    expect(session.hangup).toHaveBeenCalledTimes(1);
  });

  it('only emits events when no session is attached, and reports a failing session call', async () => {
    await show(inCall());
    await tap('ctl--mute');
    expect(session.setMic).not.toHaveBeenCalled();
    attach();
    session.setMic.mockRejectedValueOnce(Object.assign(new Error('not in call'), { code: 403 }));
    await tap('ctl--mute');
    await simulate.sleep(0);
    expect(heard).toEqual([
      { name: 'mute', detail: { micOn: false } },
      { name: 'mute', detail: { micOn: false } },
      { name: 'error', detail: { action: 'mute', code: 403, message: 'not in call' } },
    ]);
  });

  it('shows flip disabled while my camera is off and ignores its taps', async () => {
    attach();
    await show(inCall({ local: { ...idleGroupSnapshot().local, cameraOn: false } }));
    expect(button('ctl--flip')!.dom!.className).toContain('call-screen__ctl--off');
    expect(button('ctl--camera')!.dom!.className).toContain('call-screen__ctl--on');
    await tap('ctl--flip');
    expect(heard).toEqual([]);
    expect(session.flipCamera).not.toHaveBeenCalled();
  });

  it('binds an attached session to the store, and stops following it once detached', async () => {
    unbind();
    groupStore.reset();
    const other = new FakeGroupSession();
    other.set(incoming);
    (screen().instance as unknown as Api).attachSession(other);
    await simulate.sleep(0);
    expect(text()).toContain('Invites you to a group video call');
    expect(other.listenerCount('mediaAction')).toBe(1);
    host.detach();
    other.set({ phase: 'joining' });
    expect(groupStore.phase).toBe('incoming');
    expect(other.listenerCount('mediaAction')).toBe(0);
    host = renderHost(hostId);
    unbind = () => undefined;
  });

  it("runs the attached session's mediaAction on the grid, and hands it the room's status codes", async () => {
    const pusherCalls: string[] = [];
    jest.spyOn(wx, 'createLivePusherContext').mockReturnValue({
      stop: (options?: { complete?: () => void }) => {
        pusherCalls.push('stop');
        options?.complete?.();
      },
      start: () => pusherCalls.push('start'),
      startPreview: () => undefined,
      stopPreview: () => undefined,
    } as never);
    attach();
    runInAction(() =>
      callStore.rosterLoaded({
        pusher: { uid: '1', account: 'alice', url: rtcUser('1', 'alice').url },
        players: [rtcUser('2', 'bob')],
      }),
    );
    await show(inCall());
    session.emit('mediaAction', { action: 'restart', source: 'pusher', uid: '1' });
    expect(pusherCalls).toEqual(['stop', 'start']);

    const room = screen().querySelector('.room-screen__room')!.instance as {
      triggerEvent(name: string, detail: object): void;
    };
    room.triggerEvent('statechange', { source: 'player', uid: '2', code: -2301 });
    await simulate.sleep(0);
    expect(session.onMediaState).toHaveBeenCalledWith({ source: 'player', uid: '2', code: -2301 });
  });

  it('keeps the screen on from the invitation until the call ends', async () => {
    const keep = jest.spyOn(device, 'setKeepScreenOn').mockImplementation(() => undefined);
    await show(incoming);
    await show(inCall());
    await show({ phase: 'ended', reason: 'remote-hangup' });
    expect(keep.mock.calls).toEqual([[true], [false]]);
  });
});

describe('room-screen: the member list', () => {
  const rows = () =>
    all('.room-screen__member').map((row) => ({
      name: row.dom!.querySelector('[class*="room-screen__name"]')!.textContent,
      state: row.dom!.querySelector('[class*="call-screen__status"]')?.textContent ?? '',
      icons: Array.from(row.dom!.querySelectorAll('[class*="netcall-icon--"]')).map(
        (icon) => /netcall-icon--([a-z-]+)/.exec(icon.className)![1],
      ),
    }));

  it('opens from the members button and closes with Done, saying so each time', async () => {
    await show(inCall());
    expect(screen().querySelector('.room-screen__panel')).toBeFalsy();
    await tap('ctl--members');
    expect(screen().querySelector('.room-screen__panel')).toBeTruthy();
    expect(text()).toContain('Members (3)');
    await tap('done');
    expect(screen().querySelector('.room-screen__panel')).toBeFalsy();
    expect(heard).toEqual([
      { name: 'members', detail: { open: true } },
      { name: 'members', detail: { open: false } },
    ]);
  });

  it('lists me first, then everyone with their state and their notices', async () => {
    await show(
      inCall({
        local: { ...idleGroupSnapshot().local, micOn: false },
        members: [
          joined('bob', '2', { micOn: false }),
          joined('carol', '3', { cameraOn: false }),
          joined('dave', '4', { background: true }),
          joined('erin', '', { rtc: false }),
          ringing('frank'),
          { ...ringing('grace'), state: 'declined' },
          { ...ringing('heidi'), state: 'busy' },
          { ...ringing('ivan'), state: 'missed' },
          { ...joined('judy', '9'), state: 'left', rtc: false },
        ],
      }),
    );
    await tap('ctl--members');
    expect(rows()).toEqual([
      { name: 'Me', state: '', icons: ['mic-off'] },
      { name: 'bob', state: '', icons: ['mic-off'] },
      { name: 'carol', state: '', icons: ['video-off'] },
      { name: 'dave', state: 'away', icons: [] },
      { name: 'erin', state: 'Joining…', icons: [] },
      { name: 'frank', state: 'Ringing…', icons: [] },
      { name: 'grace', state: 'Declined', icons: [] },
      { name: 'heidi', state: 'Busy', icons: [] },
      { name: 'ivan', state: 'No answer', icons: [] },
      { name: 'judy', state: 'Left', icons: [] },
    ]);
    expect(all('.room-screen__member--gone').length).toBe(4);

    await setLang('zh-CN');
    expect(rows().map((row) => row.name + row.state)).toEqual([
      '我',
      'bob',
      'carol',
      'dave暂时离开',
      'erin正在加入…',
      'frank呼叫中…',
      'grace已拒绝',
      'heidi忙线中',
      'ivan未接听',
      'judy已离开',
    ]);
  });

  it('marks the grid tiles from the same notices, every tile of a voice call without a picture', async () => {
    runInAction(() =>
      callStore.rosterLoaded({
        pusher: { uid: '1', account: 'alice', url: rtcUser('1', 'alice').url },
        players: [rtcUser('2', 'bob'), rtcUser('3', 'carol')],
      }),
    );
    await show(inCall({ members: [joined('bob', '2', { micOn: false }), joined('carol', '3')] }));
    const room = () => screen().querySelector('.room-screen__room')!;
    expect(room().data.marks).toEqual({ '2': 1 });
    await show({
      members: [joined('bob', '2', { micOn: false }), joined('carol', '3', { cameraOn: false })],
    });
    expect(room().data.marks).toEqual({ '2': 1, '3': 2 });
    // Carol's camera-off tile shows her initial.
    expect(room().querySelector('.netcall-room__initial')!.dom!.textContent).toBe('c');
    await show({ type: 1 });
    expect(room().data.marks).toEqual({ '*': 2, '2': 1 });
  });

  it('closes with the call', async () => {
    await show(inCall());
    await tap('ctl--members');
    await show({ phase: 'ended', reason: 'remote-hangup' });
    expect(screen().querySelector('.room-screen__panel')).toBeFalsy();
  });
});

describe('room-screen: setData budget', () => {
  function recordSetData() {
    const instance = screen().instance as { setData(data: Record<string, unknown>, cb?: () => void): void };
    const original = instance.setData;
    const calls: Array<Record<string, unknown>> = [];
    instance.setData = function (this: unknown, data, callback) {
      calls.push(data);
      return original.call(this, data, callback);
    };
    return calls;
  }

  it('costs one setData per second in call: only {timer}, at most 32 bytes', async () => {
    await show(inCall({ duration: 0 }));
    await tap('ctl--members');
    const calls = recordSetData();
    for (let duration = 1; duration <= 10; duration++) await show({ duration });
    expect(calls).toHaveLength(10);
    for (const call of calls) {
      expect(Object.keys(call)).toEqual(['timer']);
      expect(JSON.stringify(call).length).toBeLessThanOrEqual(32);
    }
    expect(screen().querySelector('.call-screen__timer')!.dom!.textContent).toBe('00:10');
  });

  it('sends a member joining, a notice and a member leaving by path, never the list', async () => {
    const members = [joined('bob', '2'), ringing('carol')];
    await show(inCall({ members }));
    const calls = recordSetData();

    // Carol answers: her row changes in place; her stream comes: she is counted and nothing else moves.
    await show({ members: [members[0], { ...members[1], state: 'joined', uid: '3' }] });
    await show({ members: [members[0], joined('carol', '3')] });
    // Someone nobody invited (a room) joins: one new row, by path.
    await show({ members: [members[0], joined('carol', '3'), joined('dave', '4')] });
    // Bob mutes: his row's mark and the grid's marks.
    await show({
      members: [joined('bob', '2', { micOn: false }), joined('carol', '3'), joined('dave', '4')],
    });
    // Dave leaves.
    await show({
      members: [
        joined('bob', '2', { micOn: false }),
        joined('carol', '3'),
        { ...joined('dave', '4'), state: 'left', rtc: false },
      ],
    });

    expect(calls).toEqual([
      { 'rows[2].state': 'Joining…', count: 3 },
      { 'rows[2].state': '' },
      { 'rows[3]': { name: 'dave', initial: 'D', state: '', mark: 0, gone: false }, count: 4 },
      { marks: { '2': 1 }, 'rows[1].mark': 1 },
      { 'rows[3].state': 'Left', 'rows[3].gone': true, count: 3 },
    ]);
    for (const call of calls) {
      expect(call).not.toHaveProperty('rows');
      expect(call).not.toHaveProperty('invitees');
    }
  });

  it('sends nothing for a change the screen does not show, and a tile hint as the grid’s one small object', async () => {
    await show(inCall());
    const calls = recordSetData();
    await show({ cid: 'g1', local: { ...idleGroupSnapshot().local } });
    expect(calls).toEqual([]);
    // Positive control: the group session's media policy hints a tile; the grid gets it, nothing else moves.
    await show({ hints: { '2': 'buffering' } });
    expect(calls).toEqual([{ hints: { '2': 'buffering' } }]);
  });
});
