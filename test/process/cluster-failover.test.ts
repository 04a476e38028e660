/** @jest-environment node */
/**
 * Faults of a cluster, on real processes: two server nodes (the CLI) on one real redis-server. A node killed
 * mid-call, a node drained (SIGTERM), Redis killed and restarted. Clients hold both nodes' URLs, as an app
 * would (`new Netcall({server: [url1, url2]})`). No call that could be kept is lost, and nothing is left behind.
 */
import Redis from 'ioredis';
import { CLI_TEST_TIMEOUT_MS, startCli, stopAllClis, type RunningCli } from '../helpers/cli';
import { scrapeMetrics, valueOf } from '../helpers/metrics';
import { startRedis, type TestRedis } from '../helpers/redis';
import { TEST_MEDIA_SECRET, TEST_SECRET, closeClients, fetchCounts, origin } from '../helpers/server';
import { disposeParties, inCall, party, phase, type Party } from '../helpers/session';

const METRICS = 'metrics-token-0123456789-0123456789';
const ENV = {
  NETCALL_SECRET: TEST_SECRET,
  NETCALL_MEDIA_SECRET: TEST_MEDIA_SECRET,
  NETCALL_METRICS_TOKEN: METRICS,
};
/** Reconnects at once and keeps at it while a node dies or Redis restarts. */
const PATIENT = { reconnectDelay: 50, maxReconnectDelay: 500, maxReconnects: 40 };

let redis: TestRedis;

afterEach(async () => {
  await disposeParties();
  closeClients();
  await stopAllClis();
  await redis?.stop();
});

interface Node extends RunningCli {
  /** The `rtmp://host:port` origin of its media server, as its ready lines print it. */
  media: string;
}

async function node(id: string, extra: string[] = []): Promise<Node> {
  const args = ['--redis', redis.url, '--node-id', id, '--node-ttl-ms', '1000', '--call-grace-ms', '20000'];
  const cli = await startCli([...args, ...extra], ENV);
  const [, media] = await cli.line(/^media\s+(rtmp:\/\/[^\s/]+)/m);
  return { ...cli, media };
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 100));

/**
 * `attempt` until it succeeds, while it fails with `code` only (a state that clears by itself: Redis coming
 * back, a node's next sweep); any other failure fails the test. The test's own timeout bounds it.
 */
async function once<T>(code: number, attempt: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      expect(error).toMatchObject({ code });
      await pause();
    }
  }
}

/** Resolves once every node says on `/healthz` that it reaches Redis again. */
async function upOnBoth(...nodes: Node[]): Promise<void> {
  for (const n of nodes)
    while (((await fetchCounts(n, METRICS)) as unknown as { redis: string }).redis !== 'up') await pause();
}

/**
 * The next `syncDone` `p` gets whose URLs all point at `media`: the call's media is there now. A killed node's
 * media moves once its key expires and a sweep sees it, later than 5 s on a busy CI machine with six calls.
 */
async function syncDoneOn(p: Party, media: string): Promise<void> {
  for (;;) {
    const sync = await p.netcall.next('syncDone', 15_000);
    if (sync.userlist.every((user) => origin(user.url) === media)) return;
  }
}

/** alice on `first` and bob on `second`, each holding both URLs, in an answered call with media. */
async function callAcross(first: Node, second: Node, tag: string): Promise<[Party, Party]> {
  const alice = await party(first, `${tag}-alice`, {}, { ...PATIENT, server: [first.url, second.url] });
  const bob = await party(second, `${tag}-bob`, {}, { ...PATIENT, server: [second.url, first.url] });
  await inCall(alice, bob);
  await Promise.all([alice.netcall.next('syncDone'), bob.netcall.next('syncDone')]);
  return [alice, bob];
}

