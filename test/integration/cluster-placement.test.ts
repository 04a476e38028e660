/** @jest-environment node */
/**
 * Where a cluster places a call's media, with both nodes on the default `least-loaded` strategy: on the node
 * that announced the smaller load, by id only on a tie, and never on a node of another media engine. The node
 * that wins ties (`nodea`) is the one loaded, so a comparison that ignored or reversed the load would still pick
 * it; the positive control is the same call placed on it again once the loads are equal.
 *
 * Placement reads each node's copy of the node table, refreshed at its ticks. Seeing the table in Redis is not
 * enough: `seenBy` waits, on keyspace notifications, until each node finished a refresh that began after now.
 */
import Redis from 'ioredis';
import type { RunningServer } from '../../server/index';
import type { NodeInfo } from '../../server/store/cluster';
import { startRedis, type TestRedis } from '../helpers/redis';
import {
  closeClients,
  connectClient,
  establishCall,
  startTestServer,
  type TestClient,
  origin,
} from '../helpers/server';
import { names } from '../helpers/session';
import { eventually } from '../helpers/wait';

const PREFIX = 'netcall:';
const MARK = 'test:placement-mark';
// Generous: a node ticks every third of its 3 s time to live, on two cores shared with other test runs.
const SEEN_MS = 20_000;

let redis: TestRedis;
let a: RunningServer;
let b: RunningServer;
let admin: Redis;
let announcements: Announcements;

/** A wait for two announcements of each of `nodes`, counted from the return of its marker. */
interface Wait {
  mark: string;
  /** Announcements heard per node since the marker; null until the marker is back. */
  counts: Map<string, number> | null;
  nodes: string[];
  done(): void;
}

/**
 * Every node's announcements (the SET of its `alive` key each tick), in Redis's own order, interleaved with
 * markers this test publishes on the same connection: an announcement heard after a marker was made after it.
 */
class Announcements {
  private readonly sub: Redis;
  private readonly waiting = new Set<Wait>();
  private marks = 0;

  constructor(url: string) {
    this.sub = new Redis(url);
    this.sub.on('message', (_channel: string, mark: string) => {
      for (const wait of this.waiting)
        if (wait.mark === mark) wait.counts = new Map(wait.nodes.map((node) => [node, 0]));
    });
    this.sub.on('pmessage', (_pattern: string, channel: string) => {
      const node = channel.slice(channel.lastIndexOf(':') + 1);
      for (const wait of this.waiting) {
        const count = wait.counts?.get(node);
        if (count === undefined) continue;
        wait.counts!.set(node, count + 1);
        if ([...wait.counts!.values()].every((n) => n >= 2)) wait.done();
      }
    });
  }

  async start(): Promise<void> {
    await admin.config('SET', 'notify-keyspace-events', 'K$');
    await this.sub.psubscribe(`__keyspace@0__:${PREFIX}alive:*`);
    await this.sub.subscribe(MARK);
  }

  /**
   * Resolves once each of `nodes` has read the node table as it is now. Its first announcement after the marker
   * starts a tick whose refresh reads the table after the marker; the second means that tick finished (a node's
   * ticks do not overlap).
   */
  async seenBy(nodes: string[]): Promise<void> {
    let wait!: Wait;
    const finished = new Promise<void>((done) => {
      wait = { mark: String(++this.marks), counts: null, nodes, done };
    });
    this.waiting.add(wait);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      const heard = () => JSON.stringify(wait.counts && [...wait.counts]);
      const fail = () =>
        reject(new Error(`not within ${SEEN_MS} ms: two announcements of ${nodes.join(', ')} (${heard()})`));
      timer = setTimeout(fail, SEEN_MS);
    });
    try {
      await admin.publish(MARK, wait.mark);
      await Promise.race([finished, late]);
    } finally {
      clearTimeout(timer);
      this.waiting.delete(wait);
    }
  }

  close(): void {
    this.sub.disconnect();
  }
}

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
  announcements = new Announcements(redis.url);
  await announcements.start();
  a = await startTestServer({ redis: redis.url, nodeId: 'nodea' });
  b = await startTestServer({ redis: redis.url, nodeId: 'nodeb' });
});
afterAll(async () => {
  announcements?.close();
  admin?.disconnect();
  await Promise.all([a?.close(), b?.close()]);
  await redis?.stop();
});
afterEach(closeClients);

async function nodeTable(): Promise<Record<string, NodeInfo>> {
  const table = await admin.hgetall(`${PREFIX}nodes`);
  return Object.fromEntries(Object.entries(table).map(([id, text]) => [id, JSON.parse(text) as NodeInfo]));
}

