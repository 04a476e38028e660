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
import { mintToken } from '../../server';
import { MediaRoster } from '../../services/media';
import { Netcall, type NetcallLike } from '../../services/netcall';
import { NimNetcall, toNetcallError } from '../../services/netcall/nim-netcall';
import { NetcallError } from '../../services/protocol';
import { NimCloud, type NimStandin } from '../helpers/nim-standin';
import { TEST_SECRET, startTestServer } from '../helpers/server';
import { wsConnectSocket } from '../helpers/ws-socket';
import { quiet, record, type Recorded } from '../helpers/recorder';

/** What the contract needs from an engine: logged-in devices, and cleanup. */
interface ContractEngine {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A logged-in device of `account` (several calls give several devices of one account). */
  online(account: string): Promise<NetcallLike>;
  /** After each test: close every device. */
  reset(): Promise<void>;
}

let counter = 0;
/** Unique accounts per test: the server engine is shared by the whole suite. */
const names = (...prefixes: string[]) => {
  counter++;
  return prefixes.map((prefix) => `${prefix}${counter}`);
};

function describeContract(name: string, factory: () => ContractEngine): void {
  describe(`NetcallLike contract: ${name}`, () => {
    const engine = factory();
    beforeAll(() => engine.start());
    afterAll(() => engine.stop());
    afterEach(() => engine.reset());

    const device = async (account: string) => record(await engine.online(account));

    /** Dials, answers and starts media, callee first (so the callee is the one that gets clientJoin). */
    async function establish(a: Recorded, b: Recorded) {
      const rosterA = new MediaRoster(a.netcall);
      const rosterB = new MediaRoster(b.netcall);
      const placed = await a.netcall.call({ type: 2, callee: b.account });
      const ringing = await b.next('beCalling');
      await b.netcall.response({
        accepted: true,
        caller: ringing.caller,
        type: ringing.type,
        cid: ringing.cid,
      });
      await a.next('callAccepted');
      const selfB = await b.netcall.startRtc({ mode: 0 });
      rosterB.setSelf(selfB);
      const syncB = await b.next('syncDone');
      const selfA = await a.netcall.startRtc({ mode: 0 });
      rosterA.setSelf(selfA);
      const syncA = await a.next('syncDone');
      const joinB = await b.next('clientJoin');
      return { ...placed, ringing, selfA, selfB, syncA, syncB, joinB, rosterA, rosterB };
    }

    it('rings with a string cid, answers, and gives each side its own push entry and the peer', async () => {
      const [alice, bob] = names('alice', 'bob');
      const a = await device(alice);
      const b = await device(bob);
      const call = await establish(a, b);
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
      const { cid, selfA, rosterB } = await establish(a, b);

      await a.netcall.hangup();
      const hung = await b.next('hangup');
      expect(hung).toMatchObject({ cid, account: alice, timetag: expect.any(Number) });
      await quiet();
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
      await quiet();
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
      await quiet();
      expect([...b1.seen('clientLeave'), ...b2.seen('clientLeave')]).toEqual([]);
      expect(b1.seen('hangup')).toHaveLength(1);
    });

    it('forwards a control notice to the peer only', async () => {
      const [alice, bob] = names('alice', 'bob');
      const a = await device(alice);
      const b = await device(bob);
      const { cid } = await establish(a, b);
      await a.netcall.control({ command: 2 });
      expect(await b.next('control')).toEqual({ cid, account: alice, command: 2 });
      await quiet();
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
  const open: Netcall[] = [];
  return {
    start: async () => {
      server = await startTestServer();
    },
    stop: () => server.close(),
    online: async (account) => {
      const netcall = new Netcall({
        server: server.url,
        account,
        token: mintToken(TEST_SECRET, account),
        connectSocket: wsConnectSocket,
      });
      await netcall.connect();
      open.push(netcall);
      return netcall;
    },
    reset: async () => {
      for (const netcall of open.splice(0)) netcall.close();
    },
  };
});

describeContract('NimNetcall over the NetEase SDK stand-in', () => {
  let cloud = new NimCloud();
  const open: NimNetcall[] = [];
  return {
    start: async () => undefined,
    stop: async () => undefined,
    online: async (account) => {
      const netcall = new NimNetcall({ sdk: cloud.connect(account), account });
      open.push(netcall);
      return netcall;
    },
    reset: async () => {
      for (const netcall of open.splice(0)) netcall.dispose();
      cloud = new NimCloud();
    },
  };
});

// ---------------------------------------------------------------------------------------------------------
// NimNetcall only: the SDK quirks it hides

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

  async function establish(a: Device, b: Device) {
    const { cid } = await a.netcall.call({ type: 2, callee: b.account });
    await b.next('beCalling');
    await b.netcall.response({ accepted: true, caller: a.account, type: 2, cid });
    await a.next('callAccepted');
    const selfB = await b.netcall.startRtc({ mode: 0 });
    await b.next('syncDone');
    const selfA = await a.netcall.startRtc({ mode: 0 });
    await a.next('syncDone');
    await b.next('clientJoin');
    return { cid, selfA, selfB };
  }

  it('delivers each event once although the SDK delivers it twice after a controller rebuild', async () => {
    const a = device('alice');
    const b = device('bob');
    a.sdk.rebuildController();
    b.sdk.rebuildController();
    const { cid } = await establish(a, b);
    await quiet(50);
    expect(raw(b, 'beCalling')).toHaveLength(2);
    expect(b.seen('beCalling')).toHaveLength(1);
    expect(raw(a, 'callAccepted')).toHaveLength(2);
    expect(a.seen('callAccepted')).toHaveLength(1);

    // Repeated notices that are not duplicates all pass: mic off, on, off.
    for (const command of [2, 1, 2]) {
      await a.netcall.control({ command });
      await b.next('control');
    }
    await quiet(50);
    expect(raw(b, 'control')).toHaveLength(6);
    expect(b.seen('control').map((event) => event.command)).toEqual([2, 1, 2]);

    await a.netcall.hangup();
    await b.next('hangup');
    await quiet(50);
    expect(raw(b, 'hangup').length).toBeGreaterThanOrEqual(2);
    expect(b.seen('hangup')).toEqual([{ cid, account: 'alice', timetag: expect.any(Number) }]);
  });

  it('turns the P2P peer hangup (the SDK never says clientLeave there) into clientLeave, then one hangup', async () => {
    const a = device('alice');
    const b = device('bob');
    const { cid, selfA } = await establish(a, b);
    await a.netcall.hangup();
    await b.next('hangup');
    await quiet(50);
    // What the SDK said: two hangups (gateway leave with the local clock, IM with the server's), no clientLeave.
    const hangups = raw(b, 'hangup').map((entry) => entry.payload as { timetag: number });
    expect(hangups).toHaveLength(2);
    expect(hangups[0].timetag).not.toBe(hangups[1].timetag);
    expect(raw(b, 'clientLeave')).toEqual([]);
    // What the app hears: the same as from our server.
    expect(b.order.map((entry) => entry.event).filter((e) => e === 'clientLeave' || e === 'hangup')).toEqual([
      'clientLeave',
      'hangup',
    ]);
    expect(b.seen('clientLeave')).toEqual([{ cid, account: 'alice', uid: selfA.uid }]);
    // The gateway's normal close after a hangup is not a lost connection.
    expect(raw(b, 'disconnect')).not.toEqual([]);
    expect(b.seen('disconnect')).toEqual([]);
  });

  it('turns the numeric ids of the SDK into strings in every payload and result', async () => {
    const a = device('alice');
    const b = device('bob');
    const pad = device('bob');
    const { cid: placed } = await a.netcall.call({ type: 2, callee: 'bob' });
    await b.next('beCalling');
    const sdkCid = raw(b, 'beCalling')[0].payload as { cid: unknown };
    expect(typeof sdkCid.cid).toBe('number');
    expect(placed).toBe(String(sdkCid.cid));
    // getStatus() has no cid: the adapter reads the one the SDK keeps for its own startRtc/hangup.
    expect(Object.keys(a.sdk.getStatus())).not.toContain('cid');

    await b.netcall.response({ accepted: true, caller: 'alice', type: 2, cid: placed });
    const sync = await pad.next('callerAckSync');
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
    expect(selfA).toEqual({ uid: expect.any(String), account: 'alice', cid: placed });
    const syncA = await a.next('syncDone');
    const join = await b.next('clientJoin');
    const rawSync = raw(a, 'syncDone')[0].payload as { userlist: { uid: unknown; account: string }[] };
    expect(
      rawSync.userlist.every((user) => typeof user.uid === 'number' && typeof user.account === 'string'),
    ).toBe(true);
    expect(syncA.userlist.every((user) => typeof user.uid === 'string')).toBe(true);
    expect(syncA.userlist.map((user) => user.uid).sort()).toEqual([selfA.uid, selfB.uid].sort());
    // Only RtcUser fields reach the app (no pusher_secret, no scene).
    expect(Object.keys(syncA.userlist[0]).sort()).toEqual(['account', 'mode', 'uid', 'url']);
    expect(join).toMatchObject({ uid: selfA.uid, cid: placed, account: 'alice' });
    expect(typeof (raw(b, 'clientJoin')[0].payload as { uid: unknown }).uid).toBe('number');
  });

  it('never throws from off, where the SDK throws', () => {
    const sdk: NimStandin = cloud.connect('alice');
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
    await establish(a, b);
    expect(() => a.sdk.switchMode('1' as never)).toThrow();
    let settled: Promise<void> | undefined;
    expect(() => {
      settled = a.netcall.switchMode('1' as never);
    }).not.toThrow();
    await expect(settled).rejects.toBeInstanceOf(NetcallError);
    await expect(settled).rejects.toMatchObject({ code: 400 });
    await expect(a.netcall.switchMode(7 as never)).rejects.toMatchObject({ code: 400 });
    await expect(a.netcall.switchMode(1)).resolves.toBeUndefined();
    await quiet(20);
    expect(raw(b, 'clientUpdate')).toHaveLength(1);
  });

  it('passes a second syncDone after a reconnect, even with the same connectCount, and drops a replay', async () => {
    const a = device('alice');
    const b = device('bob');
    const { cid } = await establish(a, b);
    a.sdk.simulateReconnect();
    expect(await a.next('willreconnect')).toEqual({ count: 1 });
    expect(await a.next('reconnected')).toEqual({ count: 1 });
    const second = await a.next('syncDone');
    expect(second).toMatchObject({ code: 200, cid, connectCount: 1 });
    expect(a.order.map((entry) => entry.event).slice(-3)).toEqual([
      'willreconnect',
      'reconnected',
      'syncDone',
    ]);

    a.sdk.simulateReconnect({ connectCount: 1 });
    expect(await a.next('syncDone')).toMatchObject({ code: 200, cid, connectCount: 1 });

    // The same login response delivered again, with no reconnect in between: a duplicate.
    const logins = raw(a, 'syncDone');
    a.sdk.inject('syncDone', logins[logins.length - 1].payload as never, 2);
    await quiet(50);
    expect(a.seen('syncDone')).toHaveLength(3);
  });

  it('keeps the SDK dropping control for another cid', async () => {
    const a = device('alice');
    const b = device('bob');
    const { cid } = await establish(a, b);
    b.sdk.imNotifyControl(Number(cid) + 1, 'alice', 5);
    b.sdk.imNotifyControl(Number(cid), 'alice', 5);
    expect(await b.next('control')).toEqual({ cid, account: 'alice', command: 5 });
    await quiet(50);
    expect(b.seen('control')).toHaveLength(1);
  });

  it('forwards kicked, error and abnormal disconnects, normalised, and reports the call lost', async () => {
    const a = device('alice');
    const b = device('bob');
    const { cid } = await establish(a, b);
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

  it('rejects with NetcallError however the SDK fails: string, thrown Error, NIM object, empty result', async () => {
    const a = device('alice');
    // verifyOptions throws synchronously inside the SDK method.
    await expect(a.netcall.call({ type: 2 } as never)).rejects.toMatchObject({ code: 400 });
    await expect(a.netcall.startRtc({ mode: 0 })).rejects.toMatchObject({ code: 404 });
    await expect(a.netcall.hangup({ cid: '42' })).resolves.toBeUndefined();
    await expect(a.netcall.leaveChannel()).rejects.toMatchObject({ code: 404 });
    a.sdk.call = () => Promise.resolve(undefined as never);
    device('bob');
    await expect(a.netcall.call({ type: 2, callee: 'bob' })).rejects.toMatchObject({ code: 500 });

    expect(toNetcallError('呼叫失败: 当前正在通话中')).toMatchObject({ code: 409 });
    expect(toNetcallError('已经在房间中了')).toMatchObject({ code: 409 });
    expect(toNetcallError('RTC: switchMode: mode值无效！')).toMatchObject({ code: 400 });
    expect(toNetcallError({ code: 11001, message: 'offline', event: { code: 11001 } })).toMatchObject({
      code: 404,
    });
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
    await b.netcall.leaveChannel();
    expect(await a.next('clientLeave')).toEqual({ uid: joinedB.uid, account: 'bob', cid: joinedA.cid });
    await quiet(20);
    expect(a.seen('hangup')).toEqual([]);
  });
});
