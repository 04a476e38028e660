/** @jest-environment node */
/**
 * NimNetcall's rooms and team calls over the SDK stand-in, where NetEase's weixin SDK (SDK77) differs from our
 * server and the adapter maps or refuses: joinChannel onto SDK77's own media login, startRtc as a no-op (or a
 * mode switch), a refused login as 104, notices SDK77 lacks or repeats, room controls SDK77 drops, team calls
 * that end at anyone's leave, inviteToCall refused. The shared flows are in test/contract.
 *
 * Lines under a `Stand-in:` comment assert on the stand-in itself (what `sdk.delivered` holds, the SDK's own
 * methods and status): they show the stand-in reproduced SDK77's behaviour in this run, so that the adapter
 * assertions beside them are not vacuous.
 */
import { NimNetcall } from '../../services/netcall/nim-netcall';
import { NetcallError } from '../../services/protocol';
import { NimCloud, standinIdle } from '../helpers/nim-standin';
import { record } from '../helpers/recorder';
import { eventually } from '../helpers/wait';

let cloud: NimCloud;
beforeEach(() => {
  cloud = new NimCloud({ roomCapacity: 3 });
});

function device(account: string) {
  const sdk = cloud.connect(account);
  const netcall = new NimNetcall({ sdk, account });
  return { sdk, ...record(netcall) };
}
type Device = ReturnType<typeof device>;
const raw = (d: Device, name: string) => d.sdk.delivered.filter((entry) => entry.name === name);
const named = (d: Device, ...events: string[]) =>
  d.order.map((entry) => entry.event).filter((event) => events.includes(event));

/** Joins and starts media as an app does; returns the join result, startRtc's answer and the syncDone. */
async function enter(d: Device, channelName: string, type: 1 | 2 = 2) {
  const joined = await d.netcall.joinChannel({ channelName, type });
  const self = await d.netcall.startRtc({ mode: type === 1 ? 1 : 0 });
  const sync = await d.next('syncDone');
  return { joined, self, sync };
}

