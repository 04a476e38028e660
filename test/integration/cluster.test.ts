/** @jest-environment node */
/**
 * Two server nodes on one real Redis behave as one service: calls, group calls and rooms across nodes, every
 * device of an account ringing wherever it is, busy across nodes, the live directory the same from both, and
 * media placed on one node for the whole call. (Node death, drain and Redis restarts run the CLI: see
 * test/process/cluster-failover.test.ts.)
 */
import type { RunningServer } from '../../server/index';
import { startRedis, type TestRedis } from '../helpers/redis';
import Redis from 'ioredis';
import jwt from 'jsonwebtoken';
import { mintToken } from '../../server/index';
import {
  TEST_SECRET,
  closeClients,
  connectClient,
  establishCall,
  fetchCalls,
  roundTrip,
  startTestServer,
  origin,
} from '../helpers/server';
import { names } from '../helpers/session';
import { MemoryStore } from '../../server/store/memory';
import { eventually } from '../helpers/wait';
import { scrapeMetrics, valueOf } from '../helpers/metrics';
import { recordLive } from '../contract/live-events';

let redis: TestRedis;
let a: RunningServer;
let b: RunningServer;
const METRICS = 'metrics-token-0123456789-0123456789';

beforeAll(async () => {
  redis = await startRedis();
  const cluster = { redis: redis.url, metricsToken: METRICS };
  a = await startTestServer({ ...cluster, nodeId: 'nodea' });
  b = await startTestServer({ ...cluster, nodeId: 'nodeb' });
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await redis?.stop();
});
afterEach(closeClients);

