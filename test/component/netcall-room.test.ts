import { runInAction } from 'mobx-miniprogram';
import { MediaRoster } from '../../services/media';
import { callStore, bindRosterToStore, sessionStore } from '../../services/stores';
import {
  FakeNetcall,
  countSetData,
  defineHost,
  loadComponent,
  playerAttrs,
  pusherAttrs,
  recordEvents,
  renderHost,
  rtcUser,
  simulate,
  type Host,
} from '../helpers/simulate';

// Load once per file (miniprogram-simulate#25: a second load renders nothing); this also registers netcall-player and netcall-pusher.
const roomId = loadComponent('netcall-room');
const hostId = defineHost({
  usingComponents: { 'netcall-room': roomId },
  // Bound like call-screen binds it, from sessionStore.local.
  template:
    '<netcall-room id="room" enable-mic="{{mic}}" enable-camera="{{camera}}" device-position="{{side}}" sound-mode="{{sound}}" />',
  data: { mic: true, camera: true, side: 'front', sound: 'speaker' },
});

const push1 = rtcUser('1', 'alice', 'rtmp://media/live/c1_1?sign=push');
const bob = rtcUser('2', 'bob');
const carol = rtcUser('3', 'carol');
const dave = rtcUser('4', 'dave');

let netcall: FakeNetcall;
let roster: MediaRoster;
let unbind: () => void;
let host: Host;

beforeEach(() => {
  runInAction(() => callStore.reset());
  netcall = new FakeNetcall('alice');
  roster = new MediaRoster(netcall);
  unbind = bindRosterToStore(roster, callStore);
  host = renderHost(hostId);
});

afterEach(() => {
  host.detach();
  unbind();
  roster.dispose();
  jest.restoreAllMocks();
});

const room = () => host.querySelector('#room')!;
const srcs = () => playerAttrs(host).map((attrs) => attrs.src);
const playerIds = () => playerAttrs(host).map((attrs) => attrs.id);
/** Uids of the slots on screen; a leaver's slot stays in data with uid ''. */
const shownUids = () =>
  (room().data.players as Array<{ uid: string }>).filter((slot) => slot.uid).map((slot) => slot.uid);

async function startCall(userlist = [push1, bob]) {
  const result = await netcall.startRtc({ mode: 0 });
  roster.setSelf(result);
  netcall.syncDone(userlist);
  await simulate.sleep(0);
}

