/** @jest-environment node */
/**
 * GroupSession on the real server with real clients: group calls (ringing, answers, refusals, ring-outs,
 * leaving, inviting one more) and rooms (by name, full, taken, unknown), each party with its own session.
 * The server's ring time and capacity are configured small instead of waited out.
 */
import type { RunningServer } from '../../server/index';
import { CallSession, type EndReason } from '../../services/call';
import {
  GroupSession,
  type GroupMember,
  type GroupRecord,
  type GroupSessionOptions,
} from '../../services/call/group-session';
import type { Timers } from '../../services/platform/primitives';
import { Code } from '../../services/protocol/errors';
import { closeClients, createClient, roundTrip, startTestServer, type TestClient } from '../helpers/server';
import { disposeParties, names, party, phase as callPhase } from '../helpers/session';
import { eventually } from '../helpers/wait';

/** The server's ring time: a callee who does not answer within it is dropped (callRejected 'timeout'). */
const RING_TIMEOUT_MS = 1000;
/** Members a room or group call holds: four fit, a fifth gets 104. */
const CAPACITY = 4;

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ roomCapacity: CAPACITY, ringTimeoutMs: RING_TIMEOUT_MS });
});
afterAll(async () => {
  await server.close();
});

interface Person {
  account: string;
  netcall: TestClient;
  session: GroupSession;
  records: GroupRecord[];
}

const people: Person[] = [];
/** CallSessions made by `app`, disposed with the people. */
const calls: CallSession[] = [];
const granted = async () => ({ granted: true as const });

afterEach(async () => {
  for (const p of people.splice(0)) await p.session.dispose();
  for (const call of calls.splice(0)) await call.dispose();
  await disposeParties();
  closeClients();
});

/** A connected account with its own GroupSession (permissions granted unless `options` says otherwise). */
async function person(account: string, options: Partial<GroupSessionOptions> = {}): Promise<Person> {
  const netcall = createClient(server, account);
  await netcall.connect();
  return withSession(netcall, options);
}

function withSession(netcall: TestClient, options: Partial<GroupSessionOptions> = {}): Person {
  const session = new GroupSession({ netcall, checkPermissions: granted, ...options });
  const records: GroupRecord[] = [];
  session.on('callEnded', (record) => records.push(record));
  const p = { account: netcall.account, netcall, session, records };
  people.push(p);
  return p;
}

async function everyone(...accounts: string[]): Promise<Person[]> {
  return Promise.all(accounts.map((account) => person(account)));
}

/** Resolves once `check` holds for p's session, re-checked on every change; says what it waited for if not. */
function until(p: Person, check: (s: GroupSession) => boolean, what: string, timeoutMs = 5000) {
  if (check(p.session)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      p.session.off('change', listener);
      const { phase, members } = p.session.snapshot();
      reject(
        new Error(`${p.account}: not ${what} within ${timeoutMs} ms (${phase}, ${JSON.stringify(members)})`),
      );
    }, timeoutMs);
    const listener = () => {
      if (!check(p.session)) return;
      clearTimeout(timer);
      p.session.off('change', listener);
      resolve();
    };
    p.session.on('change', listener);
  });
}

const phase = (p: Person, name: string, timeoutMs?: number) =>
  until(p, (s) => s.phase === name, `phase ${name}`, timeoutMs);

async function ended(p: Person, reason: EndReason, timeoutMs?: number) {
  await phase(p, 'ended', timeoutMs);
  expect(p.session.snapshot().reason).toBe(reason);
  expect(p.records).toHaveLength(1);
  expect(p.records[0].reason).toBe(reason);
}

const entry = (p: Person, account: string): GroupMember | undefined =>
  p.session.snapshot().members.find((m) => m.account === account);

/** Waits until p's member entry for `account` has every field of `fields`. */
function sees(p: Person, account: string, fields: Partial<GroupMember>, timeoutMs?: number) {
  const matches = () => {
    const m = entry(p, account);
    return !!m && Object.entries(fields).every(([key, value]) => m[key as keyof GroupMember] === value);
  };
  return until(p, matches, `seeing ${account} as ${JSON.stringify(fields)}`, timeoutMs);
}

/**
 * Every one of `ps` is in-call with its own stream listed (its uid known: the session may reach in-call just
 * before its syncDone), and holds every other one as a joined member with that uid and its stream.
 */
