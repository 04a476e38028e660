/**
 * The embedded media engine as the signalling server holds it: node-media-server runs in a supervised child
 * process (worker.ts), so a fault in the media plane never takes signalling down.
 *
 * Owns: issuing signed URLs (it holds the keys), the authoritative set of authorised streams (told to the
 * worker over IPC and replayed to every fresh one), the ports (picked here when 0 is asked, kept across
 * restarts), restarting a worker that died (with backoff), health, and shutdown. It must never load NMS
 * itself, and never pass a secret through argv or env.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Logger } from 'pino';
import { isFromWorker, toWorkerLevel, type FromWorker, type ToWorker, type WorkerConfig } from './ipc';
import type { MediaHealth, MediaPlane, MediaStatus } from './plane';
import { freePort } from './ports';
import { assertSafeStream, derivePlayKey, makeSign, streamPathOf, toStreamName } from './sign';

export interface MediaPlaneOptions {
  /** Listen address, default '127.0.0.1'. */
  bind?: string;
  /** Host written into issued URLs; default = bind, or 127.0.0.1 when bind is a wildcard address. */
  publicHost?: string;
  /** 0 = pick a free one (kept across worker restarts while it stays free). */
  rtmpPort: number;
  /** HTTP-FLV / WS-FLV port; 0 = pick a free one. */
  httpPort: number;
  /** Must be non-empty: it signs every media URL. */
  secret: string;
  /**
   * Lifetime of issued URLs, default 2 h. Revocation at hangup, not expiry, is what ends a URL with its call;
   * a longer call whose pusher reconnects after expiry gets a fresh URL through the client's 3004 path.
   */
  urlTtlSeconds?: number;
  logger?: Logger;
  /** How long a media connection may take to ask for a stream (default 10 s). */
  requestTimeoutMs?: number;
  /** Restart backoff: first delay, cap, and how long a worker must stay up to reset it. */
  restartBackoff?: { initialMs?: number; maxMs?: number; stableMs?: number };
  /** Test-only: let every RTMP session's media through, to prove that the injection tests can fail. */
  testOnlyDisablePacketGate?: boolean;
}

const DEFAULT_TTL_SECONDS = 2 * 60 * 60;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
// A ts-node worker is ready in ~0.5 s; a loaded 2-core machine can take many times that.
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 3000;
/** Picked ports still taken after this many attempts are given up for new ones. */
const SAME_PORT_ATTEMPTS = 3;
const STDERR_TAIL = 4000;

// `worker` with this file's own extension: a compiled build forks worker.js with plain node.
const WORKER_EXT = path.extname(__filename);
const WORKER_ENTRY = path.join(__dirname, `worker${WORKER_EXT}`);
const WORKER_EXEC_ARGV =
  WORKER_EXT === '.ts' ? ['-r', createRequire(__filename).resolve('ts-node/register/transpile-only')] : [];
// The worker needs nothing from the environment but what runs Node and ts-node: in particular not the
// NETCALL_* secrets an operator may have exported.
const ENV_ALLOWED = /^(PATH|HOME|TMPDIR|TEMP|TMP|TZ|LANG|LC_[A-Z]+|NODE_ENV|TS_NODE_[A-Z_]+|SystemRoot)$/;

function workerEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => ENV_ALLOWED.test(key)));
  // ts-node looks for its tsconfig from the cwd when preloaded with -r; the server may run from anywhere.
  if (WORKER_EXT === '.ts' && env.TS_NODE_PROJECT === undefined) {
    const project = findUp(__dirname, 'tsconfig.json');
    if (project) env.TS_NODE_PROJECT = project;
  }
  return env;
}

function findUp(dir: string, name: string): string | undefined {
  for (let current = dir; ; current = path.dirname(current)) {
    if (existsSync(path.join(current, name))) return path.join(current, name);
    if (path.dirname(current) === current) return undefined;
  }
}

class ListenError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Ports {
  rtmp: number;
  http: number;
}

export async function startMediaPlane(options: MediaPlaneOptions): Promise<MediaPlane> {
  if (typeof options.secret !== 'string' || options.secret === '')
    throw new Error('media plane: `secret` must be a non-empty string (it signs every media URL)');
  const ttl = options.urlTtlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!(ttl >= 1)) throw new Error('media plane: `urlTtlSeconds` must be at least 1');
  const supervisor = new Supervisor(options, Math.floor(ttl));
  await supervisor.start();
  return supervisor.plane();
}

class Supervisor {
  private readonly bind: string;
  private readonly urlHost: string;
  private readonly log?: Logger;
  private readonly playKey: string;
  private readonly authorised = new Set<string>();
  private readonly restartListeners: Array<() => void> = [];
  private readonly backoff: { initialMs: number; maxMs: number; stableMs: number };
  private status: MediaStatus = 'starting';
  private restarts = 0;
  private ports: Ports = { rtmp: 0, http: 0 };
  private child?: ChildProcess;
  private nextDelayMs: number;
  private restartTimer?: NodeJS.Timeout;
  private stableTimer?: NodeJS.Timeout;
  private closing?: Promise<void>;
  private minExp = 0;
  private maxIssuedExp = 0;
  private readonly killOnExit = (): void => {
    this.child?.kill('SIGKILL');
  };

