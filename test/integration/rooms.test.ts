/** @jest-environment node */
/**
 * Rooms on the real server with real clients: NetEase's createChannel / joinChannel / leaveChannel and their
 * notices, startRtc and control inside a room, capacity, names given back, drops and rejoins, bad input.
 */
import type { RunningServer } from '../../server/index';
import { MediaRoster } from '../../services/media';
import { closeClients, connectClient, roundTrip, startTestServer, type TestClient } from '../helpers/server';
import { cuttableSockets } from '../helpers/ws-socket';
import { eventually } from '../helpers/wait';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ roomCapacity: 4, roomIdleMs: 400, callGraceMs: 2000 });
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

/** Clients of these accounts, each connected. */
const online = (...accounts: string[]) => Promise.all(accounts.map((a) => connectClient(server, a)));

/** Joins `clients` one after another (so notices have a known order) and starts RTC on each. */
async function fill(channelName: string, clients: TestClient[]) {
  const joined = [];
  for (const client of clients) {
    const result = await client.joinChannel({ channelName, type: 2 });
    const roster = new MediaRoster(client);
    roster.setSelf(await client.startRtc({ mode: 0 }));
    await client.next('syncDone');
    joined.push({ client, result, roster });
  }
  return joined;
}

describe('createChannel', () => {
  it('creates a room by name, refuses a taken name with 417, and gives the name back once the room is empty', async () => {
    const [alice, bob, room] = fresh('alice', 'bob', 'room');
    const [a, b] = await online(alice, bob);
    const created = await a.createChannel({ channelName: room, custom: 'hello' });
    expect(created).toEqual({
      channelName: room,
      cid: expect.stringMatching(/^[0-9a-f]{16}$/),
      custom: 'hello',
    });
    await expect(b.createChannel({ channelName: room })).rejects.toMatchObject({ code: 417 });
    const joined = await b.joinChannel({ channelName: room, type: 2 });
    expect(joined).toMatchObject({ channelName: room, cid: created.cid, account: bob, custom: 'hello' });
    await b.leaveChannel();
    // Empty again: the name is free.
    await expect(a.createChannel({ channelName: room })).resolves.toMatchObject({ channelName: room });
  });

  it('expires a created room nobody joins, and its name is free again', async () => {
    const [alice, room] = fresh('alice', 'room');
    const [a] = await online(alice);
    const first = await a.createChannel({ channelName: room });
    await expect(a.createChannel({ channelName: room })).rejects.toMatchObject({ code: 417 });
    let again: { cid: string } | undefined;
    await eventually(
      async () => (again = await a.createChannel({ channelName: room }).catch(() => undefined)) !== undefined,
      'the idle room to expire',
    );
    expect(again!.cid).not.toBe(first.cid);
  });

  it('refuses names outside the documented pattern with 400', async () => {
    const [alice] = fresh('alice');
    const [a] = await online(alice);
    for (const channelName of ['', 'has space', 'slash/room', 'x'.repeat(65), '房间'])
      await expect(a.createChannel({ channelName })).rejects.toMatchObject({
        code: 400,
        message: expect.stringContaining('channelName'),
      });
    await expect(a.createChannel({ channelName: 'ok_room-1.v2' })).resolves.toBeDefined();
  });
});

