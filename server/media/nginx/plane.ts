/**
 * nginx with the RTMP module as the media plane: our server writes nginx's config into a private folder,
 * runs and supervises it, decides every publish and play in the hooks nginx calls (hooks.ts), and cuts a
 * revoked stream through nginx-rtmp's control endpoint.
 *
 * Owns: issuing signed URLs (the keys never reach nginx), the authoritative set of authorised streams (held
 * here: the hooks read it, so a restarted nginx needs nothing replayed), the ports (picked here when 0 is
 * asked, kept across restarts), the private folder, restarting nginx with backoff, health, and shutdown.
 * It must never leave an nginx process behind, and never serve anything nginx-rtmp cannot: there is no
 * HTTP-FLV in nginx-rtmp, so `playUrls().flv` is the same RTMP URL (see `playUrls`).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { IssuedPlayUrls, MediaHealth, MediaPlane, MediaStatus } from '../plane';
import { freePort } from '../ports';
import { APP, assertSafeStream, derivePlayKey, makeSign, streamPathOf, toStreamName } from '../sign';
import { describe } from '../values';
import { listenAddress, locateNginx, renderNginxConfig, workerUser, type NginxInstall } from './config';
import { startHookServer, type HookServer } from './hooks';
import { NginxStartError, askReady, spawnNginx, type NginxProcess } from './process';

export interface NginxPlaneOptions {
  /** RTMP listen address, default '127.0.0.1' (hooks and control are always on 127.0.0.1). */
  bind?: string;
  /** Host written into issued URLs; default = bind, or 127.0.0.1 when bind is a wildcard address. */
  publicHost?: string;
  /** 0 = pick a free one (kept across restarts while it stays free). */
  rtmpPort: number;
  /** Must be non-empty: it signs every media URL. */
  secret: string;
  /** Lifetime of issued URLs, default 2 h (revocation at hangup is what ends a URL with its call). */
  urlTtlSeconds?: number;
  logger?: Logger;
  /** The nginx binary (default: `nginx` on PATH, else /usr/sbin/nginx). */
  binary?: string;
  /** ngx_rtmp_module.so (default: from `nginx -V`'s --modules-path; none if it is built in). */
  modulePath?: string;
  /** nginx's worker_connections: RTMP sessions plus the hook and control requests (default 4096). */
  maxConnections?: number;
  /** A publisher silent this long is dropped (default 20 s, as on the embedded plane). */
  publishIdleTimeoutMs?: number;
  /** nginx re-asks the hook for every running session this often; a revoked one is cut then (default 10 s). */
  updateIntervalSeconds?: number;
  /** Restart backoff, as on the embedded plane: first delay, doubled up to `maxMs`, reset after `stableMs` up. */
  restartBackoff?: { initialMs?: number; maxMs?: number; stableMs?: number };
  /** The control server is asked this often; unanswered for `timeoutMs`, nginx is killed and restarted. */
  heartbeat?: { intervalMs?: number; timeoutMs?: number };
}

const DEFAULT_TTL_SECONDS = 2 * 60 * 60;
const DEFAULT_MAX_CONNECTIONS = 4096;
const DEFAULT_PUBLISH_IDLE_MS = 20_000;
const DEFAULT_UPDATE_SECONDS = 10;
const STOP_TIMEOUT_MS = 3000;
const SAME_PORT_ATTEMPTS = 3;
const START_ATTEMPTS = 3;
/**
 * A publish or play allowed by a hook just before its revocation joins its stream a moment after our drop
 * ran; a second drop this much later cuts it (on_update would, but only after its interval).
 */
const REDROP_AFTER_MS = 1000;
const CONTROL_TIMEOUT_MS = 3000;

/** The nginx plane's extras beyond `MediaPlane`. */
export interface NginxMediaPlane extends MediaPlane {
  /** nginx's version and the module it loads. */
  readonly install: NginxInstall;
}

