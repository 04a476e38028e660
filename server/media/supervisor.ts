/**
 * The embedded media engine as the signalling server holds it: node-media-server runs in a supervised child
 * process (worker.ts), so a fault in the media plane never takes signalling down.
 *
 * Owns: issuing signed URLs (it holds the keys), the authoritative set of authorised streams (told to the
 * worker over IPC and replayed to every fresh one), the ports (picked here when 0 is asked, kept across
 * restarts), a heartbeat that kills a worker whose event loop is stuck, restarting a worker that died (with
 * backoff), health, and shutdown. It must never load NMS itself (worker-process.ts forks the process that
 * does).
 */
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { toWorkerLevel, type AccessChange, type FromWorker, type ToWorker, type WorkerConfig } from './ipc';
import type { MediaHealth, MediaPlane, MediaStatus } from './plane';
import { freePort } from './ports';
import { assertSafeStream, derivePlayKey, makeSign, streamPathOf, toStreamName } from './sign';
import { describe } from './values';
import { forkWorker, isAddrInUse } from './worker-process';

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
  /**
   * How long an accepted RTMP publisher may send nothing before it is cut (default 20 s): a publisher gone
   * half-open would otherwise hold its stream, and its own reconnection would be refused.
   */
  publishIdleTimeoutMs?: number;
  /** Concurrent connections each media port accepts (default 4096). */
  maxConnections?: number;
  /** Concurrent media connections one address (an IPv6 /64) may hold, both ports together (default 100). */
  maxConnectionsPerIp?: number;
  /**
   * Restart backoff: the first delay (doubled after each restart, up to `maxMs`), and how long a worker must
   * stay up for the next restart to wait `initialMs` again.
   */
  restartBackoff?: { initialMs?: number; maxMs?: number; stableMs?: number };
  /** The supervisor pings the worker this often; a worker silent for `timeoutMs` is killed and restarted. */
  heartbeat?: { intervalMs?: number; timeoutMs?: number };
  /** Test-only: let every RTMP session's media through, to prove that the injection tests can fail. */
  testOnlyDisablePacketGate?: boolean;
  /** Test-only: let `testOnlyHangWorker()` block the worker's event loop, to prove that the heartbeat works. */
  testOnlyAllowHang?: boolean;
}

const DEFAULT_TTL_SECONDS = 2 * 60 * 60;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_PUBLISH_IDLE_TIMEOUT_MS = 20_000;
const DEFAULT_MAX_CONNECTIONS = 4096;
const DEFAULT_MAX_CONNECTIONS_PER_IP = 100;
// A busy worker answers within milliseconds; seconds of silence is a stuck event loop, not load.
const DEFAULT_HEARTBEAT_INTERVAL_MS = 5000;
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 3000;
/**
 * Restarts that find picked ports taken this many times in a row give them up for new ones (issued URLs
 * point at them, so they are worth a few tries). Operator-fixed ports are retried for as long as it takes.
 */
const SAME_PORT_ATTEMPTS = 3;
/** At start-up no URL points anywhere yet: taken picked ports are repicked at once, this many times. */
const START_ATTEMPTS = 3;
interface Ports {
  rtmp: number;
  http: number;
}

// Only for testOnlyHangWorker(): the MediaPlane interface stays free of test hooks.
const supervisors = new WeakMap<MediaPlane, Supervisor>();

export async function startMediaPlane(options: MediaPlaneOptions): Promise<MediaPlane> {
  if (typeof options.secret !== 'string' || options.secret === '')
    throw new Error('media plane: `secret` must be a non-empty string (it signs every media URL)');
  const ttl = options.urlTtlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!(ttl >= 1)) throw new Error('media plane: `urlTtlSeconds` must be at least 1');
  const supervisor = new Supervisor(options, Math.floor(ttl));
  await supervisor.start();
  const plane = supervisor.plane();
  supervisors.set(plane, supervisor);
  return plane;
}

/** Test-only: blocks the running worker's event loop, on a plane started with `testOnlyAllowHang`. */
export function testOnlyHangWorker(plane: MediaPlane): void {
  const supervisor = supervisors.get(plane);
  if (!supervisor?.allowsHang())
    throw new Error('testOnlyHangWorker: plane not started with testOnlyAllowHang');
  supervisor.hang();
}

