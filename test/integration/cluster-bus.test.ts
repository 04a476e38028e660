/** @jest-environment node */
/**
 * The bus between nodes, on a real redis-server: two Cluster instances as two nodes would run them. A
 * broadcast reaches every other node and not its sender, which has already done what it says (a kick it heard
 * back would end sessions that logged in again after it).
 */
import { Cluster, type BusMessage } from '../../server/store/cluster';
import { RedisStore } from '../../server/store/redis';
import { startRedis, type TestRedis } from '../helpers/redis';

let redis: TestRedis;
const running: Array<{ cluster: Cluster; store: RedisStore }> = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const { cluster, store } of running.splice(0)) {
    await cluster.stop();
    await store.close();
  }
  await redis?.stop();
});

const quiet = { info: () => undefined, warn: () => undefined };

/** A node's bus: what it hears, in order, and a way to wait for the next of it. */
async function node(id: string) {
  const store = new RedisStore({ url: redis.url, prefix: 'bus-test:' });
  await store.connect();
  const heard: BusMessage[] = [];
  const waiters: Array<() => void> = [];
  const cluster = new Cluster({
    store,
    url: redis.url,
    node: { id, url: '', media: { rtmp: '', http: '', engine: 'embedded' } },
    ttlMs: 3000,
    onMessage: (message) => {
      heard.push(message);
      for (const wake of waiters.splice(0)) wake();
    },
    onNodeDead: async () => undefined,
    onSweep: async () => undefined,
    load: () => 0,
    log: quiet,
  });
  await cluster.start();
  running.push({ cluster, store });
  const hears = async (count: number): Promise<BusMessage[]> => {
    while (heard.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    return heard;
  };
  return { cluster, heard, hears };
}

describe('the bus', () => {
  it('delivers a broadcast to the other nodes, not back to its sender', async () => {
    const x = await node('x');
    const y = await node('y');
    const kick: BusMessage = { t: 'kick', account: 'alice', reason: 'banned', at: 1_800_000_000 };
    x.cluster.broadcast(kick);
    // Positive control: the other node hears it, with the kick's time as sent.
    expect(await y.hears(1)).toEqual([expect.objectContaining(kick)]);
    // Then y writes to x. Redis delivers to x's subscriber in publishing order: had x heard its own broadcast,
    // it would have come first.
    const after: BusMessage = { t: 'kick', account: 'bob', reason: 'second', at: 1_800_000_001 };
    y.cluster.send('x', after);
    expect(await x.hears(1)).toEqual([after]);
  });
});
