/** @jest-environment node */
/**
 * The StateStore's indexes, on MemoryStore and on RedisStore (a real redis-server), against a model that
 * answers every question by scanning everything: random sequences of calls and group calls placed, answered,
 * changed in place (as handlers do before they put a call or room back) and deleted must give the same ringing
 * calls, group calls ringing an account and group calls an account placed that still ring, from both stores.
 */
import fc from 'fast-check';
import { MemoryStore } from '../../server/store/memory';
import { RedisStore } from '../../server/store/redis';
import type { CallState, RoomState, StateStore } from '../../server/store/types';
import { startRedis, type TestRedis } from '../helpers/redis';

const ACCOUNTS = ['a', 'b', 'c', '__proto__'];
const CIDS = ['1', '2', '3', '4'];

type Step =
  | { kind: 'call'; cid: string; caller: string; callee: string }
  | { kind: 'answer'; cid: string }
  | { kind: 'endCall'; cid: string }
  | { kind: 'group'; cid: string; creator: string; invitees: string[] }
  | { kind: 'uninvite'; cid: string; account: string }
  | { kind: 'endGroup'; cid: string };

const account = fc.constantFrom(...ACCOUNTS);
const cid = fc.constantFrom(...CIDS);
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('call' as const), cid, caller: account, callee: account }),
  fc.record({ kind: fc.constant('answer' as const), cid }),
  fc.record({ kind: fc.constant('endCall' as const), cid }),
  fc.record({
    kind: fc.constant('group' as const),
    cid,
    creator: account,
    invitees: fc.uniqueArray(account, { maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('uninvite' as const), cid, account }),
  fc.record({ kind: fc.constant('endGroup' as const), cid }),
);

const newCall = (s: Extract<Step, { kind: 'call' }>): CallState => ({
  cid: `call-${s.cid}`,
  caller: s.caller,
  callee: s.callee,
  type: 2,
  phase: 'ringing',
  callerConn: `conn-${s.caller}`,
  calleeConn: null,
  callerUid: '1',
  calleeUid: '2',
  members: [],
  createdAt: 0,
});

const newGroup = (s: Extract<Step, { kind: 'group' }>): RoomState => ({
  cid: `room-${s.cid}`,
  channelName: `group-${s.cid}`,
  custom: '',
  kind: 'call',
  type: 2,
  capacity: 8,
  createdBy: s.creator,
  createdAt: 0,
  members: [
    { account: s.creator, uid: '1', connId: `conn-${s.creator}`, role: 'member', rtc: null, joinedAt: 0 },
  ],
  invitees: s.invitees.map((invitee) => ({ account: invitee, uid: '2', invitedAt: 0 })),
});

/** Applies a step the way handlers do: read, change the object in place, put it back. */
async function apply(store: StateStore, s: Step): Promise<void> {
  switch (s.kind) {
    case 'call':
      if (!(await store.getCall(`call-${s.cid}`))) await store.putCall(newCall(s));
      return;
    case 'answer': {
      const call = await store.getCall(`call-${s.cid}`);
      if (!call || call.phase !== 'ringing') return;
      call.phase = 'accepted';
      call.calleeConn = `conn-${call.callee}`;
      return store.putCall(call);
    }
    case 'endCall':
      await store.deleteCall(`call-${s.cid}`);
      return;
    case 'group':
      if (!(await store.getRoom(`room-${s.cid}`))) await store.putRoom(newGroup(s));
      return;
    case 'uninvite': {
      const room = await store.getRoom(`room-${s.cid}`);
      if (!room) return;
      room.invitees = room.invitees.filter((invitee) => invitee.account !== s.account);
      return store.putRoom(room);
    }
    case 'endGroup':
      await store.deleteRoom(`room-${s.cid}`);
  }
}

/** What the indexes must answer, found by scanning every call and room. */
async function scanned(store: StateStore, who: string) {
  const calls = await store.allCalls();
  const rooms = await store.allRooms();
  const ringing = calls.filter((call) => call.phase === 'ringing');
  return {
    ringingFor: ringing.filter((call) => call.callee === who).map((call) => call.cid),
    ringingBy: ringing.filter((call) => call.caller === who).map((call) => call.cid),
    inviting: rooms.filter((room) => room.invitees.some((i) => i.account === who)).map((room) => room.cid),
    ringingRooms: rooms
      .filter((room) => room.kind === 'call' && room.createdBy === who && room.invitees.length > 0)
      .map((room) => room.cid),
  };
}

async function indexed(store: StateStore, who: string) {
  return {
    ringingFor: (await store.ringingCallsFor(who)).map((call) => call.cid),
    ringingBy: (await store.ringingCallsBy(who)).map((call) => call.cid),
    inviting: (await store.invitingRoomsFor(who)).map((room) => room.cid),
    ringingRooms: (await store.ringingRoomsBy(who)).map((room) => room.cid),
  };
}

const sorted = (answers: Record<string, string[]>) =>
  Object.fromEntries(Object.entries(answers).map(([key, cids]) => [key, [...cids].sort()]));

type TestedStore = StateStore & {
  connect?(): Promise<void>;
  close?(): Promise<void>;
  /** What the store still holds once every call and room ended: nothing, or a leak. */
  leftovers?(): Promise<string[]>;
};

async function check(makeStore: () => TestedStore, runs: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 25 }), async (steps) => {
      const store = makeStore();
      try {
        await store.connect?.();
        for (const s of steps) await apply(store, s);
        for (const who of ACCOUNTS)
          expect(sorted(await indexed(store, who))).toEqual(sorted(await scanned(store, who)));
        if (!store.leftovers) return;
        for (const call of await store.allCalls()) await store.deleteCall(call.cid);
        for (const room of await store.allRooms()) await store.deleteRoom(room.cid);
        // Only the connections' own entries may stay (forgetConn clears them when a connection closes).
        for (const who of ACCOUNTS) await store.forgetConn(`conn-${who}`);
        expect(await store.leftovers()).toEqual([]);
      } finally {
        await store.close?.();
      }
    }),
    { numRuns: runs },
  );
}

