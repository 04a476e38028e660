/**
 * The embedded media engine as the signalling server holds it: node-media-server runs in a supervised child
 * process (worker.ts), so a fault in the media plane never takes signalling down.
 *
 * Owns: issuing signed URLs (it holds the keys), the authoritative set of authorised streams (told to the
 * worker over IPC and replayed to every fresh one), the ports (picked here when 0 is asked, kept across
 * restarts), a heartbeat that kills a worker whose event loop is stuck, restarting a worker that died (with
 * backoff, as keeper.ts does it for both planes), health, and shutdown. It must never load NMS itself
 * (worker-process.ts forks the process that does).
 */
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { toWorkerLevel, type AccessChange, type FromWorker, type ToWorker, type WorkerConfig } from './ipc';
import { ProcessKeeper, STOP_TIMEOUT_MS, checkKeeperOptions, type KeeperOptions } from './keeper';
import type { MediaHealth, MediaPlane } from './plane';
import { freePort } from './ports';
import { assertSafeStream, derivePlayKey, makeSign, streamPathOf, toStreamName } from './sign';
import { describe } from './values';
import { forkWorker, isAddrInUse } from './worker-process';

export interface MediaPlaneOptions extends KeeperOptions {
  /** 0 = pick a free one (kept across worker restarts while it stays free). */
  rtmpPort: number;
  /** HTTP-FLV / WS-FLV port; 0 = pick a free one. */
  httpPort: number;
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
  /** Test-only: let every RTMP session's media through, to prove that the injection tests can fail. */
  testOnlyDisablePacketGate?: boolean;
  /** Test-only: let `testOnlyHangWorker()` block the worker's event loop, to prove that the heartbeat works. */
  testOnlyAllowHang?: boolean;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_PUBLISH_IDLE_TIMEOUT_MS = 20_000;
const DEFAULT_MAX_CONNECTIONS = 4096;
const DEFAULT_MAX_CONNECTIONS_PER_IP = 100;
interface Ports {
  rtmp: number;
  http: number;
}

// Only for testOnlyHangWorker(): the MediaPlane interface stays free of test hooks.
const supervisors = new WeakMap<MediaPlane, Supervisor>();

export async function startMediaPlane(options: MediaPlaneOptions): Promise<MediaPlane> {
  const supervisor = new Supervisor(options, checkKeeperOptions(options));
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

class Supervisor extends ProcessKeeper {
  private readonly playKey: string;
  private readonly authorised = new Set<string>();
  private accessChanges: AccessChange[] = [];
  protected ports: Ports = { rtmp: 0, http: 0 };
  private child?: ChildProcess;
  private pingSeq = 0;
  private lastPong = 0;
  private readonly killOnExit = (): void => {
    this.child?.kill('SIGKILL');
  };

  constructor(
    private readonly options: MediaPlaneOptions,
    ttl: number,
  ) {
    super('media worker', options, ttl, options.logger?.child({ component: 'media' }));
    this.playKey = derivePlayKey(options.secret);
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
      // A picked port can be taken between picking and listening; fixed ports are the operator's call.
      await this.launchFirst((error) => isAddrInUse(error) && this.picksPorts());
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

  private picksPorts(): boolean {
    return !this.options.rtmpPort || !this.options.httpPort;
  }

  protected async launchOnPorts(repickAfter: number): Promise<void> {
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

  /**
   * Pings the running worker every interval; one that leaves pings unanswered for `timeoutMs` is killed,
   * and its exit takes the normal restart path. Counted in missed intervals rather than wall time, so a
   * stall of our own event loop costs at most one interval, never a healthy worker.
   */
  protected startHeartbeat(): void {
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
    this.exited(child.pid, code, signal);
  }

  protected running(): object {
    return { pid: this.child?.pid, rtmpPort: this.ports.rtmp, httpPort: this.ports.http };
  }

  private async shutdown(): Promise<void> {
    this.stopTimers();
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