  constructor(
    private readonly options: MediaPlaneOptions,
    private readonly ttl: number,
  ) {
    this.bind = options.bind ?? '127.0.0.1';
    const publicHost =
      options.publicHost ?? (this.bind === '0.0.0.0' || this.bind === '::' ? '127.0.0.1' : this.bind);
    this.urlHost = publicHost.includes(':') ? `[${publicHost}]` : publicHost;
    this.log = options.logger?.child({ component: 'media' });
    this.playKey = derivePlayKey(options.secret);
    this.backoff = {
      initialMs: options.restartBackoff?.initialMs ?? 100,
      maxMs: options.restartBackoff?.maxMs ?? 5000,
      stableMs: options.restartBackoff?.stableMs ?? 30_000,
    };
    this.nextDelayMs = this.backoff.initialMs;
  }

  async start(): Promise<void> {
    process.on('exit', this.killOnExit);
    try {
      for (let attempt = 1; ; attempt++) {
        this.ports = await this.pickPorts(attempt > 1);
        try {
          await this.launch();
          break;
        } catch (error) {
          // A picked port can be taken between picking and listening; fixed ports are the operator's call.
          const retry = isAddrInUse(error) && this.picksPorts() && attempt < SAME_PORT_ATTEMPTS;
          if (!retry) throw error;
        }
      }
    } catch (error) {
      this.status = 'stopped';
      process.off('exit', this.killOnExit);
      throw error;
    }
    this.markUp();
    this.log?.info({ rtmpPort: this.ports.rtmp, httpPort: this.ports.http, bind: this.bind }, 'media up');
  }

  plane(): MediaPlane {
    const rtmpBase = (): string => `rtmp://${this.urlHost}:${this.ports.rtmp}`;
    const httpBase = (): string => `http://${this.urlHost}:${this.ports.http}`;
    return {
      streamName: toStreamName,
      pushUrl: (stream) => {
        assertSafeStream(stream);
        const path = streamPathOf(stream);
        return `${rtmpBase()}${path}?sign=${makeSign(path, this.expiry(), this.options.secret)}`;
      },
      playUrls: (stream) => {
        assertSafeStream(stream);
        const path = streamPathOf(stream);
        const sign = makeSign(path, this.expiry(), this.playKey);
        return { rtmp: `${rtmpBase()}${path}?sign=${sign}`, flv: `${httpBase()}${path}.flv?sign=${sign}` };
      },
      authorize: (stream) => {
        assertSafeStream(stream);
        this.authorised.add(stream);
        this.tell({ type: 'authorize', stream });
      },
      revoke: (stream) => {
        assertSafeStream(stream);
        this.authorised.delete(stream);
        this.tell({ type: 'revoke', stream });
      },
      health: (): MediaHealth => ({
        status: this.status,
        restarts: this.restarts,
        pid: this.status === 'up' ? this.child?.pid : undefined,
        rtmpPort: this.ports.rtmp,
        httpPort: this.ports.http,
      }),
      onRestart: (listener) => {
        this.restartListeners.push(listener);
      },
      close: () => (this.closing ??= this.shutdown()),
    };
  }

  /**
   * Expiries only grow across worker generations, so every URL issued after a restart differs from every
   * URL issued before it, and a client's roster rebinds its pusher and players to the new worker.
   */
  private expiry(): number {
    const exp = Math.max(Math.floor(Date.now() / 1000) + this.ttl, this.minExp);
    this.maxIssuedExp = Math.max(this.maxIssuedExp, exp);
    return exp;
  }

  private picksPorts(): boolean {
    return !this.options.rtmpPort || !this.options.httpPort;
  }

  /** Operator-fixed ports always; picked ones are kept across restarts unless `repick`. */
  private async pickPorts(repick: boolean): Promise<Ports> {
    const keep = (fixed: number, current: number): number => fixed || (repick ? 0 : current);
    const rtmp = keep(this.options.rtmpPort, this.ports.rtmp) || (await freePort(this.bind));
    let http = keep(this.options.httpPort, this.ports.http) || (await freePort(this.bind));
    while (http === rtmp && !this.options.httpPort) http = await freePort(this.bind);
    return { rtmp, http };
  }

  private tell(message: ToWorker): void {
    const child = this.child;
    if (!child?.connected) return; // the next worker gets the whole set in `start`
    try {
      child.send(message, (error) => {
        if (error) this.log?.debug({ err: error.message }, 'media worker did not take a message');
      });
    } catch (error) {
      this.log?.debug({ err: String(error) }, 'media worker did not take a message');
    }
  }

