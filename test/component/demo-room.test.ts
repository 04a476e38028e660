/**
 * The demo's rooms and group calls: the dial line's accounts (1:1 or group), room names refused before
 * anything is sent, errors in words, the room page's flows on a stand-in GroupSession, and the app's two
 * sessions keeping out of each other's way with invitations opening their pages.
 */
import { Code, Emitter, NetcallError, type NetcallEvents } from 'miniprogram-netcall';
import { demoLabels, type DemoLabels } from '../../miniprogram/i18n';
import {
  barStyle,
  callGroup,
  dialTarget,
  enterRoom,
  errorText,
  groupCallOf,
  roomNameProblem,
  splitAccounts,
  type RoomDoor,
} from '../../miniprogram/room';

// The page reads the app's sessions through session.ts; here they are the stand-ins the tests set.
const mockApp: { globalData: Record<string, unknown> } = { globalData: {} };
const mockToast = jest.fn();
jest.mock('../../miniprogram/session', () => ({
  globalData: () => mockApp.globalData,
  toast: (title: string) => mockToast(title),
}));

const zh = demoLabels('zh-CN');
const en = demoLabels('en');

/** A GroupSession's entry points, recording what was sent. */
function door(failWith?: unknown): RoomDoor & Record<'createChannel' | 'joinChannel' | 'call', jest.Mock> {
  const settle = () => (failWith === undefined ? Promise.resolve() : Promise.reject(failWith));
  return { createChannel: jest.fn(settle), joinChannel: jest.fn(settle), call: jest.fn(settle) };
}

describe('the dial line', () => {
  it('splits accounts on commas (also full-width), enumeration commas and spaces, each once', () => {
    expect(splitAccounts(' bob, carol，dave、 erin  bob ;frank')).toEqual([
      'bob',
      'carol',
      'dave',
      'erin',
      'frank',
    ]);
    expect(splitAccounts('  ')).toEqual([]);
  });

  it('dials one account 1:1 on the call page', () => {
    expect(dialTarget(' bob ', 'alice', 2, en)).toEqual({ url: '/pages/call/index?callee=bob&type=2' });
    // My own account is dropped: "alice, bob" is still a 1:1 call to bob.
    expect(dialTarget('alice, bob', 'alice', 1, en)).toEqual({ url: '/pages/call/index?callee=bob&type=1' });
  });

  it('rings several accounts as a group call on the room page, which reads them back', () => {
    const target = dialTarget('bob carol,dave', 'alice', 1, en);
    expect(target).toEqual({ url: '/pages/room/index?callees=bob%2Ccarol%2Cdave&type=1' });
    const query = Object.fromEntries(new URLSearchParams((target as { url: string }).url.split('?')[1]));
    // WeChat hands the page its query still encoded; the room page decodes it.
    const raw = { callees: encodeURIComponent(query.callees), type: query.type };
    expect(groupCallOf(raw)).toEqual({ callees: ['bob', 'carol', 'dave'], type: 1 });
    expect(groupCallOf({})).toBeNull();
  });

  it('says why a line dials nobody: empty, only me, a malformed account, too many', () => {
    expect(dialTarget('', 'alice', 2, en)).toEqual({ problem: en.enterCallee });
    expect(dialTarget('alice', 'alice', 2, zh)).toEqual({ problem: zh.enterCallee });
    expect(dialTarget('bob, c/arol', 'alice', 2, en)).toEqual({
      problem: '“c/arol” is not an account: use letters, digits and _ . @ -',
    });
    const nine = Array.from({ length: 9 }, (_, i) => `user${i}`).join(' ');
    expect(dialTarget(nine, 'alice', 2, en)).toEqual({ problem: 'A group call rings at most 8 people' });
    expect(dialTarget(nine, 'alice', 2, zh)).toEqual({ problem: '多人通话最多呼叫 8 人' });
  });
});

