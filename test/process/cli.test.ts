/** @jest-environment node */
/**
 * The CLI as `npm run serve` runs it: ready line, working endpoints, clean stop on SIGTERM, and the
 * configuration it refuses (secrets on the command line, short secrets, dev mode with real secrets or in
 * production), each with an error that names what to change.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CLI_TEST_TIMEOUT_MS, cliArgs, runCli, startCli, stopAllClis } from '../helpers/cli';
import { TEST_MEDIA_SECRET, TEST_SECRET } from '../helpers/server';

afterEach(stopAllClis);

describe('npm run serve', () => {
  it(
    'prints "listening ws://HOST:PORT" when ready, serves /healthz, and stops on SIGTERM',
    async () => {
      const cli = await startCli(['--dev', '--log-level', 'silent']);
      expect(cli.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      await cli.line(/dev login POST http:\/\/127\.0\.0\.1:\d+\/api\/login/);
      // Lines may arrive in separate chunks: wait for this one too rather than reading the output so far.
      await cli.line(/DevTools\s+import the folder /);
      const health = await fetch(`${cli.httpUrl}/healthz`);
      expect(health.status).toBe(200);
      expect(await cli.stop()).toBe(0);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'reads secrets from files or the environment, and the metrics token unlocks /healthz counts',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'netcall-cli-'));
      try {
        writeFileSync(join(dir, 'secret'), `${TEST_SECRET}\n`);
        const cli = await startCli(['--secret-file', join(dir, 'secret')], {
          NETCALL_MEDIA_SECRET: TEST_MEDIA_SECRET,
          NETCALL_METRICS_TOKEN: 'metrics-token-0123456789',
        });
        const plain = await (await fetch(`${cli.httpUrl}/healthz`)).json();
        const counted = await (
          await fetch(`${cli.httpUrl}/healthz`, {
            headers: { authorization: 'Bearer metrics-token-0123456789' },
          })
        ).json();
        expect(plain).toEqual({ status: 'ok', media: 'up' });
        expect(counted).toMatchObject({ status: 'ok', connections: 0, calls: 0 });
        expect(await cli.stop()).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it.each([
    ['no secrets outside dev mode', [], {}, /`secret` \(NETCALL_SECRET\) is required/],
    ['a secret on the command line', ['--secret', TEST_SECRET], {}, /visible to every local user/],
    [
      'a short secret',
      [],
      { NETCALL_SECRET: 'too-short', NETCALL_MEDIA_SECRET: TEST_MEDIA_SECRET },
      /`secret` \(NETCALL_SECRET\) is 9 bytes; at least 32/,
    ],
    ['dev mode with a real secret', ['--dev'], { NETCALL_SECRET: TEST_SECRET }, /dev mode/],
    ['dev mode in production', ['--dev'], { NODE_ENV: 'production' }, /dev mode .*NODE_ENV=production/],
  ])(
    'refuses to start with %s, saying why',
    async (_what, args, env, reason) => {
      const cli = runCli(cliArgs(args), env as Record<string, string>);
      expect(await cli.exited).toBe(1);
      expect(cli.output()).toMatch(reason);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