describe('joinChannel', () => {
  it('tells the members already in the room about each join, one notice per account, with every uid', async () => {
    const [alice, bob, carol, room] = fresh('alice', 'bob', 'carol', 'room');
    const [a, b, c] = await online(alice, bob, carol);
    const { cid } = await a.createChannel({ channelName: room });
    const ja = await a.joinChannel({ channelName: room, type: 2 });
    expect(ja.accountUidMap).toEqual({ [alice]: ja.uid });
    const jb = await b.joinChannel({ channelName: room, type: 2 });
    expect(await a.next('joinChannel')).toEqual({ account: bob, uid: jb.uid, cid, channelId: cid });
    const jc = await c.joinChannel({ channelName: room, type: 1 });
    expect(jc.accountUidMap).toEqual({ [alice]: ja.uid, [bob]: jb.uid, [carol]: jc.uid });
    expect(await a.next('joinChannel')).toMatchObject({ account: carol, uid: jc.uid });
    expect(await b.next('joinChannel')).toMatchObject({ account: carol, uid: jc.uid });
    // No one hears of their own join.
    for (const client of [a, b, c]) await roundTrip(client);
    expect(c.seen('joinChannel')).toEqual([]);
    expect(a.seen('joinChannel')).toHaveLength(2);
  });

  it('refuses an unknown room (404), a second room or call (409), a second device (409), a full room (104)', async () => {
    const [alice, bob, carol, dave, erin, frank, room] = fresh(
      'alice',
      'bob',
      'carol',
      'dave',
      'erin',
      'frank',
      'room',
    );
    const [a, b, c, d, e, f] = await online(alice, bob, carol, dave, erin, frank);
    await expect(a.joinChannel({ channelName: `nope-${room}`, type: 2 })).rejects.toMatchObject({
      code: 404,
    });
    await a.createChannel({ channelName: room });
    await a.joinChannel({ channelName: room, type: 2 });
    await expect(a.joinChannel({ channelName: room, type: 2 })).rejects.toMatchObject({ code: 409 });
    const aOther = await connectClient(server, alice);
    await expect(aOther.joinChannel({ channelName: room, type: 2 })).rejects.toMatchObject({ code: 409 });
    // Busy in a 1:1 call: no room.
    const { cid } = await f.call({ type: 2, callee: erin });
    await e.next('beCalling');
    await expect(f.joinChannel({ channelName: room, type: 2 })).rejects.toMatchObject({ code: 409 });
    await f.hangup({ cid });
    // Capacity 4 on this server.
    for (const client of [b, c, d]) await client.joinChannel({ channelName: room, type: 2 });
    await expect(e.joinChannel({ channelName: room, type: 2 })).rejects.toMatchObject({ code: 104 });
    // Control: one leaves, the next one gets in.
    await d.leaveChannel();
    await expect(e.joinChannel({ channelName: room, type: 2 })).resolves.toMatchObject({ account: erin });
  });
});

describe('RTC in a room', () => {
  it('gives each member its push URL and every other member in RTC, and tells the earlier ones with clientJoin', async () => {
    const [alice, bob, carol, room] = fresh('alice', 'bob', 'carol', 'room');
    const [a, b, c] = await online(alice, bob, carol);
    const { cid } = await a.createChannel({ channelName: room });
    const [ma, mb, mc] = await fill(room, [a, b, c]);
    // Each holds its own push URL and the two others' play URLs.
    for (const member of [ma, mb, mc]) {
      await eventually(
        () => member.roster.players.length === 2,
        `${member.client.account} holds two players`,
      );
      expect(member.roster.pusher?.url).toMatch(/^rtmp:\/\/.+\?sign=/);
      const others = member.roster.players.map((p) => p.account).sort();
      expect(others).toEqual([alice, bob, carol].filter((x) => x !== member.client.account).sort());
    }
    // The earlier members heard of the later ones by clientJoin, carrying play URLs, with the room's cid.
    expect(a.seen('clientJoin').map((j) => [j.account, j.cid])).toEqual([
      [bob, cid],
      [carol, cid],
    ]);
    expect(b.seen('clientJoin').map((j) => j.account)).toEqual([carol]);
    expect(c.seen('clientJoin')).toEqual([]);
    // No two members share a stream.
    expect(new Set([ma, mb, mc].map((m) => m.roster.pusher!.url.split('?')[0])).size).toBe(3);
  });

  it('lists only members in RTC: one that joined but has not started is not in the userlist', async () => {
    const [alice, bob, room] = fresh('alice', 'bob', 'room');
    const [a, b] = await online(alice, bob);
    await a.createChannel({ channelName: room });
    await b.joinChannel({ channelName: room, type: 2 });
    await a.joinChannel({ channelName: room, type: 2 });
    await a.startRtc({ mode: 0 });
    const sync = await a.next('syncDone');
    expect(sync.userlist.map((u) => u.account)).toEqual([alice]);
  });

  it('refuses startRtc and control in a room one is not a member of (403), and leaveChannel outside a room (404)', async () => {
    const [alice, bob, room] = fresh('alice', 'bob', 'room');
    const [a, b] = await online(alice, bob);
    const { cid } = await a.createChannel({ channelName: room });
    await a.joinChannel({ channelName: room, type: 2 });
    await expect(b.startRtc({ mode: 0, cid })).rejects.toMatchObject({ code: 403 });
    await expect(b.control({ command: 2, cid })).rejects.toMatchObject({ code: 403 });
    // A member cannot make another leave: leaveChannel only ever takes out the sender, who is not in it (404).
    await expect(b.leaveChannel({ cid })).rejects.toMatchObject({ code: 404 });
    await expect(b.leaveChannel()).rejects.toMatchObject({ code: 404 });
    await a.startRtc({ mode: 0 });
    expect((await a.next('syncDone')).userlist.map((u) => u.account)).toEqual([alice]);
  });

  it('delivers control to every other member, not back to the sender', async () => {
    const [alice, bob, carol, room] = fresh('alice', 'bob', 'carol', 'room');
    const [a, b, c] = await online(alice, bob, carol);
    const { cid } = await a.createChannel({ channelName: room });
    await fill(room, [a, b, c]);
    await a.control({ command: 2 });
    expect(await b.next('control')).toEqual({ cid, account: alice, command: 2 });
    expect(await c.next('control')).toEqual({ cid, account: alice, command: 2 });
    await roundTrip(a); // a reply after the control: a control sent back to alice would be here by now
    expect(a.seen('control')).toEqual([]);
  });
});

