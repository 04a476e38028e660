/** @jest-environment node */
/**
 * Interactive live on the real server with real clients: a room its creator joins with liveEnable. Roles (the
 * host, co-hosts on stage in RTC, the audience off it), the co-host flows and their timeouts, room messages,
 * the audience count, the room's close, the directory, what the mix hook hears, and every refusal of the issue's
 * "Bad input" list with the connection working on after it.
 */
import type { RunningServer } from '../../server/index';
import type { LiveMixRoom, LiveMixes } from '../../server/live/mixes';
import type { LiveDirectoryEntry } from '../../server/signaling/live';
import { mintToken } from '../../server/index';
import { recordLive, type LiveRecorded } from '../contract/live-events';
import {
  TEST_SECRET,
  closeClients,
  connectClient,
  roundTrip,
  startTestServer,
  type TestClient,
} from '../helpers/server';
import { cuttableSockets } from '../helpers/ws-socket';
import { eventually } from '../helpers/wait';

const HOST_GRACE_MS = 600;
const CO_HOST_TIMEOUT_MS = 400;
const MAX_CO_HOSTS = 2;
const MESSAGES_PER_SECOND = 3;

/** The mix hook as the server calls it: a record of every call, in order (the mixer itself is not ours here). */
const mixCalls: { op: 'start' | 'update' | 'stop'; cid: string; room?: LiveMixRoom }[] = [];
const recordingMixes: LiveMixes = {
  start: (room) => mixCalls.push({ op: 'start', cid: room.cid, room }),
  update: (room) => mixCalls.push({ op: 'update', cid: room.cid, room }),
  stop: (cid) => mixCalls.push({ op: 'stop', cid }),
};
const mixesOf = (cid: string) => mixCalls.filter((call) => call.cid === cid);
const lastStage = (cid: string) =>
  mixesOf(cid)
    .filter((call) => call.room)
    .at(-1)
    ?.room?.stage.map((member) => [member.account, member.role]);

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({
    roomCapacity: 4,
    callGraceMs: 5000,
    hostGraceMs: HOST_GRACE_MS,
    coHostTimeoutMs: CO_HOST_TIMEOUT_MS,
    maxCoHosts: MAX_CO_HOSTS,
    maxRoomMessagesPerSecond: MESSAGES_PER_SECOND,
    liveMixes: recordingMixes,
  });
});
afterEach(closeClients);
afterAll(async () => {
  await server.close();
});

let counter = 0;
/** Fresh account and room names per test: the server is shared by the file. */
const fresh = (...prefixes: string[]) => {
  counter++;
  return prefixes.map((p) => `${p}${counter}`);
};

type LiveClient = TestClient & { live: LiveRecorded };
const online = (...accounts: string[]): Promise<LiveClient[]> =>
  Promise.all(
    accounts.map(async (account) => {
      const client = await connectClient(server, account);
      return Object.assign(client, { live: recordLive(client) });
    }),
  );

/** The host creates the room and goes live in it. */
async function goLive(host: TestClient, channelName: string, sessionConfig = {}) {
  await host.createChannel({ channelName });
  return host.joinChannel({ channelName, type: 2, liveEnable: true, sessionConfig });
}
const watch = (client: TestClient, channelName: string) =>
  client.joinChannel({ channelName, type: 2, liveEnable: true });

/** An audience member steps on stage and starts pushing; the rest of the stage has heard its clientJoin. */
async function onStage(client: TestClient, stage: TestClient[]) {
  await client.changeRoleToPlayer();
  const self = await client.startRtc({ mode: 0 });
  const sync = await client.next('syncDone');
  for (const member of stage) await member.next('clientJoin');
  return { self, sync };
}

async function getDirectory(path = '', token?: string | null) {
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  const res = await fetch(`${server.httpUrl}/api/live${path}`, { headers });
  return {
    status: res.status,
    body: (await res.json()) as { rooms?: LiveDirectoryEntry[]; room?: LiveDirectoryEntry },
  };
}