describe('room names and errors', () => {
  it('refuses an empty or malformed name with a message, and sends nothing', async () => {
    for (const [name, message] of [
      ['', en.enterRoomName],
      ['   ', en.enterRoomName],
      ['team sync', en.badRoomName],
      ['会议室', en.badRoomName],
      ['x'.repeat(65), en.badRoomName],
    ]) {
      const session = door();
      await expect(enterRoom(session, 'create', name, 2, en)).resolves.toBe(message);
      await expect(enterRoom(session, 'join', name, 2, en)).resolves.toBe(message);
      expect(session.createChannel).not.toHaveBeenCalled();
      expect(session.joinChannel).not.toHaveBeenCalled();
    }
    expect(roomNameProblem('team sync', zh)).toBe('房间名只能包含字母、数字和 _ . -，最多 64 个字符');
  });

  it('creates or joins a valid name, trimmed, as voice or video', async () => {
    const session = door();
    await expect(enterRoom(session, 'create', ' team-sync.1 ', 1, en)).resolves.toBeNull();
    expect(session.createChannel).toHaveBeenCalledWith('team-sync.1', 1);
    await expect(enterRoom(session, 'join', 'team_sync', 2, en)).resolves.toBeNull();
    expect(session.joinChannel).toHaveBeenCalledWith('team_sync', 2);
  });

  it('words the server’s refusals in both languages', async () => {
    const cases: [number, keyof DemoLabels][] = [
      [Code.EXISTS, 'roomTaken'],
      [Code.NOT_FOUND, 'noSuchRoom'],
      [Code.ROOM_FULL, 'roomFull'],
      [Code.CONFLICT, 'alreadyInCall'],
    ];
    for (const t of [zh, en])
      for (const [code, key] of cases) {
        const refused = new NetcallError(code, 'server words');
        await expect(enterRoom(door(refused), 'join', 'team', 2, t)).resolves.toBe(t[key]);
      }
    expect(zh.roomTaken).not.toBe(en.roomTaken);
    // A group call's 404 and 104 concern people, not a room.
    await expect(
      callGroup(door(new NetcallError(Code.NOT_FOUND, 'x')), ['bob', 'carol'], 2, en),
    ).resolves.toBe(en.notOnline);
    expect(errorText(new NetcallError(Code.ROOM_FULL, 'x'), 'call', zh)).toBe(zh.callFull);
    // Anything else: the server's own message rather than nothing.
    expect(errorText(new NetcallError(Code.INTERNAL, 'boom'), 'room', en)).toBe('boom');
  });

  it('draws the form’s bar level with the capsule, clear of it', () => {
    const menu = { top: 48, bottom: 80, left: 281, right: 368, width: 87, height: 32 };
    expect(barStyle({ width: 375, statusBar: 44, menu, immersive: true })).toBe(
      'padding-top:48px;height:32px;padding-right:94px',
    );
    expect(barStyle({ width: 375, statusBar: 20, menu: null, immersive: false })).toBe(
      'padding-top:26px;height:32px;padding-right:12px',
    );
  });
});

// ---- the room page on a stand-in GroupSession ---------------------------------------------------------------

type PageOptions = Record<string, unknown> & { data: Record<string, unknown> };
type PageInstance = Record<string, (...args: never[]) => unknown> & { data: Record<string, unknown> };

let roomPage: PageOptions;
const screen = { attachSession: jest.fn() };
const wxStubs = {
  navigateBack: jest.fn(),
  navigateTo: jest.fn(),
  reLaunch: jest.fn(),
  setNavigationBarColor: jest.fn(),
  enableAlertBeforeUnload: jest.fn(),
  disableAlertBeforeUnload: jest.fn(),
};

beforeAll(async () => {
  Object.assign(wx, wxStubs);
  const globals = globalThis as unknown as { Page: unknown };
  const original = globals.Page;
  globals.Page = (options: PageOptions) => {
    roomPage = options;
  };
  await import('../../miniprogram/pages/room/index');
  globals.Page = original;
});

/** A page instance as WeChat makes one: its options' methods, its own data, setData with a callback. */
function openPage(): PageInstance {
  const page = {
    ...roomPage,
    data: { ...roomPage.data },
    setData(patch: Record<string, unknown>, done?: () => void) {
      Object.assign(page.data, patch);
      done?.();
    },
    selectComponent: () => (page.data.view === 'screen' ? screen : null),
  } as unknown as PageInstance;
  return page;
}

/** Enough of a GroupSession for the page: phases through `change`, and the calls it makes. */
class StandInGroup extends Emitter<{ change: Record<string, unknown> }> {
  phase = 'idle';
  kind: 'call' | 'room' | null = null;
  reason: string | null = null;
  createChannel = jest.fn(async () => this.to('joining', 'room'));
  joinChannel = jest.fn(async () => this.to('joining', 'room'));
  call = jest.fn(async () => this.to('dialing', 'call'));
  hangup = jest.fn(async () => this.to('ended'));
  appShown = jest.fn();
  appHidden = jest.fn();
  snapshot() {
    return { phase: this.phase, kind: this.kind, reason: this.reason };
  }
  to(phase: string, kind = this.kind, reason: string | null = null) {
    Object.assign(this, { phase, kind, reason });
    this.emit('change', { phase });
  }
}

