/** @jest-environment node */
/**
 * LiveSession on the real server with real `Netcall` clients, each person with their own session: the host
 * goes live, the audience joins and gets the live stream's URLs, request → accept → on stage, invite →
 * accept, remove, messages, the audience count, and the end (the host leaves, or is lost) with each
 * session's reason and the host's summary. The server's co-host timeout and host grace are configured small
 * instead of waited out; every wait is on an event.
 */
import type { RunningServer } from '../../server/index';
import type { EndReason } from '../../services/call';
import {
  LiveSession,
  type LiveRecord,
  type LiveSessionOptions,
  type LiveSnapshot,
} from '../../services/live/live-session';
import { Code } from '../../services/protocol/errors';
import { closeClients, createClient, startTestServer, type TestClient } from '../helpers/server';
import { cuttableSockets } from '../helpers/ws-socket';

const HOST_GRACE_MS = 300;
const CO_HOST_TIMEOUT_MS = 600;

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({
    callGraceMs: 5000,
    hostGraceMs: HOST_GRACE_MS,
    coHostTimeoutMs: CO_HOST_TIMEOUT_MS,
  });
});
afterAll(async () => {
  await server.close();
});

interface Person {
  account: string;
  netcall: TestClient;
  session: LiveSession;
  records: LiveRecord[];
  cut(): void;
}

const people: Person[] = [];
const granted = async () => ({ granted: true as const });

afterEach(async () => {
  for (const p of people.splice(0)) await p.session.dispose();
  closeClients();
});

let counter = 0;
/** Fresh account and room names per test: the server is shared by the file. */
const fresh = (...prefixes: string[]) => {
  counter++;
  return prefixes.map((p) => `${p}${counter}`);
};

async function person(account: string, options: Partial<LiveSessionOptions> = {}): Promise<Person> {
  const sockets = cuttableSockets();
  const netcall = createClient(server, account, {
    connectSocket: sockets.connectSocket,
    reconnectDelay: 50,
    maxReconnects: 1,
  });
  await netcall.connect();
  const session = new LiveSession({ netcall, checkPermissions: granted, ...options });
  const records: LiveRecord[] = [];
  session.on('liveEnded', (record) => records.push(record));
  const p = { account, netcall, session, records, cut: sockets.cut };
  people.push(p);
  return p;
}

/** Resolves once `check` holds for p's snapshot, re-checked on every change; says what it waited for if not. */
function until(p: Person, check: (s: LiveSnapshot) => boolean, what: string, timeoutMs = 5000) {
  if (check(p.session.snapshot())) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      p.session.off('change', listener);
      const { phase, stage, requests } = p.session.snapshot();
      reject(
        new Error(
          `${p.account}: not ${what} within ${timeoutMs} ms (${phase}, ${JSON.stringify({ stage, requests })})`,
        ),
      );
    }, timeoutMs);
    const listener = () => {
      if (!check(p.session.snapshot())) return;
      clearTimeout(timer);
      p.session.off('change', listener);
      resolve();
    };
    p.session.on('change', listener);
  });
}

const phase = (p: Person, name: string, timeoutMs?: number) =>
  until(p, (s) => s.phase === name, `phase ${name}`, timeoutMs);

async function ended(p: Person, reason: EndReason, closeReason?: string) {
  await phase(p, 'ended');
  expect(p.session.snapshot().reason).toBe(reason);
  expect(p.records).toHaveLength(1);
  expect(p.records[0]).toMatchObject(closeReason ? { reason, closeReason } : { reason });
}

const stageOf = (p: Person) =>
  p.session
    .snapshot()
    .stage.map((m) => `${m.account}:${m.role}:${m.rtc ? 'rtc' : '-'}`)
    .sort();

/** The host is live and pushing: its own push URL is in its roster. */
async function goLive(host: Person, room: string, sessionConfig = {}) {
  await host.session.goLive(room, { sessionConfig });
  await until(host, (s) => s.uid !== '' && host.session.roster.pusher !== null, 'pushing');
}

