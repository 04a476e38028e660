/** @jest-environment node */
/**
 * A one-to-one call end to end: the real server in-process on port 0, real `Netcall` clients over real
 * WebSockets, and MediaRoster holding the URLs each side would bind to its components.
 */
import jwt from 'jsonwebtoken';
import type { RunningServer } from '../../server/index';
import { NetcallError } from '../../services/protocol';
import {
  TEST_SECRET,
  closeClients,
  connectClient,
  createClient,
  establishCall,
  startTestServer,
  type TestClient,
} from '../helpers/server';
import { names } from '../helpers/session';
import { rawSocket } from '../helpers/ws-socket';

let server: RunningServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(closeClients);

const online = (account: string): Promise<TestClient> => connectClient(server, account);

describe('P2P video call on the open backend', () => {
  it('gives each side exactly its push URL and the peer play URL, and clears both on hangup', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = await online(alice);
    const b = await online(bob);
    const { cid, rosterA, rosterB, selfA, selfB } = await establishCall(a, b);

    expect(selfA).toEqual({ uid: expect.any(String), account: alice, cid });
    expect(selfB.uid).not.toEqual(selfA.uid);

    const syncA = a.seen('syncDone')[0];
    expect(syncA.code).toBe(200);
    expect(syncA.userlist.map((u) => u.account).sort()).toEqual([alice, bob].sort());

    // Each side: one pusher URL (its own stream, signed for publishing) and one player URL (the peer's).
    expect(rosterA.pusher?.uid).toBe(selfA.uid);
    expect(rosterA.pusher?.url).toMatch(
      new RegExp(`^rtmp://.+/live/${cid}_${selfA.uid}\\?sign=\\d+-[0-9a-f]{32}$`),
    );
    expect(rosterA.players.map((p) => [p.uid, p.account])).toEqual([[selfB.uid, bob]]);
    expect(rosterA.players[0].url).toMatch(new RegExp(`/live/${cid}_${selfB.uid}\\?sign=`));

    expect(rosterB.pusher?.url).toMatch(new RegExp(`/live/${cid}_${selfB.uid}\\?sign=`));
    expect(rosterB.players.map((p) => p.uid)).toEqual([selfA.uid]);
    expect(rosterB.players[0].url).toMatch(new RegExp(`/live/${cid}_${selfA.uid}\\?sign=`));
    // A play URL is never the push URL of the same stream: holding it must not let you publish.
    expect(rosterB.players[0].url).not.toEqual(rosterA.pusher?.url);

    await a.hangup();
    const hung = await b.next('hangup');
    expect(hung).toEqual({ cid, account: alice, timetag: expect.any(Number) });
    rosterA.clear();
    expect(rosterA.pusher).toBeNull();
    expect(rosterA.players).toEqual([]);
    expect(rosterB.pusher).toBeNull();
    expect(rosterB.players).toEqual([]);
    expect(b.seen('clientLeave')).toEqual([{ cid, account: alice, uid: selfA.uid }]);
  });

  it('tells the caller when the callee rejects, and the callee other devices via callerAckSync', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = await online(alice);
    const bPhone = await online(bob);
    const bPad = await online(bob);
    const { cid } = await a.call({ type: 1, callee: bob });
    const [onPhone, onPad] = await Promise.all([bPhone.next('beCalling'), bPad.next('beCalling')]);
    expect(onPhone.cid).toBe(cid);
    expect(onPad.cid).toBe(cid);

    await bPhone.response({ accepted: false, caller: alice, type: 1, cid });
    expect(await a.next('callRejected')).toEqual({ cid, account: bob, type: 1 });
    expect(await bPad.next('callerAckSync')).toMatchObject({ cid, accepted: false, type: 1 });
    expect(bPhone.seen('callerAckSync')).toEqual([]);
    // The call is gone: a late answer from the other device is refused.
    await expect(bPad.response({ accepted: true, caller: alice, type: 1, cid })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('stops the ringing on every callee device when the caller cancels', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = await online(alice);
    const b1 = await online(bob);
    const b2 = await online(bob);
    const { cid } = await a.call({ type: 2, callee: bob });
    await b1.next('beCalling');
    await b2.next('beCalling');
    await a.hangup();
    expect(await b1.next('hangup')).toMatchObject({ cid, account: alice });
    expect(await b2.next('hangup')).toMatchObject({ cid, account: alice });
  });

  it('lets only the answering device speak for the callee once answered', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = await online(alice);
    const bPhone = await online(bob);
    const bPad = await online(bob);
    const { cid } = await a.call({ type: 2, callee: bob });
    await bPhone.next('beCalling');
    await bPhone.response({ accepted: true, caller: alice, type: 2, cid });
    expect(await bPad.next('callerAckSync')).toMatchObject({ cid, accepted: true });
    await expect(bPad.startRtc({ mode: 0, cid })).rejects.toMatchObject({ code: 403 });
    await expect(bPad.hangup({ cid })).rejects.toMatchObject({ code: 403 });
    await expect(bPad.response({ accepted: true, caller: alice, type: 2, cid })).rejects.toMatchObject({
      code: 409,
    });
  });

  it('refuses a third client that tries to answer or hang up the call (403)', async () => {
    const [alice, bob, mallory] = names('alice', 'bob', 'mallory');
    const a = await online(alice);
    const b = await online(bob);
    const m = await online(mallory);
    const { cid } = await a.call({ type: 2, callee: bob });
    await b.next('beCalling');

    const answer = m.response({ accepted: true, caller: alice, type: 2, cid });
    await expect(answer).rejects.toBeInstanceOf(NetcallError);
    await expect(answer).rejects.toMatchObject({ code: 403 });
    await expect(m.hangup({ cid })).rejects.toMatchObject({ code: 403 });
    await expect(m.startRtc({ mode: 0, cid })).rejects.toMatchObject({ code: 403 });
    await expect(m.control({ command: 1, cid })).rejects.toMatchObject({ code: 403 });

    // The call itself is untouched and still answerable by bob.
    await b.response({ accepted: true, caller: alice, type: 2, cid });
    expect(await a.next('callAccepted')).toMatchObject({ cid, account: bob });
    // Events reach a socket in the order the server sent them: once this control arrives, a hangup sent
    // before it would have too.
    await b.control({ command: 1 });
    expect(await a.next('control')).toMatchObject({ cid, account: bob, command: 1 });
    expect(a.seen('hangup')).toEqual([]);
  });

  it('ends the call for the peer when a device drops its socket mid-call', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = createClient(server, alice);
    await a.connect();
    const b = await online(bob);
    const { cid, selfA } = await establishCall(a, b);
    a.close();
    expect(await b.next('clientLeave')).toEqual({ cid, account: alice, uid: selfA.uid });
    expect(await b.next('hangup')).toMatchObject({ cid, account: alice });
  });

  it('forwards control notices to the peer only', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = await online(alice);
    const b = await online(bob);
    const { cid } = await establishCall(a, b);
    await a.control({ command: 2 });
    expect(await b.next('control')).toEqual({ cid, account: alice, command: 2 });
    expect(a.seen('control')).toEqual([]);
  });
});