describe('netcall-room', () => {
  it('binds my pusher and one player per remote uid; self never gets a player', async () => {
    await startCall([push1, bob, carol]);
    expect(pusherAttrs(host)).toEqual([expect.objectContaining({ url: push1.url })]);
    expect(playerIds()).toEqual(['player-2', 'player-3']);
    expect(srcs()).toEqual([bob.url, carol.url]);
  });

  it('shows the peer who joined before syncDone', async () => {
    roster.setSelf(await netcall.startRtc({ mode: 0 }));
    netcall.clientJoin(bob);
    await simulate.sleep(0);
    expect(srcs()).toEqual([bob.url]);
    expect(pusherAttrs(host)).toEqual([]);

    netcall.syncDone([push1, bob]);
    await simulate.sleep(0);
    expect(srcs()).toEqual([bob.url]);
    expect(pusherAttrs(host)[0].url).toBe(push1.url);
  });

  it('lays out 1:1: first remote full screen, my pusher as picture-in-picture', async () => {
    roster.setSelf(await netcall.startRtc({ mode: 0 }));
    netcall.syncDone([push1]);
    await simulate.sleep(0);
    const selfBox = () => room().querySelector('.netcall-room__self')!;
    expect(selfBox().dom!.className).toContain('netcall-room__self--full');

    netcall.clientJoin(bob);
    await simulate.sleep(0);
    expect(selfBox().dom!.className).toContain('netcall-room__self--pip');
    expect(room().querySelector('.netcall-room__remote')!.dom!.className).toContain(
      'netcall-room__remote--main',
    );
  });

  it('adds a joiner by path in one setData on the room, the new tile writing nothing itself', async () => {
    await startCall([push1, bob, carol]);
    const counter = countSetData(room());
    const tileCounters = room().querySelectorAll('.netcall-room__player').map(countSetData);
    netcall.clientJoin(dave);
    await simulate.sleep(0);
    expect(counter.paths).toEqual([['players[2]', 'count']]);
    expect(tileCounters.map((tile) => tile.count)).toEqual([0, 0]);
    expect(shownUids()).toEqual(['2', '3', '4']);
    expect(srcs()).toEqual([bob.url, carol.url, dave.url]);
    // The new tile got its URL as a property: it has no store watcher and no setData of its own.
    const daveTile = room().querySelectorAll('.netcall-room__player')[2];
    expect(daveTile.data).toMatchObject({ uid: '4', src: dave.url, managed: true });
  });

  it('rebinds a changed URL by one path for that tile only after a reconnect, and replays it', async () => {
    const context = { stop: jest.fn(), play: jest.fn() };
    jest.spyOn(wx, 'createLivePlayerContext').mockReturnValue(context as never);
    await startCall([push1, bob, carol]);
    const roomCounter = countSetData(room());
    const [bobTile, carolTile] = room().querySelectorAll('.netcall-room__player');
    const bobCounter = countSetData(bobTile);
    const carolCounter = countSetData(carolTile);

    const bob2 = { ...bob, url: 'rtmp://media/live/c1_2?sign=2' };
    netcall.syncDone([push1, bob2, carol]);
    await simulate.sleep(0);
    expect(srcs()).toEqual([bob2.url, carol.url]);
    expect(roomCounter.paths).toEqual([['players[0].src']]);
    expect(bobCounter.count).toBe(0);
    expect(carolCounter.count).toBe(0);
    expect(wx.createLivePlayerContext).toHaveBeenCalledWith('player-2', bobTile.instance);
    expect(context.stop).toHaveBeenCalledTimes(1);
    expect(context.play).toHaveBeenCalledTimes(1);
  });

  it('drops a user missing from a second syncDone', async () => {
    await startCall([push1, bob, carol]);
    netcall.syncDone([push1, carol]);
    await simulate.sleep(0);
    expect(playerIds()).toEqual(['player-3']);
  });

  it('removes the leaver on clientLeave by path, moving the next user to the main spot', async () => {
    await startCall([push1, bob, carol]);
    const counter = countSetData(room());
    netcall.clientLeave(bob);
    await simulate.sleep(0);
    expect(playerIds()).toEqual(['player-3']);
    expect(srcs()).toEqual([carol.url]);
    expect(counter.paths).toEqual([['players[0].uid', 'players[1].pos', 'count']]);
    expect(room().querySelector('.netcall-room__remote')!.dom!.className).toContain(
      'netcall-room__remote--main',
    );

    // A rejoin gets a new slot: uids may repeat across slots, keys never do.
    netcall.clientJoin(bob);
    await simulate.sleep(0);
    expect(shownUids()).toEqual(['3', '2']);
    expect(srcs()).toEqual([carol.url, bob.url]);
  });

  it('empties on hangup of the current call and ignores a foreign cid', async () => {
    await startCall([push1, bob]);
    netcall.peerHangup('bob', 'another-call');
    await simulate.sleep(0);
    expect(srcs()).toEqual([bob.url]);

    netcall.peerHangup('bob');
    await simulate.sleep(0);
    expect(pusherAttrs(host)).toEqual([]);
    expect(playerAttrs(host)).toEqual([]);
    expect(room().data.players).toEqual([]);
  });

  it('passes my media switches down: mic, camera and side to the pusher, sound mode to every player', async () => {
    await startCall([push1, bob, carol]);
    expect(pusherAttrs(host)[0]).toMatchObject({
      enableMic: true,
      enableCamera: true,
      devicePosition: 'front',
    });
    expect(playerAttrs(host).map((attrs) => attrs.soundMode)).toEqual(['speaker', 'speaker']);
    const roomCounter = countSetData(room());
    const childCounters = [
      countSetData(room().querySelector('.netcall-room__pusher')!),
      ...room().querySelectorAll('.netcall-room__player').map(countSetData),
    ];

    host.setData({ mic: false, camera: false, side: 'back', sound: 'ear' });
    await simulate.sleep(0);
    expect(pusherAttrs(host)[0]).toMatchObject({
      enableMic: false,
      enableCamera: false,
      devicePosition: 'back',
      url: push1.url,
    });
    expect(playerAttrs(host).map((attrs) => attrs.soundMode)).toEqual(['ear', 'ear']);
    expect(srcs()).toEqual([bob.url, carol.url]);
    // Property bindings only: no list resent by the room, nothing written by the tiles.
    expect(roomCounter.count).toBe(0);
    expect(childCounters.map((counter) => counter.count)).toEqual([0, 0, 0]);

    // A joiner's tile takes the current sound mode from the start.
    netcall.clientJoin(dave);
    await simulate.sleep(0);
    expect(playerAttrs(host).map((attrs) => attrs.soundMode)).toEqual(['ear', 'ear', 'ear']);
  });

  it('restartPusher() stops and then starts the push', async () => {
    const calls: string[] = [];
    jest.spyOn(wx, 'createLivePusherContext').mockReturnValue({
      stop: (options?: { complete?: () => void }) => {
        calls.push('stop');
        options?.complete?.();
      },
      start: () => calls.push('start'),
    } as never);
    await startCall([push1, bob]);
    (room().instance as unknown as { restartPusher(): void }).restartPusher();
    expect(calls).toEqual(['stop', 'start']);
  });

  it("replay(uid) replays that user's tile only, also after slots moved", async () => {
    const context = { stop: jest.fn(), play: jest.fn() };
    const create = jest.spyOn(wx, 'createLivePlayerContext').mockReturnValue(context as never);
    await startCall([push1, bob, carol, dave]);
    netcall.clientLeave(bob);
    await simulate.sleep(0);
    const replay = (uid: string) => (room().instance as unknown as { replay(uid: string): void }).replay(uid);

    replay('4');
    const daveTile = room()
      .querySelectorAll('.netcall-room__player')
      .find((tile) => tile.data.uid === '4')!;
    expect(create.mock.calls).toEqual([['player-4', daveTile.instance]]);
    expect(context.stop).toHaveBeenCalledTimes(1);
    expect(context.play).toHaveBeenCalledTimes(1);
    expect(context.stop.mock.invocationCallOrder[0]).toBeLessThan(context.play.mock.invocationCallOrder[0]);

    // The leaver (and anyone unknown) has no tile on screen: nothing to replay.
    replay('2');
    replay('9');
    expect(create).toHaveBeenCalledTimes(1);
  });

  it('tags tile events with their source and uid', async () => {
    await startCall([push1, bob]);
    const events = recordEvents(room());
    // Emit from the tiles themselves: simulate would also bubble a raw element event up to the room.
    const trigger = (selector: string, name: string, detail: object) =>
      (
        room().querySelector(selector)!.instance as { triggerEvent(name: string, detail: object): void }
      ).triggerEvent(name, detail);
    trigger('.netcall-room__player', 'statechange', { code: -2301 });
    trigger('.netcall-room__pusher', 'error', { errCode: 10001 });
    await simulate.sleep(0);
    expect(events).toEqual([
      { name: 'statechange', detail: { source: 'player', uid: '2', code: -2301 } },
      { name: 'error', detail: { source: 'pusher', uid: '1', errCode: 10001 } },
    ]);
  });
});