describe('roles', () => {
  it('makes the creator the host and everyone else audience: live URLs, out of the userlist, no clientJoin or joinChannel', async () => {
    const [alice, bob, carol, room] = fresh('alice', 'bob', 'carol', 'live');
    const [a, b, c] = await online(alice, bob, carol);
    const joined = await goLive(a, room);
    expect(joined).toMatchObject({ channelName: room, account: alice, role: 'host' });
    expect(joined.live).toBeUndefined();
    const selfA = await a.startRtc({ mode: 0 });
    expect((await a.next('syncDone')).userlist.map((u) => u.account)).toEqual([alice]);
    // The host's first push starts the mix, with the host on stage.
    expect(mixesOf(joined.cid).map((call) => call.op)).toEqual(['start']);
    expect(lastStage(joined.cid)).toEqual([[alice, 'host']]);
    expect(mixesOf(joined.cid)[0].room).toMatchObject({
      channelName: room,
      pushUrl: expect.stringMatching(/^rtmp:\/\/.+_live\?sign=\d+-[0-9a-f]{32}$/),
    });

    const watching = await watch(b, room);
    expect(watching).toMatchObject({ cid: joined.cid, role: 'audience', account: bob });
    expect(watching.live).toEqual({
      rtmp: expect.stringMatching(/^rtmp:\/\/.+_live\?sign=\d+-[0-9a-f]{32}$/),
      flv: expect.stringMatching(/^http:\/\/.+_live\.flv\?sign=\d+-[0-9a-f]{32}$/),
      h5: `${server.httpUrl}/live/${room}`,
    });
    // The stage and myself, never the rest of the audience.
    expect(watching.accountUidMap).toEqual({ [alice]: selfA.uid, [bob]: watching.uid });
    await watch(c, room);

    // The audience is not in RTC: startRtc is refused (the host's, above, was not), and so is control.
    await expect(b.startRtc({ mode: 0 })).rejects.toMatchObject({ code: 403 });
    await expect(b.control({ command: 2 })).rejects.toMatchObject({ code: 403 });
    // The host hears the audience only in the count: no joinChannel, no clientJoin.
    await eventually(() => a.live.seen('audienceCount').some((n) => n.count === 2), 'the count of two');
    await roundTrip(a);
    expect(a.seen('joinChannel')).toEqual([]);
    expect(a.seen('clientJoin')).toEqual([]);
    // The connection works on after the refusals.
    await expect(b.sendRoomMessage({ type: 'text', content: 'hi' })).resolves.toBeUndefined();
  });

  it('puts an audience member on stage with changeRoleToPlayer: the stage hears joinChannel then clientJoin, the mix re-lays out; changeRoleToAudience takes it off', async () => {
    const [alice, bob, carol, room] = fresh('alice', 'bob', 'carol', 'live');
    const [a, b, c] = await online(alice, bob, carol);
    const { cid } = await goLive(a, room);
    const selfA = await a.startRtc({ mode: 0 });
    await a.next('syncDone');
    await watch(b, room);
    await watch(c, room);

    await b.changeRoleToPlayer();
    expect(await a.next('joinChannel')).toMatchObject({ cid, account: bob });
    const selfB = await b.startRtc({ mode: 0 });
    const syncB = await b.next('syncDone');
    expect(syncB.userlist.map((u) => [u.account, u.uid]).sort()).toEqual(
      [
        [alice, selfA.uid],
        [bob, selfB.uid],
      ].sort(),
    );
    expect(await a.next('clientJoin')).toMatchObject({ cid, account: bob, uid: selfB.uid });
    expect(lastStage(cid)).toEqual([
      [alice, 'host'],
      [bob, 'cohost'],
    ]);
    // The audience hears none of it.
    await roundTrip(c);
    expect(c.seen('joinChannel')).toEqual([]);
    expect(c.seen('clientJoin')).toEqual([]);
    // Already on stage, or the host: a no-op. Already audience: changeRoleToAudience is a no-op too.
    await expect(b.changeRoleToPlayer()).resolves.toBeUndefined();
    await expect(a.changeRoleToPlayer()).resolves.toBeUndefined();
    await expect(c.changeRoleToAudience()).resolves.toBeUndefined();
    // The host stays on stage.
    await expect(a.changeRoleToAudience()).rejects.toMatchObject({ code: 403 });

    await b.changeRoleToAudience();
    expect(await a.next('leaveChannel')).toMatchObject({ cid, account: bob });
    expect(await a.next('clientLeave')).toEqual({ cid, account: bob, uid: selfB.uid });
    await eventually(() => lastStage(cid)?.length === 1, 'the mix re-laid out without bob');
    expect(lastStage(cid)).toEqual([[alice, 'host']]);
    // Off stage again: no RTC.
    await expect(b.startRtc({ mode: 0 })).rejects.toMatchObject({ code: 403 });
  });
});