describe('the room page', () => {
  let group: StandInGroup;
  let page: PageInstance | null;

  beforeEach(() => {
    jest.useFakeTimers();
    jest.clearAllMocks();
    group = new StandInGroup();
    mockApp.globalData = { group, lang: 'en' };
    page = null;
  });
  afterEach(() => {
    page?.onUnload();
    jest.useRealTimers();
  });

  function load(query: Record<string, string> = {}): PageInstance {
    page = openPage();
    page.onLoad(query as never);
    return page;
  }

  it('refuses a bad room name on the form with the message, and sends nothing', async () => {
    const p = load();
    expect(p.data.view).toBe('form');
    p.onNameInput({ detail: { value: 'team sync' } } as never);
    await p.onCreate();
    await Promise.resolve();
    expect(p.data.error).toBe(en.badRoomName);
    expect(group.createChannel).not.toHaveBeenCalled();
    expect(group.joinChannel).not.toHaveBeenCalled();
    // Correcting the name clears the verdict on the old one.
    p.onNameInput({ detail: { value: 'team-sync' } } as never);
    expect(p.data.error).toBe('');
  });

  it('joins a room as voice, shows the screen on the session, and asks before leaving it', async () => {
    const p = load();
    p.onNameInput({ detail: { value: 'team-sync' } } as never);
    p.onVideoChange({ detail: { value: false } } as never);
    p.onJoin();
    await Promise.resolve();
    expect(group.joinChannel).toHaveBeenCalledWith('team-sync', 1);
    expect(p.data.view).toBe('screen');
    expect(screen.attachSession).toHaveBeenCalledWith(group);
    expect(wxStubs.enableAlertBeforeUnload).toHaveBeenCalledWith(
      expect.objectContaining({ message: en.leaveCall }),
    );
  });

  it('words a refused join on the form (404: no such room)', async () => {
    const p = load();
    group.joinChannel.mockImplementationOnce(async () => {
      group.to('joining', 'room');
      group.to('ended', 'room', 'error');
      throw new NetcallError(Code.NOT_FOUND, 'no room named "team"');
    });
    p.onNameInput({ detail: { value: 'team' } } as never);
    p.onJoin();
    await jest.runAllTimersAsync();
    expect(p.data.view).toBe('form');
    expect(p.data.error).toBe(en.noSuchRoom);
    expect(wxStubs.navigateBack).not.toHaveBeenCalled();
  });

  it('returns to the form when a room ends and its screen is closed', async () => {
    const p = load();
    p.onNameInput({ detail: { value: 'team' } } as never);
    p.onCreate();
    await Promise.resolve();
    group.to('in-call');
    group.to('ended', 'room', 'local-hangup');
    expect(wxStubs.disableAlertBeforeUnload).toHaveBeenCalled();
    p.onClose();
    expect(p.data.view).toBe('form');
    expect(wxStubs.navigateBack).not.toHaveBeenCalled();
  });

  it('rings a group call from the dial page and goes back there when it ends', async () => {
    const p = load({ callees: encodeURIComponent('bob,carol'), type: '2' });
    await jest.runAllTimersAsync();
    expect(group.call).toHaveBeenCalledWith(['bob', 'carol'], 2);
    expect(p.data.view).toBe('screen');
    group.to('ended', 'call', 'remote-hangup');
    jest.advanceTimersByTime(2500);
    expect(wxStubs.navigateBack).toHaveBeenCalledTimes(1);
  });

  it('waits while another page covers its ended call, then goes back from the top only', async () => {
    const p = load({ callees: 'bob%2Ccarol', type: '2' });
    await jest.runAllTimersAsync();
    group.to('ended', 'call', 'remote-hangup');
    p.onHide(); // a 1:1 invitation opened the call page over this one
    jest.advanceTimersByTime(5000);
    expect(wxStubs.navigateBack).not.toHaveBeenCalled();
    p.onShow();
    jest.advanceTimersByTime(2500);
    expect(wxStubs.navigateBack).toHaveBeenCalledTimes(1);
  });

  it('a group call that cannot ring is worded, and the page goes back to dial', async () => {
    group.call.mockRejectedValueOnce(new NetcallError(Code.NOT_FOUND, 'not online: "bob"'));
    load({ callees: 'bob%2Ccarol', type: '1' });
    await jest.runAllTimersAsync();
    expect(mockToast).toHaveBeenCalledWith(en.notOnline);
    expect(wxStubs.navigateBack).toHaveBeenCalledTimes(1);
  });

  it('hangs up a live call when the page goes without asking (home button, capsule)', async () => {
    const p = load();
    group.to('incoming', 'call');
    expect(p.data.view).toBe('screen');
    p.onUnload();
    page = null;
    expect(group.hangup).toHaveBeenCalledTimes(1);
  });
});