/** p is on stage and pushing, and everyone in `stage` lists it with its stream. */
async function onStage(p: Person, stage: Person[]) {
  await until(p, (s) => s.phase === 'cohost' && p.session.roster.pusher !== null, 'pushing on stage');
  for (const other of stage)
    await until(
      other,
      (s) => s.stage.some((m) => m.account === p.account && m.rtc),
      `seeing ${p.account} on stage`,
    );
}

describe('LiveSession on the real server', () => {
  it('runs a whole live: audience, request → accept, invite → accept, remove, messages, counts, the end', async () => {
    const [hostName, bobName, carolName, room] = fresh('host', 'bob', 'carol', 'show');
    const host = await person(hostName);
    const bob = await person(bobName);
    const carol = await person(carolName);

    await goLive(host, room, { splitMode: 2 });
    expect(host.session.snapshot()).toMatchObject({
      phase: 'host',
      role: 'host',
      host: hostName,
      live: null,
    });

    // The audience joins: the live stream's URLs, no RTC, counted.
    await bob.session.watch(room);
    await carol.session.watch(room);
    for (const p of [bob, carol]) {
      const s = p.session.snapshot();
      expect(s).toMatchObject({
        phase: 'audience',
        role: 'audience',
        host: hostName,
        cid: host.session.snapshot().cid,
      });
      expect(s.live?.flv).toMatch(/^http:\/\/.+_live\.flv\?sign=/);
      expect(p.session.roster.pusher).toBeNull();
    }
    await until(host, (s) => s.audienceCount === 2, 'counting 2 in the audience');
    await until(bob, (s) => s.audienceCount === 2, 'counting 2 in the audience');

    // Request → accept → on stage: both stages list each other with their streams.
    await bob.session.requestCoHost();
    expect(bob.session.phase).toBe('requesting');
    await until(host, (s) => s.requests.some((r) => r.account === bobName), "holding bob's request");
    await host.session.respondCoHost(bobName, true);
    expect(host.session.snapshot().requests).toEqual([]);
    await onStage(bob, [host]);
    await until(bob, (s) => s.stage.some((m) => m.account === hostName && m.rtc), 'seeing the host');
    expect(stageOf(bob)).toEqual([`${hostName}:host:rtc`]);
    expect(bob.session.roster.players.map((u) => u.account)).toEqual([hostName]);
    await until(host, (s) => s.audienceCount === 1, 'counting 1 in the audience');

    // Invite → accept.
    await host.session.inviteCoHost(carolName);
    await until(carol, (s) => s.phase === 'invited' && s.invitedBy === hostName, 'invited by the host');
    await carol.session.acceptInvite();
    await onStage(carol, [host, bob]);
    expect(stageOf(host)).toEqual([`${bobName}:cohost:rtc`, `${carolName}:cohost:rtc`]);
    expect(host.session.snapshot().invites).toEqual([]);

    // A notice from the stage reaches the stage: carol's mic off on the host's and bob's lists.
    await carol.session.setMic(false);
    for (const p of [host, bob])
      await until(
        p,
        (s) => s.stage.some((m) => m.account === carolName && !m.micOn),
        "seeing carol's mic off",
      );

    // Remove: bob is audience again, told, his stream gone from the host's stage and from carol's.
    await host.session.removeCoHost(bobName);
    await until(bob, (s) => s.phase === 'audience' && s.notice?.kind === 'removed', 'removed');
    expect(bob.session.roster.pusher).toBeNull();
    expect(bob.session.snapshot().live?.flv).toMatch(/_live\.flv/);
    for (const p of [host, carol])
      await until(p, (s) => !s.stage.some((m) => m.account === bobName), 'bob off the stage');
    expect(stageOf(host)).toEqual([`${carolName}:cohost:rtc`]);

    // Messages: to everyone else, in each list once, mine marked.
    await bob.session.sendMessage('hello from the audience');
    for (const p of [host, carol])
      await until(p, (s) => s.messages.some((m) => m.content === 'hello from the audience'), 'the message');
    expect(host.session.snapshot().messages).toEqual([
      expect.objectContaining({
        account: bobName,
        type: 'text',
        content: 'hello from the audience',
        mine: false,
      }),
    ]);
    expect(bob.session.snapshot().messages).toEqual([
      expect.objectContaining({ account: bobName, content: 'hello from the audience', mine: true }),
    ]);

    // The host leaves: everyone's live ends, each with its reason; the host's record has the summary.
    await host.session.hangup();
    await ended(host, 'local-hangup', 'host-left');
    const summary = host.records[0].summary;
    expect(summary).toMatchObject({ cid: host.session.snapshot().cid, channelName: room, peakAudience: 2 });
    expect(summary!.duration).toBeGreaterThan(0);
    expect(host.session.snapshot().summary).toEqual(summary);
    await ended(bob, 'remote-hangup', 'host-left');
    await ended(carol, 'remote-hangup', 'host-left');
    expect(bob.records[0].role).toBe('audience');
    expect(carol.records[0].role).toBe('cohost');
    expect(carol.session.roster.pusher).toBeNull();
    for (const p of [bob, carol]) expect(p.records[0].summary).toBeUndefined();
  });

  it("refuses the stage without approval where the host asked for it (the server's 403), and lets a request through", async () => {
    const [hostName, bobName, room] = fresh('host', 'bob', 'strict');
    const host = await person(hostName);
    const bob = await person(bobName);
    await goLive(host, room, { stageApproval: true });
    await bob.session.watch(room);
    await expect(bob.session.changeRoleToPlayer()).rejects.toMatchObject({ code: Code.FORBIDDEN });
    expect(bob.session.phase).toBe('audience');
    expect(bob.session.roster.pusher).toBeNull();
    // The positive control: the approved way in works in the same room.
    await bob.session.requestCoHost();
    await until(host, (s) => s.requests.length === 1, 'the request');
    await host.session.respondCoHost(bobName, true);
    await onStage(bob, [host]);
  });

  it("takes the host's refusal and the server's timeout back to watching, each told", async () => {
    const [hostName, bobName, room] = fresh('host', 'bob', 'picky');
    // The app tells its sessions the server's co-host timeout.
    const host = await person(hostName, { coHostTimeout: CO_HOST_TIMEOUT_MS });
    const bob = await person(bobName);
    await goLive(host, room);
    await bob.session.watch(room);

    await bob.session.requestCoHost();
    await until(host, (s) => s.requests.length === 1, 'the request');
    await host.session.respondCoHost(bobName, false);
    await until(bob, (s) => s.phase === 'audience' && s.notice?.kind === 'request-refused', 'refused');

    // Nobody answers: the server's timeout comes back as a refusal with reason timeout.
    await bob.session.requestCoHost();
    await until(bob, (s) => s.notice?.kind === 'request-timeout', 'timed out', CO_HOST_TIMEOUT_MS + 3000);
    expect(bob.session.phase).toBe('audience');
    // The host's list forgets the expired request too (its own timer, the server tells the host nothing).
    await until(host, (s) => s.requests.length === 0, 'the request forgotten', CO_HOST_TIMEOUT_MS + 3000);
  });

  it('ends the audience as network (host-lost) once the host is gone past its grace', async () => {
    const [hostName, bobName, room] = fresh('host', 'bob', 'lost');
    const host = await person(hostName);
    const bob = await person(bobName);
    await goLive(host, room);
    await bob.session.watch(room);
    // The host's phone loses its network, and never comes back.
    host.cut();
    host.netcall.close();
    await ended(bob, 'network', 'host-lost');
    expect(bob.records[0].role).toBe('audience');
  });

  it('keeps an audience session watching across a reconnect, with the live URLs it was given again', async () => {
    const [hostName, bobName, room] = fresh('host', 'bob', 'rejoin');
    const host = await person(hostName);
    const bob = await person(bobName);
    await goLive(host, room);
    await bob.session.watch(room);
    const before = bob.session.snapshot().live!;
    // Into the next second, so the URLs given again carry another expiry and differ from the first ones.
    await new Promise((resolve) => setTimeout(resolve, 1020 - (Date.now() % 1000)));
    bob.cut();
    const rejoined = await bob.netcall.next('roomRejoined');
    expect(rejoined.result.live!.flv).not.toBe(before.flv);
    await until(bob, (s) => s.live?.flv === rejoined.result.live!.flv, 'the live URLs given again');
    expect(bob.session.phase).toBe('audience');
    await host.session.hangup();
    await ended(bob, 'remote-hangup', 'host-left');
  });
});
