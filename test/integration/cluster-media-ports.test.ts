/** @jest-environment node */
/**
 * A node's media server that comes back: on other ports (its picked ports were taken while it restarted), the
 * other nodes sign URLs for its new ports once it announces itself again, instead of the old ones for good; and
 * only the calls placed on it get fresh URLs, not the other node's (they lost nothing). Two nodes in this
 * process on a real redis-server, the media plane's real worker killed.
 */
import net from 'node:net';
import type { RunningServer } from '../../server/index';
import { startRedis, type TestRedis } from '../helpers/redis';
import { closeClients, connectClient, establishCall, startTestServer, origin } from '../helpers/server';
import { eventually, eventuallyValue } from '../helpers/wait';

let redis: TestRedis;
let a: RunningServer;
let b: RunningServer;
const squatter = net.createServer();

beforeAll(async () => {
  redis = await startRedis();
  // Each call's media goes where its first startRtc is handled: both sides of a call on one node put it there.
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

it("refreshes the calls on the node whose media came back, and leaves the other node's calls alone", async () => {
  const onA = [await connectClient(a, 'mr-a-caller'), await connectClient(a, 'mr-a-callee')] as const;
  const onB = [await connectClient(b, 'mr-b-caller'), await connectClient(b, 'mr-b-callee')] as const;
  const callA = await establishCall(...onA);
  const callB = await establishCall(...onB);
  expect(origin(callA.syncA.userlist[0].url)).toBe(a.media.rtmp);
  expect(origin(callB.syncA.userlist[0].url)).toBe(b.media.rtmp);
  const before = onB.map((client) => client.seen('syncDone').length);

  const { pid, restarts } = a.health();
  process.kill(pid!, 'SIGKILL');
  await eventually(() => a.health().restarts === restarts + 1, 'a media restarted', 30_000);
  // The positive control: both members of the call on a's media are handed its URLs again.
  const fresh = await Promise.all(onA.map((client) => client.next('syncDone', 30_000)));
  for (const sync of fresh)
    expect(sync.userlist.map((user) => origin(user.url))).toEqual([a.media.rtmp, a.media.rtmp]);

  // Whatever a sent b's clients for that restart went over the bus before a call a places now, and b delivers
  // them in order: once each has heard its ring, any syncDone of the refresh would have come before it.
  const probes = [await connectClient(a, 'mr-probe-1'), await connectClient(a, 'mr-probe-2')];
  await Promise.all(probes.map((probe, index) => probe.call({ type: 2, callee: onB[index].account })));
  await Promise.all(onB.map((client) => client.next('beCalling')));
  expect(onB.map((client) => client.seen('syncDone').length)).toEqual(before);
  // And their call goes on.
  await onB[0].control({ command: 2 });
  expect(await onB[1].next('control')).toMatchObject({ cid: callB.cid, command: 2 });
}, 60_000);