describe('bad input gets a clear error and nothing is lost', () => {
  it('rejects a call to an unknown or offline callee with 404', async () => {
    const [alice] = names('alice');
    const a = await online(alice);
    const attempt = a.call({ type: 2, callee: 'nobody-here' });
    await expect(attempt).rejects.toBeInstanceOf(NetcallError);
    await expect(attempt).rejects.toMatchObject({ code: 404 });
    await expect(a.call({ type: 2, callee: alice })).rejects.toMatchObject({ code: 400 });
  });

  it('rejects response and hangup on a cid that is not yours with 403, and an unknown cid with 404', async () => {
    const [alice, bob, carol] = names('alice', 'bob', 'carol');
    const a = await online(alice);
    const b = await online(bob);
    const c = await online(carol);
    const { cid } = await a.call({ type: 2, callee: bob });
    await b.next('beCalling');
    await expect(c.response({ accepted: false, caller: alice, type: 2, cid })).rejects.toMatchObject({
      code: 403,
    });
    await expect(c.hangup({ cid })).rejects.toMatchObject({ code: 403 });
    await expect(c.hangup({ cid: 'deadbeef' })).rejects.toMatchObject({ code: 404 });
    await expect(b.response({ accepted: true, caller: carol, type: 2, cid })).rejects.toMatchObject({
      code: 400,
    });
  });

  it('answers malformed and oversized frames with 400 and keeps the connection working', async () => {
    const [alice, bob] = names('alice', 'bob');
    await online(bob);
    const raw = await rawSocket(server.url);
    raw.sendText(
      JSON.stringify({
        seq: 1,
        op: 'login',
        args: { token: jwt.sign({}, TEST_SECRET, { subject: alice, expiresIn: 60 }) },
      }),
    );
    expect(await raw.next()).toMatchObject({ seq: 1, code: 200 });

    raw.sendText('{not json');
    expect(await raw.next()).toEqual({
      event: 'error',
      data: { code: 400, message: 'frame is not valid JSON' },
    });
    raw.sendText(JSON.stringify({ seq: 2, op: 'teleport', args: {} }));
    expect(await raw.next()).toMatchObject({
      seq: 2,
      code: 400,
      message: expect.stringContaining('unknown op'),
    });
    raw.sendText(JSON.stringify({ seq: 3, op: 'call', args: { type: 7, callee: bob } }));
    expect(await raw.next()).toMatchObject({ seq: 3, code: 400, message: expect.stringContaining('"type"') });
    raw.sendText(JSON.stringify({ seq: 4, op: 'call', args: { type: 2, callee: bob, extra: 1 } }));
    expect(await raw.next()).toMatchObject({ seq: 4, code: 400, message: expect.stringContaining('extra') });
    raw.sendText(JSON.stringify({ seq: 5, op: 'ping', args: { pad: 'x'.repeat(12000) } }));
    expect(await raw.next()).toMatchObject({
      seq: 5,
      code: 400,
      message: expect.stringContaining('exceeds'),
    });
    // Over the cap the frame is not even parsed: broken JSON still gets "exceeds", by the seq it starts with.
    raw.sendText(`{"seq":7,"op":"ping","args":{"pad":"${'x'.repeat(9000)}"`);
    expect(await raw.next()).toMatchObject({
      seq: 7,
      code: 400,
      message: expect.stringContaining('exceeds'),
    });

    // Still the same, working connection.
    raw.sendText(JSON.stringify({ seq: 6, op: 'call', args: { type: 2, callee: bob } }));
    expect(await raw.next()).toMatchObject({ seq: 6, code: 200, data: { cid: expect.any(String) } });
    raw.socket.close();
  });

  it('refuses an expired or forged token with 401 and closes the socket', async () => {
    const [alice] = names('alice');
    const expired = jwt.sign({ exp: Math.floor(Date.now() / 1000) - 60 }, TEST_SECRET, { subject: alice });
    const forged = jwt.sign({}, 'not-the-secret', { subject: alice, expiresIn: 60 });
    const noExp = jwt.sign({}, TEST_SECRET, { subject: alice });
    for (const token of [expired, forged, noExp, 'garbage']) {
      const client = createClient(server, alice, { token });
      const attempt = client.connect();
      await expect(attempt).rejects.toBeInstanceOf(NetcallError);
      await expect(attempt).rejects.toMatchObject({ code: 401 });
      expect(await client.next('disconnect')).toMatchObject({ code: 401 });
      expect(client.isConnected).toBe(false);
    }
  });

  it('answers a flood with 429 and keeps serving the connection once it slows down', async () => {
    const [alice] = names('alice');
    const raw = await rawSocket(server.url);
    const token = jwt.sign({}, TEST_SECRET, { subject: alice, expiresIn: 60 });
    raw.sendText(JSON.stringify({ seq: 0, op: 'login', args: { token } }));
    expect(await raw.next()).toMatchObject({ seq: 0, code: 200 });
    // The default bucket holds 100 requests (the login took one) and refills at 50 a second.
    for (let seq = 1; seq <= 130; seq++) raw.sendText(JSON.stringify({ seq, op: 'ping', args: {} }));
    const codes: number[] = [];
    for (let i = 0; i < 130; i++) codes.push((await raw.next()).code as number);
    expect(codes.filter((code) => code === 429).length).toBeGreaterThan(0);
    expect(codes.filter((code) => code === 200).length).toBeLessThan(130);
    // Long enough for the bucket to refill (50 tokens a second): the positive control that it recovers.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    raw.sendText(JSON.stringify({ seq: 199, op: 'ping', args: {} }));
    expect(await raw.next()).toMatchObject({ seq: 199, code: 200 });
    raw.socket.close();
  });

  it('requires a login before any other op', async () => {
    const raw = await rawSocket(server.url);
    raw.sendText(JSON.stringify({ seq: 1, op: 'call', args: { type: 2, callee: 'x' } }));
    expect(await raw.next()).toMatchObject({ seq: 1, code: 401 });
    raw.socket.close();
  });
});
