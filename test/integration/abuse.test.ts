/** @jest-environment node */
/**
 * Abuse limits against the real server: the server-side ring timeout ends a call nobody answers even when both
 * clients are silent, a caller may have only so many calls ringing, and a caller may ring the same callee only
 * so often per minute. Each refusal has a positive control in the same test.
 */
import type { RunningServer, ServerOptions } from '../../server/index';
import { closeClients, connectClient, fetchCalls, startTestServer, type TestClient } from '../helpers/server';
import { disposeParties, ended, names, party, phase } from '../helpers/session';

const RING_TIMEOUT_MS = 800;
/** The server the running describe uses: each describe starts its own, so one's limits never reach another's. */
let server: RunningServer;

afterEach(async () => {
  await disposeParties();
  closeClients();
});

function serverFor(options: ServerOptions): void {
  beforeAll(async () => {
    server = await startTestServer(options);
  });
  afterAll(async () => {
    await server.close();
  });
}

const online = (account: string): Promise<TestClient> => connectClient(server, account);

describe('server-side ring timeout', () => {
  serverFor({ ringTimeoutMs: RING_TIMEOUT_MS });

  it('ends an unanswered call for both silent sides with reason timeout, and leaves an answered one alone', async () => {
    const [alice, bob, carol, dave] = names('alice', 'bob', 'carol', 'dave');
    const [a, b, c, d] = await Promise.all([alice, bob, carol, dave].map(online));
    // Answered before the timeout: must survive it.
    const answered = await c.call({ type: 2, callee: dave });
    await d.next('beCalling');
    await d.response({ accepted: true, caller: carol, type: 2, cid: answered.cid });
    await c.next('callAccepted');
    // Nobody answers this one, and neither client has a timer of its own (raw Netcall).
    const { cid } = await a.call({ type: 2, callee: bob });
    await b.next('beCalling');
    const [toCaller, toCallee] = await Promise.all([a.next('hangup', 5000), b.next('hangup', 5000)]);
    expect(toCaller).toMatchObject({ cid, account: bob, reason: 'timeout' });
    expect(toCallee).toMatchObject({ cid, account: alice, reason: 'timeout' });
    // The answered call, older than the ring timeout by now, still carries controls both ways.
    await c.control({ command: 2 });
    expect(await d.next('control')).toMatchObject({ cid: answered.cid, account: carol, command: 2 });
    expect(d.seen('hangup')).toEqual([]);
    // History: missed, ended by the server.
    const { calls } = await fetchCalls(server, bob);
    expect(calls[0]).toMatchObject({ outcome: 'missed', endedBy: '' });
  });

  it('ends CallSessions whose own timeouts are longer with caller-timeout on both sides', async () => {
    const [alice, bob] = names('alice', 'bob');
    const long = { callerTimeout: 60_000, calleeTimeout: 60_000 };
    const a = await party(server, alice, long);
    const b = await party(server, bob, long);
    await a.session.call(bob, 2);
    await phase(b, 'incoming');
    await Promise.all([ended(a, 'caller-timeout'), ended(b, 'caller-timeout')]);
  });
});

describe('caller limits', () => {
  // The default ring timeout: these tests act within one ring, however slowly the machine runs.
  serverFor({ maxRingingPerCaller: 1, maxCallsPerPairPerMinute: 3 });

  it('refuses a second ringing call from the same account with 429 until the first stops ringing', async () => {
    const [alice, bob, carol] = names('alice', 'bob', 'carol');
    const phone = await online(alice);
    const tablet = await online(alice);
    const b = await online(bob);
    await online(carol);
    const first = await phone.call({ type: 2, callee: bob });
    await expect(tablet.call({ type: 2, callee: carol })).rejects.toMatchObject({
      code: 429,
      message: expect.stringContaining('ringing'),
    });
    await b.next('beCalling');
    await b.response({ accepted: true, caller: alice, type: 2, cid: first.cid });
    await phone.next('callAccepted');
    // Control: once the first call is answered, the other device may ring someone.
    await expect(tablet.call({ type: 2, callee: carol })).resolves.toMatchObject({ cid: expect.any(String) });
  });

  it('refuses a fourth call to the same callee within a minute with 429, not calls to others', async () => {
    const [alice, bob, carol] = names('alice', 'bob', 'carol');
    const a = await online(alice);
    const b = await online(bob);
    await online(carol);
    for (let i = 0; i < 3; i++) {
      const { cid } = await a.call({ type: 2, callee: bob });
      await b.next('beCalling');
      await a.hangup({ cid });
      await b.next('hangup');
    }
    await expect(a.call({ type: 2, callee: bob })).rejects.toMatchObject({
      code: 429,
      message: expect.stringContaining('in a minute'),
    });
    await expect(a.call({ type: 2, callee: carol })).resolves.toMatchObject({ cid: expect.any(String) });
  });
});