async function allInCall(ps: Person[]) {
  await Promise.all(
    ps.map((p) => until(p, (s) => s.phase === 'in-call' && s.snapshot().uid !== '', 'in-call with my uid')),
  );
  for (const p of ps) {
    expect(p.session.snapshot().uid).toMatch(/^\d+$/);
    for (const other of ps)
      if (other !== p)
        await sees(p, other.account, { state: 'joined', rtc: true, uid: other.session.snapshot().uid });
    const others = ps.filter((x) => x !== p).map((x) => x.account);
    expect(p.session.roster.players.map((x) => x.account).sort()).toEqual(others.sort());
  }
}

/**
 * Timers whose clock only moves when told, ticking every 10 ms of real time: the session's duration is whole
 * seconds of its own clock, so a record's duration is exact without waiting seconds.
 */
function manualClock(): { timers: Timers; advance(ms: number): void } {
  let now = 1_000_000;
  return {
    timers: {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      setInterval: (fn) => setInterval(fn, 10),
      clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
      now: () => now,
    },
    advance: (ms) => void (now += ms),
  };
}

/** A promise the test settles, for a permission prompt that is still up. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** An app with both kinds of call on one connection, each refusing while the other goes on (`busy`). */
async function app(account: string) {
  const netcall = createClient(server, account);
  await netcall.connect();
  const call = new CallSession({
    netcall,
    checkPermissions: granted,
    busy: () => !['idle', 'ended'].includes(group.session.phase),
  });
  const group = withSession(netcall, { busy: () => !['idle', 'ended'].includes(call.phase) });
  calls.push(call);
  const callRecords: unknown[] = [];
  call.on('callEnded', (record) => callRecords.push(record));
  const callPhaseIs = (name: string) => eventually(() => call.phase === name, `${account}: 1:1 ${name}`);
  return { netcall, call, group, callRecords, callPhaseIs };
}

