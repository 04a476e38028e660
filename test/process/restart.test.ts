/** @jest-environment node */
/**
 * Stopping and restarting the server process: SIGTERM ends every call cleanly for both sides (reason
 * `network`, not a silent drop), tells the clients to come back, and they do once the server is up again; a
 * crash (SIGKILL) loses no call history that was already acknowledged, when history is kept in a file.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CLI_TEST_TIMEOUT_MS, startCli, stopAllClis } from '../helpers/cli';
import { freePort } from '../helpers/ports';
import { TEST_MEDIA_SECRET, TEST_SECRET, closeClients, fetchCalls } from '../helpers/server';
import { disposeParties, ended, party, type Party } from '../helpers/session';

const ENV = { NETCALL_SECRET: TEST_SECRET, NETCALL_MEDIA_SECRET: TEST_MEDIA_SECRET };
/** Keeps trying for as long as a restart takes, without hammering the port while it is down. */
const COMES_BACK = { reconnectDelay: 200, maxReconnectDelay: 1000, maxReconnects: 30 };

afterEach(async () => {
  await disposeParties();
  closeClients();
  await stopAllClis();
});

/** Alice calls bob, who answers; resolves once alice's media is started. */
async function answered(alice: Party, bob: Party): Promise<void> {
  await alice.session.call(bob.netcall.account, 2);
  await bob.netcall.next('beCalling');
  await bob.session.accept();
  await alice.netcall.next('syncDone');
}

describe('SIGTERM', () => {
  it(
    'ends calls for both sides with reason network, and the clients reconnect to the restarted server',
    async () => {
      const ports = [await freePort(), await freePort(), await freePort()];
      const args = [
        '--port',
        `${ports[0]}`,
        '--rtmp-port',
        `${ports[1]}`,
        '--media-http-port',
        `${ports[2]}`,
      ];
      const first = await startCli(args, ENV);
      const alice = await party(first, 'term-alice', {}, COMES_BACK);
      const bob = await party(first, 'term-bob', {}, COMES_BACK);
      await answered(alice, bob);

      first.child.kill('SIGTERM');
      // Both hear the end from the server before their sockets go, so both end with the same, true reason.
      await ended(alice, 'network');
      await ended(bob, 'network');
      expect(alice.netcall.seen('hangup')).toEqual([expect.objectContaining({ reason: 'network' })]);
      expect(await first.exited).toBe(0);
      // Told to come back (1012), not refused: both keep trying.
      await Promise.all([alice.netcall.next('willreconnect'), bob.netcall.next('willreconnect')]);

      const second = await startCli(args, ENV);
      await Promise.all([alice.netcall.next('reconnected', 15000), bob.netcall.next('reconnected', 15000)]);
      // The reconnected clients are fully usable: a new call goes through.
      const { cid } = await alice.netcall.call({ type: 1, callee: 'term-bob' });
      expect(await bob.netcall.next('beCalling')).toMatchObject({ cid, caller: 'term-alice' });
      await disposeParties();
      expect(await second.stop()).toBe(0);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

describe('a crash', () => {
  let folder: string;
  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'netcall-crash-'));
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it(
    'loses no ended call from a history file: the restarted server lists it',
    async () => {
      const args = ['--history-file', join(folder, 'calls.jsonl')];
      const first = await startCli(args, ENV);
      const alice = await party(first, 'crash-alice');
      const bob = await party(first, 'crash-bob');
      await answered(alice, bob);
      await bob.session.hangup();
      await ended(alice, 'remote-hangup');
      // Acknowledged: the record is served, so a user has seen it.
      const before = await fetchCalls(first, 'crash-alice');
      expect(before.calls).toEqual([expect.objectContaining({ outcome: 'completed' })]);
      await disposeParties();
      first.child.kill('SIGKILL'); // no shutdown path runs
      expect(await first.exited).toBe(null);

      const second = await startCli(args, ENV);
      expect(await fetchCalls(second, 'crash-alice')).toEqual(before);
      expect(await second.stop()).toBe(0);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
