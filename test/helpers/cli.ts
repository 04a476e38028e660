/**
 * The server as its own process, as an operator runs it (`npm run serve`): for crash, flood and restart tests,
 * which must not share an event loop (or a fate) with the test.
 */
import { spawn, type ChildProcess } from 'child_process';
import { join } from 'path';

const ROOT = join(__dirname, '..', '..');
const TS_NODE = join(ROOT, 'node_modules', '.bin', 'ts-node');

export interface CliRun {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Resolves with the first match of `pattern` in stdout (now or later). */
  line(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  output(): string;
}

/** Starts `server/cli.ts` with `args`; the environment never inherits the developer's NETCALL_* secrets. */
export function runCli(args: string[], env: Record<string, string> = {}): CliRun {
  const child = spawn(TS_NODE, ['--transpile-only', 'server/cli.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NETCALL_SECRET: '',
      NETCALL_MEDIA_SECRET: '',
      NETCALL_METRICS_TOKEN: '',
      NODE_ENV: '',
      ...env,
    },
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk) => (out += chunk));
  child.stderr?.on('data', (chunk) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const line = (pattern: RegExp, timeoutMs = 30000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${pattern} in: ${out}\n${err}`)), timeoutMs);
      const check = () => {
        const match = pattern.exec(out);
        if (match) {
          clearTimeout(timer);
          child.stdout?.off('data', check);
          resolve(match);
        }
      };
      child.stdout?.on('data', check);
      check();
    });
  return { child, exited, line, output: () => out + err };
}

export interface RunningCli extends CliRun {
  url: string;
  httpUrl: string;
  /** SIGTERM, then SIGKILL if it has not exited within 10 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts the CLI on loopback with picked ports (unless `args` sets them) and waits for its ready line. */
export async function startCli(args: string[], env: Record<string, string> = {}): Promise<RunningCli> {
  const ports = ['--port', '0', '--rtmp-port', '0', '--media-http-port', '0'];
  const run = runCli(
    [...(args.includes('--port') ? [] : ports), '--host', '127.0.0.1', '--log-level', 'warn', ...args],
    env,
  );
  const [, host, port] = await run.line(/^listening ws:\/\/([\d.]+):(\d+)$/m);
  return {
    ...run,
    url: `ws://${host}:${port}`,
    httpUrl: `http://${host}:${port}`,
    stop: async () => {
      if (run.child.exitCode !== null || run.child.signalCode !== null) return run.child.exitCode;
      run.child.kill('SIGTERM');
      const timer = setTimeout(() => run.child.kill('SIGKILL'), 10000);
      const code = await run.exited;
      clearTimeout(timer);
      return code;
    },
  };
}