class Supervisor {
  private readonly bind: string;
  private readonly urlHost: string;
  private readonly log?: Logger;
  private readonly playKey: string;
  private readonly authorised = new Set<string>();
  private accessChanges: AccessChange[] = [];
  private readonly restartListeners: Array<() => void> = [];
  private readonly backoff: { initialMs: number; maxMs: number; stableMs: number };
  private readonly heartbeat: { intervalMs: number; timeoutMs: number };
  private status: MediaStatus = 'starting';
  private restarts = 0;
  private ports: Ports = { rtmp: 0, http: 0 };
  /** Launches in a row that found the ports taken. */
  private portsTaken = 0;
  private child?: ChildProcess;
  private nextDelayMs: number;
  private restartTimer?: NodeJS.Timeout;
  private stableTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private pingSeq = 0;
  private lastPong = 0;
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
    this.heartbeat = {
      intervalMs: options.heartbeat?.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      timeoutMs: options.heartbeat?.timeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
    };
  }

  allowsHang(): boolean {
    return this.options.testOnlyAllowHang === true;
  }

  hang(): void {
    this.tell({ type: 'test-hang' });
  }

  async start(): Promise<void> {
    process.on('exit', this.killOnExit);
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.launchOnPorts(1);
          break;
        } catch (error) {
          // A picked port can be taken between picking and listening; fixed ports are the operator's call.
          const retry = isAddrInUse(error) && this.picksPorts() && attempt < START_ATTEMPTS;
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
      playUrls: (stream, ttlSeconds) => {
        assertSafeStream(stream);
        const path = streamPathOf(stream);
        const sign = makeSign(path, this.expiry(ttlSeconds), this.playKey);
        return { rtmp: `${rtmpBase()}${path}?sign=${sign}`, flv: `${httpBase()}${path}.flv?sign=${sign}` };
      },
      authorize: (stream) => {
        assertSafeStream(stream);
        this.authorised.add(stream);
        this.changeAccess(stream, true);
      },
      revoke: (stream) => {
        assertSafeStream(stream);
        this.authorised.delete(stream);
        this.changeAccess(stream, false);
      },
      flush: () => this.flushAccess(),
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
  private expiry(ttlSeconds = this.ttl): number {
    const exp = Math.max(Math.floor(Date.now() / 1000) + Math.min(ttlSeconds, this.ttl), this.minExp);
    this.maxIssuedExp = Math.max(this.maxIssuedExp, exp);
    return exp;
  }

  private picksPorts(): boolean {
    return !this.options.rtmpPort || !this.options.httpPort;
  }

  /**
   * Picks ports and launches a worker on them: the ports it had, unless picked ones were found taken
   * `repickAfter` times in a row.
   */
  private async launchOnPorts(repickAfter: number): Promise<void> {
    this.ports = await this.pickPorts(this.picksPorts() && this.portsTaken >= repickAfter);
    if (this.closing) throw new Error('media plane closed'); // no worker may be forked after close()
    try {
      await this.launch();
      this.portsTaken = 0;
    } catch (error) {
      this.portsTaken = isAddrInUse(error) ? (this.portsTaken % repickAfter) + 1 : 0;
      throw error;
    }
  }

  /** Operator-fixed ports always; picked ones are kept across restarts unless `repick`. */
  private async pickPorts(repick: boolean): Promise<Ports> {
    const keep = (fixed: number, current: number): number => fixed || (repick ? 0 : current);
    const rtmp = keep(this.options.rtmpPort, this.ports.rtmp) || (await freePort(this.bind));
    let http = keep(this.options.httpPort, this.ports.http) || (await freePort(this.bind));
    while (http === rtmp && !this.options.httpPort) http = await freePort(this.bind);
    return { rtmp, http };
  }

  /**
   * Queues a change for the worker; the changes of one turn of the loop leave together, before any other
   * message (each IPC message is a write that wakes the worker: a burst of 1,000 calls made 2,000 of them, a
   * ninth of the server's CPU). The worker must know a stream before its client can ask for it, so signalling
   * calls `flush` before it writes the replies that carry URLs; the timer only covers changes no reply follows.
   */
  private changeAccess(stream: string, allowed: boolean): void {
    this.accessChanges.push({ stream, allowed });
    if (this.accessChanges.length === 1) setImmediate(() => this.flushAccess());
  }

  private flushAccess(): void {
    if (this.accessChanges.length === 0) return;
    const changes = this.accessChanges;
    this.accessChanges = [];
    this.send({ type: 'access', changes });
  }

  private tell(message: ToWorker): void {
    this.flushAccess();
    this.send(message);
  }

  private send(message: ToWorker): void {
    const child = this.child;
    if (!child?.connected) return; // the next worker gets the whole set in `start`
    try {
      child.send(message, (error) => {
        if (error) this.log?.debug({ err: describe(error) }, 'media worker did not take a message');
      });
    } catch (error) {
      this.log?.debug({ err: describe(error) }, 'media worker did not take a message');
    }
  }

  /** Forks a worker on `this.ports` and resolves once both listeners accept connections. */
  private launch(): Promise<void> {
    const config: WorkerConfig = {
      bind: this.bind,
      rtmpPort: this.ports.rtmp,
      httpPort: this.ports.http,
      publishKey: this.options.secret,
      playKey: this.playKey,
      logLevel: toWorkerLevel(this.options.logger?.level),
      requestTimeoutMs: this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      publishIdleTimeoutMs: this.options.publishIdleTimeoutMs ?? DEFAULT_PUBLISH_IDLE_TIMEOUT_MS,
      maxConnections: this.options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      maxConnectionsPerIp: this.options.maxConnectionsPerIp ?? DEFAULT_MAX_CONNECTIONS_PER_IP,
      packetGate: !this.options.testOnlyDisablePacketGate,
      testHang: this.options.testOnlyAllowHang === true,
    };
    const { child, ready } = forkWorker(config, [...this.authorised], {
      log: this.log,
      onMessage: (message) => {
        if (message.type === 'log') this.forwardLog(child, message);
        else if (message.type === 'pong' && child === this.child)
          this.lastPong = Math.max(this.lastPong, message.seq);
      },
      onExit: (code, signal) => this.onExit(child, code, signal),
    });
    this.child = child;
    return ready;
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
    this.startHeartbeat();
  }

  /**
   * Pings the running worker every interval; one that leaves pings unanswered for `timeoutMs` is killed,
   * and its exit takes the normal restart path. Counted in missed intervals rather than wall time, so a
   * stall of our own event loop costs at most one interval, never a healthy worker.
   */
  private startHeartbeat(): void {
    const child = this.child;
    const { intervalMs, timeoutMs } = this.heartbeat;
    let missed = 0;
    this.pingSeq = 0;
    this.lastPong = 0;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      if (child !== this.child) return;
      missed = this.lastPong < this.pingSeq ? missed + 1 : 0;
      if (missed * intervalMs >= timeoutMs) {
        clearInterval(this.heartbeatTimer);
        this.log?.error(
          { pid: child?.pid, silentMs: missed * intervalMs },
          'media worker unresponsive; killing it',
        );
        child?.kill('SIGKILL');
        return;
      }
      this.tell({ type: 'ping', seq: ++this.pingSeq });
    }, intervalMs);
    this.heartbeatTimer.unref();
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child || this.closing) return;
    this.child = undefined;
    this.status = 'restarting';
    this.restarts++;
    clearTimeout(this.stableTimer);
    clearInterval(this.heartbeatTimer);
    this.log?.error(
      { pid: child.pid, code, signal, restarts: this.restarts },
      'media worker died; restarting',
    );
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.closing) return;
    const delay = this.nextDelayMs;
    this.nextDelayMs = Math.min(this.nextDelayMs * 2, this.backoff.maxMs);
    this.restartTimer = setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    try {
      // Clients get fresh URLs through onRestart, so ports that stay taken may be given up for new ones.
      await this.launchOnPorts(SAME_PORT_ATTEMPTS);
    } catch (error) {
      if (this.closing) return;
      this.log?.warn({ err: describe(error), ports: this.ports }, 'media worker restart failed');
      this.scheduleRestart();
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
        this.log?.error({ err: describe(error) }, 'media onRestart listener failed');
      }
    }
  }

  private async shutdown(): Promise<void> {
    this.status = 'stopped';
    clearTimeout(this.restartTimer);
    clearTimeout(this.stableTimer);
    clearInterval(this.heartbeatTimer);
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