describe('co-host flows', () => {
  it('with stageApproval, refuses the stage (403) until a request is accepted: request → coHostRequest → respondCoHost → coHostResponse', async () => {
    const [alice, bob, carol, room] = fresh('alice', 'bob', 'carol', 'live');
    const [a, b, c] = await online(alice, bob, carol);
    const { cid } = await goLive(a, room, { stageApproval: true });
    await watch(b, room);
    await watch(c, room);
    await expect(b.changeRoleToPlayer()).rejects.toMatchObject({ code: 403 });

    await b.requestCoHost();
    expect(await a.live.next('coHostRequest')).toEqual({ cid, account: bob });
    // A second request while one waits.
    await expect(b.requestCoHost()).rejects.toMatchObject({ code: 409 });
    await a.respondCoHost({ account: bob, accepted: true });
    expect(await b.live.next('coHostResponse')).toEqual({ cid, accepted: true });
    await expect(b.changeRoleToPlayer()).resolves.toBeUndefined();

    // A refused request leaves the stage closed to carol.
    await c.requestCoHost();
    await a.live.next('coHostRequest');
    await a.respondCoHost({ account: carol, accepted: false });
    expect(await c.live.next('coHostResponse')).toEqual({ cid, accepted: false });
    await expect(c.changeRoleToPlayer()).rejects.toMatchObject({ code: 403 });
  });

  it('with stageApproval, an accepted invite opens the stage: inviteCoHost → coHostInvite → respondCoHostInvite → coHostInviteResponse', async () => {
    const [alice, bob, carol, room] = fresh('alice', 'bob', 'carol', 'live');
    const [a, b, c] = await online(alice, bob, carol);
    const { cid } = await goLive(a, room, { stageApproval: true });
    await watch(b, room);
    await watch(c, room);

    await a.inviteCoHost({ account: bob });
    expect(await b.live.next('coHostInvite')).toEqual({ cid, account: alice });
    await expect(a.inviteCoHost({ account: bob })).rejects.toMatchObject({ code: 409 });
    await b.respondCoHostInvite({ accepted: true });
    expect(await a.live.next('coHostInviteResponse')).toEqual({ cid, account: bob, accepted: true });
    await expect(b.changeRoleToPlayer()).resolves.toBeUndefined();

    await a.inviteCoHost({ account: carol });
    await c.live.next('coHostInvite');
    await c.respondCoHostInvite({ accepted: false });
    expect(await a.live.next('coHostInviteResponse')).toEqual({ cid, account: carol, accepted: false });
    await expect(c.changeRoleToPlayer()).rejects.toMatchObject({ code: 403 });
    // Someone on stage, or neither in the room nor online, cannot be invited.
    await expect(a.inviteCoHost({ account: bob })).rejects.toMatchObject({ code: 409 });
    await expect(a.inviteCoHost({ account: `nobody${counter}` })).rejects.toMatchObject({ code: 404 });
  });

  it('invites an online account that is not in the room: every device of it hears the room’s name, joins and answers from inside', async () => {
    const [alice, dave, room] = fresh('alice', 'dave', 'live');
    const [a] = await online(alice);
    const [d1, d2] = await online(dave, dave);
    const { cid } = await goLive(a, room, { stageApproval: true });

    await a.inviteCoHost({ account: dave });
    const invite = { cid, account: alice, channelName: room };
    expect(await d1.live.next('coHostInvite')).toEqual(invite);
    expect(await d2.live.next('coHostInvite')).toEqual(invite);
    // Not in the room yet: it cannot answer from outside (403, as for any op in a room one is not in), and the
    // invite still waits (409 on a second).
    await expect(d1.respondCoHostInvite({ accepted: true, cid })).rejects.toMatchObject({ code: 403 });
    await expect(a.inviteCoHost({ account: dave })).rejects.toMatchObject({ code: 409 });
    // One device joins by the name it was given, answers, and may step on stage despite the approval rule.
    await d1.joinChannel({ channelName: room, type: 2, liveEnable: true });
    await d1.respondCoHostInvite({ accepted: true });
    expect(await a.live.next('coHostInviteResponse')).toEqual({ cid, account: dave, accepted: true });
    await expect(d1.changeRoleToPlayer()).resolves.toBeUndefined();
  });

  it('lets only the host answer, invite or remove (403), answers for no request with 404, and times a request and an invite out as a refusal (timeout)', async () => {
    const [alice, bob, carol, room] = fresh('alice', 'bob', 'carol', 'live');
    const [a, b, c] = await online(alice, bob, carol);
    const { cid } = await goLive(a, room);
    await watch(b, room);
    await watch(c, room);

    const asked = Date.now();
    await b.requestCoHost();
    await a.live.next('coHostRequest');
    await expect(c.respondCoHost({ account: bob, accepted: true })).rejects.toMatchObject({ code: 403 });
    await expect(c.inviteCoHost({ account: bob })).rejects.toMatchObject({ code: 403 });
    await expect(c.removeCoHost({ account: alice })).rejects.toMatchObject({ code: 403 });
    await expect(a.respondCoHost({ account: carol, accepted: true })).rejects.toMatchObject({ code: 404 });
    await expect(c.respondCoHostInvite({ accepted: true })).rejects.toMatchObject({ code: 404 });

    // Nobody answers bob: a refusal with the reason, not before its time; answering it now is 404.
    expect(await b.live.next('coHostResponse')).toEqual({ cid, accepted: false, reason: 'timeout' });
    expect(Date.now() - asked).toBeGreaterThanOrEqual(CO_HOST_TIMEOUT_MS - 50);
    await expect(a.respondCoHost({ account: bob, accepted: true })).rejects.toMatchObject({ code: 404 });
    // Control: a request answered in time is accepted.
    await b.requestCoHost();
    await a.live.next('coHostRequest');
    await expect(a.respondCoHost({ account: bob, accepted: true })).resolves.toBeUndefined();
    expect(await b.live.next('coHostResponse')).toEqual({ cid, accepted: true });

    // An invite nobody answers: the host hears the refusal; answering it now is 404.
    await a.inviteCoHost({ account: carol });
    await c.live.next('coHostInvite');
    expect(await a.live.next('coHostInviteResponse')).toEqual({
      cid,
      account: carol,
      accepted: false,
      reason: 'timeout',
    });
    await expect(c.respondCoHostInvite({ accepted: true })).rejects.toMatchObject({ code: 404 });
  });

  it('removeCoHost: the co-host hears coHostRemoved and is audience again, the stage hears it leave', async () => {
    const [alice, bob, carol, dave, room] = fresh('alice', 'bob', 'carol', 'dave', 'live');
    const [a, b, c, d] = await online(alice, bob, carol, dave);
    const { cid } = await goLive(a, room);
    await a.startRtc({ mode: 0 });
    await a.next('syncDone');
    for (const client of [b, c, d]) await watch(client, room);
    const { self: selfB } = await onStage(b, [a]);
    await onStage(c, [a, b]);

    await a.removeCoHost({ account: bob });
    expect(await b.live.next('coHostRemoved')).toEqual({ cid, account: bob });
    for (const member of [a, c]) {
      expect(await member.next('leaveChannel')).toMatchObject({ cid, account: bob });
      expect(await member.next('clientLeave')).toEqual({ cid, account: bob, uid: selfB.uid });
    }
    await eventually(() => lastStage(cid)?.length === 2, 'the mix without bob');
    expect(lastStage(cid)).toEqual([
      [alice, 'host'],
      [carol, 'cohost'],
    ]);
    await expect(b.startRtc({ mode: 0 })).rejects.toMatchObject({ code: 403 });
    // Not a co-host (any more), or the host: 404. The audience heard nothing of it.
    await expect(a.removeCoHost({ account: bob })).rejects.toMatchObject({ code: 404 });
    await expect(a.removeCoHost({ account: alice })).rejects.toMatchObject({ code: 404 });
    await roundTrip(d);
    expect(d.seen('clientLeave')).toEqual([]);
    expect(d.live.seen('coHostRemoved')).toEqual([]);
  });
});

