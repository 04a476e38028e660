/**
 * The server as its own process, as an operator runs it (`npm run serve`): for crash, flood and restart tests,
 * which must not share an event loop (or a fate) with the test. Every process started here is tracked until it
 * exits, so `stopAllClis()` in an `afterEach`/`afterAll` leaves none behind whatever the test did.
 */
import { spawn, type ChildProcess } from 'child_process';
import { join } from 'path';

const ROOT = join(__dirname, '..', '..');
const TS_NODE = join(ROOT, 'node_modules', '.bin', 'ts-node');

/**
 * How long `startCli` (and `line()`, unless told) waits for a line. A test that starts CLIs gives itself a
 * timeout well above this (`CLI_TEST_TIMEOUT_MS`), so a CLI that never gets ready fails with its own output,
 * not with jest's timeout.
 */
export const CLI_READY_TIMEOUT_MS = 30_000;
/** For a test (or hook) that starts one or two CLIs one after the other: both ready waits and the work fit. */
export const CLI_TEST_TIMEOUT_MS = 120_000;
/** How long a CLI gets between SIGTERM and SIGKILL. */
const STOP_GRACE_MS = 10_000;

export interface CliRun {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** The first match of `pattern` in stdout (now or later); fails once the process ended without one, or in time. */
  line(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  output(): string;
}

const running = new Set<CliRun>();

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
  let ended = false;
  child.on('close', () => (ended = true));
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code));
    // Never spawned (no ts-node): there is no exit to wait for.
    child.on('error', () => resolve(null));
  });
  const line = (pattern: RegExp, timeoutMs = CLI_READY_TIMEOUT_MS) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      let settled = false;
      const settle = (match: RegExpMatchArray | null, why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.stdout?.off('data', check);
        child.off('close', closed);
        if (match) resolve(match);
        else reject(new Error(`no ${pattern} ${why} in: ${out}\n${err}`));
      };
      const check = () => {
        const match = pattern.exec(out);
        if (match) settle(match, '');
      };
      // 'close' comes after the last output: a line printed just before the exit is still seen.
      const closed = () => settle(pattern.exec(out), `before the process ended (${child.exitCode})`);
      const timer = setTimeout(() => settle(null, `within ${timeoutMs} ms`), timeoutMs);
      child.stdout?.on('data', check);
      child.on('close', closed);
      check();
      if (ended) closed();
    });
  const run = { child, exited, line, output: () => out + err };
  running.add(run);
  void exited.then(() => running.delete(run));
  return run;
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves with the exit code (null if killed). */
async function stopRun(run: CliRun, graceMs = STOP_GRACE_MS): Promise<number | null> {
  if (run.child.exitCode !== null || run.child.signalCode !== null) return run.child.exitCode;
  run.child.kill('SIGTERM');
  const timer = setTimeout(() => run.child.kill('SIGKILL'), graceMs);
  const code = await run.exited;
  clearTimeout(timer);
  return code;
}

/** Stops every CLI started in this file that is still running (SIGTERM, then SIGKILL after a bound). */
export async function stopAllClis(): Promise<void> {
  await Promise.all([...running].map((run) => stopRun(run)));
}

/**
 * `args` with what a test server needs unless `args` says otherwise: ports picked by the system, loopback
 * only, warnings only. Later flags win, so `args` may override the host or the log level.
 */
export function cliArgs(args: string[]): string[] {
  const ports = ['--port', '0', '--rtmp-port', '0', '--media-http-port', '0'];
  return [...(args.includes('--port') ? [] : ports), '--host', '127.0.0.1', '--log-level', 'warn', ...args];
}

export interface RunningCli extends CliRun {
  url: string;
  httpUrl: string;
  /** SIGTERM, then SIGKILL if it has not exited within 10 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts the CLI (with `cliArgs(args)`) and waits for its ready line; kills it and fails with its output if the
 * line does not come within `CLI_READY_TIMEOUT_MS`.
 */
export async function startCli(args: string[], env: Record<string, string> = {}): Promise<RunningCli> {
  const run = runCli(cliArgs(args), env);
  let host: string;
  let port: string;
  try {
    [, host, port] = await run.line(/^listening ws:\/\/([\d.]+):(\d+)$/m);
  } catch (error) {
    await stopRun(run);
    throw error;
  }
  return {
    ...run,
    url: `ws://${host}:${port}`,
    httpUrl: `http://${host}:${port}`,
    stop: () => stopRun(run),
  };
}
