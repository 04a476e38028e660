/** @jest-environment node */
/**
 * One contract, two engines: whatever cloud is underneath, a `NetcallLike` rings, answers, starts media,
 * hangs up and fails the same way, with string ids and `NetcallError`s. It runs against
 *
 * - `Netcall` on the real server (in-process, port 0) over real WebSockets, and
 * - `NimNetcall` over the SDK stand-in (test/helpers/nim-standin.ts), NetEase's cloud being out of reach.
 *
 * Below the contract, NimNetcall-only tests pin the SDK quirks the adapter exists to hide.
 */
import type { RunningServer } from '../../server';
import { MediaRoster } from '../../services/media';
import type { NetcallLike } from '../../services/netcall';
import { NimNetcall, toNetcallError } from '../../services/netcall/nim-netcall';
import { NetcallError } from '../../services/protocol';
import { NimCloud, standinIdle, type NimStandin } from '../helpers/nim-standin';
import { closeClients, connectClient, establishCall, startTestServer } from '../helpers/server';
import { record, type Recorded } from '../helpers/recorder';
// Unique accounts per test: the server engine is shared by the whole suite.
import { names } from '../helpers/session';
import { eventually } from '../helpers/wait';

/** What the contract needs from an engine: logged-in devices, and cleanup. */
interface ContractEngine {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A logged-in device of `account` (several calls give several devices of one account). */
  online(account: string): Promise<NetcallLike>;
  /** After each test: close every device. */
  reset(): Promise<void>;
  /**
   * Resolves once everything the cloud has sent `device` so far has arrived: the point after which "nothing
   * else arrives" can be asserted, without a sleep.
   */
  settle(device: NetcallLike): Promise<void>;
  /**
   * Holds back `device`'s next media login answer (`syncDone`) until the returned function is called, while
   * `clientJoin`s keep coming: only engines whose cloud can deliver them in that order have it.
   */
  holdSyncDone?(device: NetcallLike): () => void;
}

const named = (order: Recorded['order'], ...events: string[]) =>
  order.map((entry) => entry.event).filter((event) => events.includes(event));

