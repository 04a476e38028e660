/** @jest-environment node */
/**
 * A node's media server that comes back on other ports (its picked ports were taken while it restarted): the
 * other nodes sign URLs for its new ports once it announces itself again, instead of the old ones for good.
 */
import net from 'node:net';
import type { RunningServer } from '../../server/index';
import { startRedis, type TestRedis } from '../helpers/redis';
import { closeClients, connectClient, establishCall, startTestServer } from '../helpers/server';
import { eventually, eventuallyValue } from '../helpers/wait';

let redis: TestRedis;
let a: RunningServer;
let b: RunningServer;
const squatter = net.createServer();

beforeAll(async () => {
  redis = await startRedis();
  const node = (nodeId: string) => startTestServer({ redis: redis.url, nodeId, mediaPlacement: 'local' });
  a = await node('nodea');
  b = await node('nodeb');
});
afterEach(closeClients);
afterAll(async () => {
  squatter.close();
  await Promise.all([a?.close(), b?.close()]);
  await redis?.stop();
});

const origin = (url: string) => /^[a-z]+:\/\/[^/]+/.exec(url)![0];
let calls = 0;

/** Where b points the callee's stream when the callee is on a (its media is placed there: it starts RTC first). */
async function originOnA(): Promise<string> {
  calls++;
  const caller = await connectClient(b, `mp-caller-${calls}`);
  const callee = await connectClient(a, `mp-callee-${calls}`);
  const { syncA } = await establishCall(caller, callee);
  await caller.netcall.hangup();
  return origin(syncA.userlist.find((user) => user.account === callee.account)!.url);
}

it('points the other nodes at the ports its media server came back on', async () => {
  // The positive control: before the restart, b points at a's media server where it is.
  expect(await originOnA()).toBe(a.media.rtmp);
  const before = a.health();
  process.kill(before.pid!, 'SIGKILL');
  await eventually(() => a.health().status === 'restarting', 'a media restarting', 10_000);
  // Taken before the restart's first try (100 ms after the crash): the restart ends up on other ports.
  await new Promise<void>((resolve, reject) => {
    squatter.once('error', reject);
    squatter.listen(before.rtmpPort, '127.0.0.1', () => resolve());
  });
  await eventually(
    () => a.health().status === 'up' && a.health().rtmpPort !== before.rtmpPort,
    'a media up on other ports',
    30_000,
  );
  expect(a.media.rtmp).not.toContain(`:${before.rtmpPort}`);
  const seen = await eventuallyValue(
    async () => {
      const at = await originOnA();
      return at === a.media.rtmp ? at : undefined;
    },
    () => `b pointing at ${a.media.rtmp}`,
    10_000,
    200,
  );
  expect(seen).toBe(a.media.rtmp);
}, 60_000);
