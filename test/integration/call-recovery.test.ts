/** @jest-environment node */
/**
 * Signalling recovery with CallSession: a dropped socket within the server's grace period keeps the call (the
 * device reconnects, rejoins and gets a fresh syncDone); past it, both ends end with reason network.
 */
import type { RunningServer } from '../../server/index';
import { startTestServer } from '../helpers/server';
import { disposeParties, ended, inCall, names, party } from '../helpers/session';

const GRACE_MS = 1500;
let server: RunningServer;

beforeAll(async () => {
  server = await startTestServer({ callGraceMs: GRACE_MS });
});
afterAll(async () => {
  await server.close();
});
afterEach(disposeParties);

describe('signalling recovery', () => {
  it('keeps the call through a dropped socket: the device reconnects, rejoins, and gets fresh URLs', async () => {
    const [alice, bob] = names('alice', 'bob');
    const a = await party(server, alice);
    const b = await party(server, bob);
    await inCall(a, b);
    const reconnecting: boolean[] = [];
    a.session.on('change', (c) => c.reconnecting !== undefined && reconnecting.push(c.reconnecting));
    const rejoined = new Promise((resolve) => a.netcall.once('syncDone', resolve));
    a.cut();
    await rejoined;
    expect(reconnecting).toEqual([true, false]);
    expect(a.session.phase).toBe('in-call');
    expect(b.session.phase).toBe('in-call');
    expect(a.session.roster.pusher?.url).toMatch(/^rtmp:/);
    expect(a.session.roster.players.map((p) => p.account)).toEqual([bob]);
    await b.session.hangup();
    await ended(a, 'remote-hangup');
  });

  it('ends with network on both sides when the device is not back within the grace period', async () => {
    const [alice, bob] = names('alice', 'bob');
    // alice retries only after the server's grace period is over.
    const a = await party(server, alice, {}, { reconnectDelay: GRACE_MS + 1000 });
    const b = await party(server, bob);
    await inCall(a, b);
    a.cut();
    await ended(b, 'network');
    await ended(a, 'network');
  });
});