export async function startNginxPlane(options: NginxPlaneOptions): Promise<NginxMediaPlane> {
  if (typeof options.secret !== 'string' || options.secret === '')
    throw new Error('media plane: `secret` must be a non-empty string (it signs every media URL)');
  const ttl = options.urlTtlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!(ttl >= 1)) throw new Error('media plane: `urlTtlSeconds` must be at least 1');
  const install = await locateNginx({ binary: options.binary, modulePath: options.modulePath });
  const plane = new NginxPlane(options, Math.floor(ttl), install);
  await plane.start();
  return plane.facade();
}

class NginxPlane {
  private readonly bind: string;
  private readonly urlHost: string;
  private readonly log?: Logger;
  private readonly playKey: string;
  private readonly authorised = new Set<string>();
  private readonly restartListeners: Array<() => void> = [];
  private readonly backoff: { initialMs: number; maxMs: number; stableMs: number };
  private readonly heartbeat: { intervalMs: number; timeoutMs: number };
  private readonly dir: string;
  private readonly controlPrefix = randomBytes(16).toString('hex');
  private readonly readyToken = randomBytes(16).toString('hex');
  private readonly redrops = new Set<NodeJS.Timeout>();
  private hooks?: HookServer;
  private status: MediaStatus = 'starting';
  private restarts = 0;
  private ports = { rtmp: 0, control: 0 };
  private portsTaken = 0;
  private nginx?: NginxProcess;
  private nextDelayMs: number;
  private restartTimer?: NodeJS.Timeout;
  private stableTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private closing?: Promise<void>;
  private minExp = 0;
  private maxIssuedExp = 0;

