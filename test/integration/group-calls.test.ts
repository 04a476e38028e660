/** @jest-environment node */
/**
 * Group calls on the real server (NetEase's `call` with an array of callees): one cid rings every callee's
 * devices; accepts join, rejects and ring-outs reach the caller one by one; the call goes on while two parties
 * remain; one more callee can be rung in; bad input is refused with a clear code.
 */
import type { RunningServer } from '../../server/index';
import { MediaRoster } from '../../services/media';
import { closeClients, connectClient, roundTrip, startTestServer, type TestClient } from '../helpers/server';

const RING_TIMEOUT_MS = 1500;
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ roomCapacity: 5, ringTimeoutMs: RING_TIMEOUT_MS });
});
afterEach(closeClients);
afterAll(async () => {
  await server.close();
});

let counter = 0;
const fresh = (...prefixes: string[]) => {
  counter++;
  return prefixes.map((p) => `${p}${counter}`);
};
const online = (...accounts: string[]) => Promise.all(accounts.map((a) => connectClient(server, a)));

async function answer(client: TestClient, caller: string, accepted: boolean) {
  const ringing = await client.next('beCalling');
  await client.response({ accepted, caller, type: ringing.type, cid: ringing.cid });
  return ringing;
}

describe('group calls', () => {
  it('rings every callee with one cid and the list of invitees; accepts join, a reject reaches the caller', async () => {
    const [alice, bob, carol, dave] = fresh('alice', 'bob', 'carol', 'dave');
    const [a, b, c, d] = await online(alice, bob, carol, dave);
    const placed = await a.call({ type: 2, callee: [bob, carol, dave] });
    expect(Object.keys(placed.accountUidMap).sort()).toEqual([alice, bob, carol, dave].sort());
    const rings = await Promise.all([b, c, d].map((x) => x.next('beCalling')));
    for (const ring of rings)
      expect(ring).toEqual({ caller: alice, type: 2, cid: placed.cid, callees: [bob, carol, dave] });

    await b.response({ accepted: true, caller: alice, type: 2, cid: placed.cid });
    expect(await a.next('callAccepted')).toEqual({ cid: placed.cid, account: bob, type: 2 });
    await c.response({ accepted: false, caller: alice, type: 2, cid: placed.cid });
    expect(await a.next('callRejected')).toEqual({ cid: placed.cid, account: carol, type: 2 });
    await d.response({ accepted: true, caller: alice, type: 2, cid: placed.cid });
    expect(await a.next('callAccepted')).toMatchObject({ account: dave });
    // The members already in (bob) hear of the later one by joinChannel, not by callAccepted.
    expect(await b.next('joinChannel')).toMatchObject({ account: dave, cid: placed.cid });
    await roundTrip(b);
    expect(b.seen('callAccepted')).toEqual([]);

    // Everyone in RTC holds everyone else.
    const rosters = [a, b, d].map((x) => new MediaRoster(x));
    for (const [i, x] of [a, b, d].entries()) rosters[i].setSelf(await x.startRtc({ mode: 0 }));
    await Promise.all([a, b, d].map((x) => x.next('syncDone')));
    expect(rosters[2].players.map((p) => p.account).sort()).toEqual([alice, bob].sort());
  });

  it('goes on while two remain; the last two: a hangup ends it for the other', async () => {
    const [alice, bob, carol] = fresh('alice', 'bob', 'carol');
    const [a, b, c] = await online(alice, bob, carol);
    const { cid } = await a.call({ type: 1, callee: [bob, carol] });
    await answer(b, alice, true);
    await answer(c, alice, true);
    await a.next('callAccepted');
    await a.next('callAccepted');
    // alice leaves: bob and carol go on.
    await a.hangup();
    expect(await b.next('leaveChannel')).toEqual({ account: alice, cid, channelId: cid });
    expect(await c.next('leaveChannel')).toMatchObject({ account: alice });
    await b.control({ command: 2 });
    expect(await c.next('control')).toEqual({ cid, account: bob, command: 2 });
    // bob leaves: carol is alone, the call ends for her.
    await b.hangup();
    expect(await c.next('hangup')).toMatchObject({ cid, account: bob });
    await expect(c.control({ command: 2, cid })).rejects.toMatchObject({ code: 404 });
  });

  it('reports a callee who lets it ring out to the caller (timeout), and stops that callee ringing', async () => {
    const [alice, bob, carol] = fresh('alice', 'bob', 'carol');
    const [a, b, c] = await online(alice, bob, carol);
    const { cid } = await a.call({ type: 2, callee: [bob, carol] });
    await answer(b, alice, true);
    await c.next('beCalling');
    expect(await a.next('callRejected', RING_TIMEOUT_MS + 5000)).toEqual({
      cid,
      account: carol,
      type: 2,
      reason: 'timeout',
    });
    expect(await c.next('hangup')).toMatchObject({ cid, reason: 'timeout' });
    // alice and bob go on.
    await a.control({ command: 4 });
    expect(await b.next('control')).toMatchObject({ account: alice, command: 4 });
  });

  it('ends a group call every callee refuses, for the caller', async () => {
    const [alice, bob, carol] = fresh('alice', 'bob', 'carol');
    const [a, b, c] = await online(alice, bob, carol);
    const { cid } = await a.call({ type: 2, callee: [bob, carol] });
    await answer(b, alice, false);
    expect(await a.next('callRejected')).toMatchObject({ account: bob });
    await roundTrip(a);
    expect(a.seen('hangup')).toEqual([]); // carol still rings: not over yet
    await answer(c, alice, false);
    expect(await a.next('callRejected')).toMatchObject({ account: carol });
    expect(await a.next('hangup')).toMatchObject({ cid });
    // The caller is free again.
    await expect(a.call({ type: 2, callee: bob })).resolves.toMatchObject({ cid: expect.any(String) });
  });

  it('stops every callee ringing when the caller gives up before anyone answered', async () => {
    const [alice, bob, carol] = fresh('alice', 'bob', 'carol');
    const [a, b, c] = await online(alice, bob, carol);
    const { cid } = await a.call({ type: 2, callee: [bob, carol] });
    await Promise.all([b.next('beCalling'), c.next('beCalling')]);
    await a.hangup();
    expect(await b.next('hangup')).toMatchObject({ cid, account: alice });
    expect(await c.next('hangup')).toMatchObject({ cid, account: alice });
    // Nothing is left to answer.
    await expect(b.response({ accepted: true, caller: alice, type: 2, cid })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('rings one more callee into a running call with inviteToCall', async () => {
    const [alice, bob, carol] = fresh('alice', 'bob', 'carol');
    const [a, b, c] = await online(alice, bob, carol);
    const { cid } = await a.call({ type: 2, callee: [bob] });
    await answer(b, alice, true);
    await a.next('callAccepted');
    await b.inviteToCall({ cid, callee: carol });
    expect(await c.next('beCalling')).toMatchObject({ caller: alice, cid });
    await c.response({ accepted: true, caller: alice, type: 2, cid });
    expect(await a.next('callAccepted')).toMatchObject({ account: carol });
    expect(await b.next('joinChannel')).toMatchObject({ account: carol });
    await expect(b.inviteToCall({ cid, callee: carol })).rejects.toMatchObject({ code: 409 });
  });

  it('answers every device of a callee: one answers, the others stop ringing', async () => {
    const [alice, bob, carol] = fresh('alice', 'bob', 'carol');
    const [a, phone, pad, c] = await online(alice, bob, bob, carol);
    const { cid } = await a.call({ type: 2, callee: [bob, carol] });
    await pad.next('beCalling');
    await answer(phone, alice, true);
    expect(await pad.next('callerAckSync')).toMatchObject({ cid, accepted: true });
    await c.next('beCalling');
    void a;
  });

  it('refuses bad group calls: an offline callee (404), oneself (400), duplicates (400), too many (400/104)', async () => {
    const [alice, bob, carol] = fresh('alice', 'bob', 'carol');
    const [a] = await online(alice, bob, carol);
    await expect(a.call({ type: 2, callee: [bob, `gone-${carol}`] })).rejects.toMatchObject({
      code: 404,
      message: expect.stringContaining(`gone-${carol}`),
    });
    await expect(a.call({ type: 2, callee: [bob, alice] })).rejects.toMatchObject({ code: 400 });
    await expect(a.call({ type: 2, callee: [bob, bob] })).rejects.toMatchObject({ code: 400 });
    await expect(
      a.call({ type: 2, callee: Array.from({ length: 9 }, (_, i) => `x${i}`) }),
    ).rejects.toMatchObject({
      code: 400,
    });
    // Five online callees with the caller make six: over this server's capacity of 5.
    const many = fresh('m1', 'm2', 'm3', 'm4', 'm5');
    await online(...many);
    await expect(a.call({ type: 2, callee: many })).rejects.toMatchObject({ code: 104 });
    // Control: a group call that fits goes through.
    await expect(a.call({ type: 2, callee: [bob, carol] })).resolves.toMatchObject({
      cid: expect.any(String),
    });
  });
});