describe('bad input', () => {
  it(`caps the stage at the host and ${MAX_CO_HOSTS} co-hosts (104), and frees a place when one steps down`, async () => {
    const [alice, bob, carol, dave, room] = fresh('alice', 'bob', 'carol', 'dave', 'live');
    const [a, b, c, d] = await online(alice, bob, carol, dave);
    await goLive(a, room);
    for (const client of [b, c, d]) await watch(client, room);
    await b.changeRoleToPlayer();
    await c.changeRoleToPlayer();
    await expect(d.changeRoleToPlayer()).rejects.toMatchObject({ code: 104 });
    await expect(d.requestCoHost()).rejects.toMatchObject({ code: 104 });
    await expect(a.inviteCoHost({ account: dave })).rejects.toMatchObject({ code: 104 });
    await c.changeRoleToAudience();
    await expect(d.changeRoleToPlayer()).resolves.toBeUndefined();
  });

  it('refuses host settings from anyone but the creator: 105 while the host is in, 106 before; no live before the host (404)', async () => {
    const [alice, bob, carol, room, other] = fresh('alice', 'bob', 'carol', 'live', 'other');
    const [a, b, c] = await online(alice, bob, carol);
    await goLive(a, room, { rtmpUrl: 'rtmp://example.invalid/live/key', splitMode: 2 });
    await expect(
      b.joinChannel({
        channelName: room,
        type: 2,
        liveEnable: true,
        sessionConfig: { rtmpUrl: 'rtmp://x/y' },
      }),
    ).rejects.toMatchObject({ code: 105 });

    await c.createChannel({ channelName: other });
    await expect(
      b.joinChannel({
        channelName: other,
        type: 2,
        liveEnable: true,
        sessionConfig: { rtmpUrl: 'rtmp://x/y' },
      }),
    ).rejects.toMatchObject({ code: 106 });
    await expect(watch(b, other)).rejects.toMatchObject({ code: 404 });
    // A live room is joined with liveEnable.
    await expect(b.joinChannel({ channelName: room, type: 2 })).rejects.toMatchObject({ code: 400 });
    // Control: without host settings, bob watches.
    await expect(watch(b, room)).resolves.toMatchObject({ role: 'audience' });
    // And the creator of the other room hosts it.
    await expect(watch(c, other)).resolves.toMatchObject({ role: 'host' });
  });

  it('refuses a bad custom layout with 208 and an rtmpUrl that is not rtmp:// with 400; a good one goes live', async () => {
    const [alice, room] = fresh('alice', 'live');
    const [a] = await online(alice);
    await a.createChannel({ channelName: room });
    const join = (sessionConfig: object) =>
      a.joinChannel({ channelName: room, type: 2, liveEnable: true, sessionConfig });
    await expect(join({ splitMode: 4, layout: 'not json' })).rejects.toMatchObject({ code: 208 });
    await expect(join({ splitMode: 4 })).rejects.toMatchObject({ code: 208 });
    await expect(
      join({ splitMode: 4, layout: JSON.stringify({ n_host_area_number: 1, set_host_as_main: true }) }),
    ).rejects.toMatchObject({ code: 208 });
    await expect(join({ rtmpUrl: 'http://example.invalid/live' })).rejects.toMatchObject({ code: 400 });
    await expect(join({ rtmpUrl: 'rtmp://example.invalid/a b' })).rejects.toMatchObject({ code: 400 });
    await expect(join({ splitMode: 6 })).rejects.toMatchObject({ code: 400 });
    const layout = JSON.stringify({
      set_host_as_main: true,
      n_host_area_number: 1,
      n_host_area_0: { position_x: 7000, position_y: 7000, width_rate: 3000, height_rate: 3000 },
    });
    await expect(
      join({ splitMode: 4, layout, rtmpUrl: 'rtmp://example.invalid/live/key' }),
    ).resolves.toMatchObject({ role: 'host' });
  });

  it('sends room messages to everyone else, stage and audience, not back; over the cap 400, too fast 429', async () => {
    const [alice, bob, carol, dave, room] = fresh('alice', 'bob', 'carol', 'dave', 'live');
    const [a, b, c, d] = await online(alice, bob, carol, dave);
    const { cid } = await goLive(a, room);
    for (const client of [b, c, d]) await watch(client, room);
    await c.changeRoleToPlayer();

    await b.sendRoomMessage({ type: 'text', content: '你好 hello' });
    for (const other of [a, c, d])
      expect(await other.live.next('roomMessage')).toEqual({
        cid,
        account: bob,
        type: 'text',
        content: '你好 hello',
        time: expect.any(Number),
      });
    await roundTrip(b);
    expect(b.live.seen('roomMessage')).toEqual([]);

    await expect(b.sendRoomMessage({ type: 'custom', content: 'x'.repeat(1025) })).rejects.toMatchObject({
      code: 400,
    });
    await expect(b.sendRoomMessage({ type: 'image' as 'text', content: 'x' })).rejects.toMatchObject({
      code: 400,
    });
    // A burst from dave: the rate lets MESSAGES_PER_SECOND through, the rest get 429.
    const burst = await Promise.allSettled(
      Array.from({ length: MESSAGES_PER_SECOND + 2 }, (_, i) =>
        d.sendRoomMessage({ type: 'custom', content: JSON.stringify({ i }) }),
      ),
    );
    expect(burst.filter((r) => r.status === 'fulfilled')).toHaveLength(MESSAGES_PER_SECOND);
    expect(
      burst.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code),
    ).toEqual([429, 429]);
    // Per account: carol's message still goes through.
    await expect(c.sendRoomMessage({ type: 'text', content: 'me too' })).resolves.toBeUndefined();
  });
});