  constructor(
    private readonly options: NginxPlaneOptions,
    private readonly ttl: number,
    readonly install: NginxInstall,
  ) {
    this.bind = options.bind ?? '127.0.0.1';
    const publicHost =
      options.publicHost ?? (this.bind === '0.0.0.0' || this.bind === '::' ? '127.0.0.1' : this.bind);
    this.urlHost = publicHost.includes(':') ? `[${publicHost}]` : publicHost;
    this.log = options.logger?.child({ component: 'media', engine: 'nginx' });
    this.playKey = derivePlayKey(options.secret);
    this.backoff = {
      initialMs: options.restartBackoff?.initialMs ?? 100,
      maxMs: options.restartBackoff?.maxMs ?? 5000,
      stableMs: options.restartBackoff?.stableMs ?? 30_000,
    };
    this.nextDelayMs = this.backoff.initialMs;
    this.heartbeat = {
      intervalMs: options.heartbeat?.intervalMs ?? 5000,
      timeoutMs: options.heartbeat?.timeoutMs ?? 15_000,
    };
    // 0700 and a 0600 config: the config holds the hook and control secrets.
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'netcall-nginx-'));
  }

  async start(): Promise<void> {
    try {
      this.hooks = await startHookServer({
        secret: randomBytes(32).toString('hex'),
        decisions: {
          publishKey: this.options.secret,
          playKey: this.playKey,
          isAuthorised: (stream) => this.authorised.has(stream),
          nowSeconds: () => Math.floor(Date.now() / 1000),
        },
        log: this.log,
      });
      for (let attempt = 1; ; attempt++) {
        try {
          await this.launchOnPorts(1);
          break;
        } catch (error) {
          // A picked port can be taken between picking and listening (the control port is always picked).
          const retry = error instanceof NginxStartError && error.addressInUse && attempt < START_ATTEMPTS;
          if (!retry) throw error;
        }
      }
    } catch (error) {
      this.status = 'stopped';
      await this.hooks?.close();
      rmSync(this.dir, { recursive: true, force: true });
      throw new Error(
        `media 'nginx' did not start: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    this.markUp();
    this.log?.info(
      { rtmpPort: this.ports.rtmp, bind: this.bind, pid: this.nginx?.pid, nginx: this.install.version },
      'media up',
    );
  }

  facade(): NginxMediaPlane {
    const rtmpUrl = (stream: string, sign: string): string =>
      `rtmp://${this.urlHost}:${this.ports.rtmp}${streamPathOf(stream)}?sign=${sign}`;
    return {
      install: this.install,
      streamName: toStreamName,
      pushUrl: (stream) => {
        assertSafeStream(stream);
        return rtmpUrl(stream, makeSign(streamPathOf(stream), this.expiry(), this.options.secret));
      },
      // nginx-rtmp plays RTMP only (no HTTP-FLV or WS-FLV). `<live-player>` plays rtmp:// as well as FLV, so
      // the one URL it can serve goes in both fields rather than an HTTP URL nothing answers.
      playUrls: (stream, ttlSeconds): IssuedPlayUrls => {
        assertSafeStream(stream);
        const url = rtmpUrl(stream, makeSign(streamPathOf(stream), this.expiry(ttlSeconds), this.playKey));
        return { rtmp: url, flv: url };
      },
      authorize: (stream) => {
        assertSafeStream(stream);
        this.authorised.add(stream);
      },
      revoke: (stream) => {
        assertSafeStream(stream);
        this.authorised.delete(stream);
        this.drop(stream);
        const timer = setTimeout(() => {
          this.redrops.delete(timer);
          // Re-authorised meanwhile (a live room restarting its stream): its new sessions are legitimate.
          if (!this.authorised.has(stream)) this.drop(stream);
        }, REDROP_AFTER_MS);
        timer.unref();
        this.redrops.add(timer);
      },
      health: (): MediaHealth => ({
        status: this.status,
        restarts: this.restarts,
        pid: this.status === 'up' ? this.nginx?.pid : undefined,
        rtmpPort: this.ports.rtmp,
        // No HTTP media port: nginx-rtmp serves no HTTP-FLV (its control port is private).
        httpPort: 0,
      }),
      onRestart: (listener) => {
        this.restartListeners.push(listener);
      },
      close: () => (this.closing ??= this.shutdown()),
    };
  }

  /** Expiries only grow across nginx generations, so URLs issued after a restart differ and clients rebind. */
  private expiry(ttlSeconds = this.ttl): number {
    const exp = Math.max(Math.floor(Date.now() / 1000) + Math.min(ttlSeconds, this.ttl), this.minExp);
    this.maxIssuedExp = Math.max(this.maxIssuedExp, exp);
    return exp;
  }

  private controlUrl(tail: string): string {
    return `http://127.0.0.1:${this.ports.control}/${this.controlPrefix}/${tail}`;
  }

  /** Cuts the stream's publisher and players (`drop/client` matches both); logged, never thrown. */
  private drop(stream: string): void {
    if (this.status !== 'up') return; // nginx is down or restarting: it holds no session to cut
    const url = this.controlUrl(`control/drop/client?app=${APP}&name=${stream}`);
    const req = http.get(url, { timeout: CONTROL_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk.slice(0, 100)));
      res.on('end', () => {
        if (res.statusCode === 200)
          this.log?.debug({ stream, dropped: Number(body) || 0 }, 'media stream dropped');
        else this.log?.warn({ stream, status: res.statusCode }, 'nginx control refused a drop');
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error) =>
      this.log?.warn(
        { stream, err: describe(error) },
        'nginx control unreachable; on_update will cut the stream',
      ),
    );
  }

  private async launchOnPorts(repickAfter: number): Promise<void> {
    const repick = !this.options.rtmpPort && this.portsTaken >= repickAfter;
    const rtmp = this.options.rtmpPort || (repick ? 0 : this.ports.rtmp) || (await freePort(this.bind));
    let control = repick ? 0 : this.ports.control;
    while (!control || control === rtmp) control = await freePort('127.0.0.1');
    this.ports = { rtmp, control };
    if (this.closing) throw new Error('media plane closed'); // no nginx may start after close()
    try {
      await this.launch();
      this.portsTaken = 0;
    } catch (error) {
      this.portsTaken =
        error instanceof NginxStartError && error.addressInUse ? (this.portsTaken % repickAfter) + 1 : 0;
      throw error;
    }
  }

  /** Writes the config for `this.ports` and starts nginx on it; resolves once it answers. */
  private async launch(): Promise<void> {
    const tempDir = path.join(this.dir, 'temp');
    mkdirSync(tempDir, { recursive: true, mode: 0o700 });
    const confPath = path.join(this.dir, 'nginx.conf');
    const level = this.options.logger?.level;
    writeFileSync(
      confPath,
      renderNginxConfig({
        modulePath: this.install.modulePath,
        workerUser: workerUser(),
        pidFile: path.join(this.dir, 'nginx.pid'),
        tempDir,
        rtmpListen: listenAddress(this.bind, this.ports.rtmp),
        controlPort: this.ports.control,
        controlPrefix: this.controlPrefix,
        readyToken: this.readyToken,
        hookBase: this.hooks!.base,
        app: APP,
        maxConnections: this.options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
        publishIdleSeconds: Math.max(
          1,
          Math.ceil((this.options.publishIdleTimeoutMs ?? DEFAULT_PUBLISH_IDLE_MS) / 1000),
        ),
        updateIntervalSeconds: this.options.updateIntervalSeconds ?? DEFAULT_UPDATE_SECONDS,
        logLevel: level === 'debug' || level === 'trace' ? 'info' : 'warn',
      }),
      { mode: 0o600 },
    );
    const nginx = spawnNginx({
      binary: this.install.binary,
      prefix: this.dir,
      confPath,
      readyUrl: this.controlUrl('ready'),
      readyToken: this.readyToken,
      log: this.log,
    });
    this.nginx = nginx;
    await nginx.ready;
    void nginx.exited.then(({ code, signal }) => this.onExit(nginx, code, signal));
  }

  private markUp(): void {
    this.status = 'up';
    clearTimeout(this.stableTimer);
    this.stableTimer = setTimeout(() => (this.nextDelayMs = this.backoff.initialMs), this.backoff.stableMs);
    this.stableTimer.unref();
    this.startHeartbeat();
  }

  /** An nginx that stops answering its own control server (stuck, or its worker gone) is killed and restarted. */
  private startHeartbeat(): void {
    const nginx = this.nginx;
    const { intervalMs, timeoutMs } = this.heartbeat;
    let lastAnswer = Date.now();
    let asking = false;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      if (nginx !== this.nginx || asking) return;
      asking = true;
      // The same question as at start: only our nginx, answering with our token, counts as alive.
      void askReady(this.controlUrl('ready'), this.readyToken, intervalMs).then((ok) => {
        asking = false;
        if (ok) lastAnswer = Date.now();
        if (ok || nginx !== this.nginx || Date.now() - lastAnswer < timeoutMs) return;
        clearInterval(this.heartbeatTimer);
        this.log?.error(
          { pid: nginx?.pid, silentMs: Date.now() - lastAnswer },
          'nginx unresponsive; killing it',
        );
        nginx?.kill();
      });
    }, intervalMs);
    this.heartbeatTimer.unref();
  }

  private onExit(nginx: NginxProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (nginx !== this.nginx || this.closing) return;
    this.nginx = undefined;
    this.status = 'restarting';
    this.restarts++;
    clearTimeout(this.stableTimer);
    clearInterval(this.heartbeatTimer);
    this.log?.error({ pid: nginx.pid, code, signal, restarts: this.restarts }, 'nginx died; restarting');
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
      // Clients get fresh URLs through onRestart, so picked ports that stay taken may be given up.
      await this.launchOnPorts(SAME_PORT_ATTEMPTS);
    } catch (error) {
      if (this.closing) return;
      this.log?.warn({ err: describe(error), ports: this.ports }, 'nginx restart failed');
      this.scheduleRestart();
      return;
    }
    if (this.closing) return;
    this.minExp = this.maxIssuedExp + 1;
    this.markUp();
    this.log?.warn(
      { pid: this.nginx?.pid, rtmpPort: this.ports.rtmp, restarts: this.restarts },
      'nginx restarted',
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
    for (const timer of this.redrops) clearTimeout(timer);
    this.redrops.clear();
    await this.nginx?.stop(STOP_TIMEOUT_MS);
    this.nginx = undefined;
    await this.hooks?.close();
    rmSync(this.dir, { recursive: true, force: true });
    this.log?.info({ rtmpPort: this.ports.rtmp }, 'media closed');
  }
}
