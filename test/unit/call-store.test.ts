import { autorun } from 'mobx-miniprogram';
import { MediaRoster } from '../../services/media';
import { CallStore, bindRosterToStore } from '../../services/stores';
import { FakeNetcall, rtcUser } from '../helpers/simulate';

const selfEntry = rtcUser('1', 'alice', 'rtmp://media/live/c1_1?sign=push');
const bob = rtcUser('2', 'bob');
const carol = rtcUser('3', 'carol');

function setup() {
  const netcall = new FakeNetcall('alice');
  const roster = new MediaRoster(netcall);
  const store = new CallStore();
  const unbind = bindRosterToStore(roster, store);
  roster.setSelf({ uid: '1', account: 'alice', cid: 'c1' });
  return { netcall, roster, store, unbind };
}

describe('CallStore + bindRosterToStore', () => {
  it('mirrors the roster through syncDone, clientJoin, clientLeave and hangup', () => {
    const { netcall, roster, store } = setup();
    netcall.syncDone([selfEntry, bob]);
    expect(store.pusher).toEqual(roster.pusher);
    expect(store.players).toEqual([bob]);

    netcall.clientJoin(carol);
    expect(store.players.map((user) => user.uid)).toEqual(['2', '3']);
    netcall.clientLeave(bob);
    expect(store.players.map((user) => user.uid)).toEqual(['3']);
    netcall.peerHangup('carol');
    expect(store.pusher).toBeNull();
    expect(store.players).toEqual([]);
  });

  it('replaces a changed player object instead of mutating it', () => {
    const { netcall, store } = setup();
    netcall.syncDone([selfEntry, bob]);
    const before = store.players[0];
    netcall.syncDone([selfEntry, { ...bob, url: 'rtmp://new' }]);
    expect(store.players[0]).not.toBe(before);
    expect(before.url).toBe(bob.url);
    expect(store.playerOf('2')?.url).toBe('rtmp://new');
  });

  it('runs reactions once per netcall event, not once per change', () => {
    const { netcall, store } = setup();
    let runs = 0;
    const stop = autorun(() => {
      void store.players.map((user) => user.url).join();
      void store.pusher;
      runs++;
    });
    netcall.syncDone([selfEntry, bob, carol]);
    stop();
    expect(runs).toBe(2);
  });

  it('takes the roster state it is bound to and stops following after unbind', () => {
    const netcall = new FakeNetcall('alice');
    const roster = new MediaRoster(netcall);
    roster.setSelf({ uid: '1', account: 'alice', cid: 'c1' });
    netcall.syncDone([selfEntry, bob]);

    const store = new CallStore();
    const unbind = bindRosterToStore(roster, store);
    expect(store.players).toEqual([bob]);
    unbind();
    netcall.clientJoin(carol);
    expect(store.players).toEqual([bob]);
  });

  it('reset() empties the store', () => {
    const { netcall, store } = setup();
    netcall.syncDone([selfEntry, bob]);
    store.reset();
    expect(store.pusher).toBeNull();
    expect(store.players).toEqual([]);
  });
});