describe('GroupSession group calls', () => {
  it('rings everyone; one accepts, one refuses, one rings out; the caller leaves and the last one ends', async () => {
    const [alice, bob, carol, dave] = names('alice', 'bob', 'carol', 'dave');
    const clock = manualClock();
    const a = await person(alice, { timers: clock.timers });
    // bob never hears what carol and dave answered (only the caller does): his own ring time marks them.
    const b = await person(bob, { timers: clock.timers, ringTimeout: 500 });
    const [c, d] = await everyone(carol, dave);

    await a.session.call([bob, carol, dave]);
    const placed = a.session.snapshot();
    expect(placed).toMatchObject({ phase: 'dialing', kind: 'call', caller: alice, direction: 'outgoing' });
    expect(placed.cid).toMatch(/^[0-9a-f]{16}$/);
    expect(placed.members.map((m) => [m.account, m.state, m.rtc])).toEqual([
      [bob, 'ringing', false],
      [carol, 'ringing', false],
      [dave, 'ringing', false],
    ]);
    expect(placed.members.every((m) => /^\d+$/.test(m.uid))).toBe(true);

    for (const [callee, others] of [
      [b, [carol, dave]],
      [c, [bob, dave]],
      [d, [bob, carol]],
    ] as const) {
      await phase(callee, 'incoming');
      const ringing = callee.session.snapshot();
      expect(ringing).toMatchObject({ kind: 'call', cid: placed.cid, caller: alice, direction: 'incoming' });
      expect(ringing.members.map((m) => [m.account, m.state])).toEqual([
        [alice, 'joined'],
        ...others.map((o) => [o, 'ringing']),
      ]);
    }

    await b.session.accept();
    await allInCall([a, b]);
    // The uid bob streams under is the one the call announced for him.
    expect(b.session.snapshot().uid).toBe(placed.members[0].uid);
    const bobsTile = a.session.roster.players.find((p) => p.account === bob);
    expect(bobsTile?.url).toMatch(/^rtmp:\/\//);
    expect(bobsTile?.url.split('?')[0]).toBe(b.session.roster.pusher?.url.split('?')[0]);

    await c.session.reject();
    await ended(c, 'rejected');
    await sees(a, carol, { state: 'declined' });

    // dave lets it ring: the server drops him and tells the caller (alice's own ring time is 30 s).
    await ended(d, 'callee-timeout', RING_TIMEOUT_MS + 5000);
    await sees(a, dave, { state: 'missed' });
    await sees(b, carol, { state: 'missed' });
    await sees(b, dave, { state: 'missed' });
    expect([a.session.phase, b.session.phase]).toEqual(['in-call', 'in-call']);

    clock.advance(5000);
    await until(a, (s) => s.snapshot().duration === 5, 'duration 5');
    await until(b, (s) => s.snapshot().duration === 5, 'duration 5');
    await a.session.hangup();
    await ended(a, 'local-hangup');
    await ended(b, 'remote-hangup');
    const common = { cid: placed.cid, kind: 'call', channelName: '', caller: alice, type: 2, duration: 5 };
    expect(a.records[0]).toEqual({
      ...common,
      direction: 'outgoing',
      reason: 'local-hangup',
      members: [bob],
    });
    expect(b.records[0]).toEqual({
      ...common,
      direction: 'incoming',
      reason: 'remote-hangup',
      members: [alice],
    });
    expect(entry(b, alice)).toMatchObject({ state: 'left', rtc: false });
    expect(a.session.roster.pusher).toBeNull();
    expect(b.session.roster.players).toEqual([]);
    expect(c.records[0]).toMatchObject({ cid: placed.cid, duration: 0, members: [] });
  });

  it('rejected for the caller when every callee refuses', async () => {
    const [alice, bob, carol] = names('alice', 'bob', 'carol');
    const [a, b, c] = await everyone(alice, bob, carol);
    await a.session.call([bob, carol], 1);
    await Promise.all([phase(b, 'incoming'), phase(c, 'incoming')]);
    expect(b.session.snapshot().type).toBe(1);
    await b.session.reject();
    await sees(a, bob, { state: 'declined' });
    // carol still rings: one refusal does not end a group call.
    expect(a.session.phase).toBe('dialing');
    await c.session.hangup(); // hanging up while ringing refuses too
    await ended(a, 'rejected');
    await ended(b, 'rejected');
    await ended(c, 'rejected');
    expect(a.session.snapshot().members.map((m) => m.state)).toEqual(['declined', 'declined']);
    expect(a.records[0]).toMatchObject({ type: 1, duration: 0, members: [] });
  });

  it('busy for the caller when every callee is in another call (a 1:1 or a group call); theirs go on', async () => {
    const [alice, bob, xavier, carol, yvonne] = names('alice', 'bob', 'xavier', 'carol', 'yvonne');
    const a = await person(alice);
    const b = await app(bob);
    const x = await party(server, xavier);
    const [c, y] = await everyone(carol, yvonne);
    // bob in a 1:1 call with xavier, carol in a group call with yvonne.
    await x.session.call(bob);
    await b.callPhaseIs('incoming');
    await b.call.accept();
    await Promise.all([callPhase(x, 'in-call'), b.callPhaseIs('in-call')]);
    await y.session.call([carol]);
    await phase(c, 'incoming');
    await c.session.accept();
    await Promise.all([phase(c, 'in-call'), phase(y, 'in-call')]);

    await a.session.call([bob, carol]);
    await ended(a, 'busy');
    expect(a.session.snapshot().members.map((m) => [m.account, m.state])).toEqual([
      [bob, 'busy'],
      [carol, 'busy'],
    ]);
    // The invitation reached bob (he answered busy), and his group session left it to his 1:1 call.
    expect(b.group.session.phase).toBe('idle');
    expect(b.call.phase).toBe('in-call');
    expect([c.session.phase, y.session.phase, x.session.phase]).toEqual(['in-call', 'in-call', 'in-call']);
    expect([b.group.records, b.callRecords, c.records, y.records, x.records]).toEqual([[], [], [], [], []]);
  });

  it('caller-timeout when nobody answers in the caller’s time; every callee stops ringing', async () => {
    const [alice, bob, carol] = names('alice', 'bob', 'carol');
    const a = await person(alice, { callerTimeout: 300 });
    const [b, c] = await everyone(bob, carol);
    await a.session.call([bob, carol]);
    await Promise.all([phase(b, 'incoming'), phase(c, 'incoming')]);
    await ended(a, 'caller-timeout');
    // The server's hangup carries 'timeout' whether the caller gave up or the callee's ring ran out.
    await ended(b, 'callee-timeout');
    await ended(c, 'callee-timeout');
    // The call is gone on the server: alice can call again.
    await a.session.call([bob]);
    await phase(b, 'incoming');
  });

  it('caller-timeout when every callee rings out on the server; each callee ends callee-timeout', async () => {
    const [alice, bob, carol] = names('alice', 'bob', 'carol');
    const [a, b, c] = await everyone(alice, bob, carol);
    await a.session.call([bob, carol]);
    await Promise.all([phase(b, 'incoming'), phase(c, 'incoming')]);
    await ended(a, 'caller-timeout', RING_TIMEOUT_MS + 5000);
    expect(a.session.snapshot().members.map((m) => m.state)).toEqual(['missed', 'missed']);
    await ended(b, 'callee-timeout');
    await ended(c, 'callee-timeout');
  });

  it('canceled on every side when the caller hangs up while dialing', async () => {
    const [alice, bob, carol] = names('alice', 'bob', 'carol');
    const [a, b, c] = await everyone(alice, bob, carol);
    await a.session.call([bob, carol]);
    await Promise.all([phase(b, 'incoming'), phase(c, 'incoming')]);
    await a.session.hangup();
    await ended(a, 'canceled');
    await ended(b, 'canceled');
    await ended(c, 'canceled');
  });

  it('goes on when one of three leaves (the others see them left); the last two: one leaves, the other ends', async () => {
    const [alice, bob, carol] = names('alice', 'bob', 'carol');
    const [a, b, c] = await everyone(alice, bob, carol);
    await a.session.call([bob, carol]);
    await Promise.all([phase(b, 'incoming'), phase(c, 'incoming')]);
    await Promise.all([b.session.accept(), c.session.accept()]);
    await allInCall([a, b, c]);

    // The caller leaves: the call is bob's and carol's now.
    await a.session.hangup();
    await ended(a, 'local-hangup');
    await sees(b, alice, { state: 'left', rtc: false });
    await sees(c, alice, { state: 'left', rtc: false });
    expect([b.session.phase, c.session.phase]).toEqual(['in-call', 'in-call']);
    expect(b.session.roster.players.map((p) => p.account)).toEqual([carol]);
    expect([b.records, c.records]).toEqual([[], []]);

    await b.session.hangup();
    await ended(b, 'local-hangup');
    await ended(c, 'remote-hangup');
    expect(entry(c, bob)).toMatchObject({ state: 'left', rtc: false });
    expect(a.records[0].members.sort()).toEqual([bob, carol].sort());
    expect(c.records[0].members.sort()).toEqual([alice, bob].sort());
  });

  it('invite() rings one more into a running call; someone already in is 409, a room 400', async () => {
    const [alice, bob, erin, frank, room] = names('alice', 'bob', 'erin', 'frank', 'room');
    const [a, b, e, f] = await everyone(alice, bob, erin, frank);
    await a.session.call([bob]);
    await phase(b, 'incoming');
    await b.session.accept();
    await allInCall([a, b]);

    await a.session.invite(erin);
    expect(entry(a, erin)).toMatchObject({ state: 'ringing', rtc: false });
    await phase(e, 'incoming');
    expect(e.session.snapshot()).toMatchObject({ cid: a.session.snapshot().cid, caller: alice });
    await e.session.accept();
    await allInCall([a, b, e]);

    await expect(a.session.invite(bob)).rejects.toMatchObject({ code: Code.CONFLICT });
    await expect(a.session.invite(erin)).rejects.toMatchObject({ code: Code.CONFLICT });
    // frank rings at alice's word; bob does not hear of it, and the server refuses his invite of frank.
    await a.session.invite(frank);
    await phase(f, 'incoming');
    await expect(b.session.invite(frank)).rejects.toMatchObject({ code: Code.CONFLICT });
    expect(entry(b, frank)).toBeUndefined();
    await f.session.reject();
    await sees(a, frank, { state: 'declined' });

    const [roomy] = names('roomy');
    const r = await person(roomy);
    await r.session.createChannel(room);
    await phase(r, 'in-call');
    await expect(r.session.invite(frank)).rejects.toMatchObject({ code: Code.BAD_REQUEST });
  });
});

describe('GroupSession rooms', () => {
  it('four join by name and hold each other; 417, 404 and 104 end the session as error; a leaver leaves the room to the rest', async () => {
    const [alice, bob, carol, dave, erin, room] = names('alice', 'bob', 'carol', 'dave', 'erin', 'room');
    const [a, b, c, d, e] = await everyone(alice, bob, carol, dave, erin);
    await a.session.createChannel(room);
    expect(a.session.snapshot()).toMatchObject({ kind: 'room', channelName: room, caller: '', members: [] });
    for (const p of [b, c, d]) await p.session.joinChannel(room);
    await allInCall([a, b, c, d]);
    const cid = a.session.snapshot().cid;
    expect([b, c, d].map((p) => p.session.snapshot().cid)).toEqual([cid, cid, cid]);

    await expect(e.session.createChannel(room)).rejects.toMatchObject({ code: Code.EXISTS });
    await ended(e, 'error');
    expect(e.records[0]).toMatchObject({ kind: 'room', channelName: room, errorCode: Code.EXISTS });
    await expect(e.session.joinChannel(`${room}-none`)).rejects.toMatchObject({ code: Code.NOT_FOUND });
    expect(e.session.snapshot().reason).toBe('error');
    expect(e.records.map((r) => r.errorCode)).toEqual([Code.EXISTS, Code.NOT_FOUND]);
    const full = e.session.joinChannel(room);
    await expect(full).rejects.toThrow(Error);
    await expect(full).rejects.toMatchObject({ code: Code.ROOM_FULL });
    expect(e.records.map((r) => r.errorCode)).toEqual([Code.EXISTS, Code.NOT_FOUND, Code.ROOM_FULL]);

    await d.session.hangup();
    await ended(d, 'local-hangup');
    expect(d.records[0]).toMatchObject({ cid, kind: 'room', channelName: room, caller: '', direction: null });
    expect(d.records[0].members.sort()).toEqual([alice, bob, carol].sort());
    for (const p of [a, b, c]) await sees(p, dave, { state: 'left', rtc: false });
    // The room is the others' still: erin fits now and everyone holds her.
    await e.session.joinChannel(room);
    await allInCall([a, b, c, e]);
    expect(a.session.snapshot().members.map((m) => [m.account, m.state])).toEqual([
      [bob, 'joined'],
      [carol, 'joined'],
      [dave, 'left'],
      [erin, 'joined'],
    ]);
  });
});

describe('GroupSession control notices', () => {
  it('shows who muted to everyone in the room, and tells a late joiner', async () => {
    const [alice, bob, carol, dave, room] = names('alice', 'bob', 'carol', 'dave', 'room');
    const [a, b, c, d] = await everyone(alice, bob, carol, dave);
    await a.session.createChannel(room);
    await b.session.joinChannel(room);
    await c.session.joinChannel(room);
    await allInCall([a, b, c]);

    await b.session.setMic(false);
    await b.session.setCamera(false);
    for (const p of [a, c]) await sees(p, bob, { micOn: false, cameraOn: false });
    expect(entry(a, carol)).toMatchObject({ micOn: true, cameraOn: true });

    await d.session.joinChannel(room);
    await allInCall([a, b, c, d]);
    await sees(d, bob, { micOn: false, cameraOn: false });
    expect(entry(d, alice)).toMatchObject({ micOn: true, cameraOn: true });

    await b.session.setMic(true);
    for (const p of [a, c, d]) await sees(p, bob, { micOn: true, cameraOn: false });
  });

  it('tells the room what one switched off while joining', async () => {
    const [alice, bob, room] = names('alice', 'bob', 'room');
    const [a, b] = await everyone(alice, bob);
    await a.session.createChannel(room);
    const joining = b.session.joinChannel(room);
    await phase(b, 'joining');
    await b.session.setCamera(false);
    await joining;
    await allInCall([a, b]);
    await sees(a, bob, { micOn: true, cameraOn: false });
  });

  it('tells one rung in later what those already in have off', async () => {
    const [alice, bob, erin] = names('alice', 'bob', 'erin');
    const [a, b, e] = await everyone(alice, bob, erin);
    await a.session.call([bob]);
    await phase(b, 'incoming');
    await b.session.accept();
    await allInCall([a, b]);
    await b.session.setMic(false);
    await sees(a, bob, { micOn: false });

    // erin was rung alone: she learns of bob from the call itself, not from the ring.
    await a.session.invite(erin);
    await phase(e, 'incoming');
    expect(entry(e, bob)).toBeUndefined();
    await e.session.accept();
    await allInCall([a, b, e]);
    await sees(e, bob, { micOn: false, cameraOn: true });
    expect(entry(e, alice)).toMatchObject({ micOn: true });
  });

  it('tells the others what a callee turned off before answering', async () => {
    const [alice, bob, carol] = names('alice', 'bob', 'carol');
    const [a, b, c] = await everyone(alice, bob, carol);
    await a.session.call([bob, carol]);
    await Promise.all([phase(b, 'incoming'), phase(c, 'incoming')]);
    await b.session.setMic(false);
    await b.session.accept();
    await allInCall([a, b]);
    await sees(a, bob, { micOn: false, cameraOn: true });
    await c.session.accept();
    await allInCall([a, b, c]);
    await sees(c, bob, { micOn: false });
    expect(entry(c, alice)).toMatchObject({ micOn: true });
  });
});

describe('GroupSession while a request or prompt is in flight, and beside a 1:1 call', () => {
  it('a callee hanging up while its answer is on its way leaves without failing the answer', async () => {
    const [alice, bob, carol] = names('alice', 'bob', 'carol');
    const [a, b, c] = await everyone(alice, bob, carol);
    await a.session.call([bob, carol]);
    await Promise.all([phase(b, 'incoming'), phase(c, 'incoming')]);
    const accepting = b.session.accept();
    await phase(b, 'joining');
    await b.session.hangup();
    await ended(b, 'local-hangup');
    await expect(accepting).resolves.toBeUndefined();
    await sees(a, bob, { state: 'left', rtc: false });
    // carol can still answer: the call is alice's and hers.
    await c.session.accept();
    await allInCall([a, c]);
    expect(a.records).toEqual([]);
  });

  it('leaving a room while the join is on its way leaves it on the server too', async () => {
    const [alice, bob, room] = names('alice', 'bob', 'room');
    const [a, b] = await everyone(alice, bob);
    await a.session.createChannel(room);
    await phase(a, 'in-call');
    const joining = b.session.joinChannel(room);
    await phase(b, 'joining');
    expect(b.session.snapshot().cid).toBeNull();
    await b.session.hangup();
    await ended(b, 'local-hangup');
    await expect(joining).resolves.toBeUndefined();
    await sees(a, bob, { state: 'left' });
    // bob is out of it on the server: he can join again, and alice holds him.
    await b.session.joinChannel(room);
    await allInCall([a, b]);
  });

  it('a callee hanging up during the permission prompt refuses, and the late grant does not answer', async () => {
    const [alice, bob, carol] = names('alice', 'bob', 'carol');
    const prompt = deferred<{ granted: true }>();
    const a = await person(alice);
    const b = await person(bob, { checkPermissions: () => prompt.promise });
    const c = await person(carol);
    await a.session.call([bob, carol]);
    await Promise.all([phase(b, 'incoming'), phase(c, 'incoming')]);
    const accepting = b.session.accept();
    await b.session.hangup();
    await ended(b, 'rejected');
    await sees(a, bob, { state: 'declined' });
    prompt.resolve({ granted: true });
    await accepting;
    // carol answering proves alice hears answers after bob's grant came in; bob's was not one of them.
    await c.session.accept();
    await sees(a, carol, { state: 'joined' });
    await roundTrip(a.netcall);
    expect(entry(a, bob)).toMatchObject({ state: 'declined' });
    expect(b.session.phase).toBe('ended');
    expect(b.records).toHaveLength(1);
  });

  it('a caller hanging up while the call request is in flight ends the call on the server too', async () => {
    const [alice, bob] = names('alice', 'bob');
    const [a, b] = await everyone(alice, bob);
    const dialing = a.session.call([bob]);
    await phase(a, 'dialing');
    expect(a.session.snapshot().cid).toBeNull();
    await a.session.hangup();
    await ended(a, 'canceled');
    await expect(dialing).resolves.toBeUndefined();
    await ended(b, 'canceled');
    // Nothing of it is left on the server: alice is free to call again.
    await a.session.call([bob]);
    await phase(b, 'incoming');
  });

  it('a 1:1 call coming in while a group call rings is refused busy; the group call is answered as usual', async () => {
    const [alice, bob, xavier] = names('alice', 'bob', 'xavier');
    const a = await person(alice);
    const b = await app(bob);
    const x = await party(server, xavier);
    await a.session.call([bob]);
    await phase(b.group, 'incoming');
    await x.session.call(bob);
    await callPhase(x, 'ended');
    expect(x.session.snapshot().reason).toBe('busy');
    expect(b.call.phase).toBe('idle');
    expect(b.group.session.phase).toBe('incoming');
    await b.group.session.accept();
    await allInCall([a, b.group]);
    expect(b.callRecords).toEqual([]);
  });
});
