/**
 * What both media planes do as keepers of the process that serves their media (the embedded worker, nginx):
 * restart it with backoff when it dies, retry the ports it was given, issue expiries that only grow across its
 * generations, tell the restart listeners, and report a status. Each plane says how its process is launched on
 * ports, watched and stopped; the lifecycle around that is this one.
 */
import type { Logger } from 'pino';
import type { MediaStatus } from './plane';
import { describe } from './values';

const DEFAULT_TTL_SECONDS = 2 * 60 * 60;
export const STOP_TIMEOUT_MS = 3000;
/**
 * Restarts that find picked ports taken this many times in a row give them up for new ones (issued URLs
 * point at them, so they are worth a few tries). Operator-fixed ports are retried for as long as it takes.
 */
const SAME_PORT_ATTEMPTS = 3;
/** At start-up no URL points anywhere yet: taken picked ports are repicked at once, this many times. */
const START_ATTEMPTS = 3;

export interface KeeperOptions {
  /** Listen address, default '127.0.0.1'. */
  bind?: string;
  /** Host written into issued URLs; default = bind, or 127.0.0.1 when bind is a wildcard address. */
  publicHost?: string;
  /** Must be non-empty: it signs every media URL. */
  secret: string;
  /**
   * Lifetime of issued URLs, default 2 h. Revocation at hangup, not expiry, is what ends a URL with its call;
   * a longer call whose pusher reconnects after expiry gets a fresh URL through the client's 3004 path.
   */
  urlTtlSeconds?: number;
  /**
   * Restart backoff: the first delay (doubled after each restart, up to `maxMs`), and how long the process must
   * stay up for the next restart to wait `initialMs` again.
   */
  restartBackoff?: { initialMs?: number; maxMs?: number; stableMs?: number };
  /** The process is asked this often whether it is alive; silent for `timeoutMs`, it is killed and restarted. */
  heartbeat?: { intervalMs?: number; timeoutMs?: number };
}

/** The URL lifetime in whole seconds, after refusing what no plane can start with. */
export function checkKeeperOptions(options: KeeperOptions): number {
  if (typeof options.secret !== 'string' || options.secret === '')
    throw new Error('media plane: `secret` must be a non-empty string (it signs every media URL)');
  const ttl = options.urlTtlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!(ttl >= 1)) throw new Error('media plane: `urlTtlSeconds` must be at least 1');
  return Math.floor(ttl);
}

export abstract class ProcessKeeper {
  protected readonly bind: string;
  /** The host as issued URLs carry it (an IPv6 address in brackets). */
  protected readonly urlHost: string;
  protected readonly heartbeat: { intervalMs: number; timeoutMs: number };
  protected readonly restartListeners: Array<() => void> = [];
  protected status: MediaStatus = 'starting';
  protected restarts = 0;
  /** Launches in a row that found the ports taken. */
  protected portsTaken = 0;
  protected heartbeatTimer?: NodeJS.Timeout;
  protected closing?: Promise<void>;
  /** The ports in use, as the plane names them (logged when a restart fails). */
  protected abstract ports: object;
  private readonly backoff: { initialMs: number; maxMs: number; stableMs: number };
  private nextDelayMs: number;
  private restartTimer?: NodeJS.Timeout;
  private stableTimer?: NodeJS.Timeout;
  private minExp = 0;
  private maxIssuedExp = 0;

  constructor(
    /** How the logs name the process: "media worker", "nginx". */
    private readonly what: string,
    options: KeeperOptions,
    protected readonly ttl: number,
    protected readonly log: Logger | undefined,
  ) {
    this.bind = options.bind ?? '127.0.0.1';
    const publicHost =
      options.publicHost ?? (this.bind === '0.0.0.0' || this.bind === '::' ? '127.0.0.1' : this.bind);
    this.urlHost = publicHost.includes(':') ? `[${publicHost}]` : publicHost;
    this.backoff = {
      initialMs: options.restartBackoff?.initialMs ?? 100,
      maxMs: options.restartBackoff?.maxMs ?? 5000,
      stableMs: options.restartBackoff?.stableMs ?? 30_000,
    };
    this.nextDelayMs = this.backoff.initialMs;
    // A busy process answers within milliseconds; seconds of silence is a stuck one, not load.
    this.heartbeat = {
      intervalMs: options.heartbeat?.intervalMs ?? 5000,
      timeoutMs: options.heartbeat?.timeoutMs ?? 15_000,
    };
  }

  /**
   * Picks ports and launches the process on them: the ports it had, unless picked ones were found taken
   * `repickAfter` times in a row. Counts `portsTaken`.
   */
  protected abstract launchOnPorts(repickAfter: number): Promise<void>;
  /** Watches the running process; one that stops answering is killed, and its exit restarts it. */
  protected abstract startHeartbeat(): void;
  /** The running process's pid and ports, for the restart log. */
  protected abstract running(): object;

  /** The first launch: picked ports taken between picking and listening (`retry`) are picked again. */
  protected async launchFirst(retry: (error: unknown) => boolean): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.launchOnPorts(1);
        return;
      } catch (error) {
        if (!(retry(error) && attempt < START_ATTEMPTS)) throw error;
      }
    }
  }

  /**
   * Expiries only grow across the process's generations, so every URL issued after a restart differs from
   * every URL issued before it, and a client's roster rebinds its pusher and players to the new process.
   */
  protected expiry(ttlSeconds = this.ttl): number {
    const exp = Math.max(Math.floor(Date.now() / 1000) + Math.min(ttlSeconds, this.ttl), this.minExp);
    this.maxIssuedExp = Math.max(this.maxIssuedExp, exp);
    return exp;
  }

  protected markUp(): void {
    this.status = 'up';
    clearTimeout(this.stableTimer);
    this.stableTimer = setTimeout(() => (this.nextDelayMs = this.backoff.initialMs), this.backoff.stableMs);
    this.stableTimer.unref();
    this.startHeartbeat();
  }

  /** The running process died (the plane checked it was the running one, and not closing): restart it. */
  protected exited(pid: number | undefined, code: number | null, signal: NodeJS.Signals | null): void {
    this.status = 'restarting';
    this.restarts++;
    clearTimeout(this.stableTimer);
    clearInterval(this.heartbeatTimer);
    this.log?.error({ pid, code, signal, restarts: this.restarts }, `${this.what} died; restarting`);
    this.scheduleRestart();
  }

  /** For shutdown: no restart, stability reset or heartbeat runs from here on. */
  protected stopTimers(): void {
    this.status = 'stopped';
    clearTimeout(this.restartTimer);
    clearTimeout(this.stableTimer);
    clearInterval(this.heartbeatTimer);
  }

  private scheduleRestart(): void {
    if (this.closing) return;
    const delay = this.nextDelayMs;
    this.nextDelayMs = Math.min(this.nextDelayMs * 2, this.backoff.maxMs);
    this.restartTimer = setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    try {
      // Clients get fresh URLs through onRestart, so picked ports that stay taken may be given up for new ones.
      await this.launchOnPorts(SAME_PORT_ATTEMPTS);
    } catch (error) {
      if (this.closing) return;
      this.log?.warn({ err: describe(error), ports: this.ports }, `${this.what} restart failed`);
      this.scheduleRestart();
      return;
    }
    if (this.closing) return;
    this.minExp = this.maxIssuedExp + 1;
    this.markUp();
    this.log?.warn({ ...this.running(), restarts: this.restarts }, `${this.what} restarted`);
    for (const listener of this.restartListeners) {
      try {
        listener();
      } catch (error) {
        this.log?.error({ err: describe(error) }, 'media onRestart listener failed');
      }
    }
  }
}
