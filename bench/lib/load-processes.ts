/**
 * The processes of one load run, seen from the benchmark: the listener under load (the CLI, or the bare `ws`
 * baseline) and the generator children. It owns their whole life: every process it forks is killed when the run
 * closes, when the run's time limit passes (the watchdog), when the benchmark is interrupted (SIGINT/SIGTERM)
 * and when this process exits; each child also ends itself when this process goes (its IPC channel closes) or
 * the run's deadline passes (load-child.ts). It never signals a process it did not fork.
 *
 * Listeners run as compiled JavaScript with plain node, as the server package runs in production (server/
 * build.js): in a ts-node process, what the compiler allocated while loading the server stays in VmRSS, tens of
 * MB that the first connections reuse, and a memory cost per connection would read as zero or less.
 */
import { fork, spawnSync, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import { cpSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from 'fs';
import { createRequire } from 'module';
import path from 'path';
import { flags as SIGNALLING_NODE_FLAGS } from '../../server/node-flags.json';
import { MAX_RUN_MS, requireLoopback } from './load-bounds';
import { cpuSeconds as cpuOf, rssMegabytes } from './proc';

const ROOT = path.join(__dirname, '..', '..');
/** Between SIGTERM and SIGKILL for a listener: the server ends every call and closes every socket first. */
const LISTENER_GRACE_MS = 15_000;
/** A generator child has nothing to save: it gets this long after its channel closes, then SIGKILL. */
const GENERATOR_GRACE_MS = 5_000;
const KEPT_OUTPUT = 4000;

/** Every message between a load child and the benchmark has a type; the rest is the message's own. */
export interface LoadMessage {
  type: string;
}

/** A child reports a failure with this; whoever awaits a message from it then rejects with the text. */
export interface FailureMessage {
  type: 'failed';
  message: string;
}

/** A listener's answer to `collect`: after a full garbage collection, what node says it holds. */
export interface CollectedMessage {
  type: 'collected';
  memory: NodeJS.MemoryUsage;
}

export interface LoadChild {
  readonly name: string;
  readonly pid: number;
  send(message: LoadMessage): void;
  /** The next message of `type` from the child (taken once); rejects on its failure, its exit, or in time. */
  next<T extends LoadMessage>(type: T['type'], timeoutMs: number): Promise<T>;
  /** Sends `request`, then `next(type, timeoutMs)`: one step of a generator's script. */
  ask<T extends LoadMessage>(request: LoadMessage, type: T['type'], timeoutMs: number): Promise<T>;
  /** The tail of its stdout and stderr. */
  output(): string;
}

/** What the server under load is asked about a window of the run (epoch ms). */
export interface CollectionsRequest {
  type: 'collections';
  from: number;
  to: number;
}

/** The garbage collections the server ran in that window, and their pauses on its main thread. */
export interface CollectionsMessage {
  type: 'collections-seen';
  full: number;
  fullMs: number;
  young: number;
  youngMs: number;
}

export interface Retained {
  /** VmRSS in bytes (1 kB of /proc = 1024 B). */
  rss: number;
  /** V8's heap in use and what node holds outside it (buffers, sockets' native parts), in bytes. */
  heapUsed: number;
  external: number;
}

export interface Listener {
  readonly pid: number;
  /** The ws:// URL it printed, on loopback. */
  readonly url: string;
  /** VmRSS of the listening process, in bytes. */
  rssBytes(): number;
  /** Its memory after a full garbage collection in it: what it holds, not what it has yet to collect. */
  retained(): Promise<Retained>;
  /** Sends a request and waits for the answer of `type` (the process must answer it). */
  ask: LoadChild['ask'];
  output(): string;
}

/** VmRSS of `pid` in bytes; throws if it cannot be read (the process under test is gone). */
export function rssBytes(pid: number): number {
  const mb = rssMegabytes(pid);
  if (mb === 0) throw new Error(`no VmRSS for process ${pid}`);
  return mb * 1024 * 1024;
}

/** utime + stime of `pid` in seconds (which of server and generator was short of CPU); throws once it is gone. */
export function cpuSeconds(pid: number, mainThread = false): number {
  const seconds = cpuOf(pid, mainThread);
  if (seconds === undefined) throw new Error(`no CPU times for process ${pid}`);
  return seconds;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface ForkOptions {
  env?: NodeJS.ProcessEnv;
  /** node's own flags (before the module). */
  nodeFlags?: string[];
  /** A listener is stopped after every generator, and given time to close cleanly. */
  listener?: boolean;
}

interface Tracked {
  child: ChildProcess;
  listener: boolean;
  exited: Promise<void>;
}

/**
 * Where a process's CPU goes under load, for whoever wants to know why a number is what it is: with
 * BENCH_LOAD_PROFILE=DIR, a V8 CPU profile per process lands there.
 */
export function profileFlags(): string[] {
  return process.env.BENCH_LOAD_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_LOAD_PROFILE)}`]
    : [];
}

/** Where a run's compiled listeners go: under node_modules, so what they require resolves as in the repo. */
const BUILD_ROOT = path.join(ROOT, 'node_modules', '.cache', 'netcall-bench-load');

export class LoadRun {
  private readonly tracked = new Set<Tracked>();
  private readonly watchdog: NodeJS.Timeout;
  private readonly expired: Promise<never>;
  /** When every child must have ended by itself, in epoch ms: they are told, so they stop even without us. */
  readonly deadline: number;
  private closed = false;
  private built: string | null = null;

  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.killAll();
    this.detach();
    // The interrupt goes on to do what it would have done without us (end the benchmark).
    process.kill(process.pid, signal);
  };
  private readonly onExit = (): void => this.killAll();

  constructor(
    readonly what: string,
    limitMs: number,
  ) {
    if (!(limitMs > 0 && limitMs <= MAX_RUN_MS))
      throw new Error(`${what}: a time limit of ${limitMs} ms is not within (0, ${MAX_RUN_MS}]`);
    this.deadline = Date.now() + limitMs;
    let expire: (error: Error) => void = () => {};
    this.expired = new Promise<never>((_, reject) => (expire = reject));
    // Awaited only through within(); a run that finished in time must not report an unhandled rejection.
    this.expired.catch(() => {});
    this.watchdog = setTimeout(() => {
      this.killAll();
      expire(
        new Error(`${what}: over its time limit of ${Math.round(limitMs / 1000)} s; every process killed`),
      );
    }, limitMs);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
    process.on('exit', this.onExit);
  }

  /** `work`, or the watchdog's failure if the time limit passes first. */
  within<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.expired]);
  }

  /**
   * Forks `module` with `args`: a .ts file of bench/lib/ under ts-node (transpile only: type-checking every
   * child would cost CPU the measurement shares), or a compiled .js file under plain node.
   */
  fork(name: string, module: string, args: string[] = [], options: ForkOptions = {}): LoadChild {
    if (this.closed) throw new Error(`${this.what}: the run is closed`);
    const file = path.isAbsolute(module) ? module : path.join(__dirname, module);
    const typescript = file.endsWith('.ts') ? ['-r', 'ts-node/register/transpile-only'] : [];
    const child = fork(file, args, {
      cwd: ROOT,
      execArgv: [...(options.nodeFlags ?? []), ...typescript],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ...options.env, BENCH_LOAD_DEADLINE: String(this.deadline) },
    });
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-KEPT_OUTPUT));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    const tracked: Tracked = { child, listener: options.listener ?? false, exited };
    this.tracked.add(tracked);
    void exited.then(() => this.tracked.delete(tracked));

    const inbox: LoadMessage[] = [];
    const waiters = new Set<() => void>();
    child.on('message', (message: LoadMessage) => {
      inbox.push(message);
      for (const waiter of [...waiters]) waiter();
    });
    void exited.then(() => {
      for (const waiter of [...waiters]) waiter();
    });
    const describe = () => `${name} (pid ${child.pid})`;
    const self: LoadChild = {
      name,
      pid: child.pid ?? -1,
      output: () => output,
      send: (message) => {
        if (child.connected) child.send(message);
      },
      next: <T extends LoadMessage>(type: T['type'], timeoutMs: number) =>
        new Promise<T>((resolve, reject) => {
          const settle = (): void => {
            const failure = inbox.find((message) => message.type === 'failed') as FailureMessage | undefined;
            const index = inbox.findIndex((message) => message.type === type);
            let error: Error | undefined;
            if (failure) error = new Error(`${describe()}: ${failure.message}`);
            else if (index < 0 && (child.exitCode !== null || child.signalCode !== null))
              error = new Error(`${describe()} exited (${child.exitCode ?? child.signalCode}):\n${output}`);
            else if (index < 0) return;
            clearTimeout(timer);
            waiters.delete(settle);
            if (error) reject(error);
            else resolve(inbox.splice(index, 1)[0] as T);
          };
          const timer = setTimeout(() => {
            waiters.delete(settle);
            reject(new Error(`${describe()}: no "${type}" within ${timeoutMs} ms:\n${output}`));
          }, timeoutMs);
          waiters.add(settle);
          settle();
        }),
      ask: <T extends LoadMessage>(request: LoadMessage, type: T['type'], timeoutMs: number) => {
        self.send(request);
        return self.next<T>(type, timeoutMs);
      },
    };
    return self;
  }

  /**
   * The server and the listener scripts beside it, compiled once per run as the server package compiles them
   * (server/tsconfig.build.json), without the type check (`npm run typecheck` does that, and a tree that is
   * being changed must still be measurable). Returns the build's root, laid out as the repo.
   */
  build(): string {
    if (this.built) return this.built;
    const out = path.join(BUILD_ROOT, String(process.pid));
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    this.built = out;
    const config = path.join(out, 'tsconfig.json');
    writeFileSync(
      config,
      JSON.stringify({
        extends: path.join(ROOT, 'server', 'tsconfig.build.json'),
        compilerOptions: { outDir: out, rootDir: ROOT, sourceMap: false },
        include: [
          path.join(ROOT, 'server', '**', '*.ts'),
          path.join(__dirname, 'load-server.ts'),
          path.join(__dirname, 'ws-baseline.ts'),
          path.join(__dirname, 'calls-baseline.ts'),
        ],
        exclude: ['dist', 'dist.building-*', 'node_modules'].map((name) => path.join(ROOT, 'server', name)),
      }),
    );
    const tsc = createRequire(__filename).resolve('typescript/bin/tsc');
    const compiled = spawnSync(process.execPath, [tsc, '-p', config, '--noCheck'], { encoding: 'utf8' });
    if (compiled.status !== 0)
      throw new Error(`${this.what}: compiling the server failed:\n${compiled.stdout}${compiled.stderr}`);
    // What the server reads beside its code at start (server/build.js copies the same).
    cpSync(path.join(ROOT, 'server', 'viewer'), path.join(out, 'server', 'viewer'), { recursive: true });
    return out;
  }

  /**
   * Forks a compiled listener and waits for the `listening ws://HOST:PORT` line it prints; refuses one that
   * listens anywhere but loopback. `preload` runs in its process before `module` (the CLI's own file).
   */
  async listen(
    name: string,
    module: string,
    args: string[],
    options: { env?: NodeJS.ProcessEnv; preload?: string; nodeFlags?: string[] } = {},
  ): Promise<Listener> {
    const preload = options.preload ? ['-r', options.preload] : [];
    const profile = profileFlags();
    const child = this.fork(name, module, args, {
      env: options.env,
      // --expose-gc: the listener collects on request before its memory is read (load-child.ts).
      nodeFlags: [...(options.nodeFlags ?? []), '--expose-gc', ...profile, ...preload],
      listener: true,
    });
    const started = Date.now();
    for (;;) {
      const match = /^listening (ws:\/\/\S+)$/m.exec(child.output());
      if (match) {
        requireLoopback(match[1]);
        return {
          pid: child.pid,
          url: match[1],
          rssBytes: () => rssBytes(child.pid),
          retained: async () => {
            child.send({ type: 'collect' });
            const { memory } = await child.next<CollectedMessage>('collected', 60_000);
            return { rss: rssBytes(child.pid), heapUsed: memory.heapUsed, external: memory.external };
          },
          ask: child.ask,
          output: child.output,
        };
      }
      if (![...this.tracked].some((tracked) => tracked.child.pid === child.pid))
        throw new Error(`${name} exited before listening:\n${child.output()}`);
      if (Date.now() - started > 60_000)
        throw new Error(`${name} did not listen within 60 s:\n${child.output()}`);
      await this.within(sleep(100));
    }
  }

  /**
   * Ends one child the gentle way: its IPC channel closes (a generator exits at that, the server closes its
   * calls and sockets first), then SIGKILL after its grace.
   */
  async end(pid: number): Promise<void> {
    const tracked = [...this.tracked].find((entry) => entry.child.pid === pid);
    if (tracked) await this.stop(tracked);
  }

  /** Ends every child (generators first: the server must not see them reconnect), the watchdog, the build. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.tracked];
    await Promise.all(all.filter((entry) => !entry.listener).map((entry) => this.stop(entry)));
    await Promise.all(all.filter((entry) => entry.listener).map((entry) => this.stop(entry)));
    clearTimeout(this.watchdog);
    this.detach();
    this.removeBuild();
  }

  private async stop({ child, listener, exited }: Tracked): Promise<void> {
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), listener ? LISTENER_GRACE_MS : GENERATOR_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  /** Synchronous, for the exit and signal paths, where nothing may be awaited. */
  private killAll(): void {
    for (const { child } of this.tracked)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    this.removeBuild();
  }

  private removeBuild(): void {
    if (!this.built) return;
    rmSync(this.built, { recursive: true, force: true });
    this.built = null;
    try {
      rmdirSync(BUILD_ROOT);
    } catch {
      // Another run's build is still there.
    }
  }

  private detach(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    process.off('exit', this.onExit);
  }
}

/** The signalling server under load, and the secret its tokens are signed with (fresh for each run). */
export interface LoadServer extends Listener {
  readonly secret: string;
  /** The garbage collections it ran between `from` and `to` (epoch ms). */
  collections(from: number, to: number): Promise<CollectionsMessage>;
}

/**
 * Starts the compiled CLI on loopback with the system's free ports, warnings only (a log line per connection
 * would be the server's biggest cost), no echo or live mix (off outside dev mode), and `flags` after those.
 * Its secrets travel in its environment, never in argv, as the CLI requires.
 */
export async function startLoadServer(run: LoadRun, flags: string[]): Promise<LoadServer> {
  const built = run.build();
  const secret = randomBytes(32).toString('hex');
  const args = [
    ...['--host', '127.0.0.1', '--public-host', '127.0.0.1', '--log-level', 'warn'],
    ...['--port', '0', '--rtmp-port', '0', '--media-http-port', '0'],
    ...flags,
  ];
  const server = await run.listen('server', path.join(built, 'server', 'cli.js'), args, {
    preload: path.join(built, 'bench', 'lib', 'load-server.js'),
    // node's flags as the server's bin, Dockerfile and run-local.sh start it with.
    nodeFlags: SIGNALLING_NODE_FLAGS,
    env: {
      NETCALL_SECRET: secret,
      NETCALL_MEDIA_SECRET: randomBytes(32).toString('hex'),
      NETCALL_METRICS_TOKEN: '',
      NODE_ENV: '',
    },
  });
  const collections = (from: number, to: number) => {
    const request: CollectionsRequest = { type: 'collections', from, to };
    return server.ask<CollectionsMessage>(request, 'collections-seen', 10_000);
  };
  return { ...server, secret, collections };
}

/**
 * A bare `ws` baseline, compiled like the server so both are measured alike: `ws-baseline` holds connections
 * (load-idle), `calls-baseline` answers a call setup's frames (load-calls).
 */
export function startBaseline(
  run: LoadRun,
  heartbeatMs: number,
  which: 'ws-baseline' | 'calls-baseline' = 'ws-baseline',
): Promise<Listener> {
  const built = run.build();
  return run.listen('baseline', path.join(built, 'bench', 'lib', `${which}.js`), [String(heartbeatMs)]);
}