describe('netcall-room: layout and hints', () => {
  afterEach(() => sessionStore.reset());

  it('lays out by a class, and gives a joiner its hint in the join’s one setData', async () => {
    expect(room().dom!.firstElementChild!.className).toContain('netcall-room--pip');
    runInAction(() => sessionStore.applySessionChange({ hints: { '3': 'buffering' } }));
    await startCall();
    const calls = countSetData(room());
    netcall.clientJoin(carol);
    await simulate.sleep(0);
    expect(calls.paths).toEqual([['players[1]', 'count']]);
    expect(room().data.players[1]).toMatchObject({ uid: '3', hint: 'buffering' });
    // A joiner with nothing to show carries no hint or mark field at all: only what places and names it.
    netcall.clientJoin(dave);
    await simulate.sleep(0);
    expect(Object.keys(room().data.players[2]).sort()).toEqual(['key', 'name', 'pos', 'src', 'uid']);
  });

  it('sends a hint change as paths for the tiles that changed, mine included', async () => {
    await startCall([push1, bob, carol]);
    const calls = countSetData(room());
    runInAction(() =>
      sessionStore.applySessionChange({ hints: { '1': 'reconnecting', '3': 'poor-network' } }),
    );
    await simulate.sleep(0);
    runInAction(() => sessionStore.applySessionChange({ hints: { '1': 'reconnecting' } }));
    await simulate.sleep(0);
    expect(calls.paths).toEqual([['selfHint', 'players[1].hint'], ['players[1].hint']]);
    expect(room().data.selfHint).toBe('reconnecting');
  });
});

