/** @jest-environment node */
/**
 * Call history and missed-call notices through real signalling: calls made with CallSession end up in
 * `GET /api/calls` for both parties, and an unanswered call sends the callee a WeChat subscribe message
 * (to a local stand-in of WeChat's API that checks the documented request shape), at most one per caller and
 * callee per interval. A file history keeps the calls across a server restart.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { RunningServer } from '../../server/index';
import { FileCallHistory } from '../../server/history';
import { WeChatSubscribeNotifier, formatWeChatTime } from '../../server/notify';
import { closeClients, connectClient, establishCall, fetchCalls, startTestServer } from '../helpers/server';
import { disposeParties, ended, inCall, names, party, phase } from '../helpers/session';
import { startWeChatStandin, type WeChatStandin } from '../helpers/wechat-standin';
import { eventually } from '../helpers/wait';

let server: RunningServer;
let wechat: WeChatStandin;

beforeAll(async () => {
  wechat = await startWeChatStandin();
  server = await startTestServer({
    notifier: new WeChatSubscribeNotifier({
      apiBase: wechat.apiBase,
      appId: wechat.appId,
      appSecret: wechat.appSecret,
      templateId: wechat.templateId,
      page: (e) => `pages/calls/index?cid=${e.cid}`,
      resolveOpenId: (account) => `openid-${account}`,
      buildData: (e) => ({ thing1: e.caller, time2: formatWeChatTime(e.at) }),
    }),
  });
});
afterAll(async () => {
  await server.close();
  await wechat.close();
});
afterEach(async () => {
  await disposeParties();
  closeClients();
});

const noticesTo = (account: string) => wechat.delivered().filter((m) => m.touser === `openid-${account}`);

describe('call history through signalling', () => {
  it('lists a completed and a rejected call for both parties, newest first, from each point of view', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = await party(server, alice);
    const b = await party(server, bob);
    await inCall(a, b);
    await a.session.hangup();
    await ended(b, 'remote-hangup');
    await disposeParties();

    const a2 = await party(server, alice);
    const b2 = await party(server, bob);
    await a2.session.call(bob, 1);
    await phase(b2, 'incoming');
    await b2.session.reject();
    await ended(a2, 'rejected');

    const mine = await fetchCalls(server, alice);
    expect(mine.status).toBe(200);
    expect(mine.calls.map((c) => [c.outcome, c.direction, c.peer, c.type])).toEqual([
      ['rejected', 'outgoing', bob, 1],
      ['completed', 'outgoing', bob, 2],
    ]);
    const theirs = await fetchCalls(server, bob);
    expect(theirs.calls.map((c) => [c.outcome, c.direction, c.peer])).toEqual([
      ['rejected', 'incoming', alice],
      ['completed', 'incoming', alice],
    ]);
    expect((await fetchCalls(server, alice, 'forged')).status).toBe(401);
  });

  it('sends the callee a subscribe message for a call nobody answered', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = await party(server, alice, { callerTimeout: 150 });
    const b = await party(server, bob, { calleeTimeout: 60000 });
    await a.session.call(bob);
    await phase(b, 'incoming');
    await ended(a, 'caller-timeout');
    await eventually(() => wechat.delivered().length > 0, 'the missed-call notice');
    const sent = wechat.delivered().filter((m) => m.touser === `openid-${bob}`);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ template_id: wechat.templateId, data: { thing1: { value: alice } } });
    expect((await fetchCalls(server, bob)).calls[0]).toMatchObject({
      outcome: 'missed',
      direction: 'incoming',
    });
  });

  it('sends one notice for missed calls from the same caller in a row, and one for another caller', async () => {
    const [alice, carol, bob] = names('alice', 'carol', 'bob');
    const b = await party(server, bob, { calleeTimeout: 60000 });
    const a = await party(server, alice, { callerTimeout: 150 });
    for (let n = 1; n <= 2; n++) {
      await a.session.call(bob);
      await phase(b, 'incoming');
      await phase(a, 'ended');
      expect(a.records.map((record) => record.reason)).toEqual(Array(n).fill('caller-timeout'));
      await phase(b, 'ended');
    }
    const c = await party(server, carol, { callerTimeout: 150 });
    await c.session.call(bob);
    await phase(c, 'ended');
    // Carol's notice is sent after alice's second call ended: once it is here, that one would be too.
    await eventually(() => noticesTo(bob).some((m) => m.data.thing1.value === carol), `carol's notice`);
    expect(noticesTo(bob).map((m) => m.data.thing1.value)).toEqual([alice, carol]);
    // Throttled notices, not records: bob's history lists all three.
    const { calls: listed } = await fetchCalls(server, bob);
    expect(listed.map((c) => [c.peer, c.outcome])).toEqual([
      [carol, 'missed'],
      [alice, 'missed'],
      [alice, 'missed'],
    ]);
  });
});

describe('a file call history through signalling', () => {
  let folder: string;
  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'netcall-history-e2e-'));
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('still lists the calls after the server restarts on the same file', async () => {
    const file = join(folder, 'calls.jsonl');
    const first = await startTestServer({ history: new FileCallHistory({ path: file }) });
    const [alice, bob] = names('alice', 'bob');
    try {
      const a = await party(first, alice);
      const b = await party(first, bob);
      await inCall(a, b, 1);
      await b.session.hangup();
      await ended(a, 'remote-hangup');
      // The record is written as the call ends on the server, which is before alice hears of it.
      expect((await fetchCalls(first, alice)).calls).toHaveLength(1);
      await disposeParties();
    } finally {
      await first.close();
    }

    const second = await startTestServer({ history: new FileCallHistory({ path: file }) });
    try {
      const mine = await fetchCalls(second, alice);
      expect(mine.calls).toEqual([
        expect.objectContaining({ outcome: 'completed', direction: 'outgoing', peer: bob, type: 1 }),
      ]);
      const theirs = await fetchCalls(second, bob);
      expect(theirs.calls).toEqual([
        expect.objectContaining({ outcome: 'completed', direction: 'incoming', peer: alice, endedBy: bob }),
      ]);
    } finally {
      await second.close();
    }
  });
});

describe('a flood of canceled calls through signalling', () => {
  it('leaves the callee its real calls: one caller ringing and canceling takes only a few slots', async () => {
    // Per-pair and request-rate limits raised: this is about what history keeps once calls got through anyway
    // (back-to-back requests on loopback can outrun a 1000/s bucket with the default burst).
    const flooded = await startTestServer({
      maxCallsPerPairPerMinute: 1000,
      maxRequestsPerSecond: 1000,
      requestBurst: 1000,
    });
    const [alice, bob, mallory] = names('alice', 'bob', 'mallory');
    try {
      const [a, b, m] = await Promise.all([alice, bob, mallory].map((n) => connectClient(flooded, n)));
      const real = await establishCall(a, b, 1);
      await a.hangup();
      await b.next('hangup');
      for (let i = 0; i < 60; i++) {
        const { cid } = await m.call({ type: 1, callee: bob });
        await b.next('beCalling');
        await m.hangup({ cid });
        await b.next('hangup');
      }
      const { calls: listed } = await fetchCalls(flooded, bob);
      expect(listed.filter((c) => c.peer === mallory).length).toBeLessThanOrEqual(5);
      expect(listed.filter((c) => c.peer === mallory).length).toBeGreaterThan(0); // control: the flood is listed
      expect(listed).toContainEqual(
        expect.objectContaining({ cid: real.cid, peer: alice, outcome: 'completed' }),
      );
    } finally {
      closeClients();
      await flooded.close();
    }
  });
});