describe('NimNetcall rooms over SDK77', () => {
  it('maps joinChannel onto SDK77 (mode from type, host role), holds its syncDone for startRtc, and answers startRtc without a second login', async () => {
    const a = device('alice');
    const b = device('bob');
    const created = await a.netcall.createChannel({ channelName: 'standup', custom: 'weekly' });
    // SDK77 resolves the options it sent, no channel id: the cid comes with the join.
    expect(created).toEqual({ channelName: 'standup', cid: '', custom: 'weekly' });
    // Stand-in: what the SDK resolved.
    await expect(b.sdk.createChannel({ channelName: 'other' })).resolves.toEqual({
      channelName: 'other',
      custom: '',
      webrtcEnable: true,
    });

    const { joined: ja } = await enter(a, 'standup');
    expect(a.sdk.joinOptions).toEqual([{ channelName: 'standup', mode: 0, role: 0, liveEnable: 0 }]);
    expect(ja).toMatchObject({
      channelName: 'standup',
      cid: expect.stringMatching(/^\d+$/),
      custom: 'weekly',
    });

    const joinedB = await b.netcall.joinChannel({ channelName: 'standup', type: 1, liveEnable: true });
    expect(b.sdk.joinOptions).toEqual([{ channelName: 'standup', mode: 1, role: 0, liveEnable: 1 }]);
    // Stand-in: the gateway answered bob's own login already...
    await eventually(() => raw(b, 'syncDone').length === 1, "the gateway's answer to bob's login");
    // ...and the app hears it only once it starts media, as on our server.
    expect(b.seen('syncDone')).toEqual([]);
    const selfB = await b.netcall.startRtc({ mode: 1 });
    expect(selfB).toEqual({ uid: joinedB.uid, account: 'bob', cid: ja.cid });
    const sync = await b.next('syncDone');
    expect(sync).toMatchObject({ code: 200, cid: ja.cid, connectCount: 1 });
    expect(sync.userlist.map((user) => user.account).sort()).toEqual(['alice', 'bob']);
    // Same mode as the join: no switch (alice hears no clientUpdate), and no second login (one syncDone).
    await standinIdle();
    expect(raw(a, 'clientUpdate')).toEqual([]);
    expect(raw(b, 'syncDone')).toHaveLength(1);
    expect(b.seen('syncDone')).toHaveLength(1);

    // Another mode than the join's: SDK77's switchMode, which the others' SDKs hear as clientUpdate.
    await expect(b.netcall.startRtc({ mode: 0 })).resolves.toEqual(selfB);
    await eventually(() => raw(a, 'clientUpdate').length === 1, "alice's clientUpdate");
    expect(raw(a, 'clientUpdate')[0].payload).toMatchObject({ accid: 'bob', mode: 0 });
    await standinIdle();
    expect(b.seen('syncDone')).toHaveLength(1);
  });

  it('passes rtmpRecord on, and refuses the sessionConfig fields SDK77 cannot pass (400) before asking it', async () => {
    const a = device('alice');
    await a.netcall.createChannel({ channelName: 'live' });
    const refused = a.netcall.joinChannel({
      channelName: 'live',
      type: 2,
      sessionConfig: { rtmpUrl: 'rtmp://example.invalid/live/x', splitMode: 1 },
    });
    await expect(refused).rejects.toBeInstanceOf(NetcallError);
    await expect(refused).rejects.toMatchObject({
      code: 400,
      message: expect.stringContaining('sessionConfig.rtmpUrl, sessionConfig.splitMode'),
    });
    expect(a.sdk.joinOptions).toEqual([]);
    await a.netcall.joinChannel({ channelName: 'live', type: 2, sessionConfig: { rtmpRecord: true } });
    expect(a.sdk.joinOptions).toEqual([
      { channelName: 'live', mode: 0, role: 0, liveEnable: 0, rtmpRecord: 1 },
    ]);
  });

  it('rejects a join the gateway refuses (roomRefused) with 104, and reports no kick, loss or disconnect', async () => {
    const [a, b, c, d] = ['alice', 'bob', 'carol', 'dave'].map(device);
    await a.netcall.createChannel({ channelName: 'small' });
    for (const member of [a, b, c]) await enter(member, 'small');
    const full = d.netcall.joinChannel({ channelName: 'small', type: 2 });
    await expect(full).rejects.toMatchObject({ code: 104 });
    expect(d.netcall.cid).toBeNull();
    await standinIdle();
    // Stand-in: SDK77's refusal, the raw packet as `kicked`, then the destroy's disconnect 406.
    expect(raw(d, 'kicked').map((entry) => entry.payload)).toEqual([
      { cmd: 'onRoomRefused', body: { cid: expect.any(Number), reason: 1 } },
    ]);
    expect(raw(d, 'disconnect').map((entry) => entry.payload)).toEqual([
      { code: '406', desc: 'wx: roomRefused' },
    ]);
    expect([...d.seen('kicked'), ...d.seen('callLost'), ...d.seen('disconnect')]).toEqual([]);
    // The members still hear each other; dave gets in once there is room.
    await c.netcall.leaveChannel();
    expect(await a.next('leaveChannel')).toMatchObject({ account: 'carol' });
    await expect(enter(d, 'small')).resolves.toMatchObject({ joined: { account: 'dave' } });
  });

  it('announces each newcomer once, never me, although notifyJoin may list the whole room', async () => {
    const [a, b] = ['alice', 'bob'].map(device);
    await a.netcall.createChannel({ channelName: 'notices' });
    const { joined: ja } = await enter(a, 'notices');
    const { joined: jb } = await enter(b, 'notices');
    expect(await a.next('joinChannel')).toEqual({
      account: 'bob',
      uid: jb.uid,
      cid: ja.cid,
      channelId: ja.cid,
    });
    // An IM server that sends the room's whole map: alice, bob and a newcomer, carol.
    const cid = Number(ja.cid);
    const map = { alice: Number(ja.uid), bob: Number(jb.uid), carol: 100_999 };
    a.sdk.imNotifyJoin(cid, map);
    b.sdk.imNotifyJoin(cid, map);
    expect(await a.next('joinChannel')).toMatchObject({ account: 'carol', uid: '100999' });
    expect(await b.next('joinChannel')).toMatchObject({ account: 'carol', uid: '100999' });
    await standinIdle();
    // Stand-in: the SDK emitted one event per account of the map, three each.
    expect(raw(b, 'joinChannel')).toHaveLength(3);
    expect(a.seen('joinChannel').map((event) => event.account)).toEqual(['bob', 'carol']);
    expect(b.seen('joinChannel').map((event) => event.account)).toEqual(['carol']);
  });

  it('turns a room clientLeave into leaveChannel then clientLeave, once per account however often the SDK says it', async () => {
    const [a, b] = ['alice', 'bob'].map(device);
    await a.netcall.createChannel({ channelName: 'twice' });
    const { joined: ja } = await enter(a, 'twice');
    const { joined: jb } = await enter(b, 'twice');
    const leave = { uid: Number(jb.uid), account: 'bob', cid: Number(ja.cid) };
    a.sdk.inject('clientLeave', leave, 2);
    expect(await a.next('leaveChannel')).toEqual({ account: 'bob', cid: ja.cid, channelId: ja.cid });
    expect(await a.next('clientLeave')).toEqual({ account: 'bob', cid: ja.cid, uid: jb.uid });
    await standinIdle();
    // Stand-in: the SDK said it twice, and never `leaveChannel` (SDK77 has no such notice).
    expect(raw(a, 'clientLeave')).toHaveLength(2);
    expect(raw(a, 'leaveChannel')).toEqual([]);
    expect(named(a, 'leaveChannel', 'clientLeave')).toEqual(['leaveChannel', 'clientLeave']);
    expect(a.seen('hangup')).toEqual([]);
  });

  it("sends control in a room, which SDK77's peers drop (the room is not their current channel)", async () => {
    const [a, b] = ['alice', 'bob'].map(device);
    await a.netcall.createChannel({ channelName: 'quiet' });
    const { joined: ja } = await enter(a, 'quiet');
    await enter(b, 'quiet');
    const heard = jest.spyOn(b.sdk, 'imNotifyControl');
    await expect(a.netcall.control({ command: 2 })).resolves.toBeUndefined();
    await standinIdle();
    // Stand-in: the notice reached bob's SDK for the room's cid, which dropped it.
    expect(heard).toHaveBeenCalledWith(Number(ja.cid), 'alice', 2);
    expect(raw(b, 'control')).toEqual([]);
    expect(b.seen('control')).toEqual([]);
  });

  it("clears the SDK's stale signalInited after a ring it rejected, so joinChannel is not refused", async () => {
    const [a, b] = ['alice', 'bob'].map(device);
    const { cid } = await a.netcall.call({ type: 2, callee: 'bob' });
    await b.next('beCalling');
    await b.netcall.response({ accepted: false, caller: 'alice', type: 2, cid });
    await a.next('callRejected');
    await a.netcall.createChannel({ channelName: 'after' });
    // Stand-in: SDK77 still thinks bob is in a session, and would refuse the join.
    expect(b.sdk.getStatus().signalInited).toBe(true);
    expect(b.netcall.cid).toBeNull();
    await expect(b.netcall.joinChannel({ channelName: 'after', type: 2 })).resolves.toMatchObject({
      channelName: 'after',
      account: 'bob',
    });
  });

  it('rejects a join whose media login gets no answer with 408, and leaves the SDK', async () => {
    const a = device('alice');
    await a.netcall.createChannel({ channelName: 'slow' });
    const release = a.sdk.holdSyncDone();
    const join = a.netcall.joinChannel({ channelName: 'slow', type: 2 });
    await eventually(() => a.sdk.gatewaySession !== null, 'the login under way');
    // SDK77 reports the login unanswered after 10 s, without saying which command it was.
    a.sdk.inject('sendCommandOverTime', undefined);
    await expect(join).rejects.toMatchObject({ code: 408 });
    expect(a.netcall.cid).toBeNull();
    // Stand-in: the adapter left the SDK's session; the late answer finds nobody.
    expect(a.sdk.gatewaySession).toBeNull();
    release();
    await standinIdle();
    expect(a.seen('syncDone')).toEqual([]);
  });

  it('refuses leaveChannel in a 1:1 call (404) and leaves the call alone', async () => {
    const [a, b] = ['alice', 'bob'].map(device);
    const { cid } = await a.netcall.call({ type: 2, callee: 'bob' });
    await b.next('beCalling');
    await b.netcall.response({ accepted: true, caller: 'alice', type: 2, cid });
    await a.next('callAccepted');
    await expect(a.netcall.leaveChannel()).rejects.toMatchObject({ code: 404 });
    await a.netcall.control({ command: 2 });
    expect(await b.next('control')).toEqual({ cid, account: 'alice', command: 2 });
  });
});