/** Places that wait for their device: ending a room forgets all of its members' at once. */
async function forgetsOrphans(store: StateStore): Promise<void> {
  await store.markOrphan('r/a', 1);
  await store.markOrphan('r/b', 1);
  await store.markOrphan('s/c', 1);
  await store.forgetOrphans([]);
  await store.forgetOrphans(['r/a', 'r/b', 'r/absent']);
  expect(await store.expiredOrphans(2)).toEqual(['s/c']);
  expect(await store.claimOrphan('r/a')).toBe(false);
  expect(await store.claimOrphan('s/c')).toBe(true); // the positive control: one not forgotten is still there
}

describe('StateStore indexes agree with a full scan', () => {
  it('MemoryStore forgets many waiting places at once', () => forgetsOrphans(new MemoryStore()));

  it('MemoryStore', async () => {
    // The positive control: a sequence that rings, answers and un-invites finds entries, not only empty lists.
    const store = new MemoryStore();
    await apply(store, { kind: 'call', cid: '1', caller: 'a', callee: 'b' });
    await apply(store, { kind: 'group', cid: '1', creator: 'a', invitees: ['b', 'c'] });
    await apply(store, { kind: 'uninvite', cid: '1', account: 'b' });
    expect(await indexed(store, 'b')).toEqual({
      ringingFor: ['call-1'],
      ringingBy: [],
      inviting: [],
      ringingRooms: [],
    });
    expect(await indexed(store, 'a')).toEqual({
      ringingFor: [],
      ringingBy: ['call-1'],
      inviting: [],
      ringingRooms: ['room-1'],
    });
    await apply(store, { kind: 'uninvite', cid: '1', account: 'c' });
    expect((await indexed(store, 'a')).ringingRooms).toEqual([]);

    await check(() => new MemoryStore(), 300);
  });

  describe('on a real redis-server', () => {
    let redis: TestRedis;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(() => redis?.stop());

    it('answers 503 when Redis is connected but silent, instead of waiting for good', async () => {
      const store = new RedisStore({ url: redis.url, prefix: 'silent:', commandTimeoutMs: 300 });
      await store.connect();
      try {
        // The positive control: it answers while Redis does.
        await expect(store.getCall('x')).resolves.toBeUndefined();
        await redis.kill('SIGSTOP');
        try {
          await expect(store.getCall('x')).rejects.toMatchObject({ code: 503 });
          // The cluster lock too: a section refused, not queued for good.
          await expect(store.exclusive(async () => 'ran')).rejects.toMatchObject({ code: 503 });
        } finally {
          await redis.kill('SIGCONT');
        }
        await expect(store.getCall('x')).resolves.toBeUndefined();
      } finally {
        await store.close();
      }
    });

    it('RedisStore forgets many waiting places in one command', async () => {
      const store = new RedisStore({ url: redis.url, prefix: 'orphans:' });
      await store.connect();
      try {
        await forgetsOrphans(store);
      } finally {
        await store.close();
      }
    });

    it('RedisStore', async () => {
      let n = 0;
      // A prefix per run: every run starts from an empty store on the one Redis.
      await check(() => {
        const prefix = `t${++n}:`;
        const store: TestedStore = new RedisStore({ url: redis.url, prefix });
        store.leftovers = () => (store as RedisStore).redis.keys(`${prefix}*`);
        return store;
      }, 60);
      expect(n).toBe(60);
    }, 60_000);
  });
});
