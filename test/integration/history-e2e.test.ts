/** @jest-environment node */
/**
 * Call history and missed-call notices through real signalling: calls made with CallSession end up in
 * `GET /api/calls` for both parties, and an unanswered call sends the callee a WeChat subscribe message
 * (to a local stand-in of WeChat's API that checks the documented request shape).
 */
import { mintToken, type RunningServer } from '../../server';
import { WeChatSubscribeNotifier, formatWeChatTime } from '../../server/notify';
import { TEST_SECRET, startTestServer } from '../helpers/server';
import { disposeParties, ended, inCall, names, party, phase } from '../helpers/session';
import { startWeChatStandin, type WeChatStandin } from '../helpers/wechat-standin';

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
afterEach(disposeParties);

async function calls(account: string, token = mintToken(TEST_SECRET, account)) {
  const res = await fetch(`${server.httpUrl}/api/calls`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as { calls: Record<string, unknown>[] } };
}

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

    const mine = await calls(alice);
    expect(mine.status).toBe(200);
    expect(mine.body.calls.map((c) => [c.outcome, c.direction, c.peer, c.type])).toEqual([
      ['rejected', 'outgoing', bob, 1],
      ['completed', 'outgoing', bob, 2],
    ]);
    const theirs = await calls(bob);
    expect(theirs.body.calls.map((c) => [c.outcome, c.direction, c.peer])).toEqual([
      ['rejected', 'incoming', alice],
      ['completed', 'incoming', alice],
    ]);
    expect((await calls(alice, 'forged')).status).toBe(401);
  });

  it('sends the callee a subscribe message for a call nobody answered', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = await party(server, alice, { callerTimeout: 150 });
    const b = await party(server, bob, { calleeTimeout: 60000 });
    await a.session.call(bob);
    await phase(b, 'incoming');
    await ended(a, 'caller-timeout');
    const waitFor = Date.now() + 3000;
    while (wechat.delivered().length === 0 && Date.now() < waitFor)
      await new Promise((r) => setTimeout(r, 20));
    const sent = wechat.delivered().filter((m) => m.touser === `openid-${bob}`);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ template_id: wechat.templateId, data: { thing1: { value: alice } } });
    expect((await calls(bob)).body.calls[0]).toMatchObject({ outcome: 'missed', direction: 'incoming' });
  });
});