describe('a cluster of two nodes', () => {
  it(
    'keeps a call whose node was killed: its device rejoins at the other node, and the media moves there',
    async () => {
      redis = await startRedis();
      const n1 = await node('n1');
      const n2 = await node('n2');
      const [alice, bob] = await callAcross(n1, n2, 'kill');
      // Placed on the least loaded node, the first by name on a tie: the one about to die.
      const first = alice.netcall.seen('syncDone').at(-1)!;
      expect(origin(first.userlist[0].url)).toBe(n1.media);

      n1.child.kill('SIGKILL');
      await alice.netcall.next('reconnected');
      // Both rebind to media on the surviving node; neither call ended.
      await Promise.all([syncDoneOn(alice, n2.media), syncDoneOn(bob, n2.media)]);
      expect(alice.session.phase).toBe('in-call');
      expect(bob.session.phase).toBe('in-call');
      expect([...alice.records, ...bob.records]).toEqual([]);
      // The call still carries controls both ways, through the one node left.
      await alice.netcall.control({ command: 2 });
      expect(await bob.netcall.next('control')).toMatchObject({ command: 2 });

      await alice.session.hangup();
      await phase(bob, 'ended');
      expect(bob.records[0].reason).toBe('remote-hangup');
      // Nothing left behind: no call, and only the two devices online.
      const counts = await fetchCounts(n2, METRICS);
      expect(counts).toMatchObject({ calls: 0, online: 2 });

      // An app started now, with the dead node first in its list, logs in at the live one at once: it rings.
      const carol = await party(n2, 'kill-carol', {}, { server: [n1.url, n2.url], reconnectDelay: 60_000 });
      expect(carol.netcall.seen('willreconnect')).toEqual([]);
      const rung = await alice.netcall.call({ type: 1, callee: carol.netcall.account });
      expect(await carol.netcall.next('beCalling')).toMatchObject({ cid: rung.cid });
      await alice.netcall.hangup();
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'keeps a call whose node was killed and restarted at once under the same name, before its key expired',
    async () => {
      redis = await startRedis();
      // Keys that outlive the restart: nobody else takes over the old process, the new one must.
      const n1 = await node('n1', ['--node-ttl-ms', '60000']);
      const n2 = await node('n2', ['--node-ttl-ms', '60000']);
      const [alice, bob] = await callAcross(n1, n2, 'again');
      n1.child.kill('SIGKILL');
      // A supervisor's restart: the same name, within the key's life.
      const again = await node('n1', ['--node-ttl-ms', '60000']);
      await alice.netcall.next('reconnected');
      await Promise.all([syncDoneOn(alice, n2.media), syncDoneOn(bob, n2.media)]);
      expect([alice.session.phase, bob.session.phase]).toEqual(['in-call', 'in-call']);
      await alice.session.hangup();
      await phase(bob, 'ended');
      expect(bob.records[0].reason).toBe('remote-hangup');
      for (const n of [again, n2])
        expect(await fetchCounts(n, METRICS)).toMatchObject({ calls: 0, online: 2 });
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'asks Redis once, not once per device, whether a killed node is gone, when its devices come back elsewhere',
    async () => {
      redis = await startRedis();
      const n1 = await node('n1');
      const n2 = await node('n2');
      const calls = await Promise.all(
        ['a', 'b', 'c', 'd', 'e', 'f'].map((tag) => callAcross(n1, n2, `herd-${tag}`)),
      );
      // Set up at once, the calls are spread by load as each node's tick sees it: some may already be on n2's
      // media. Those do not move, and only the device that comes back gets a fresh syncDone.
      const movesOff = calls.map(
        ([alice]) => origin(alice.netcall.seen('syncDone').at(-1)!.userlist[0].url) === n1.media,
      );
      const admin = new Redis(redis.url);
      try {
        // Each device that comes back finds its place not yet given up (the node's key outlives it by a moment):
        // whether its node still holds its connection to Redis decides.
        await admin.config('RESETSTAT');
        n1.child.kill('SIGKILL');
        await Promise.all(
          calls.map(([alice, bob], i) =>
            Promise.all([syncDoneOn(alice, n2.media), movesOff[i] && syncDoneOn(bob, n2.media)]),
          ),
        );
        for (const [alice, bob] of calls)
          expect([alice.session.phase, bob.session.phase]).toEqual(['in-call', 'in-call']);
        const stats = await admin.info('commandstats');
        const asked = Number(/^cmdstat_client\|list:calls=(\d+)/m.exec(stats)?.[1] ?? 0);
        // Asked at all (the path was taken), and not by every one of the six devices.
        expect(asked).toBeGreaterThanOrEqual(1);
        expect(asked).toBeLessThanOrEqual(2);
      } finally {
        admin.disconnect();
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'drains a node on SIGTERM: its devices move to the other node at once and their call goes on',
    async () => {
      redis = await startRedis();
      const n1 = await node('n1');
      const n2 = await node('n2');
      const [alice, bob] = await callAcross(n1, n2, 'drain');
      n1.child.kill('SIGTERM');
      expect(await n1.exited).toBe(0);
      await alice.netcall.next('reconnected');
      await Promise.all([syncDoneOn(alice, n2.media), syncDoneOn(bob, n2.media)]);
      expect([alice.session.phase, bob.session.phase]).toEqual(['in-call', 'in-call']);
      expect([...alice.records, ...bob.records]).toEqual([]);
      await bob.netcall.control({ command: 4 });
      expect(await alice.netcall.next('control')).toMatchObject({ command: 4 });
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'answers 503 while Redis is down, reports it on /healthz, and works again once Redis is back',
    async () => {
      redis = await startRedis();
      const n1 = await node('n1');
      const n2 = await node('n2');
      const alice = await party(n1, 'redis-alice', {}, { ...PATIENT, server: [n1.url, n2.url] });
      const bob = await party(n2, 'redis-bob', {}, { ...PATIENT, server: [n2.url, n1.url] });
      // Positive control: a call across the nodes rings before the fault.
      const before = await alice.netcall.call({ type: 1, callee: bob.netcall.account });
      expect(await bob.netcall.next('beCalling')).toMatchObject({ cid: before.cid });
      await alice.netcall.hangup();

      await redis.kill();
      await expect(alice.netcall.call({ type: 1, callee: bob.netcall.account })).rejects.toMatchObject({
        code: 503,
      });
      expect(await fetchCounts(n1, METRICS)).toMatchObject({ status: 'degraded', redis: 'down' });
      // The scrape answers, saying the store is down and the counts read from it unknown (not 0).
      const down = await scrapeMetrics(n1, METRICS);
      expect(valueOf(down, 'netcall_store_up')).toBe(0);
      expect(valueOf(down, 'netcall_online_accounts')).toBeNaN();
      expect(valueOf(down, 'netcall_calls', { state: 'ringing' })).toBeNaN();
      expect(valueOf(down, 'netcall_connections')).toBe(1);
      // The refusal cost nothing else: the connection is still up.
      expect(alice.netcall.isConnected).toBe(true);

      await redis.restart();
      await upOnBoth(n1, n2);
      // The positive control of the scrape: with Redis back, the same series are numbers again.
      const up = await scrapeMetrics(n1, METRICS);
      expect(valueOf(up, 'netcall_store_up')).toBe(1);
      expect(valueOf(up, 'netcall_calls', { state: 'ringing' })).toBe(0);
      // The restarted Redis is empty: each node put its devices back, so a call across nodes rings again. Until
      // n2 has put bob back (its next sweep), bob is not online: 404.
      const after = await once(404, () => alice.netcall.call({ type: 1, callee: bob.netcall.account }));
      expect(await bob.netcall.next('beCalling')).toMatchObject({ cid: after.cid });
      expect(alice.netcall.seen('willreconnect')).toEqual([]);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'keeps a call across a restart of a Redis that persists (append-only file), as production runs it',
    async () => {
      redis = await startRedis({ persist: true });
      const n1 = await node('n1');
      const n2 = await node('n2');
      const [alice, bob] = await callAcross(n1, n2, 'aof');
      await redis.kill();
      // Refused while Redis is away, and the call is not ended for it.
      await expect(alice.netcall.control({ command: 2 })).rejects.toMatchObject({ code: 503 });
      await redis.restart();
      // Each node finds Redis back on its own reconnect: bob's may come a moment after alice's.
      await upOnBoth(n1, n2);
      await once(503, () => alice.netcall.control({ command: 2 }));
      expect(await bob.netcall.next('control')).toMatchObject({ command: 2 });
      expect([alice.session.phase, bob.session.phase]).toEqual(['in-call', 'in-call']);
      await bob.session.hangup();
      await phase(alice, 'ended');
      expect(alice.records[0].reason).toBe('remote-hangup');
      expect(await fetchCounts(n1, METRICS)).toMatchObject({ calls: 0 });
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'ends a call whose ring timeout passed while Redis was down, once Redis is back',
    async () => {
      redis = await startRedis({ persist: true });
      const ring = ['--ring-timeout-ms', '1500'];
      const n1 = await node('n1', ring);
      const n2 = await node('n2', ring);
      const alice = await party(n1, 'ring-alice', {}, { ...PATIENT, server: [n1.url, n2.url] });
      const bob = await party(n2, 'ring-bob', {}, { ...PATIENT, server: [n2.url, n1.url] });
      // Positive control: with Redis up, an unanswered call ends at its ring timeout for both sides.
      const first = await alice.netcall.call({ type: 1, callee: bob.netcall.account });
      expect(await bob.netcall.next('beCalling')).toMatchObject({ cid: first.cid });
      expect(await alice.netcall.next('hangup', 10_000)).toMatchObject({ cid: first.cid, reason: 'timeout' });
      expect(await bob.netcall.next('hangup', 10_000)).toMatchObject({ cid: first.cid, reason: 'timeout' });

      const second = await alice.netcall.call({ type: 1, callee: bob.netcall.account });
      expect(await bob.netcall.next('beCalling')).toMatchObject({ cid: second.cid });
      await redis.kill();
      // The timer fired while Redis was away: postponed, not dropped.
      await n1.line(/timer postponed/, 10_000);
      await redis.restart();
      expect(await alice.netcall.next('hangup', 15_000)).toMatchObject({
        cid: second.cid,
        reason: 'timeout',
      });
      expect(await bob.netcall.next('hangup', 15_000)).toMatchObject({ cid: second.cid, reason: 'timeout' });
      expect(await fetchCounts(n1, METRICS)).toMatchObject({ calls: 0 });
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