describe('the audience count', () => {
  it('tells members the count at most once a second: a burst of joins brings fewer notices than joins', async () => {
    const [alice, room, ...viewers] = fresh('alice', 'live', 'v1', 'v2', 'v3', 'v4', 'v5');
    const [a] = await online(alice);
    await goLive(a, room);
    const audience = await online(...viewers);
    await Promise.all(audience.map((client) => watch(client, room)));
    // Positive control: a notice does arrive, and the last one carries the whole audience.
    await eventually(
      () => a.live.seen('audienceCount').at(-1)?.count === viewers.length,
      () => `the count of ${viewers.length}, got ${JSON.stringify(a.live.seen('audienceCount'))}`,
      4000,
    );
    const notices = a.live.seen('audienceCount');
    expect(notices.length).toBeGreaterThanOrEqual(1);
    expect(notices.length).toBeLessThan(viewers.length);
    const times = a.live.times('audienceCount');
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(950);
  });
});

describe('liveness and the directory', () => {
  it('lists live rooms to token holders (401 without), and closes the room when the host leaves: liveRoomClose to all, the summary to the host, gone from the directory', async () => {
    const [alice, bob, carol, room] = fresh('alice', 'bob', 'carol', 'live');
    const [a, b, c] = await online(alice, bob, carol);
    const { cid } = await goLive(a, room);
    await a.startRtc({ mode: 0 });
    await a.next('syncDone');
    await watch(b, room);
    await watch(c, room);
    await c.changeRoleToPlayer();

    const token = mintToken(TEST_SECRET, bob);
    await expect(getDirectory('', null)).resolves.toMatchObject({ status: 401 });
    await expect(getDirectory('', 'not-a-token')).resolves.toMatchObject({ status: 401 });
    await expect(getDirectory(`/${room}`, null)).resolves.toMatchObject({ status: 401 });
    const listed = await getDirectory('', token);
    expect(listed.status).toBe(200);
    const entry = listed.body.rooms!.find((r) => r.channelName === room);
    expect(entry).toEqual({
      channelName: room,
      host: alice,
      coHosts: [carol],
      audience: 1,
      startedAt: expect.any(Number),
      play: {
        rtmp: expect.stringMatching(/^rtmp:\/\/.+_live\?sign=/),
        flv: expect.stringMatching(/^http:\/\/.+_live\.flv\?sign=/),
        hls: `${server.httpUrl}/live/${room}/live.m3u8`,
      },
      h5: `${server.httpUrl}/live/${room}`,
    });
    await expect(getDirectory(`/${room}`, token)).resolves.toEqual({ status: 200, body: { room: entry } });

    await a.leaveChannel();
    for (const member of [b, c])
      expect(await member.live.next('liveRoomClose')).toEqual({ cid, reason: 'host-left' });
    expect(await a.live.next('liveSummary')).toMatchObject({
      cid,
      channelName: room,
      duration: expect.any(Number),
      peakAudience: 2,
    });
    expect(mixesOf(cid).at(-1)).toEqual({ op: 'stop', cid });
    await expect(getDirectory(`/${room}`, token)).resolves.toMatchObject({ status: 404 });
    const after = await getDirectory('', token);
    expect(after.body.rooms!.some((r) => r.channelName === room)).toBe(false);
    // Everyone is free again, and the name too.
    await expect(b.sendRoomMessage({ type: 'text', content: 'anyone?' })).rejects.toMatchObject({
      code: 404,
    });
    await expect(a.createChannel({ channelName: room })).resolves.toMatchObject({ channelName: room });
  });

  it('closes the room when the host is lost past hostGraceMs (host-lost), not before', async () => {
    const [alice, bob, room] = fresh('alice', 'bob', 'live');
    const sockets = cuttableSockets();
    const a = await connectClient(server, alice, { connectSocket: sockets.connectSocket, maxReconnects: 0 });
    const [b] = await online(bob);
    const { cid } = await goLive(a, room);
    await watch(b, room);
    const cut = Date.now();
    sockets.cut();
    expect(await b.live.next('liveRoomClose')).toEqual({ cid, reason: 'host-lost' });
    expect(Date.now() - cut).toBeGreaterThanOrEqual(HOST_GRACE_MS - 50);
    const token = mintToken(TEST_SECRET, bob);
    await expect(getDirectory(`/${room}`, token)).resolves.toMatchObject({ status: 404 });
  });
});
