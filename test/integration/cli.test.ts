/** @jest-environment node */
/**
 * The CLI as `npm run serve` runs it: ready line, working endpoints, clean stop on SIGTERM, clear refusal.
 */
import { spawn } from 'child_process';
import { join } from 'path';

const ROOT = join(__dirname, '..', '..');
const TS_NODE = join(ROOT, 'node_modules', '.bin', 'ts-node');

function runCli(args: string[]) {
  const child = spawn(TS_NODE, ['--transpile-only', 'server/cli.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NETCALL_SECRET: '', NETCALL_MEDIA_SECRET: '' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const line = (pattern: RegExp, timeoutMs = 20000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${pattern} in: ${out}\n${err}`)), timeoutMs);
      const check = () => {
        const match = pattern.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(match);
        }
      };
      child.stdout.on('data', check);
      check();
    });
  return { child, exited, line, output: () => out + err };
}

describe('npm run serve', () => {
  it('prints "listening ws://HOST:PORT" when ready, serves /healthz, and stops on SIGTERM', async () => {
    const cli = runCli([
      '--port',
      '0',
      '--rtmp-port',
      '0',
      '--media-http-port',
      '0',
      '--host',
      '127.0.0.1',
      '--dev',
      '--log-level',
      'silent',
    ]);
    const [, port] = await cli.line(/^listening ws:\/\/127\.0\.0\.1:(\d+)$/m);
    await cli.line(/dev login POST http:\/\/127\.0\.0\.1:\d+\/api\/login/);
    // Lines may arrive in separate chunks: wait for this one too rather than reading the output so far.
    await cli.line(/DevTools\s+import the folder /);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it('refuses to start without secrets outside dev mode, saying why', async () => {
    const cli = runCli(['--port', '0', '--rtmp-port', '0', '--media-http-port', '0', '--host', '127.0.0.1']);
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toMatch(/secret/);
  });
});
