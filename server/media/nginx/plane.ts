/**
 * nginx with the RTMP module as the media plane: our server writes nginx's config into a private folder,
 * runs and supervises it, decides every publish and play in the hooks nginx calls (hooks.ts), and cuts a
 * revoked stream through nginx-rtmp's control endpoint.
 *
 * Owns: issuing signed URLs (the keys never reach nginx), the authoritative set of authorised streams (held
 * here: the hooks read it, so a restarted nginx needs nothing replayed), the ports (picked here when 0 is
 * asked, kept across restarts), the private folder, restarting nginx with backoff (keeper.ts, as for the
 * embedded plane), health, and shutdown.
 * It must never leave an nginx process behind, and never serve anything nginx-rtmp cannot: there is no
 * HTTP-FLV in nginx-rtmp, so `playUrls().flv` is the same RTMP URL (see `playUrls`).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { ProcessKeeper, STOP_TIMEOUT_MS, checkKeeperOptions, type KeeperOptions } from '../keeper';
import type { IssuedPlayUrls, MediaHealth, MediaPlane } from '../plane';
import { freePort } from '../ports';
import { APP, assertSafeStream, derivePlayKey, makeSign, streamPathOf, toStreamName } from '../sign';
import { describe } from '../values';
import { listenAddress, locateNginx, renderNginxConfig, workerUser, type NginxInstall } from './config';
import { startHookServer, type HookServer } from './hooks';
import { NginxStartError, askReady, spawnNginx, type NginxProcess } from './process';

/** `bind` is the RTMP listen address (hooks and control are always on 127.0.0.1). */
export interface NginxPlaneOptions extends KeeperOptions {
  /** 0 = pick a free one (kept across restarts while it stays free). */
  rtmpPort: number;
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
  /**
   * Test-only: send drops to this 127.0.0.1 port instead of nginx's control server, to prove that on_update
   * cuts a revoked stream when the control endpoint refuses or cannot be reached.
   */
  testOnlyDropPort?: number;
}

const DEFAULT_MAX_CONNECTIONS = 4096;
const DEFAULT_PUBLISH_IDLE_MS = 20_000;
const DEFAULT_UPDATE_SECONDS = 10;
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
  const ttl = checkKeeperOptions(options);
  const install = await locateNginx({ binary: options.binary, modulePath: options.modulePath });
  const plane = new NginxPlane(options, ttl, install);
  await plane.start();
  return plane.facade();
}

class NginxPlane extends ProcessKeeper {
  private readonly playKey: string;
  private readonly authorised = new Set<string>();
  private readonly dir: string;
  private readonly controlPrefix = randomBytes(16).toString('hex');
  private readonly readyToken = randomBytes(16).toString('hex');
  private readonly redrops = new Set<NodeJS.Timeout>();
  private hooks?: HookServer;
  protected ports = { rtmp: 0, control: 0 };
  private nginx?: NginxProcess;

  constructor(
    private readonly options: NginxPlaneOptions,
    ttl: number,
    readonly install: NginxInstall,
  ) {
    super('nginx', options, ttl, options.logger?.child({ component: 'media', engine: 'nginx' }));
    this.playKey = derivePlayKey(options.secret);
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
      // A picked port can be taken between picking and listening (the control port is always picked).
      await this.launchFirst((error) => error instanceof NginxStartError && error.addressInUse);
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

  private controlUrl(tail: string, port = this.ports.control): string {
    return `http://127.0.0.1:${port}/${this.controlPrefix}/${tail}`;
  }

  /** Cuts the stream's publisher and players (`drop/client` matches both); logged, never thrown. */
  private drop(stream: string): void {
    if (this.status !== 'up') return; // nginx is down or restarting: it holds no session to cut
    const url = this.controlUrl(
      `control/drop/client?app=${APP}&name=${stream}`,
      this.options.testOnlyDropPort,
    );
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

  protected async launchOnPorts(repickAfter: number): Promise<void> {
    // A fixed RTMP port is kept however long it stays taken; the control port is always ours to repick (it may
    // be the taken one).
    const repick = this.portsTaken >= repickAfter;
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

  /** An nginx that stops answering its own control server (stuck, or its worker gone) is killed and restarted. */
  protected startHeartbeat(): void {
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
    this.exited(nginx.pid, code, signal);
  }

  protected running(): object {
    return { pid: this.nginx?.pid, rtmpPort: this.ports.rtmp };
  }

  private async shutdown(): Promise<void> {
    this.stopTimers();
    for (const timer of this.redrops) clearTimeout(timer);
    this.redrops.clear();
    await this.nginx?.stop(STOP_TIMEOUT_MS);
    this.nginx = undefined;
    await this.hooks?.close();
    rmSync(this.dir, { recursive: true, force: true });
    this.log?.info({ rtmpPort: this.ports.rtmp }, 'media closed');
  }
}