describe('two nodes on one Redis', () => {
  it('places a 1:1 call between nodes; both sides get URLs on one media server, and a hangup crosses over', async () => {
    const [alice, bob] = names('alice', 'bob');
    const caller = await connectClient(a, alice);
    const callee = await connectClient(b, bob);
    const { cid, syncA, syncB } = await establishCall(caller, callee);
    const urls = [...syncA.userlist, ...syncB.userlist].map((user) => origin(user.url));
    // One media server for the call, whichever node handed out the URL.
    expect(new Set(urls).size).toBe(1);
    expect([a.media.rtmp, b.media.rtmp]).toContain(urls[0]);
    // /metrics counts the cluster's calls (read from Redis) and each node's own connections.
    for (const node of [a, b]) {
      const scraped = await scrapeMetrics(node, METRICS);
      expect(valueOf(scraped, 'netcall_calls', { state: 'accepted' })).toBe(1);
      expect(valueOf(scraped, 'netcall_connections')).toBe(1);
    }
    await callee.hangup();
    expect(await caller.next('hangup')).toMatchObject({ cid, account: bob });
    for (const node of [a, b])
      expect(valueOf(await scrapeMetrics(node, METRICS), 'netcall_calls', { state: 'accepted' })).toBe(0);
    // One history for the cluster: the call is listed from either node, for either party.
    for (const node of [a, b])
      for (const account of [alice, bob]) {
        // The record is written as the call ends, beside the hangup the caller just heard: wait for it.
        let listed = await fetchCalls(node, account);
        for (let tries = 0; listed.calls.length === 0 && tries < 50; tries++)
          listed = await new Promise((resolve) => setTimeout(resolve, 20)).then(() =>
            fetchCalls(node, account),
          );
        expect(listed.status).toBe(200);
        expect(listed.calls.map((call) => call.cid)).toEqual([cid]);
      }
  });

  it('rings every device of the callee, on both nodes; the one that answers takes the call', async () => {
    const [alice, bob] = names('alice', 'bob');
    const caller = await connectClient(a, alice);
    const phone = await connectClient(a, bob);
    const pad = await connectClient(b, bob);
    const { cid } = await caller.call({ type: 1, callee: bob });
    expect(await phone.next('beCalling')).toMatchObject({ cid, caller: alice });
    expect(await pad.next('beCalling')).toMatchObject({ cid, caller: alice });
    await pad.response({ accepted: true, caller: alice, type: 1, cid });
    expect(await caller.next('callAccepted')).toMatchObject({ cid, account: bob });
    expect(await phone.next('callerAckSync')).toMatchObject({ cid, accepted: true });
  });

  it('tells a caller the callee is busy in a call on the other node', async () => {
    const [alice, bob, carol] = names('alice', 'bob', 'carol');
    const busyA = await connectClient(a, alice);
    const busyB = await connectClient(b, bob);
    await establishCall(busyA, busyB);
    const caller = await connectClient(a, carol);
    const { cid } = await caller.call({ type: 1, callee: bob });
    // The callee's device (on the other node) hears the ring while in its call, and answers it busy.
    const ring = await busyB.next('beCalling');
    expect(ring).toMatchObject({ cid, caller: carol });
    await busyB.response({ accepted: false, caller: carol, type: 1, cid, reason: 'busy' });
    expect(await caller.next('callRejected')).toMatchObject({ cid, account: bob, reason: 'busy' });
    // Positive control: the busy call itself still works across the nodes.
    await busyA.control({ command: 2 });
    expect(await busyB.next('control')).toMatchObject({ command: 2 });
  });

  it('holds a room whose members are on both nodes', async () => {
    const [alice, bob, carol, room] = names('alice', 'bob', 'carol', 'room');
    const [x, y, z] = await Promise.all([
      connectClient(a, alice),
      connectClient(b, bob),
      connectClient(a, carol),
    ]);
    await x.createChannel({ channelName: room });
    await x.joinChannel({ channelName: room, type: 2 });
    await x.startRtc({ mode: 0 });
    await x.next('syncDone');
    await y.joinChannel({ channelName: room, type: 2 });
    await y.startRtc({ mode: 0 });
    const syncY = await y.next('syncDone');
    expect(syncY.userlist.map((user) => user.account).sort()).toEqual([alice, bob].sort());
    expect(await x.next('clientJoin')).toMatchObject({ account: bob });
    await z.joinChannel({ channelName: room, type: 2 });
    await z.startRtc({ mode: 0 });
    const syncZ = await z.next('syncDone');
    expect(syncZ.userlist.map((user) => user.account).sort()).toEqual([alice, bob, carol].sort());
    expect(await y.next('clientJoin')).toMatchObject({ account: carol });
    expect(new Set(syncZ.userlist.map((user) => origin(user.url))).size).toBe(1);
    // A name is taken cluster-wide.
    await expect(y.createChannel({ channelName: room })).rejects.toMatchObject({ code: 417 });
    await y.leaveChannel();
    expect(await x.next('clientLeave')).toMatchObject({ account: bob });
    expect(await z.next('clientLeave')).toMatchObject({ account: bob });
  });

  it('rings a group call on both nodes', async () => {
    const [alice, bob, carol] = names('alice', 'bob', 'carol');
    const [x, y, z] = await Promise.all([
      connectClient(a, alice),
      connectClient(b, bob),
      connectClient(b, carol),
    ]);
    const { cid } = await x.call({ type: 1, callee: [bob, carol] });
    expect(await y.next('beCalling')).toMatchObject({ cid, caller: alice });
    expect(await z.next('beCalling')).toMatchObject({ cid, caller: alice });
    await y.response({ accepted: true, caller: alice, type: 1, cid });
    await x.startRtc({ mode: 0 });
    await y.startRtc({ mode: 0 });
    expect((await y.next('syncDone')).userlist.map((user) => user.account).sort()).toEqual(
      [alice, bob].sort(),
    );
  });

  it('lists the same live rooms from both nodes', async () => {
    const [host, room] = names('host', 'live');
    const x = await connectClient(a, host);
    await x.createChannel({ channelName: room });
    await x.joinChannel({ channelName: room, type: 2, liveEnable: true });
    const list = async (node: RunningServer) => {
      const res = await fetch(`${node.httpUrl}/api/live`, {
        headers: { authorization: `Bearer ${mintToken(TEST_SECRET, host)}` },
      });
      const body = (await res.json()) as { rooms: Array<{ channelName: string }> };
      return body.rooms.map((entry) => entry.channelName);
    };
    expect(await list(a)).toContain(room);
    expect(await list(b)).toEqual(await list(a));
  });

  it('kicks an account on every node', async () => {
    const [alice] = names('alice');
    const here = await connectClient(a, alice);
    const there = await connectClient(b, alice);
    a.kick(alice, 'banned');
    expect(await here.next('kicked')).toMatchObject({ reason: 'banned' });
    expect(await there.next('kicked')).toMatchObject({ reason: 'banned' });
  });

  it("revokes at the kick's time on a node the kick reaches late, not at its arrival", async () => {
    const [carol] = names('carol');
    // A kick ten seconds ago, as another node sends it on the bus, arriving only now.
    const at = Math.floor(Date.now() / 1000) - 10;
    const issued = (iat: number) => jwt.sign({ iat }, TEST_SECRET, { subject: carol, expiresIn: 600 });
    // One device logged in before the kick; another with a token the business server minted after it, in the
    // time the kick took to get here.
    const device = await connectClient(b, carol, { token: issued(at - 5) });
    const after = await connectClient(b, carol, { token: issued(at + 1) });
    // And one that logged in before it but renewed its token with one minted after it.
    const renewed = await connectClient(b, carol, { token: issued(at - 5) });
    await renewed.netcall.renewToken(issued(at + 2));
    const admin = new Redis(redis.url);
    try {
      const kick = { t: 'kick', account: carol, reason: 'banned', at };
      await admin.publish('netcall:bus:*all', JSON.stringify(kick));
    } finally {
      admin.disconnect();
    }
    expect(await device.next('kicked')).toMatchObject({ reason: 'banned' });
    // The node ended the account's sessions in one pass on the kick's arrival, so by now it has spared the later
    // one or not: it still answers, and heard no kick.
    for (const spared of [after, renewed]) {
      await expect(spared.netcall.renewToken(issued(at + 3))).resolves.toBeUndefined();
      expect(spared.seen('kicked')).toEqual([]);
      expect(spared.isConnected).toBe(true);
    }
    // A token of the kick's second is refused; one minted a second later logs in (it is not "before" the kick,
    // whenever the kick reached this node).
    await expect(connectClient(b, carol, { token: issued(at), maxReconnects: 0 })).rejects.toMatchObject({
      code: 401,
      message: expect.stringMatching(/revoked/),
    });
    const fresh = await connectClient(b, carol, { token: issued(at + 1) });
    expect(fresh.isConnected).toBe(true);
  });

  it("refuses a kicked account's old token on a node that started after the kick", async () => {
    const [bob] = names('bob');
    const before = mintToken(TEST_SECRET, bob);
    const bobs = await connectClient(a, bob, { token: before });
    a.kick(bob, 'banned');
    await bobs.next('kicked');
    const kickedAt = Math.floor(Date.now() / 1000);
    const c = await startTestServer({ redis: redis.url, metricsToken: METRICS, nodeId: 'nodek' });
    try {
      await expect(connectClient(c, bob, { token: before, maxReconnects: 0 })).rejects.toMatchObject({
        code: 401,
        message: expect.stringMatching(/revoked/),
      });
      // The positive control: a token minted after the kick logs in there.
      const after = jwt.sign({ iat: kickedAt + 1 }, TEST_SECRET, { subject: bob, expiresIn: 600 });
      const fresh = await connectClient(c, bob, { token: after });
      expect(fresh.isConnected).toBe(true);
    } finally {
      await c.close();
    }
  });

  it('shares caps across nodes: calls to one callee a minute are counted on both', async () => {
    const [alice, bob] = names('alice', 'bob');
    const callerA = await connectClient(a, alice);
    const callerB = await connectClient(b, alice);
    await connectClient(b, bob);
    // 10 a minute per pair by default: 5 placed from each node, then the 11th is refused on either.
    for (let i = 0; i < 10; i++) {
      const client = i % 2 === 0 ? callerA : callerB;
      await client.call({ type: 1, callee: bob });
      await client.hangup();
    }
    await expect(callerA.call({ type: 1, callee: bob })).rejects.toMatchObject({ code: 429 });
    await expect(callerB.call({ type: 1, callee: bob })).rejects.toMatchObject({ code: 429 });
    await roundTrip(callerA);
  });

  it('leaves no Redis connection behind when a node fails to start', async () => {
    const clients = async () => {
      const probe = new Redis(redis.url);
      const list = (await probe.call('CLIENT', 'LIST')) as string;
      probe.disconnect();
      // The probe's own line is in the list.
      return list.trim().split('\n').length - 1;
    };
    const before = await clients();
    // Its port is taken (by node a): it connects to Redis, then cannot listen.
    await expect(startTestServer({ redis: redis.url, nodeId: 'nodec', port: a.port })).rejects.toThrow();
    expect(await clients()).toBe(before);
    // Positive control: a node that starts holds connections of its own.
    const c = await startTestServer({ redis: redis.url, nodeId: 'nodec' });
    expect(await clients()).toBeGreaterThan(before);
    await c.close();
  });

  it('tells the audience where the live stream plays when its media node drains', async () => {
    const [host, viewer, room] = names('host', 'viewer', 'moving');
    // The live room's media is placed on the node its host joins at: this third node, which then leaves.
    const c = await startTestServer({
      redis: redis.url,
      metricsToken: METRICS,
      nodeId: 'nodec',
      mediaPlacement: 'local',
    });
    try {
      const x = await connectClient(c, host);
      await x.createChannel({ channelName: room });
      await x.joinChannel({ channelName: room, type: 2, liveEnable: true });
      // b learns of the new node at its next look at the node table (at most a second).
      await eventually(async () => {
        const res = await fetch(`${b.httpUrl}/api/live/${room}`, {
          headers: { authorization: `Bearer ${mintToken(TEST_SECRET, viewer)}` },
        });
        const body = (await res.json()) as { room?: { play: { flv: string } } };
        return body.room !== undefined && origin(body.room.play.flv) === c.media.http;
      }, 'the directory on b pointing at the new node');
      const y = await connectClient(b, viewer);
      const watching = await y.joinChannel({ channelName: room, type: 2, liveEnable: true });
      expect(origin(watching.live!.flv)).toBe(c.media.http);
      const moved = recordLive(y).next('liveStreamMoved');
      await c.close();
      const { cid, live } = await moved;
      expect(cid).toBe(watching.cid);
      expect([a.media.http, b.media.http]).toContain(origin(live.flv));
      expect([a.media.rtmp, b.media.rtmp]).toContain(origin(live.rtmp));
    } finally {
      await c.close();
    }
  });

  it('refuses options that would keep state outside Redis beside it', async () => {
    const cluster = { redis: redis.url, nodeId: 'nodex' };
    await expect(startTestServer({ ...cluster, store: new MemoryStore() })).rejects.toThrow(
      /`store` does not apply with `redis`/,
    );
    await expect(startTestServer({ ...cluster, historyFile: '/nonexistent/h.jsonl' })).rejects.toThrow(
      /`historyFile` does not apply with `redis`/,
    );
  });

  it('reports both nodes healthy, with Redis up', async () => {
    for (const node of [a, b]) {
      const res = await fetch(`${node.httpUrl}/healthz`);
      expect(await res.json()).toMatchObject({ status: 'ok', redis: 'up' });
    }
  });
});