describe('leaving', () => {
  it('tells the others leaveChannel then clientLeave, and clears the leaver from their rosters', async () => {
    const [alice, bob, carol, room] = fresh('alice', 'bob', 'carol', 'room');
    const [a, b, c] = await online(alice, bob, carol);
    const { cid } = await a.createChannel({ channelName: room });
    const [, mb, mc] = await fill(room, [a, b, c]);
    await eventually(() => mb.roster.players.length === 2 && mc.roster.players.length === 2, 'full rosters');
    const aUid = mb.roster.players.find((p) => p.account === alice)!.uid;
    await a.leaveChannel();
    for (const [client, roster] of [
      [b, mb.roster],
      [c, mc.roster],
    ] as const) {
      expect(await client.next('leaveChannel')).toEqual({ account: alice, cid, channelId: cid });
      expect(await client.next('clientLeave')).toEqual({ cid, account: alice, uid: aUid });
      const order = client.order
        .map((e) => e.event)
        .filter((e) => e === 'leaveChannel' || e === 'clientLeave');
      expect(order).toEqual(['leaveChannel', 'clientLeave']);
      expect(roster.players.map((p) => p.account)).toEqual(
        [alice, bob, carol].filter((x) => x !== alice && x !== client.account),
      );
    }
    // alice is out: leaving again is refused.
    await expect(a.leaveChannel({ cid })).rejects.toMatchObject({ code: 404 });
  });

  it('keeps a dropped member for its grace period: back in time it rejoins (the others see it join again)', async () => {
    const [alice, bob, room] = fresh('alice', 'bob', 'room');
    const sockets = cuttableSockets();
    const a = await connectClient(server, alice, {
      connectSocket: sockets.connectSocket,
      reconnectDelay: 50,
    });
    const [b] = await online(bob);
    const { cid } = await a.createChannel({ channelName: room });
    await fill(room, [a, b]);
    sockets.cut();
    // Within the grace period the client reconnects and rejoins (startRtc with the cid): bob sees it join again.
    expect(await a.next('reconnected', 10000)).toEqual({ count: 1 });
    const rejoined = await b.next('clientJoin', 10000);
    expect(rejoined).toMatchObject({ account: alice, cid });
    // The same stream; its signature may carry a later second (every URL is signed when it is handed out).
    const stream = (url: string) => url.split('?')[0];
    expect(stream(rejoined.url)).toBe(
      stream(b.seen('syncDone')[0].userlist.find((u) => u.account === alice)!.url),
    );
    expect(b.seen('leaveChannel')).toEqual([]);
    a.close(); // a clean close: it leaves at once
    expect(await b.next('leaveChannel')).toMatchObject({ account: alice, cid });
  });

  it('ends the room for a member whose connection is lost past the grace period', async () => {
    const [alice, bob, room] = fresh('alice', 'bob', 'room');
    const sockets = cuttableSockets();
    const a = await connectClient(server, alice, { connectSocket: sockets.connectSocket, maxReconnects: 0 });
    const [b] = await online(bob);
    const { cid } = await a.createChannel({ channelName: room });
    await fill(room, [a, b]);
    sockets.cut();
    expect(await b.next('leaveChannel', 10000)).toEqual({ account: alice, cid, channelId: cid });
    expect(await b.next('clientLeave')).toMatchObject({ account: alice, cid });
  });
});