/** A room of `size` members in the group grid: me and `size - 1` others, as room-screen renders it. */
describe('netcall-room: the group grid', () => {
  const gridHostId = defineHost({
    usingComponents: { 'netcall-room': roomId },
    template: '<netcall-room id="room" layout="grid" marks="{{marks}}" labels="{{labels}}" />',
    data: { marks: {}, labels: { me: 'Me' } },
  });
  const others = Array.from({ length: 8 }, (_, index) => rtcUser(String(index + 2), `member${index + 2}`));
  let grid: Host;

  beforeEach(() => {
    host.detach();
    grid = renderHost(gridHostId);
    host = grid;
  });

  const names = () =>
    room()
      .querySelectorAll('.netcall-room__name')
      .map((node) => node.dom!.textContent!.trim());
  const rootClass = () => room().dom!.firstElementChild!.className;

  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9])(
    'lays out a room of %i: every member a tile, mine included, 2 to a row up to 4 and 3 up to 9',
    async (size) => {
      await startCall([push1, ...others.slice(0, size - 1)]);
      expect(rootClass()).toContain('netcall-room--grid');
      // Three columns from five tiles on (3×3), two up to four (2×2).
      expect(rootClass().includes('netcall-room--many')).toBe(size > 4);
      expect(pusherAttrs(host)).toHaveLength(1);
      expect(playerAttrs(host)).toHaveLength(size - 1);
      if (size === 1) {
        // Alone: my own camera fills the room, with no name tag.
        expect(room().querySelector('.netcall-room__self--full')).not.toBeNull();
        expect(names()).toEqual([]);
      } else {
        // My tile is a grid cell like the others (ordered first by the WXSS), and everyone's is named.
        expect(room().querySelector('.netcall-room__self--pip')).not.toBeNull();
        expect(names().sort()).toEqual(
          ['Me', ...others.slice(0, size - 1).map((user) => user.account)].sort(),
        );
      }
    },
  );

  it('costs one small setData by path for a join into a room of 8, and by path for the tiles that move on a leave', async () => {
    await startCall([push1, ...others.slice(0, 7)]);
    const calls = countSetData(room());
    netcall.clientJoin(others[7]);
    await simulate.sleep(0);
    expect(calls.paths).toEqual([['players[7]', 'count']]);
    netcall.clientLeave(others[5]);
    await simulate.sleep(0);
    expect(calls.paths[1]).toEqual(['players[5].uid', 'players[6].pos', 'players[7].pos', 'count']);
    expect(names()).not.toContain(others[5].account);
    expect(names()).toContain(others[7].account);
  });

  it("shows a member's mic and camera as their notices said, by path for the tiles that changed", async () => {
    await startCall([push1, ...others.slice(0, 3)]);
    const tile = (uid: string) => room().dom!.querySelector(`[data-uid="${uid}"]`)!.parentElement!;
    const calls = countSetData(room());
    // Positive control first: nothing is off, so no tile shows an icon or an initial.
    expect(room().querySelectorAll('.netcall-icon--mic-off')).toHaveLength(0);
    expect(room().querySelectorAll('.netcall-room__initial')).toHaveLength(0);
    grid.setData({ marks: { '3': 1, '4': 2 } });
    await simulate.sleep(0);
    expect(calls.paths).toEqual([['players[1].mark', 'players[2].mark']]);
    expect(tile('3').querySelector('[class*="netcall-icon--mic-off"]')).not.toBeNull();
    expect(tile('3').querySelector('[class*="netcall-room__initial"]')).toBeNull();
    expect(tile('4').querySelector('[class*="netcall-room__initial"]')!.textContent).toBe('m');
    expect(tile('2').querySelector('[class*="netcall-icon--mic-off"]')).toBeNull();
    // '*' marks every tile, mine too (a voice call: nobody's camera is on); mine shows my own initial.
    grid.setData({ marks: { '*': 2 } });
    await simulate.sleep(0);
    expect(room().querySelectorAll('.netcall-room__initial')).toHaveLength(4);
    // Only the tiles whose mark changed: member4's camera was already off.
    expect(calls.paths[calls.paths.length - 1]).toEqual(['selfMark', 'players[0].mark', 'players[1].mark']);
    // A joiner's mark rides in its join's one setData.
    netcall.clientJoin(others[3]);
    await simulate.sleep(0);
    expect(calls.paths[calls.paths.length - 1]).toEqual(['players[3]', 'count']);
    expect(room().data.players[3]).toMatchObject({ uid: others[3].uid, mark: 2 });
  });
});
