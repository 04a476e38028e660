/** @jest-environment node */
/**
 * CallSession on the real server with real clients: every end reason is reached by the flow that causes it.
 * Timeouts and grace periods are configured short instead of waited out.
 */
import type { RunningServer, ServerOptions } from '../../server/index';
import { startTestServer } from '../helpers/server';
import { disposeParties, ended, inCall, names, party, phase } from '../helpers/session';

let server: RunningServer;
const start = (options: ServerOptions = {}) => startTestServer({ callGraceMs: 400, ...options });

beforeAll(async () => {
  server = await start();
});
afterAll(async () => {
  await server.close();
});
afterEach(disposeParties);

describe('CallSession end reasons, each reached for real', () => {
  it('local-hangup for the one who hangs up, remote-hangup for the peer, with durations', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = await party(server, alice);
    const b = await party(server, bob);
    await inCall(a, b);
    expect(a.session.roster.pusher?.url).toMatch(/^rtmp:/);
    expect(a.session.roster.players.map((p) => p.account)).toEqual([bob]);
    await a.session.hangup();
    await ended(a, 'local-hangup');
    await ended(b, 'remote-hangup');
    expect(a.records[0]).toMatchObject({ peer: bob, type: 2, direction: 'outgoing', duration: 0 });
    expect(b.records[0]).toMatchObject({ peer: alice, direction: 'incoming', cid: a.records[0].cid });
    expect(a.session.roster.pusher).toBeNull();
    expect(b.session.roster.players).toEqual([]);
  });

  it('rejected on both sides when the callee refuses', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = await party(server, alice);
    const b = await party(server, bob);
    await a.session.call(bob, 1);
    await phase(b, 'incoming');
    expect(b.session.snapshot()).toMatchObject({ peer: alice, type: 1, direction: 'incoming' });
    await b.session.reject();
    await ended(a, 'rejected');
    await ended(b, 'rejected');
  });

  it('busy: a callee already in a call refuses automatically with the BUSY control; its call goes on', async () => {
    const [alice, bob, carol] = names('alice', 'bob', 'carol');
    const a = await party(server, alice);
    const b = await party(server, bob);
    const c = await party(server, carol);
    await inCall(b, c);
    await a.session.call(bob);
    await ended(a, 'busy');
    expect(b.session.phase).toBe('in-call');
    expect(b.records).toEqual([]);
    expect(c.session.phase).toBe('in-call');
  });

  it('caller-timeout when nobody answers; the callee stops ringing with the same reason', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = await party(server, alice, { callerTimeout: 200 });
    const b = await party(server, bob, { calleeTimeout: 60000 });
    await a.session.call(bob);
    await phase(b, 'incoming');
    await ended(a, 'caller-timeout');
    await ended(b, 'caller-timeout');
  });

  it('callee-timeout when the callee lets it ring out; the caller learns why', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = await party(server, alice, { callerTimeout: 60000 });
    const b = await party(server, bob, { calleeTimeout: 200 });
    await a.session.call(bob);
    await ended(b, 'callee-timeout');
    await ended(a, 'callee-timeout');
  });

  it('canceled: the caller hangs up before an answer and the callee stops ringing at once', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = await party(server, alice);
    const b = await party(server, bob);
    await a.session.call(bob);
    await phase(b, 'incoming');
    await a.session.hangup();
    await ended(a, 'canceled');
    await ended(b, 'canceled');
  });

  it('answered-elsewhere: the other device of the callee stops ringing when one answers', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = await party(server, alice);
    const phone = await party(server, bob);
    const pad = await party(server, bob);
    await a.session.call(bob);
    await Promise.all([phase(phone, 'incoming'), phase(pad, 'incoming')]);
    await phone.session.accept();
    await ended(pad, 'answered-elsewhere');
    await Promise.all([phase(a, 'in-call'), phase(phone, 'in-call')]);
  });

  it('kicked for the account the server kicks; remote-hangup for its peer', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = await party(server, alice);
    const b = await party(server, bob);
    await inCall(a, b);
    expect(server.kick(alice, 'banned')).toBe(1);
    await ended(a, 'kicked');
    await ended(b, 'remote-hangup');
  });

  it('permission-denied before dialing: nothing is sent, and retryPermissions redials once granted', async () => {
    const [alice, bob] = names('alice', 'bob');
    let granted = false;
    const a = await party(server, alice, {
      checkPermissions: async () =>
        granted ? { granted: true } : { granted: false, scope: 'scope.camera', canPrompt: false },
    });
    const b = await party(server, bob);
    await a.session.call(bob);
    await ended(a, 'permission-denied');
    expect(a.session.snapshot().deniedScope).toBe('scope.camera');
    expect(b.session.phase).toBe('idle');
    granted = true;
    await a.session.retryPermissions();
    await phase(b, 'incoming');
  });

  it('error with the server code when the callee is offline, and the promise rejects with it', async () => {
    const [alice] = names('alice');
    const a = await party(server, alice);
    await expect(a.session.call('nobody-home')).rejects.toMatchObject({ code: 404 });
    await ended(a, 'error');
    expect(a.records[0].errorCode).toBe(404);
  });

  it('refuses operations in the wrong phase with a clear error', async () => {
    const [alice] = names('alice');
    const a = await party(server, alice);
    await expect(a.session.accept()).rejects.toMatchObject({
      code: 409,
      message: expect.stringContaining('idle'),
    });
    await expect(a.session.hangup()).rejects.toMatchObject({ code: 409 });
  });
});