  /** Forks a worker on `this.ports` and resolves once both listeners accept connections. */
  private launch(): Promise<void> {
    const child = fork(WORKER_ENTRY, [], {
      execArgv: WORKER_EXEC_ARGV,
      env: workerEnv(),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.child = child;
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) =>
      this.log?.debug({ pid: child.pid, out: chunk.toString('utf8').trimEnd() }, 'media worker stdout'),
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      stderr = (stderr + text).slice(-STDERR_TAIL);
      this.log?.warn({ pid: child.pid, err: text.trimEnd() }, 'media worker stderr');
    });
    child.on('error', (error) => this.log?.warn({ err: error.message }, 'media worker process error'));
    child.on('message', (message: unknown) => {
      if (isFromWorker(message) && message.type === 'log') this.forwardLog(child, message);
    });

    return new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onEarlyExit);
      };
      const fail = (error: Error): void => {
        cleanup();
        child.kill('SIGKILL');
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new Error(`media worker not ready after ${READY_TIMEOUT_MS} ms\n${stderr}`)),
        READY_TIMEOUT_MS,
      );
      const onMessage = (message: unknown): void => {
        if (!isFromWorker(message)) return;
        if (message.type === 'listening') {
          cleanup();
          child.once('exit', (code, signal) => this.onExit(child, code, signal));
          resolve();
        } else if (message.type === 'listen-failed') {
          fail(new ListenError(message.code, `media worker cannot listen: ${message.message}`));
        }
      };
      const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        cleanup();
        reject(new Error(`media worker exited before listening (code ${code}, signal ${signal})\n${stderr}`));
      };
      child.on('message', onMessage);
      child.once('exit', onEarlyExit);
      const config: WorkerConfig = {
        bind: this.bind,
        rtmpPort: this.ports.rtmp,
        httpPort: this.ports.http,
        publishKey: this.options.secret,
        playKey: this.playKey,
        logLevel: toWorkerLevel(this.options.logger?.level),
        requestTimeoutMs: this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
        packetGate: !this.options.testOnlyDisablePacketGate,
      };
      child.send({ type: 'start', config, streams: [...this.authorised] } satisfies ToWorker);
    });
  }

  private forwardLog(child: ChildProcess, message: Extract<FromWorker, { type: 'log' }>): void {
    const log = this.log;
    if (!log) return;
    log[message.level]({ ...message.fields, workerPid: child.pid }, message.msg);
  }

  private markUp(): void {
    this.status = 'up';
    clearTimeout(this.stableTimer);
    this.stableTimer = setTimeout(() => (this.nextDelayMs = this.backoff.initialMs), this.backoff.stableMs);
    this.stableTimer.unref();
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child || this.closing) return;
    this.child = undefined;
    this.status = 'restarting';
    this.restarts++;
    clearTimeout(this.stableTimer);
    this.log?.error(
      { pid: child.pid, code, signal, restarts: this.restarts },
      'media worker died; restarting',
    );
    this.scheduleRestart(0);
  }

  /** `takenAttempts`: consecutive restarts that found the ports taken. */
  private scheduleRestart(takenAttempts: number): void {
    if (this.closing) return;
    const delay = this.nextDelayMs;
    this.nextDelayMs = Math.min(this.nextDelayMs * 2, this.backoff.maxMs);
    this.restartTimer = setTimeout(() => void this.restart(takenAttempts), delay);
  }

  private async restart(takenAttempts: number): Promise<void> {
    try {
      // Picked ports that stayed taken for a few attempts are given up for new ones (clients get fresh URLs
      // through onRestart anyway); operator-fixed ones are retried for as long as it takes.
      this.ports = await this.pickPorts(this.picksPorts() && takenAttempts >= SAME_PORT_ATTEMPTS);
      if (this.closing) return; // closed while picking: no worker may be forked after close()
      await this.launch();
    } catch (error) {
      if (this.closing) return;
      const taken = isAddrInUse(error);
      const attempts = taken ? (takenAttempts >= SAME_PORT_ATTEMPTS ? 1 : takenAttempts + 1) : 0;
      this.log?.warn({ err: (error as Error).message, ports: this.ports }, 'media worker restart failed');
      this.scheduleRestart(attempts);
      return;
    }
    if (this.closing) return;
    this.minExp = this.maxIssuedExp + 1;
    this.markUp();
    this.log?.warn(
      { pid: this.child?.pid, rtmpPort: this.ports.rtmp, httpPort: this.ports.http, restarts: this.restarts },
      'media worker restarted',
    );
    for (const listener of this.restartListeners) {
      try {
        listener();
      } catch (error) {
        this.log?.error({ err: String(error) }, 'media onRestart listener failed');
      }
    }
  }

  private async shutdown(): Promise<void> {
    this.status = 'stopped';
    clearTimeout(this.restartTimer);
    clearTimeout(this.stableTimer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      this.tell({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    this.child = undefined;
    process.off('exit', this.killOnExit);
    this.log?.info({ rtmpPort: this.ports.rtmp, httpPort: this.ports.http }, 'media closed');
  }
}

function isAddrInUse(error: unknown): boolean {
  return error instanceof ListenError && error.code === 'EADDRINUSE';
}
