import { MediaRoster, type RosterChange } from '../../services/media';
import { FakeNetcall, rtcUser } from '../helpers/simulate';

const SELF = { uid: '1', account: 'alice', cid: 'c1' };
const selfEntry = rtcUser('1', 'alice', 'rtmp://media/live/c1_1?sign=push');
const bob = rtcUser('2', 'bob');
const carol = rtcUser('3', 'carol');

function last<T>(items: T[]): T | undefined {
  return items[items.length - 1];
}

function setup() {
  const netcall = new FakeNetcall('alice');
  const roster = new MediaRoster(netcall);
  const batches: Array<readonly RosterChange[]> = [];
  roster.on('changes', (changes) => batches.push(changes));
  return { netcall, roster, batches, changes: () => batches.flat() };
}

describe('MediaRoster', () => {
  it('binds self to the pusher and everyone else to players after syncDone', () => {
    const { netcall, roster, changes } = setup();
    roster.setSelf(SELF);
    netcall.syncDone([selfEntry, bob]);

    expect(roster.pusher).toEqual({ uid: '1', account: 'alice', url: selfEntry.url });
    expect(roster.players).toEqual([bob]);
    expect(changes()).toEqual([
      { kind: 'pusher', pusher: { uid: '1', account: 'alice', url: selfEntry.url } },
      { kind: 'add', index: 0, user: bob },
    ]);
  });

  it('keeps the self entry as the pusher when syncDone comes before setSelf', () => {
    const { netcall, roster, batches } = setup();
    netcall.syncDone([bob, selfEntry]);
    // Until I know my uid nobody is shown: my own entry could otherwise be played as a remote stream.
    expect(roster.players).toEqual([]);
    expect(batches).toHaveLength(0);

    roster.setSelf(SELF);
    expect(roster.pusher?.url).toBe(selfEntry.url);
    expect(roster.players).toEqual([bob]);
    expect(batches).toHaveLength(1);
  });

  it('compares uids and cids as strings, whatever type the engine delivers', () => {
    const { netcall, roster } = setup();
    roster.setSelf({ uid: 1, account: 'alice', cid: 77 } as unknown as typeof SELF);
    netcall.syncDone(
      [
        { ...selfEntry, uid: 1 as unknown as string },
        { ...bob, uid: 2 as unknown as string },
      ],
      77 as never,
    );
    expect(roster.pusher?.uid).toBe('1');
    expect(roster.players).toEqual([{ ...bob, uid: '2' }]);
  });

  it('accepts a clientJoin that arrives before syncDone, and syncDone then confirms it', () => {
    const { netcall, roster, changes } = setup();
    roster.setSelf(SELF);
    netcall.clientJoin(bob);
    expect(roster.players).toEqual([bob]);

    netcall.syncDone([selfEntry, bob]);
    expect(roster.players).toEqual([bob]);
    expect(changes().filter((change) => change.kind === 'add')).toHaveLength(1);
  });

  it('keeps a clientJoin that comes before setSelf', () => {
    const { netcall, roster } = setup();
    netcall.clientJoin(bob);
    roster.setSelf(SELF);
    expect(roster.players).toEqual([bob]);
  });

  it('ignores exact duplicate clientJoin events', () => {
    const { netcall, roster, batches } = setup();
    roster.setSelf(SELF);
    netcall.clientJoin(bob);
    netcall.clientJoin(bob);
    netcall.clientJoin({ ...bob });
    expect(roster.players).toEqual([bob]);
    expect(batches).toHaveLength(1);
  });

  it('updates a player in place when a clientJoin repeats with a new URL', () => {
    const { netcall, roster, changes } = setup();
    roster.setSelf(SELF);
    netcall.clientJoin(bob);
    netcall.clientJoin(carol);
    const moved = { ...bob, url: 'rtmp://media/live/c1_2?sign=2' };
    netcall.clientJoin(moved);
    expect(roster.players).toEqual([moved, carol]);
    expect(last(changes())).toEqual({ kind: 'update', index: 0, user: moved });
  });

  it('never makes a player of my own clientJoin', () => {
    const { netcall, roster, batches } = setup();
    roster.setSelf(SELF);
    netcall.clientJoin(rtcUser('1', 'alice', 'rtmp://media/live/c1_1?play'));
    expect(roster.players).toEqual([]);
    expect(roster.pusher).toBeNull();
    expect(batches).toHaveLength(0);
  });

  it('does not take my push URL from my own clientJoin seen before setSelf', () => {
    const { netcall, roster } = setup();
    netcall.clientJoin(rtcUser('1', 'alice', 'rtmp://media/live/c1_1?play'));
    roster.setSelf(SELF);
    expect(roster.players).toEqual([]);
    expect(roster.pusher).toBeNull();
  });

  it('rebinds changed URLs and drops missing users after a second syncDone (reconnect)', () => {
    const { netcall, roster, batches } = setup();
    roster.setSelf(SELF);
    netcall.syncDone([selfEntry, bob, carol]);
    batches.length = 0;

    const newPush = { ...selfEntry, url: 'rtmp://media/live/c1_1?sign=push2' };
    const newBob = { ...bob, url: 'rtmp://media/live/c1_2?sign=play2' };
    netcall.syncDone([newPush, newBob]);

    expect(roster.pusher?.url).toBe(newPush.url);
    expect(roster.players).toEqual([newBob]);
    expect(batches).toEqual([
      [
        { kind: 'pusher', pusher: { uid: '1', account: 'alice', url: newPush.url } },
        { kind: 'remove', index: 1, uid: '3' },
        { kind: 'update', index: 0, user: newBob },
      ],
    ]);
  });

  it('emits nothing for a repeated identical syncDone', () => {
    const { netcall, roster, batches } = setup();
    roster.setSelf(SELF);
    netcall.syncDone([selfEntry, bob]);
    netcall.syncDone([{ ...selfEntry }, { ...bob }]);
    expect(batches).toHaveLength(1);
  });

  it('ignores a failed syncDone', () => {
    const { netcall, roster } = setup();
    roster.setSelf(SELF);
    netcall.syncDone([selfEntry, bob]);
    netcall.emit('syncDone', { code: 417, errmsg: 'gone', cid: 'c1', userlist: [] });
    expect(roster.players).toEqual([bob]);
  });

  it('removes a user on clientLeave and keeps the others in join order', () => {
    const { netcall, roster, changes } = setup();
    roster.setSelf(SELF);
    netcall.syncDone([selfEntry, bob, carol]);
    netcall.clientLeave(bob);
    expect(roster.players).toEqual([carol]);
    expect(last(changes())).toEqual({ kind: 'remove', index: 0, uid: '2' });
  });

  it('clears everything on a hangup of the current call', () => {
    const { netcall, roster, changes } = setup();
    roster.setSelf(SELF);
    netcall.syncDone([selfEntry, bob]);
    netcall.peerHangup('bob');
    expect(roster.pusher).toBeNull();
    expect(roster.players).toEqual([]);
    expect(roster.cid).toBeNull();
    expect(last(changes())).toEqual({ kind: 'clear' });
  });

  it('starts fresh for the next call after a hangup', () => {
    const { netcall, roster } = setup();
    roster.setSelf(SELF);
    netcall.syncDone([selfEntry, bob]);
    netcall.peerHangup('bob');

    roster.setSelf({ ...SELF, cid: 'c2' });
    netcall.syncDone([selfEntry, carol], 'c2');
    expect(roster.players).toEqual([carol]);
  });

  it('ignores events of another cid once the call is known', () => {
    const { netcall, roster, batches } = setup();
    roster.setSelf(SELF);
    netcall.syncDone([selfEntry, bob]);
    batches.length = 0;

    netcall.syncDone([selfEntry], 'old');
    netcall.clientJoin(carol, 'old');
    netcall.clientLeave(bob, 'old');
    netcall.peerHangup('bob', 'old');

    expect(roster.players).toEqual([bob]);
    expect(roster.pusher?.url).toBe(selfEntry.url);
    expect(batches).toHaveLength(0);
  });

  it('drops what it gathered under another cid when setSelf names a different call', () => {
    const { netcall, roster } = setup();
    netcall.clientJoin(carol, 'stale');
    roster.setSelf(SELF);
    netcall.syncDone([selfEntry, bob]);
    expect(roster.players).toEqual([bob]);
  });

  it('clear() forgets the session after a local hangup', () => {
    const { netcall, roster, changes } = setup();
    roster.setSelf(SELF);
    netcall.syncDone([selfEntry, bob]);
    roster.clear();
    expect(roster.snapshot()).toEqual({ pusher: null, players: [] });
    expect(last(changes())).toEqual({ kind: 'clear' });
  });

  it('stops listening to the netcall on dispose', () => {
    const { netcall, roster, batches } = setup();
    roster.setSelf(SELF);
    roster.dispose();
    netcall.syncDone([selfEntry, bob]);
    expect(roster.players).toEqual([]);
    expect(batches).toHaveLength(0);
    for (const name of ['syncDone', 'clientJoin', 'clientLeave', 'hangup'] as const) {
      expect(netcall.listenerCount(name)).toBe(0);
    }
  });
});
