/** @jest-environment node */
/**
 * The backend as a package one installs and runs (issue "For app developers", point 5): `npm pack` of the
 * server workspace gives a tarball of compiled JavaScript whose runtime dependencies are real `dependencies`;
 * installed into an empty folder (from npm's cache, or the registry), `npx miniprogram-netcall-server --help`
 * lists every option — the same text as the source CLI's — and the installed server starts with plain node,
 * serves a dev login and a call's signalling, and stops on SIGTERM. No ts-node anywhere in it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { flags as NODE_FLAGS } from '../../server/node-flags.json';
import { closeClients, connectClient } from '../helpers/server';
import { eventuallyValue } from '../helpers/wait';

const ROOT = path.resolve(__dirname, '../..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const TS_NODE = path.join(ROOT, 'node_modules/.bin/ts-node');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'server-package-'));
let tarball: string;
let installed: string;
const children: ChildProcess[] = [];

const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(() => {
  // `npm pack` runs the workspace's prepack: a fresh build into server/dist.
  const packed = JSON.parse(
    run(NPM, ['pack', '--workspace', 'server', '--pack-destination', dir, '--json'], ROOT),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = path.join(dir, packed[0].filename);
  installed = path.join(dir, 'app');
  fs.mkdirSync(installed);
  // A deployment folder: the package and nothing else. ffmpeg's platform package needs its install script.
  fs.writeFileSync(
    path.join(installed, 'package.json'),
    JSON.stringify({ private: true, allowScripts: { '@ffmpeg-installer/linux-x64': true } }),
  );
  run(NPM, ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev'], installed);
}, 240_000);

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the server package', () => {
  it('packs compiled JavaScript with its runtime dependencies, and no TypeScript tooling', () => {
    const files = run('tar', ['-tzf', tarball], dir).split('\n').filter(Boolean);
    expect(files).toContain('package/dist/server/cli.js');
    expect(files).toContain('package/dist/server/media/worker.js');
    expect(files).toContain('package/dist/services/protocol/index.js');
    expect(files).toContain('package/dist/server/viewer/index.html');
    // Only compiled code ships: no TypeScript sources and no tests.
    expect(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((file) => file.includes('/test/'))).toEqual([]);

    const manifest = JSON.parse(
      fs.readFileSync(path.join(installed, 'node_modules/miniprogram-netcall-server/package.json'), 'utf8'),
    ) as { bin: Record<string, string>; dependencies: Record<string, string> };
    expect(manifest.bin).toEqual({ 'miniprogram-netcall-server': 'dist/server/cli.js' });
    expect(Object.keys(manifest.dependencies).sort()).toEqual(
      [
        '@ffmpeg-installer/ffmpeg',
        'ioredis',
        'jsonwebtoken',
        'mpegts.js',
        'node-media-server',
        'pino',
        'prom-client',
        'ws',
      ].sort(),
    );
    // What a production install holds: no ts-node, no TypeScript.
    expect(fs.existsSync(path.join(installed, 'node_modules/ts-node'))).toBe(false);
    expect(fs.existsSync(path.join(installed, 'node_modules/typescript'))).toBe(false);
    expect(fs.existsSync(path.join(installed, 'node_modules/ws'))).toBe(true); // the control: deps are there
  });

  it('lists every option with --help, the same as the CLI in the repo', () => {
    const help = run('npx', ['--no-install', 'miniprogram-netcall-server', '--help'], installed);
    const fromSource = run(TS_NODE, ['--transpile-only', 'server/cli.ts', '--help'], ROOT);
    expect(help.split('\n')[0]).toBe('miniprogram-netcall-server [flags]');
    // Only the first line (how it is invoked) differs.
    expect(help.split('\n').slice(1)).toEqual(fromSource.split('\n').slice(1));
    expect(help).toContain('--max-co-hosts N');
    expect(help).toContain('--live-mix');
  });

  it('starts with plain node, serves a dev login and signalling, and stops on SIGTERM', async () => {
    const child = spawn(
      path.join(installed, 'node_modules/.bin/miniprogram-netcall-server'),
      [
        '--dev',
        '--no-echo',
        '--no-live-mix',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--rtmp-port',
        '0',
      ].concat(['--media-http-port', '0', '--log-level', 'warn']),
      { cwd: installed, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NETCALL_SECRET: '' } },
    );
    children.push(child);
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const url = await eventuallyValue(
      () => /listening (ws:\/\/\S+)/.exec(out)?.[1],
      'the ready line',
      30_000,
    );
    // Plain node runs it, with node's own flags (server/node-flags.json, on the bin's `env -S` line): the
    // process is node with the package's compiled CLI, not ts-node.
    const argv = fs.readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
    const [interpreter, ...flags] = argv.slice(0, NODE_FLAGS.length + 1);
    const script = argv[NODE_FLAGS.length + 1];
    expect(path.basename(interpreter)).toBe('node');
    expect(flags).toEqual(NODE_FLAGS);
    expect(fs.realpathSync(script)).toBe(
      fs.realpathSync(path.join(installed, 'node_modules/miniprogram-netcall-server/dist/server/cli.js')),
    );

    const httpUrl = url.replace(/^ws/, 'http');
    expect((await fetch(`${httpUrl}/healthz`)).status).toBe(200);
    // Dev mode mints tokens for any account (its secret is its own): the login a mini-program would do.
    const login = async (account: string) => {
      const res = await fetch(`${httpUrl}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ account }),
      });
      return ((await res.json()) as { token: string }).token;
    };
    const alice = await connectClient(url, 'alice', { token: await login('alice') });
    const bob = await connectClient(url, 'bob', { token: await login('bob') });
    const ringing = new Promise((resolve) => bob.on('beCalling', resolve));
    await alice.call({ type: 1, callee: 'bob' });
    expect(await ringing).toMatchObject({ caller: 'alice', type: 1 });
    closeClients();

    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);
});
