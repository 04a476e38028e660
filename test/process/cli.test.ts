/** @jest-environment node */
/**
 * The CLI as `npm run serve` runs it: ready line, working endpoints, clean stop on SIGTERM, and the
 * configuration it refuses (secrets on the command line, short secrets, dev mode with real secrets or in
 * production, cluster settings that are unsafe, malformed or without a Redis), each with an error that names what
 * to change; and a node of a cluster configured from the environment alone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import Redis from 'ioredis';
import { CLI_TEST_TIMEOUT_MS, cliArgs, runCli, startCli, stopAllClis } from '../helpers/cli';
import { startRedis, type TestRedis } from '../helpers/redis';
import { TEST_MEDIA_SECRET, TEST_SECRET } from '../helpers/server';

let redis: TestRedis | undefined;

afterEach(async () => {
  await stopAllClis();
  await redis?.stop();
  redis = undefined;
});

/** Good secrets, so a refusal can only be for the setting under test. */
const SECRETS = { NETCALL_SECRET: TEST_SECRET, NETCALL_MEDIA_SECRET: TEST_MEDIA_SECRET };
/** A well-formed Redis URL nothing listens on: each refusal below comes before any connection is tried. */
const NO_REDIS = 'redis://127.0.0.1:1';

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
    [
      'a Redis password on the command line',
      ['--redis', 'redis://:hunter2-hunter2@127.0.0.1:1'],
      SECRETS,
      /--redis must not carry a password: a command line is visible to every local user\. Set NETCALL_REDIS_URL/,
    ],
    [
      'a Redis password in the query of the URL on the command line',
      ['--redis', 'redis://127.0.0.1:1/0?password=hunter2-hunter2'],
      SECRETS,
      /--redis must not carry a password: a command line is visible to every local user\. Set NETCALL_REDIS_URL/,
    ],
    [
      'a node id from the environment that is not letters and digits',
      ['--redis', NO_REDIS],
      { ...SECRETS, NETCALL_NODE_ID: 'node_2' },
      /^--node-id \(NETCALL_NODE_ID\) must be 1 to 16 letters or digits, got "node_2"$/m,
    ],
    [
      'an echo delay past its bound',
      ['--echo', '--echo-delay-ms', '10001'],
      SECRETS,
      /^--echo-delay-ms must be a whole number from 0 to 10000, got 10001$/m,
    ],
    [
      'an odd live canvas width',
      ['--live-mix', '--live-canvas', '641x360'],
      SECRETS,
      /^--live-canvas width must be an even whole number from 160 to 1920, got 641$/m,
    ],
    [
      'an HLS folder under /proc, where a folder can never be made',
      ['--live-mix', '--hls-dir', '/proc/netcall-test/hls'],
      SECRETS,
      /^--hls-dir \/proc\/netcall-test\/hls cannot be written to \(ENOENT\)$/m,
    ],
    [
      'an unknown media placement',
      ['--redis', NO_REDIS, '--media-placement', 'nearest'],
      SECRETS,
      /--media-placement must be least-loaded or local, got "nearest"/,
    ],
    [
      'node settings without a Redis',
      ['--node-id', 'n1', '--node-ttl-ms', '1000'],
      // Not even from the environment: a developer's own must not make the node settings apply.
      { ...SECRETS, NETCALL_REDIS_URL: '' },
      /--node-id, --node-ttl-ms need --redis \(or NETCALL_REDIS_URL\)/,
    ],
    [
      'a Redis address that is not a redis:// URL',
      ['--redis', 'http://127.0.0.1:6379'],
      SECRETS,
      /^--redis \(NETCALL_REDIS_URL\) must be a redis:\/\/ or rediss:\/\/ URL, got "http:\/\/127\.0\.0\.1:6379"$/m,
    ],
    [
      'a node id that is not letters and digits',
      ['--redis', NO_REDIS, '--node-id', 'node-1'],
      SECRETS,
      /^--node-id \(NETCALL_NODE_ID\) must be 1 to 16 letters or digits, got "node-1"$/m,
    ],
    [
      'a Redis key prefix with a space',
      ['--redis', NO_REDIS, '--redis-prefix', 'net call:'],
      SECRETS,
      /^--redis-prefix must be 1 to 64 printable characters, got "net call:"$/m,
    ],
    [
      'a node key life too short to refresh',
      ['--redis', NO_REDIS, '--node-ttl-ms', '299'],
      SECRETS,
      /^--node-ttl-ms must be a number from 300 to 600000, got 299$/m,
    ],
    [
      'a node key life past its bound',
      ['--redis', NO_REDIS, '--node-ttl-ms', '600001'],
      SECRETS,
      /^--node-ttl-ms must be a number from 300 to 600000, got 600001$/m,
    ],
  ])(
    'refuses to start with %s, saying why',
    async (_what, args, env, reason) => {
      const cli = runCli(cliArgs(args), env as Record<string, string>);
      expect(await cli.exited).toBe(1);
      expect(cli.output()).toMatch(reason);
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    'joins a cluster from the environment alone: the Redis URL, password included, and the node id',
    async () => {
      redis = await startRedis();
      const password = 'redis-password-0123456789';
      const admin = new Redis(redis.url);
      try {
        await admin.config('SET', 'requirepass', password);
      } finally {
        admin.disconnect();
      }
      const url = `redis://:${password}@127.0.0.1:${redis.port}`;
      const cli = await startCli([], { ...SECRETS, NETCALL_REDIS_URL: url, NETCALL_NODE_ID: 'fromenv' });
      expect(await (await fetch(`${cli.httpUrl}/healthz`)).json()).toEqual({
        status: 'ok',
        media: 'up',
        redis: 'up',
        node: 'fromenv',
      });
      // It announced itself under that name in that Redis, which it could reach only with the password.
      const authed = new Redis(url);
      try {
        expect(await authed.exists('netcall:alive:fromenv')).toBe(1);
      } finally {
        authed.disconnect();
      }
      expect(await cli.stop()).toBe(0);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