function describeContract(name: string, factory: () => ContractEngine): void {
  describe(`NetcallLike contract: ${name}`, () => {
    const engine = factory();
    beforeAll(() => engine.start());
    afterAll(() => engine.stop());
    afterEach(() => engine.reset());

    const device = async (account: string) => record(await engine.online(account));

    it('rings with a string cid, answers, and gives each side its own push entry and the peer', async () => {
      const [alice, bob] = names('alice', 'bob');
      const a = await device(alice);
      const b = await device(bob);
      const call = await establishCall(a, b);
      const { cid, selfA, selfB } = call;

      expect(typeof cid).toBe('string');
      expect(cid).not.toBe('');
      expect(call.ringing).toMatchObject({ caller: alice, type: 2, cid });
      expect(a.seen('callAccepted')).toEqual([expect.objectContaining({ cid, account: bob, type: 2 })]);
      expect(call.accountUidMap).toEqual({ [alice]: selfA.uid, [bob]: selfB.uid });

      for (const [self, account] of [
        [selfA, alice],
        [selfB, bob],
      ] as const) {
        expect(self).toEqual({ uid: expect.any(String), account, cid });
      }
      expect(selfA.uid).not.toBe(selfB.uid);

      // The earlier starter's syncDone lists itself; the later one's lists both. Self entries carry a URL.
      expect(call.syncB).toMatchObject({ code: 200, cid });
      expect(call.syncB.userlist.find((u) => u.uid === selfB.uid)).toMatchObject({
        account: bob,
        url: expect.any(String),
      });
      expect(call.syncA).toMatchObject({ code: 200, cid });
      expect(call.syncA.userlist.map((u) => [u.account, u.uid]).sort()).toEqual(
        [
          [alice, selfA.uid],
          [bob, selfB.uid],
        ].sort(),
      );
      for (const user of call.syncA.userlist) {
        expect(typeof user.uid).toBe('string');
        expect(user.url).not.toBe('');
      }
      // The earlier starter learns of the peer by clientJoin, with a string uid.
      expect(call.joinB).toMatchObject({ cid, account: alice, uid: selfA.uid, url: expect.any(String) });
      expect(a.seen('clientJoin')).toEqual([]);

      // MediaRoster binds the same way on both engines: my push URL, the peer's play URL.
      expect(call.rosterA.pusher?.uid).toBe(selfA.uid);
      expect(call.rosterA.players.map((p) => p.uid)).toEqual([selfB.uid]);
      expect(call.rosterB.pusher?.uid).toBe(selfB.uid);
      expect(call.rosterB.players.map((p) => p.uid)).toEqual([selfA.uid]);
      expect(call.rosterB.players[0].url).not.toBe(call.rosterA.pusher?.url);
    });

    it('on hangup gives the peer clientLeave for the leaver, then one hangup with the string cid', async () => {
      const [alice, bob] = names('alice', 'bob');
      const a = await device(alice);
      const b = await device(bob);
      const { cid, selfA, rosterB } = await establishCall(a, b);

      await a.netcall.hangup();
      const hung = await b.next('hangup');
      expect(hung).toMatchObject({ cid, account: alice, timetag: expect.any(Number) });
      await engine.settle(b.netcall);
      expect(b.seen('clientLeave')).toEqual([{ cid, account: alice, uid: selfA.uid }]);
      const sequence = b.order
        .map((entry) => entry.event)
        .filter((e) => e === 'clientLeave' || e === 'hangup');
      expect(sequence).toEqual(['clientLeave', 'hangup']);
      expect(rosterB.pusher).toBeNull();
      expect(rosterB.players).toEqual([]);
      // Your own hangup is not echoed back.
      expect(a.seen('hangup')).toEqual([]);
    });

    // Our server answers a media login (startRtc) before it announces anyone to that member, so it cannot
    // produce this order and the case exists for NetEase's engine only; NetEase's gateway can (its demo
    // patched the case after debugging on real phones). MediaRoster's unit tests cover the rule for both.
    if (engine.holdSyncDone)
      it('binds a peer whose clientJoin arrives before my own syncDone, and still reports its leave', async () => {
        const [alice, bob] = names('alice', 'bob');
        const a = await device(alice);
        const b = await device(bob);
        const rosterA = new MediaRoster(a.netcall);
        const { cid } = await a.netcall.call({ type: 2, callee: bob });
        await b.next('beCalling');
        await b.netcall.response({ accepted: true, caller: alice, type: 2, cid });
        await a.next('callAccepted');

        const release = engine.holdSyncDone!(a.netcall);
        const selfA = await a.netcall.startRtc({ mode: 0 });
        rosterA.setSelf(selfA);
        const selfB = await b.netcall.startRtc({ mode: 0 });
        const join = await a.next('clientJoin');
        expect(join).toMatchObject({ cid, account: bob, uid: selfB.uid, url: expect.any(String) });
        expect(a.seen('syncDone')).toEqual([]);
        // The peer plays at once; my pusher waits for my own URL, which only syncDone carries.
        expect(rosterA.players.map((p) => [p.uid, p.url])).toEqual([[selfB.uid, join.url]]);
        expect(rosterA.pusher).toBeNull();

        release();
        const sync = await a.next('syncDone');
        expect(named(a.order, 'clientJoin', 'syncDone')).toEqual(['clientJoin', 'syncDone']);
        expect(sync.userlist.map((u) => u.uid).sort()).toEqual([selfA.uid, selfB.uid].sort());
        expect(rosterA.pusher).toMatchObject({
          uid: selfA.uid,
          url: sync.userlist.find((u) => u.uid === selfA.uid)!.url,
        });
        expect(rosterA.players.map((p) => p.uid)).toEqual([selfB.uid]);

        await b.netcall.hangup();
        expect(await a.next('hangup')).toMatchObject({ cid, account: bob });
        expect(a.seen('clientLeave')).toEqual([{ cid, account: bob, uid: selfB.uid }]);
        expect(named(a.order, 'clientLeave', 'hangup')).toEqual(['clientLeave', 'hangup']);
        expect(rosterA.players).toEqual([]);
      });

    it('tells the caller callRejected, and lets the caller dial again', async () => {
      const [alice, bob] = names('alice', 'bob');
      const a = await device(alice);
      const b = await device(bob);
      const { cid } = await a.netcall.call({ type: 1, callee: bob });
      const ringing = await b.next('beCalling');
      expect(ringing).toMatchObject({ cid, type: 1 });
      await b.netcall.response({ accepted: false, caller: alice, type: 1, cid });
      expect(await a.next('callRejected')).toMatchObject({ cid, account: bob, type: 1 });
      const again = await a.netcall.call({ type: 1, callee: bob });
      expect(again.cid).not.toBe(cid);
    });

    it('tells the callee other device callerAckSync, not the answering one', async () => {
      const [alice, bob] = names('alice', 'bob');
      const a = await device(alice);
      const phone = await device(bob);
      const pad = await device(bob);
      const { cid } = await a.netcall.call({ type: 2, callee: bob });
      expect((await phone.next('beCalling')).cid).toBe(cid);
      expect((await pad.next('beCalling')).cid).toBe(cid);
      await phone.netcall.response({ accepted: true, caller: alice, type: 2, cid });
      const sync = await pad.next('callerAckSync');
      expect(sync).toMatchObject({ cid, type: 2, accepted: true });
      expect(typeof sync.timetag).toBe('number');
      expect(typeof sync.fromClientType).toBe('string');
      await engine.settle(phone.netcall);
      expect(phone.seen('callerAckSync')).toEqual([]);
    });

    it('stops the ringing on every callee device when the caller cancels, without clientLeave', async () => {
      const [alice, bob] = names('alice', 'bob');
      const a = await device(alice);
      const b1 = await device(bob);
      const b2 = await device(bob);
      const { cid } = await a.netcall.call({ type: 2, callee: bob });
      await b1.next('beCalling');
      await b2.next('beCalling');
      await a.netcall.hangup();
      expect(await b1.next('hangup')).toMatchObject({ cid, account: alice });
      expect(await b2.next('hangup')).toMatchObject({ cid, account: alice });
      await Promise.all([engine.settle(b1.netcall), engine.settle(b2.netcall)]);
      expect([...b1.seen('clientLeave'), ...b2.seen('clientLeave')]).toEqual([]);
      expect(b1.seen('hangup')).toHaveLength(1);
    });

    it('forwards a control notice to the peer only', async () => {
      const [alice, bob] = names('alice', 'bob');
      const a = await device(alice);
      const b = await device(bob);
      const { cid } = await establishCall(a, b);
      await a.netcall.control({ command: 2 });
      expect(await b.next('control')).toEqual({ cid, account: alice, command: 2 });
      await engine.settle(a.netcall);
      expect(a.seen('control')).toEqual([]);
    });

    it('fans an event out to every listener, and off(name, fn) removes just that one', async () => {
      const [alice, bob] = names('alice', 'bob');
      const a = await device(alice);
      const b = await device(bob);
      const calls: Record<string, string[]> = { one: [], two: [], three: [] };
      const listeners = Object.fromEntries(
        Object.keys(calls).map((key) => [key, (event: { cid: string }) => calls[key].push(event.cid)]),
      );
      for (const listener of Object.values(listeners)) b.netcall.on('beCalling', listener);
      // Removing what was never added is not an error on either engine.
      expect(() => b.netcall.off('control', () => undefined)).not.toThrow();
      expect(() => b.netcall.off('callLost')).not.toThrow();

      const first = await a.netcall.call({ type: 2, callee: bob });
      await b.next('beCalling');
      expect(calls).toEqual({ one: [first.cid], two: [first.cid], three: [first.cid] });

      b.netcall.off('beCalling', listeners.two);
      await a.netcall.hangup();
      await b.next('hangup');
      const second = await a.netcall.call({ type: 2, callee: bob });
      await b.next('beCalling');
      expect(calls).toEqual({
        one: [first.cid, second.cid],
        two: [first.cid],
        three: [first.cid, second.cid],
      });
    });

    it('rejects every failure with a NetcallError carrying a numeric code', async () => {
      const [alice, bob, nobody] = names('alice', 'bob', 'nobody');
      const a = await device(alice);
      await device(bob);

      const offline = a.netcall.call({ type: 2, callee: nobody });
      await expect(offline).rejects.toBeInstanceOf(NetcallError);
      await expect(offline).rejects.toMatchObject({ code: 404 });

      await a.netcall.call({ type: 2, callee: bob });
      const busy = a.netcall.call({ type: 2, callee: bob });
      await expect(busy).rejects.toBeInstanceOf(NetcallError);
      await expect(busy).rejects.toMatchObject({ code: 409 });

      const stranger = await device(names('carol')[0]);
      const unknown = stranger.netcall.response({ accepted: true, caller: alice, type: 2, cid: '999999999' });
      await expect(unknown).rejects.toBeInstanceOf(NetcallError);
      await expect(unknown).rejects.toMatchObject({ code: 404 });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// The two engines

describeContract('Netcall on the open backend', () => {
  let server: RunningServer;
  return {
    start: async () => {
      server = await startTestServer();
    },
    stop: () => server.close(),
    online: (account) => connectClient(server, account),
    reset: async () => closeClients(),
    // The server answers on one socket in order: a reply means every event it sent before has arrived.
    settle: async (device) => {
      await (device as unknown as { request(op: 'ping', args: object): Promise<unknown> }).request(
        'ping',
        {},
      );
    },
  };
});

describeContract('NimNetcall over the NetEase SDK stand-in', () => {
  let cloud = new NimCloud();
  const open: NimNetcall[] = [];
  const sdks = new Map<NetcallLike, NimStandin>();
  return {
    start: async () => undefined,
    stop: async () => undefined,
    online: async (account) => {
      const sdk = cloud.connect(account);
      const netcall = new NimNetcall({ sdk, account });
      open.push(netcall);
      sdks.set(netcall, sdk);
      return netcall;
    },
    reset: async () => {
      for (const netcall of open.splice(0)) netcall.dispose();
      sdks.clear();
      cloud = new NimCloud();
    },
    holdSyncDone: (device) => sdks.get(device)!.holdSyncDone(),
    settle: () => standinIdle(),
  };
});

// ---------------------------------------------------------------------------------------------------------
// NimNetcall only: the SDK quirks it hides
//
// Lines under a `Stand-in:` comment assert on the stand-in itself (what `sdk.delivered` holds, `sdk.uncaught`,
// the SDK's own methods), not on the adapter: they show that the stand-in reproduced SDK77's quirk in this run,
// so that the adapter assertions beside them are not vacuous. They cannot catch an adapter regression.

describe('NimNetcall hides the SDK quirks', () => {
  let cloud: NimCloud;
  beforeEach(() => {
    cloud = new NimCloud();
  });

  function device(account: string) {
    const sdk = cloud.connect(account);
    const netcall = new NimNetcall({ sdk, account });
    return { sdk, ...record(netcall) };
  }
  type Device = ReturnType<typeof device>;
  const raw = (d: Device, name: string) => d.sdk.delivered.filter((entry) => entry.name === name);

  it('delivers each event once although the SDK delivers it twice after a controller rebuild', async () => {
    const a = device('alice');
    const b = device('bob');
    a.sdk.rebuildController();
    b.sdk.rebuildController();
    const { cid } = await establishCall(a, b);
    await standinIdle();
    // Stand-in: the SDK delivered the ring and the answer twice.
    expect(raw(b, 'beCalling')).toHaveLength(2);
    expect(raw(a, 'callAccepted')).toHaveLength(2);
    expect(b.seen('beCalling')).toHaveLength(1);
    expect(a.seen('callAccepted')).toHaveLength(1);

    // Repeated notices that are not duplicates all pass: mic off, on, off.
    for (const command of [2, 1, 2]) {
      await a.netcall.control({ command });
      await b.next('control');
    }
    await standinIdle();
    // Stand-in: each notice twice.
    expect(raw(b, 'control')).toHaveLength(6);
    expect(b.seen('control').map((event) => event.command)).toEqual([2, 1, 2]);

    await a.netcall.hangup();
    await b.next('hangup');
    // Stand-in: every hangup the SDK delivers for this leave is in, so the adapter has had them all.
    await eventually(() => raw(b, 'hangup').length === 3, 'two IM hangups and the gateway one');
    expect(b.seen('hangup')).toEqual([{ cid, account: 'alice', timetag: expect.any(Number) }]);
  });

  it.each([
    ['IM first, as SDK77 delivers it', false],
    ['the gateway first, when IM is slow', true],
  ])(
    'turns the two P2P hangups of one leave (never a clientLeave) into clientLeave, then one hangup: %s',
    async (_order, gatewayFirst) => {
      const a = device('alice');
      const b = device('bob');
      const { cid, selfA } = await establishCall(a, b);
      if (gatewayFirst) cloud.holdIm();
      await a.netcall.hangup();
      // Stand-in, up to "what the app hears": the SDK said one hangup from each side, with different clocks,
      // in the order asked for, and no clientLeave.
      if (gatewayFirst) {
        await eventually(() => raw(b, 'hangup').length === 1, "the gateway's hangup");
        cloud.releaseIm();
      }
      await eventually(() => raw(b, 'hangup').length === 2, 'both hangups at the SDK');
      const hangups = raw(b, 'hangup');
      expect(hangups.map((entry) => entry.source)).toEqual(
        gatewayFirst ? ['gateway', 'im'] : ['im', 'gateway'],
      );
      const [first, second] = hangups.map((entry) => (entry.payload as { timetag: number }).timetag);
      expect(first).not.toBe(second);
      expect(raw(b, 'clientLeave')).toEqual([]);
      // What the app hears: the same as from our server, once.
      expect(named(b.order, 'clientLeave', 'hangup')).toEqual(['clientLeave', 'hangup']);
      expect(b.seen('clientLeave')).toEqual([{ cid, account: 'alice', uid: selfA.uid }]);
      expect(b.seen('hangup')).toEqual([{ cid, account: 'alice', timetag: first }]);
      // The gateway's normal close after a hangup is not a lost connection. Stand-in: the SDK reported the close.
      await eventually(() => raw(b, 'disconnect').length > 0, "the peer's own gateway close");
      expect(b.seen('disconnect')).toEqual([]);
      expect(b.seen('callLost')).toEqual([]);
    },
  );

  it("leaves the SDK's once to its own slot: the wrapper keeps hearing every event", async () => {
    const a = device('alice');
    const b = device('bob');
    const heard: string[] = [];
    b.sdk.once('beCalling', (event) => heard.push(`once ${event.cid}`));
    b.netcall.on('beCalling', (event) => heard.push(`netcall ${event.cid}`));
    const first = await a.netcall.call({ type: 2, callee: 'bob' });
    await b.next('beCalling');
    await eventually(() => heard.length === 2, 'the once listener and the wrapper');
    // SDK77's emit runs the once slot first, then the `on` handler.
    expect(heard).toEqual([`once ${first.cid}`, `netcall ${first.cid}`]);

    await a.netcall.hangup();
    await b.next('hangup');
    const second = await a.netcall.call({ type: 2, callee: 'bob' });
    await b.next('beCalling');
    expect(heard).toEqual([`once ${first.cid}`, `netcall ${first.cid}`, `netcall ${second.cid}`]);
    // Stand-in: the SDK delivered both rings.
    expect(raw(b, 'beCalling')).toHaveLength(2);
  });

  it("survives the SDK's once throwing from a timer when two events beat it, and its off leaving a once", async () => {
    const b = device('bob');
    const onceHeard: number[] = [];
    b.sdk.once('control', (event) => onceHeard.push(event.command));
    b.sdk.inject('control', { cid: 1, account: 'alice', command: 1 });
    b.sdk.inject('control', { cid: 1, account: 'alice', command: 2 });
    await b.next('control');
    await b.next('control');
    expect(b.seen('control').map((event) => event.command)).toEqual([1, 2]);
    // Stand-in: its once heard the first event and threw from a timer on the second.
    expect(onceHeard).toEqual([1]);
    expect(b.sdk.uncaught).toEqual([expect.any(TypeError)]);

    // Disposing calls the SDK's off, which removes only `on` handlers: another's pending once still fires.
    b.sdk.once('control', (event) => onceHeard.push(event.command));
    b.netcall.dispose();
    b.sdk.inject('control', { cid: 1, account: 'alice', command: 3 });
    await eventually(() => onceHeard.length === 2, 'the pending once');
    expect(onceHeard).toEqual([1, 3]);
    expect(b.seen('control')).toHaveLength(2);
    // Stand-in: its off throws with no `on` handler left (ours went with dispose).
    expect(() => b.sdk.off('control')).toThrow();
  });

  it('turns the numeric ids of the SDK into strings in every payload and result', async () => {
    const a = device('alice');
    const b = device('bob');
    const pad = device('bob');
    const { cid: placed, accountUidMap } = await a.netcall.call({ type: 2, callee: 'bob' });
    await b.next('beCalling');
    const sdkCid = raw(b, 'beCalling')[0].payload as { cid: unknown };
    // Stand-in: a numeric cid.
    expect(typeof sdkCid.cid).toBe('number');
    expect(placed).toBe(String(sdkCid.cid));
    // SDK77's call() resolves the bare account → uid map; the adapter names the cid and keeps uids as strings.
    expect(accountUidMap).toEqual({ alice: expect.any(String), bob: expect.any(String) });
    // Stand-in: getStatus() has no cid; the adapter reads the one the SDK keeps for its own startRtc/hangup.
    expect(Object.keys(a.sdk.getStatus())).not.toContain('cid');

    await b.netcall.response({ accepted: true, caller: 'alice', type: 2, cid: placed });
    const sync = await pad.next('callerAckSync');
    // Stand-in: a string timetag.
    expect(typeof (raw(pad, 'callerAckSync')[0].payload as { timetag: unknown }).timetag).toBe('string');
    expect(sync).toEqual({
      timetag: expect.any(Number),
      cid: placed,
      type: 2,
      accepted: true,
      fromClientType: '16',
    });

    const selfB = await b.netcall.startRtc({ mode: 0 });
    const selfA = await a.netcall.startRtc({ mode: 0 });
    expect(selfA).toEqual({ uid: accountUidMap.alice, account: 'alice', cid: placed });
    const syncA = await a.next('syncDone');
    const join = await b.next('clientJoin');
    const rawSync = raw(a, 'syncDone')[0].payload as { userlist: { uid: unknown; account: string }[] };
    // Stand-in: numeric uids.
    expect(
      rawSync.userlist.every((user) => typeof user.uid === 'number' && typeof user.account === 'string'),
    ).toBe(true);
    expect(syncA.userlist.every((user) => typeof user.uid === 'string')).toBe(true);
    expect(syncA.userlist.map((user) => user.uid).sort()).toEqual([selfA.uid, selfB.uid].sort());
    // Only RtcUser fields reach the app (no pusher_secret, no scene).
    expect(Object.keys(syncA.userlist[0]).sort()).toEqual(['account', 'mode', 'uid', 'url']);
    expect(join).toMatchObject({ uid: selfA.uid, cid: placed, account: 'alice' });
    // Stand-in: a numeric uid.
    expect(typeof (raw(b, 'clientJoin')[0].payload as { uid: unknown }).uid).toBe('number');
  });

  it('never throws from off, where the SDK throws', () => {
    const sdk: NimStandin = cloud.connect('alice');
    // Stand-in: the SDK's off throws when the event has no handler.
    expect(() => sdk.off('control')).toThrow();
    const netcall = new NimNetcall({ sdk, account: 'alice' });
    expect(() => netcall.off('control')).not.toThrow();
    expect(() => netcall.off('hangup', () => undefined)).not.toThrow();
    // Someone replaced or removed our handler on the SDK: disposing is still quiet, and twice too.
    sdk.off('control');
    expect(() => netcall.dispose()).not.toThrow();
    expect(() => netcall.dispose()).not.toThrow();
  });

  it('guards switchMode: a bad mode rejects with 400 instead of throwing like the SDK', async () => {
    const a = device('alice');
    const b = device('bob');
    // Stand-in: the SDK's switchMode throws outside a call, and for a mode that is no number.
    expect(() => a.sdk.switchMode(1)).toThrow(TypeError);
    await expect(a.netcall.switchMode(1)).rejects.toBeInstanceOf(NetcallError);
    await establishCall(a, b);
    // Stand-in: as above.
    expect(() => a.sdk.switchMode('1' as never)).toThrow();
    let settled: Promise<void> | undefined;
    expect(() => {
      settled = a.netcall.switchMode('1' as never);
    }).not.toThrow();
    await expect(settled).rejects.toBeInstanceOf(NetcallError);
    await expect(settled).rejects.toMatchObject({ code: 400 });
    await expect(a.netcall.switchMode(7 as never)).rejects.toMatchObject({ code: 400 });
    await expect(a.netcall.switchMode(1)).resolves.toBeUndefined();
    await eventually(() => raw(b, 'clientUpdate').length === 1, "the peer's clientUpdate");
  });

  it('rebinds pusher and players to the new URLs of the syncDone after a reconnect, whatever connectCount says', async () => {
    const a = device('alice');
    const b = device('bob');
    const roster = new MediaRoster(a.netcall);
    const { cid, selfA, selfB, syncA } = await establishCall(a, b);
    roster.setSelf(selfA);
    const url = (sync: typeof syncA, uid: string) => sync.userlist.find((user) => user.uid === uid)!.url;
    expect(roster.pusher?.url).toBe(url(syncA, selfA.uid));
    expect(roster.players.map((p) => [p.uid, p.url])).toEqual([[selfB.uid, url(syncA, selfB.uid)]]);
    const batches: string[][] = [];
    roster.on('changes', (changes) => batches.push(changes.map((change) => change.kind)));

    a.sdk.simulateReconnect();
    expect(await a.next('willreconnect')).toEqual({ count: 1 });
    expect(await a.next('reconnected')).toEqual({ count: 1 });
    const second = await a.next('syncDone');
    // SDK77 reports 1 for every login that took one attempt, the first included: nothing may key on it alone.
    expect(syncA).toMatchObject({ connectCount: 1 });
    expect(second).toMatchObject({ code: 200, cid, connectCount: 1 });
    expect(named(a.order, 'willreconnect', 'reconnected', 'syncDone').slice(-3)).toEqual([
      'willreconnect',
      'reconnected',
      'syncDone',
    ]);
    // New login, new URLs: the pusher and the player follow them, in one batch.
    expect(url(second, selfA.uid)).not.toBe(url(syncA, selfA.uid));
    expect(url(second, selfB.uid)).not.toBe(url(syncA, selfB.uid));
    expect(roster.pusher?.url).toBe(url(second, selfA.uid));
    expect(roster.players.map((p) => [p.uid, p.url])).toEqual([[selfB.uid, url(second, selfB.uid)]]);
    expect(batches).toEqual([['pusher', 'update']]);

    // Two attempts failed before this one: three willreconnects, one reconnected, one syncDone.
    a.sdk.simulateReconnect({ failedAttempts: 2 });
    const third = await a.next('syncDone');
    expect(third).toMatchObject({ code: 200, cid, connectCount: 3 });
    expect(a.seen('willreconnect').map((event) => event.count)).toEqual([1, 1, 2, 3]);
    expect(a.seen('reconnected')).toEqual([{ count: 1 }, { count: 3 }]);
    expect(roster.pusher?.url).toBe(url(third, selfA.uid));

    // The same login answer delivered again, with no reconnect in between: a duplicate.
    const logins = raw(a, 'syncDone');
    a.sdk.inject('syncDone', logins[logins.length - 1].payload as never, 2);
    // Stand-in: both replays reached the SDK, so the adapter has had them.
    await eventually(() => raw(a, 'syncDone').length === logins.length + 2, 'the replays at the SDK');
    expect(a.seen('syncDone')).toHaveLength(3);
  });

  it('keeps the SDK dropping control for another cid', async () => {
    const a = device('alice');
    const b = device('bob');
    const { cid } = await establishCall(a, b);
    b.sdk.imNotifyControl(Number(cid) + 1, 'alice', 5);
    b.sdk.imNotifyControl(Number(cid), 'alice', 5);
    expect(await b.next('control')).toEqual({ cid, account: 'alice', command: 5 });
    await standinIdle();
    // Stand-in: the SDK itself dropped the notice for the other cid.
    expect(raw(b, 'control')).toHaveLength(1);
    expect(b.seen('control')).toHaveLength(1);
  });

  it('forwards kicked, error and abnormal disconnects, normalised, and reports the call lost', async () => {
    const a = device('alice');
    const b = device('bob');
    const { cid } = await establishCall(a, b);
    a.sdk.simulateKick(2);
    expect(await a.next('kicked')).toEqual({ cid, reason: '2' });
    expect(await a.next('callLost')).toMatchObject({ cid, code: 405 });
    expect(await a.next('disconnect')).toEqual({ code: 405, reason: 'wx: kicked' });
    expect(a.netcall.cid).toBeNull();

    a.sdk.inject('error', { code: '417', desc: '登录失败' });
    a.sdk.inject('error', { errMsg: 'connectSocket:fail', connectCount: 1 });
    expect(await a.next('error')).toEqual({ code: 417, message: '登录失败' });
    expect(await a.next('error')).toEqual({ code: 500, message: 'connectSocket:fail' });
  });

  it('maps the IM errors SDK77 passes through: offline 404, answered elsewhere 409, channel gone 404', async () => {
    const a = device('alice');
    const phone = device('bob');
    const pad = device('bob');
    // Stand-in: the SDK's own rejection is NetEase's IM SDK wrapper, the server's code only inside `event`.
    const offline = a.sdk.call({ type: 2, callee: 'nobody' });
    await expect(offline).rejects.toEqual({
      message: '生成接口回调错误',
      callFunc: 'api::processCallbackPromise',
      event: expect.objectContaining({ code: 11001 }),
    });
    await expect(a.netcall.call({ type: 2, callee: 'nobody' })).rejects.toMatchObject({
      code: 404,
      message: expect.stringContaining('对方离线'),
    });

    const { cid } = await a.netcall.call({ type: 2, callee: 'bob' });
    await phone.next('beCalling');
    await pad.next('beCalling');
    await phone.netcall.response({ accepted: true, caller: 'alice', type: 2, cid });
    const late = pad.netcall.response({ accepted: true, caller: 'alice', type: 2, cid });
    await expect(late).rejects.toBeInstanceOf(NetcallError);
    await expect(late).rejects.toMatchObject({ code: 409, message: expect.stringContaining('9103') });
    await a.netcall.hangup();
    await phone.next('hangup');
    await expect(
      phone.netcall.response({ accepted: true, caller: 'alice', type: 2, cid }),
    ).rejects.toMatchObject({ code: 404 });
  });

  it('rejects with NetcallError however the SDK fails: string, thrown Error, NIM object, empty result', async () => {
    const a = device('alice');
    // Stand-in: verifyOptions throws synchronously inside the SDK method.
    expect(() => a.sdk.call({ type: 2 } as never)).toThrow('参数缺失 callee');
    await expect(a.netcall.call({ type: 2 } as never)).rejects.toMatchObject({ code: 400 });
    await expect(a.netcall.startRtc({ mode: 0 })).rejects.toMatchObject({ code: 404 });
    await expect(a.netcall.hangup({ cid: '42' })).resolves.toBeUndefined();
    await expect(a.netcall.leaveChannel()).rejects.toMatchObject({ code: 404 });
    device('bob');
    const realCall = a.sdk.call.bind(a.sdk);
    a.sdk.call = () => Promise.resolve(undefined as never);
    await expect(a.netcall.call({ type: 2, callee: 'bob' })).rejects.toMatchObject({ code: 500 });
    // Positive control: the same call with the SDK's real result succeeds.
    a.sdk.call = realCall;
    await expect(a.netcall.call({ type: 2, callee: 'bob' })).resolves.toMatchObject({
      cid: expect.any(String),
    });

    expect(toNetcallError('呼叫失败: 当前正在通话中')).toMatchObject({ code: 409 });
    expect(toNetcallError('已经在房间中了')).toMatchObject({ code: 409 });
    expect(toNetcallError('RTC: switchMode: mode值无效！')).toMatchObject({ code: 400 });
    expect(toNetcallError(new Error('参数缺失 cid'))).toMatchObject({ code: 400 });
    expect(
      toNetcallError({
        message: '生成接口回调错误',
        callFunc: 'api::processCallbackPromise',
        event: { code: 9102, message: '通道失效' },
      }),
    ).toMatchObject({ code: 404, message: '通道失效 (NetEase 9102)' });
    expect(toNetcallError({ event: { code: '417' } })).toMatchObject({ code: 417 });
    expect(toNetcallError(new TypeError("Cannot read properties of undefined (reading 'x')"))).toMatchObject({
      code: 500,
    });
    expect(toNetcallError(undefined)).toBeInstanceOf(NetcallError);
    expect(toNetcallError(7)).toMatchObject({ code: 500 });
  });

  it('joins a room: meeting clientLeave passes through as is, ids as strings', async () => {
    const a = device('alice');
    const b = device('bob');
    await a.netcall.createChannel({ channelName: 'room-1' });
    const joinedA = await a.netcall.joinChannel({ channelName: 'room-1', mode: 0, role: 0 });
    expect(joinedA).toEqual({
      uid: expect.any(String),
      cid: expect.any(String),
      account: 'alice',
      accountUidMap: { alice: joinedA.uid },
      custom: '',
    });
    await a.next('syncDone');
    const announced = new Promise((resolve) => a.netcall.on('joinChannel', resolve));
    const joinedB = await b.netcall.joinChannel({ channelName: 'room-1', mode: 0, role: 0 });
    expect(await announced).toEqual({ uid: joinedB.uid, account: 'bob', cid: joinedA.cid });
    expect(await a.next('clientJoin')).toMatchObject({ uid: joinedB.uid, account: 'bob', cid: joinedA.cid });
    await expect(b.netcall.joinChannel({ channelName: 'room-1', mode: 0, role: 0 })).rejects.toMatchObject({
      code: 409,
    });
    await expect(a.netcall.createChannel({ channelName: 'room-1' })).rejects.toMatchObject({ code: 417 });
    await b.netcall.leaveChannel();
    expect(await a.next('clientLeave')).toEqual({ uid: joinedB.uid, account: 'bob', cid: joinedA.cid });
    await standinIdle();
    // Stand-in: a meeting's leave is no hangup at the SDK either.
    expect(raw(a, 'hangup')).toEqual([]);
    expect(a.seen('hangup')).toEqual([]);
  });
});
