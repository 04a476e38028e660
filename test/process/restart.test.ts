/** @jest-environment node */
/**
 * Stopping and restarting the server process: SIGTERM ends every call cleanly for both sides (reason
 * `network`, not a silent drop), tells the clients to come back, and they do once the server is up again; a
 * crash (SIGKILL) loses no call history that was already acknowledged, when history is kept in a file.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Netcall } from '../../services/netcall';
import { CallSession } from '../../services/call';
import { startCli } from '../helpers/cli';
import { freePort } from '../helpers/ports';
import { record } from '../helpers/recorder';
import { TEST_MEDIA_SECRET, TEST_SECRET } from '../helpers/server';
import { mintToken } from '../../server';
import { wsConnectSocket } from '../helpers/ws-socket';

const ENV = { NETCALL_SECRET: TEST_SECRET, NETCALL_MEDIA_SECRET: TEST_MEDIA_SECRET };

function party(url: string, account: string) {
  const netcall = new Netcall({
    server: url,
    account,
    token: mintToken(TEST_SECRET, account, 600),
    connectSocket: wsConnectSocket,
    reconnectDelay: 200,
    maxReconnectDelay: 1000,
    maxReconnects: 30,
  });
  const session = new CallSession({ netcall, checkPermissions: async () => ({ granted: true }) });
  const ended = new Promise<string>((resolve) => session.on('callEnded', (r) => resolve(r.reason)));
  return { netcall, session, ended, events: record(netcall) };
}

describe('SIGTERM', () => {
  it('ends calls for both sides with reason network, and the clients reconnect to the restarted server', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const args = ['--port', `${ports[0]}`, '--rtmp-port', `${ports[1]}`, '--media-http-port', `${ports[2]}`];
    const first = await startCli(args, ENV);
    const alice = party(first.url, 'term-alice');
    const bob = party(first.url, 'term-bob');
    await Promise.all([alice.netcall.connect(), bob.netcall.connect()]);
    await alice.session.call('term-bob', 2);
    await bob.events.next('beCalling');
    await bob.session.accept();
    await alice.events.next('syncDone');

    first.child.kill('SIGTERM');
    // Both hear the end from the server before their sockets go, so both end with the same, true reason.
    expect(await alice.ended).toBe('network');
    expect(await bob.ended).toBe('network');
    expect(alice.events.seen('hangup')).toEqual([expect.objectContaining({ reason: 'network' })]);
    expect(await first.exited).toBe(0);
    // Told to come back (1012), not refused: both keep trying.
    await Promise.all([alice.events.next('willreconnect'), bob.events.next('willreconnect')]);

    const second = await startCli(args, ENV);
    try {
      await Promise.all([alice.events.next('reconnected', 15000), bob.events.next('reconnected', 15000)]);
      // The reconnected clients are fully usable: a new call goes through.
      const { cid } = await alice.netcall.call({ type: 1, callee: 'term-bob' });
      expect(await bob.events.next('beCalling')).toMatchObject({ cid, caller: 'term-alice' });
    } finally {
      for (const p of [alice, bob]) {
        await p.session.dispose();
        p.netcall.close();
      }
      expect(await second.stop()).toBe(0);
    }
  });
});

describe('a crash', () => {
  it('loses no ended call from a history file: the restarted server lists it', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'netcall-crash-'));
    const args = ['--history-file', join(folder, 'calls.jsonl')];
    try {
      const first = await startCli(args, ENV);
      const alice = party(first.url, 'crash-alice');
      const bob = party(first.url, 'crash-bob');
      await Promise.all([alice.netcall.connect(), bob.netcall.connect()]);
      await alice.session.call('crash-bob', 1);
      await bob.events.next('beCalling');
      await bob.session.accept();
      await alice.events.next('syncDone');
      await bob.session.hangup();
      expect(await alice.ended).toBe('remote-hangup');
      const listed = (cli: { httpUrl: string }) =>
        fetch(`${cli.httpUrl}/api/calls`, {
          headers: { authorization: `Bearer ${mintToken(TEST_SECRET, 'crash-alice', 600)}` },
        }).then(async (res) => ((await res.json()) as { calls: { cid: string; outcome: string }[] }).calls);
      // Acknowledged: the record is served, so a user has seen it.
      const before = await listed(first);
      expect(before).toEqual([expect.objectContaining({ outcome: 'completed' })]);
      for (const p of [alice, bob]) {
        await p.session.dispose();
        p.netcall.close();
      }
      first.child.kill('SIGKILL'); // no shutdown path runs
      expect(await first.exited).toBe(null);

      const second = await startCli(args, ENV);
      try {
        expect(await listed(second)).toEqual(before);
      } finally {
        expect(await second.stop()).toBe(0);
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
