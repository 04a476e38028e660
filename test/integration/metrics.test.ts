/** @jest-environment node */
/**
 * `GET /metrics` against the real server and real clients: who may scrape (the metrics token, 401, 404 when
 * none is configured), and what a scrape says once clients log in, call, get refused and send junk. The
 * exposition text is parsed (name, labels, value; TYPE lines) rather than matched as substrings.
 */
import type { RunningServer } from '../../server/index';
import { NetcallError } from '../../services/protocol';
import { TEST_SECRET, closeClients, connectClient, establishCall, startTestServer } from '../helpers/server';
import { mintToken } from '../../server/index';
import { disposeParties, inCall, names, party } from '../helpers/session';
import { closeSocket, rawSocket } from '../helpers/ws-socket';
import { find, parseExposition, scrapeMetrics, valueOf, type Scrape } from '../helpers/metrics';

const METRICS_TOKEN = 'metrics-test-token-0123456789';

const get = (server: RunningServer, authorization?: string) =>
  fetch(`${server.httpUrl}/metrics`, authorization ? { headers: { authorization } } : {});

const scrape = (server: RunningServer): Promise<Scrape> => scrapeMetrics(server, METRICS_TOKEN);

afterEach(closeClients);
afterEach(disposeParties);

describe('GET /metrics', () => {
  let server: RunningServer;
  beforeEach(async () => {
    server = await startTestServer({ metricsToken: METRICS_TOKEN });
  });
  afterEach(() => server.close());

  it('answers only the metrics token: 401 without it or with another, 200 with it', async () => {
    const anonymous = await get(server);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({
      code: 401,
      message: expect.stringMatching(/metrics token/),
    });
    expect((await get(server, 'Bearer wrong-token-0123456789')).status).toBe(401);
    expect((await get(server, METRICS_TOKEN)).status).toBe(401); // not a Bearer credential

    const res = await get(server, `Bearer ${METRICS_TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const idle = parseExposition(await res.text());
    expect(idle.types.get('netcall_connections')).toBe('gauge');
    expect(idle.types.get('netcall_requests_total')).toBe('counter');
    expect(idle.types.get('netcall_call_setup_seconds')).toBe('histogram');
    expect(valueOf(idle, 'netcall_connections')).toBe(0);
    expect(valueOf(idle, 'netcall_calls', { state: 'ringing' })).toBe(0);
    for (const kind of ['room', 'call', 'live'])
      for (const state of ['waiting', 'active'])
        expect(valueOf(idle, 'netcall_rooms', { kind, state })).toBe(0);
    expect(valueOf(idle, 'netcall_media_up')).toBe(1);
    expect(valueOf(idle, 'netcall_media_restarts_total')).toBe(0);
    expect(valueOf(idle, 'netcall_store_up')).toBe(1);
    // Node's process metrics, under our prefix (not prom-client's bare names).
    expect(valueOf(idle, 'netcall_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(find(idle, 'process_cpu_user_seconds_total')).toEqual([]);
  });

  it('counts connections, accounts, calls by state, replies by op and code, and one call setup', async () => {
    const a = await connectClient(server, 'metrics-a');
    const b = await connectClient(server, 'metrics-b');
    await establishCall(a, b);

    const during = await scrape(server);
    expect(valueOf(during, 'netcall_connections')).toBe(2);
    expect(valueOf(during, 'netcall_online_accounts')).toBe(2);
    expect(valueOf(during, 'netcall_calls', { state: 'accepted' })).toBe(1);
    expect(valueOf(during, 'netcall_calls', { state: 'ringing' })).toBe(0);
    expect(valueOf(during, 'netcall_requests_total', { op: 'call', code: '200' })).toBe(1);
    expect(valueOf(during, 'netcall_requests_total', { op: 'login', code: '200' })).toBe(2);
    expect(valueOf(during, 'netcall_requests_total', { op: 'startRtc', code: '200' })).toBe(2);
    expect(valueOf(during, 'netcall_call_setup_seconds_count')).toBe(1);
    const setup = valueOf(during, 'netcall_call_setup_seconds_sum');
    expect(setup).toBeGreaterThanOrEqual(0);
    expect(setup).toBeLessThan(5);
    expect(valueOf(during, 'netcall_call_setup_seconds_bucket', { le: '+Inf' })).toBe(1);
    expect(valueOf(during, 'netcall_media_up')).toBe(1);

    // A repeated startRtc (what a device does when it rejoins) is a request, not a second setup.
    await b.startRtc({ mode: 0 });
    const rejoined = await scrape(server);
    expect(valueOf(rejoined, 'netcall_requests_total', { op: 'startRtc', code: '200' })).toBe(3);
    expect(valueOf(rejoined, 'netcall_call_setup_seconds_count')).toBe(1);

    // Gauges are read from the state when scraped: the ended call is gone without anyone decrementing.
    await a.hangup();
    await b.next('hangup');
    const after = await scrape(server);
    expect(valueOf(after, 'netcall_calls', { state: 'accepted' })).toBe(0);
    expect(valueOf(after, 'netcall_connections')).toBe(2);
  });

  it('counts a device that comes back on a new connection and rejoins as no second setup', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = await party(server, alice);
    const b = await party(server, bob);
    await inCall(a, b);
    expect(valueOf(await scrape(server), 'netcall_call_setup_seconds_count')).toBe(1);

    // The network drops under alice: her device reconnects, takes its place back and starts RTC again.
    const rejoined = new Promise((resolve) => a.netcall.once('syncDone', resolve));
    a.cut();
    await rejoined;
    const after = await scrape(server);
    expect(valueOf(after, 'netcall_requests_total', { op: 'startRtc', code: '200' })).toBe(3);
    expect(valueOf(after, 'netcall_call_setup_seconds_count')).toBe(1);
  });

  it('counts refusals with their code, and unknown ops as "unknown"', async () => {
    const a = await connectClient(server, 'metrics-caller');
    await expect(a.call({ type: 2, callee: 'metrics-offline' })).rejects.toMatchObject({ code: 404 });
    await expect(a.call({ type: 2, callee: 'metrics-offline' })).rejects.toBeInstanceOf(NetcallError);

    const raw = await rawSocket(server.url);
    try {
      raw.sendText(
        JSON.stringify({ seq: 1, op: 'login', args: { token: mintToken(TEST_SECRET, 'metrics-raw') } }),
      );
      expect(await raw.next()).toMatchObject({ seq: 1, code: 200 });
      raw.sendText(JSON.stringify({ seq: 2, op: 'no-such-op-xyz', args: {} }));
      expect(await raw.next()).toMatchObject({ seq: 2, code: 400 });
      // A known op with bad arguments is refused before any handler runs, and still counts against its op.
      raw.sendText(JSON.stringify({ seq: 3, op: 'hangup', args: { cid: 42 } }));
      expect(await raw.next()).toMatchObject({ seq: 3, code: 400 });
      // Not JSON at all: the error event carries no seq, and the count has no op to name.
      raw.sendText('not json');
      expect(await raw.next()).toMatchObject({ event: 'error', data: { code: 400 } });
    } finally {
      await closeSocket(raw.socket);
    }

    const after = await scrape(server);
    expect(valueOf(after, 'netcall_requests_total', { op: 'call', code: '404' })).toBe(2);
    expect(find(after, 'netcall_requests_total', { op: 'call', code: '200' })).toEqual([]);
    expect(valueOf(after, 'netcall_requests_total', { op: 'hangup', code: '400' })).toBe(1);
    expect(valueOf(after, 'netcall_requests_total', { op: 'unknown', code: '400' })).toBe(2);
    expect(find(after, 'netcall_requests_total', { op: 'no-such-op-xyz' })).toEqual([]);
    // Only names from the op list (and "unknown") ever become labels.
    const ops = new Set(find(after, 'netcall_requests_total').map((s) => s.labels.op));
    expect([...ops].sort()).toEqual(['call', 'hangup', 'login', 'unknown']);
    expect(valueOf(after, 'netcall_call_setup_seconds_count')).toBe(0);
  });

  it('reads ringing calls, and rooms by kind and state, from the state when scraped', async () => {
    const a = await connectClient(server, 'metrics-ringer');
    const b = await connectClient(server, 'metrics-rung');
    const c = await connectClient(server, 'metrics-host');
    const d = await connectClient(server, 'metrics-guest');
    await a.call({ type: 2, callee: b.account });
    await b.next('beCalling');
    await c.createChannel({ channelName: 'metrics-room' });
    const ringing = await scrape(server);
    expect(valueOf(ringing, 'netcall_calls', { state: 'ringing' })).toBe(1);
    expect(valueOf(ringing, 'netcall_calls', { state: 'accepted' })).toBe(0);
    // Created, nobody in it yet.
    expect(valueOf(ringing, 'netcall_rooms', { kind: 'room', state: 'waiting' })).toBe(1);
    expect(valueOf(ringing, 'netcall_rooms', { kind: 'room', state: 'active' })).toBe(0);
    expect(valueOf(ringing, 'netcall_rooms', { kind: 'call', state: 'waiting' })).toBe(0);

    await c.joinChannel({ channelName: 'metrics-room', type: 2 });
    await d.joinChannel({ channelName: 'metrics-room', type: 2 });
    const talking = await scrape(server);
    expect(valueOf(talking, 'netcall_rooms', { kind: 'room', state: 'waiting' })).toBe(0);
    expect(valueOf(talking, 'netcall_rooms', { kind: 'room', state: 'active' })).toBe(1);

    await a.hangup();
    await b.next('hangup');
    expect(valueOf(await scrape(server), 'netcall_calls', { state: 'ringing' })).toBe(0);
  });

  it("counts only its own server's activity", async () => {
    const other = await startTestServer({ metricsToken: METRICS_TOKEN });
    try {
      await connectClient(server, 'metrics-here');
      const here = await scrape(server);
      const there = await scrape(other);
      expect(valueOf(here, 'netcall_connections')).toBe(1);
      expect(valueOf(here, 'netcall_requests_total', { op: 'login', code: '200' })).toBe(1);
      expect(valueOf(there, 'netcall_connections')).toBe(0);
      expect(find(there, 'netcall_requests_total')).toEqual([]);
    } finally {
      await other.close();
    }
  });
});

describe('GET /metrics without a metrics token configured', () => {
  it('is 404 and says how to turn metrics on, whatever is sent', async () => {
    const server = await startTestServer();
    try {
      for (const authorization of [undefined, `Bearer ${METRICS_TOKEN}`]) {
        const res = await get(server, authorization);
        expect(res.status).toBe(404);
        expect(await res.json()).toMatchObject({
          code: 404,
          message: expect.stringMatching(/metrics are off.*NETCALL_METRICS_TOKEN/),
        });
      }
      // Positive control: the same server answers on its port.
      expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