describe('NimNetcall team calls over SDK77', () => {
  it('ends a team call for every party when one leaves: leaveChannel, clientLeave, then one hangup each', async () => {
    const [a, b, c] = ['alice', 'bob', 'carol'].map(device);
    const placed = await a.netcall.call({ type: 2, callee: ['bob', 'carol'] });
    const cid = placed.cid;
    for (const callee of [b, c]) {
      await callee.next('beCalling');
      await callee.netcall.response({ accepted: true, caller: 'alice', type: 2, cid });
      await a.next('callAccepted');
    }
    const selves = [];
    for (const party of [b, c, a]) {
      selves.push(await party.netcall.startRtc({ mode: 0 }));
      await party.next('syncDone');
    }
    const selfC = selves[1];
    await standinIdle();

    await c.netcall.hangup();
    for (const other of [a, b]) {
      expect(await other.next('hangup')).toMatchObject({ cid, account: 'carol' });
      expect(other.seen('leaveChannel')).toEqual([{ account: 'carol', cid, channelId: cid }]);
      expect(other.seen('clientLeave')).toEqual([{ cid, account: 'carol', uid: selfC.uid }]);
      expect(named(other, 'leaveChannel', 'clientLeave', 'hangup')).toEqual([
        'leaveChannel',
        'clientLeave',
        'hangup',
      ]);
      expect(other.netcall.cid).toBeNull();
    }
    await standinIdle();
    // Stand-in: SDK77 told each of them more than once (IM, the gateway, the others leaving in turn).
    expect(raw(a, 'hangup').length + raw(b, 'hangup').length).toBeGreaterThan(2);
    expect(a.seen('hangup')).toHaveLength(1);
    expect(b.seen('hangup')).toHaveLength(1);
    // Everyone is free again.
    await expect(b.netcall.call({ type: 2, callee: 'alice' })).resolves.toMatchObject({
      cid: expect.any(String),
    });
  });

  it('names the callees of a team call from the packet that rang it; one callee rings as 1:1', async () => {
    const [a, b, c] = ['alice', 'bob', 'carol'].map(device);
    const { cid } = await a.netcall.call({ type: 1, callee: ['bob', 'carol'] });
    expect((await b.next('beCalling')).callees).toEqual(['bob', 'carol']);
    expect((await c.next('beCalling')).callees).toEqual(['bob', 'carol']);
    // Stand-in: SDK77's own event has no list.
    expect(raw(b, 'beCalling')[0].payload).toEqual({ caller: 'alice', cid: Number(cid), type: 1 });
    await a.netcall.hangup();
    await b.next('hangup');

    const single = await a.netcall.call({ type: 1, callee: ['bob'] });
    const ring = await b.next('beCalling');
    expect(ring).toEqual({ caller: 'alice', cid: single.cid, type: 1 });
  });

  it('refuses inviteToCall with 400: SDK77 rings only the callees of call()', async () => {
    const [a, b] = ['alice', 'bob'].map(device);
    const { cid } = await a.netcall.call({ type: 2, callee: ['bob'] });
    await b.next('beCalling');
    const invite = a.netcall.inviteToCall({ cid, callee: 'carol' });
    await expect(invite).rejects.toBeInstanceOf(NetcallError);
    await expect(invite).rejects.toMatchObject({ code: 400, message: expect.stringContaining('carol') });
    // The call it was asked about is untouched.
    await b.netcall.response({ accepted: true, caller: 'alice', type: 2, cid });
    expect(await a.next('callAccepted')).toEqual({ cid, account: 'bob', type: 2 });
  });
});
