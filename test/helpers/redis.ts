/**
 * A real `redis-server` per test file: its own loopback port and temp folder, nothing saved to disk, gone when
 * the test stops it or the process exits. `kill` and `restart` play "Redis crashed" and "Redis is back" on the
 * same port. Without `redis-server` installed the test fails saying so: a skipped Redis suite would look
 * green on a machine that never ran it.
 */
import { spawn, type ChildProcess } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import net from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { freePort } from './ports';

export interface TestRedis {
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** Kills it for good and removes its folder; safe to call twice. */
  stop(): Promise<void>;
  /**
   * Sends `signal` (SIGKILL by default: a crash). Resolves once the process has exited, or at once for
   * SIGSTOP/SIGCONT, which freeze and thaw it rather than end it.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts Redis again on the same port (killing the running one first) and waits for its PONG: empty, or with
   * what it held when started with `persist`.
   */
  restart(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;

/** Every redis-server started here and still running: killed if the process exits before they are stopped. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: a signal is all there is time for.
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/**
 * Whether the redis-server with process id `pid` answers PING on `port`. The id matters: between picking the
 * port and binding it, another test's server may have taken it, and its PONG must not pass for ours.
 */
function answers(port: number, pid: number | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\nINFO server\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (!reply.startsWith('+PONG\r\n') && reply.length >= 7) return done(false);
      const id = /\r\nprocess_id:(\d+)\r\n/.exec(reply);
      if (id) done(Number(id[1]) === pid);
    });
  });
}

interface Spawned {
  child: ChildProcess;
  exited: Promise<void>;
  output(): string;
}

function spawnRedis(command: string, port: number, dir: string, persist: boolean): Spawned {
  const child = spawn(
    command,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      // Persisting: every write is in the append-only file before Redis answers, so a restart loses none.
      ...(persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
      '--dir',
      dir,
      '--daemonize',
      'no',
      '--logfile',
      '',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (chunk) => (out += chunk));
  child.stderr?.on('data', (chunk) => (out += chunk));
  // A test that forgot stop() must not keep jest from exiting; the exit hook still kills it then.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
  running.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    // Never started (ENOENT): there will be no 'exit'.
    child.once('error', () => resolve());
  });
  void exited.then(() => running.delete(child));
  return { child, exited, output: () => out };
}

/** Waits for PONG; rejects with redis-server's own output if it exited first or never answered. */
async function waitReady(spawned: Spawned, command: string, port: number): Promise<void> {
  let spawnError: Error | undefined;
  spawned.child.once('error', (error) => (spawnError = error));
  let gone = false;
  void spawned.exited.then(() => (gone = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (spawnError)
      throw new Error(
        (spawnError as NodeJS.ErrnoException).code === 'ENOENT'
          ? `\`${command}\` is not installed, and the Redis tests need a real one: apt-get install redis-server`
          : `${command} did not start: ${spawnError.message}`,
      );
    if (gone) throw new Error(`redis-server on port ${port} exited before it answered:\n${spawned.output()}`);
    if (await answers(port, spawned.child.pid)) return;
    if (Date.now() > deadline) {
      spawned.child.kill('SIGKILL');
      throw new Error(
        `redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms:\n${spawned.output()}`,
      );
    }
    // A refused connect comes back at once: this is a poll interval, not a guess at how long start-up takes.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function killed(spawned: Spawned, signal: NodeJS.Signals): Promise<void> {
  if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) return;
  spawned.child.kill(signal);
  if (signal === 'SIGSTOP' || signal === 'SIGCONT') return;
  await spawned.exited;
}

export interface StartRedisOptions {
  /** The server binary, looked up on PATH. Default `redis-server`. */
  command?: string;
  /**
   * Keep what it holds in an append-only file in its folder, so `restart()` brings it back (as production
   * runs it); default off, and `restart()` starts empty.
   */
  persist?: boolean;
}

/**
 * Starts a redis-server on a free loopback port and resolves once it answers PING. A port taken between
 * picking and binding is picked again; any other failure (not installed included) rejects with the reason.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  const command = options.command ?? 'redis-server';
  killAllOnExit();
  const dir = mkdtempSync(join(tmpdir(), 'netcall-redis-'));
  let port = 0;
  let current: Spawned | undefined;
  try {
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      current = spawnRedis(command, port, dir, options.persist ?? false);
      try {
        await waitReady(current, command, port);
        break;
      } catch (error) {
        const taken = /address already in use/i.test(current.output());
        if (!taken || attempt >= 5) throw error;
      }
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let stopped = false;
  let instance: Spawned = current;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await killed(instance, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
    kill: (signal = 'SIGKILL') => killed(instance, signal),
    async restart() {
      if (stopped) throw new Error('restart() after stop(): start a new one with startRedis()');
      // SIGKILL also ends a process frozen by SIGSTOP.
      await killed(instance, 'SIGKILL');
      instance = spawnRedis(command, port, dir, options.persist ?? false);
      await waitReady(instance, command, port);
    },
  };
}