/** Once the table in Redis shows these loads, and every node named has read it so. */
async function loadsAnnounced(loads: Record<string, number>): Promise<void> {
  let seen: Record<string, NodeInfo> = {};
  await eventually(
    async () => {
      seen = await nodeTable();
      return Object.entries(loads).every(([id, load]) => seen[id]?.load === load);
    },
    () => `loads ${JSON.stringify(loads)} announced; table: ${JSON.stringify(seen)}`,
    SEEN_MS,
    50,
  );
  await announcements.seenBy(Object.keys(loads));
}

/**
 * A call answered and started on both sides; `decider` is the callee, whose startRtc comes first and places the
 * call. Returns the node every URL of it names (the stream name's head), checked to be one.
 */
async function callPlacedBy(
  caller: RunningServer,
  decider: RunningServer,
  nodes: Record<string, RunningServer>,
): Promise<{ node: string; from: TestClient }> {
  const [x, y] = names('placer', 'placed');
  const from = await connectClient(caller, x);
  const to = await connectClient(decider, y);
  const { syncA, syncB } = await establishCall(from, to);
  const urls = [...syncA.userlist, ...syncB.userlist].map((user) => user.url);
  const placed = [...new Set(urls.map((url) => new URL(url).pathname.split('/').pop()!.split('_')[0]))];
  expect(placed).toHaveLength(1);
  // The stream name and the origin agree: the URL leads to that node's media server.
  expect(new Set(urls.map(origin))).toEqual(new Set([nodes[placed[0]].media.rtmp]));
  return { node: placed[0], from };
}

describe('least-loaded placement across two nodes', () => {
  it('places a new call on the less loaded node, and by id again once the loads are equal', async () => {
    const nodes = { nodea: a, nodeb: b };
    await loadsAnnounced({ nodea: 0, nodeb: 0 });
    // A tie: the first id wins.
    const first = await callPlacedBy(a, b, nodes);
    expect(first.node).toBe('nodea');
    // Its two streams are nodea's load now; nodea decides the next call itself, against its own announcement.
    await loadsAnnounced({ nodea: 2, nodeb: 0 });
    const second = await callPlacedBy(b, a, nodes);
    expect(second.node).toBe('nodeb');

    await first.from.hangup();
    await second.from.hangup();
    await loadsAnnounced({ nodea: 0, nodeb: 0 });
    // The control: the same call, from the same node, only with the loads equal, goes to the tie's winner.
    const third = await callPlacedBy(b, a, nodes);
    expect(third.node).toBe('nodea');
    await third.from.hangup();
  }, 90_000);

  it('spreads calls one node places between two readings of the table', async () => {
    const nodes = { nodea: a, nodeb: b };
    await loadsAnnounced({ nodea: 0, nodeb: 0 });
    // Back to back, decided by nodeb: its next reading of the table (a tick) is up to a second away, and until
    // then the table says 0 and 0. The first goes to the tie's winner, as in the test above (the control).
    const first = await callPlacedBy(a, b, nodes);
    const second = await callPlacedBy(a, b, nodes);
    expect([first.node, second.node]).toEqual(['nodea', 'nodeb']);
    await first.from.hangup();
    await second.from.hangup();
  }, 90_000);

  it('never places a call on a node of another media engine, however little it carries', async () => {
    // Both join with nothing to carry, and sort before nodea: at equal loads, the first id that may be chosen wins.
    const other = await startTestServer({ redis: redis.url, nodeId: 'node0', media: 'nginx' });
    try {
      // Started second, so any table that shows node1 shows node0 too.
      const same = await startTestServer({ redis: redis.url, nodeId: 'node1' });
      try {
        await loadsAnnounced({ node0: 0, node1: 0, nodea: 0, nodeb: 0 });
        const table = await nodeTable();
        expect(table.node0.media).toMatchObject({ engine: 'nginx', rtmp: other.media.rtmp });
        expect(table.node1.media).toMatchObject({ engine: 'embedded', rtmp: same.media.rtmp });
        const nodes = { node0: other, node1: same, nodea: a, nodeb: b };
        // node1 chosen is the control: the deciding node saw both newcomers, and skipped node0 for its engine.
        const call = await callPlacedBy(a, b, nodes);
        expect(call.node).toBe('node1');
        await call.from.hangup();
      } finally {
        await same.close();
      }
    } finally {
      await other.close();
    }
  }, 90_000);
});