// ---- the app's two sessions ---------------------------------------------------------------------------------

/** A connected Netcall as far as the sessions can tell: events in, requests recorded. */
class StandInNetcall extends Emitter<NetcallEvents> {
  readonly account = 'alice';
  call = jest.fn();
  response = jest.fn(async () => undefined);
  hangup = jest.fn(async () => undefined);
  control = jest.fn(async () => undefined);
  startRtc = jest.fn();
  createChannel = jest.fn();
  joinChannel = jest.fn();
  leaveChannel = jest.fn(async () => undefined);
  inviteToCall = jest.fn();
  close = jest.fn();
}

describe('the app’s sessions', () => {
  const real = jest.requireActual<typeof import('../../miniprogram/session')>('../../miniprogram/session');
  const globals = globalThis as unknown as { getApp: unknown; getCurrentPages: unknown };
  const originalGetApp = globals.getApp;
  const originalPages = globals.getCurrentPages;
  let netcall: StandInNetcall;
  let top: string;

  beforeEach(() => {
    jest.clearAllMocks();
    mockApp.globalData = { netcall: null, call: null, group: null, lang: 'en' };
    globals.getApp = () => mockApp;
    top = 'pages/dial/index';
    globals.getCurrentPages = () => [{ route: top }];
    netcall = new StandInNetcall();
    real.startSession(netcall as never);
  });
  afterEach(async () => {
    await real.endSession();
    globals.getApp = originalGetApp;
    globals.getCurrentPages = originalPages;
  });

  it('opens the room page over the page on top for a group invitation', () => {
    netcall.emit('beCalling', { caller: 'bob', type: 2, cid: '7', callees: ['alice', 'carol'] });
    expect(wxStubs.navigateTo).toHaveBeenCalledWith({ url: '/pages/room/index' });
    expect((mockApp.globalData.group as { phase: string }).phase).toBe('incoming');
  });

  it('opens nothing over the page that already shows it', () => {
    top = 'pages/room/index';
    netcall.emit('beCalling', { caller: 'bob', type: 2, cid: '7', callees: ['alice', 'carol'] });
    expect(wxStubs.navigateTo).not.toHaveBeenCalled();
  });

  it('while a 1:1 call rings, a group invitation is refused as busy', async () => {
    netcall.emit('beCalling', { caller: 'bob', type: 2, cid: '1' });
    expect(wxStubs.navigateTo).toHaveBeenCalledWith({ url: '/pages/call/index' });
    netcall.emit('beCalling', { caller: 'carol', type: 2, cid: '2', callees: ['alice', 'dave'] });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect((mockApp.globalData.group as { phase: string }).phase).toBe('idle');
    expect(netcall.response).toHaveBeenCalledWith(expect.objectContaining({ cid: '2', reason: 'busy' }));
    expect(wxStubs.navigateTo).toHaveBeenCalledTimes(1);
  });

  it('while a group call rings, a 1:1 call is refused as busy', async () => {
    netcall.emit('beCalling', { caller: 'carol', type: 2, cid: '2', callees: ['alice', 'dave'] });
    netcall.emit('beCalling', { caller: 'bob', type: 2, cid: '1' });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect((mockApp.globalData.call as { phase: string }).phase).toBe('idle');
    expect(netcall.response).toHaveBeenCalledWith(expect.objectContaining({ cid: '1', reason: 'busy' }));
  });

  it('lets both sessions go at logout', async () => {
    await real.endSession();
    expect(mockApp.globalData).toMatchObject({ netcall: null, call: null, group: null });
    expect(netcall.close).toHaveBeenCalled();
    netcall.emit('beCalling', { caller: 'bob', type: 2, cid: '9', callees: ['alice', 'carol'] });
    expect(wxStubs.navigateTo).not.toHaveBeenCalled();
    // Started again for afterEach's logout.
    real.startSession(netcall as never);
  });
});
