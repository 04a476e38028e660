/**
 * The open backend in one call: `startServer()` starts signalling (WebSocket) and the HTTP API on one port,
 * plus the embedded media server, and `close()` frees every port. Imports nothing from services/ but protocol/.
 */
import { randomBytes } from 'crypto';
import { createServer, type Server as HttpServer } from 'http';
import type { AddressInfo } from 'net';
import pino, { type Logger } from 'pino';
import {
  FileCallHistory,
  MemoryCallHistory,
  callRecordFrom,
  createCallEndReporter,
  type CallHistory,
  type CallOutcome,
} from './history';
import { createCallsRoute } from './http/calls';
import { createRequestHandler } from './http/routes';
import type { Notifier } from './notify';
import { startMediaPlane } from './media';
import type { MediaHealth } from './media/plane';
import { TokenVerifier } from './auth/tokens';
import { endAllCalls, kickAccount, refreshMedia } from './signaling/calls';
import type { CallEnd, SignalingContext } from './signaling/context';
import { Hub } from './signaling/hub';
import { DEFAULT_LIMITS, SlidingCounter, type SignalingLimits } from './signaling/limits';
import { attachSocketServer } from './signaling/socket-server';
import { MemoryStore, type CallState } from './store/memory';

export { mintToken, verifyToken } from './auth/tokens';

export interface ServerOptions {
  /** Signalling + HTTP port; 0 picks a free one. */
  port?: number;
  /** RTMP port of the embedded media server; 0 picks a free one. */
  rtmpPort?: number;
  /** HTTP-FLV port of the embedded media server; 0 picks a free one. */
  mediaHttpPort?: number;
  /** Listen address; `0.0.0.0` to let phones on the LAN in. */
  host?: string;
  /** Host written into issued URLs (a LAN address or domain); defaults to the listen host, or 127.0.0.1. */
  publicHost?: string;
  /**
   * Dev mode: `POST /api/login` mints tokens for any account, and the secrets are generated. Refused together
   * with an explicit secret or with NODE_ENV=production.
   */
  dev?: boolean;
  /** HS256 secret shared with the app's business server for account tokens; at least 32 bytes. */
  secret?: string;
  /** Signs media URLs; at least 32 bytes (node-media-server turns auth off for an empty one). */
  mediaSecret?: string;
  heartbeatMs?: number;
  /** Sustained requests per connection per second (token bucket); more get 429 (default 50). */
  maxRequestsPerSecond?: number;
  /** Requests a connection may send in a burst before the rate applies (default 100). */
  requestBurst?: number;
  /** A connection whose unsent replies and events exceed this many bytes is closed (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Concurrent signalling connections per client address (default 100). */
  maxConnectionsPerIp?: number;
  /** Take the client address from X-Forwarded-For's last entry (set it behind a TLS-terminating proxy). */
  trustProxy?: boolean;
  /** Devices one account may have logged in at once; one more gets 429 (default 10). */
  maxDevicesPerAccount?: number;
  /** An unanswered call ends for both sides with reason `timeout` after this many ms (default 60 s). */
  ringTimeoutMs?: number;
  /** Calls one account may have ringing at once (default 3). */
  maxRingingPerCaller?: number;
  /** Calls from one account to the same callee per minute (default 10). */
  maxCallsPerPairPerMinute?: number;
  /** How long a call waits for a device whose socket dropped to reconnect (default 30 s; 0 ends at once). */
  callGraceMs?: number;
  /** Lifetime of tokens minted by dev login (default 24 h). */
  tokenTtlSeconds?: number;
  /** Tokens living longer than this (exp − iat) are refused (default 30 days). */
  maxTokenLifetimeSeconds?: number;
  /** When set, tokens must carry this `aud`. */
  tokenAudience?: string;
  /** When set, tokens must carry this `iss`. */
  tokenIssuer?: string;
  /** `GET /healthz` with `Authorization: Bearer <metricsToken>` adds live counts (never shown otherwise). */
  metricsToken?: string;
  /** Signature lifetime of media URLs (default 2 h); a call's URLs are revoked when it ends anyway. */
  mediaUrlTtlSeconds?: number;
  logger?: Logger;
  logLevel?: pino.LevelWithSilent;
  /** Where ended calls are kept for `GET /api/calls` (default: `historyFile` if set, else in memory). */
  history?: CallHistory;
  /**
   * Keep call history in this append-only JSON-lines file, written as each call ends (a crash loses nothing
   * already acknowledged) and read back at start. Without it, history is in memory and lost on restart.
   */
  historyFile?: string;
  /** At most one missed-call notice per caller→callee pair in this many ms (default 10 min; 0: every call). */
  missedCallNoticeIntervalMs?: number;
  /** Sends missed-call notices, e.g. `WeChatSubscribeNotifier` (default: none). */
  notifier?: Notifier;
}

/** How a signalling end maps to a history outcome, from the callee's point of view for unanswered calls. */
function outcomeOf(call: CallState, end: CallEnd): CallOutcome | undefined {
  if (end.rejected) return end.hint === 'busy' ? 'busy' : end.hint === 'timeout' ? 'missed' : 'rejected';
  if (call.phase === 'accepted') return 'completed';
  if (end.hint === 'timeout') return 'missed';
  if (end.hint === 'network') return end.by === call.callee ? 'missed' : 'failed';
  return undefined; // canceled by the caller / refused by the callee: callRecordFrom infers these
}

export interface RunningServer {
  /** `ws://host:port` for `new Netcall({server})`. */
  url: string;
  /** `http://host:port` for `/healthz` and `/api/login`. */
  httpUrl: string;
  /** Base URLs of the media plane (current: a restarted media process may have moved to new ports). */
  readonly media: { rtmp: string; http: string };
  port: number;
  /**
   * Ends every session of `account` with a `kicked` event (e.g. your business server banned it); the tokens
   * it holds are refused from now on, so it needs a newly minted one to come back.
   */
  kick(account: string, reason?: string): number;
  /** The media plane's state (status, restarts, pid, ports). */
  health(): MediaHealth;
  close(): Promise<void>;
}

const listen = (server: HttpServer, port: number, host: string) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const { secret, mediaSecret, dev } = resolveSecrets(options);
  const host = options.host ?? '127.0.0.1';
  const publicHost = options.publicHost ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
  const log = options.logger ?? pino({ level: options.logLevel ?? 'warn' });
  const limits = resolveLimits(options);

  const media = await startMediaPlane({
    bind: host,
    publicHost,
    rtmpPort: options.rtmpPort ?? 0,
    httpPort: options.mediaHttpPort ?? 0,
    secret: mediaSecret,
    urlTtlSeconds: options.mediaUrlTtlSeconds,
    logger: log,
  });

  const store = new MemoryStore();
  const now = () => Date.now();
  const tokenClaims = { audience: options.tokenAudience, issuer: options.tokenIssuer };
  const tokens = new TokenVerifier(
    { secret, maxLifetimeSeconds: options.maxTokenLifetimeSeconds, ...tokenClaims },
    now,
  );
  const hub = new Hub({
    maxRequestsPerSecond: limits.maxRequestsPerSecond,
    requestBurst: limits.requestBurst,
    maxBufferedBytes: limits.maxBufferedBytes,
    now,
    onOverflow: (conn) =>
      log.warn({ conn: conn.id, ip: conn.ip, account: conn.account }, 'closed: does not read its replies'),
  });
  const history =
    options.history ??
    (options.historyFile ? new FileCallHistory({ path: options.historyFile, log }) : new MemoryCallHistory());
  const reporter = createCallEndReporter({
    history,
    notifier: options.notifier,
    log,
    noticeIntervalMs: options.missedCallNoticeIntervalMs,
  });
  const ctx: SignalingContext = {
    store,
    hub,
    media,
    tokens,
    limits,
    trustProxy: options.trustProxy ?? false,
    heartbeatMs: options.heartbeatMs ?? 15000,
    graceMs: options.callGraceMs ?? 30000,
    orphans: new Map(),
    ringTimers: new Map(),
    pairCalls: new SlidingCounter(60_000),
    now,
    log,
    onCallEnded: (call, end) =>
      reporter.callEnded(
        callRecordFrom(call, { endedBy: end.by, endedAt: end.endedAt, outcome: outcomeOf(call, end) }),
      ),
  };
  media.onRestart(() => {
    log.warn({ media: media.health() }, 'media plane is back: live members get fresh URLs');
    refreshMedia(ctx);
  });
  const http = createServer(
    createRequestHandler({
      dev,
      secret,
      tokenTtlSeconds: options.tokenTtlSeconds ?? 24 * 3600,
      tokenClaims,
      metricsToken: options.metricsToken,
      routes: [createCallsRoute({ tokens, history })],
      health: () => ({
        status: media.health().status === 'up' ? 'ok' : 'degraded',
        media: media.health().status,
      }),
      stats: () => ({
        connections: hub.size(),
        online: store.onlineCount(),
        calls: store.callCount(),
        mediaRestarts: media.health().restarts,
      }),
    }),
  );
  const sockets = attachSocketServer(http, ctx);
  let port: number;
  try {
    port = await listen(http, options.port ?? 0, host);
  } catch (error) {
    await media.close();
    throw error;
  }
  const { rtmpPort, httpPort } = media.health();
  log.info({ port, rtmpPort, httpPort, dev }, 'listening');

  let closing: Promise<void> | null = null;
  return {
    url: `ws://${publicHost}:${port}`,
    httpUrl: `http://${publicHost}:${port}`,
    get media() {
      const now = media.health();
      return { rtmp: `rtmp://${publicHost}:${now.rtmpPort}`, http: `http://${publicHost}:${now.httpPort}` };
    },
    port,
    kick: (account, reason = 'kicked by the server') => kickAccount(ctx, account, reason),
    health: () => media.health(),
    close: () =>
      (closing ??= (async () => {
        // Peers hear their calls end before the sockets are told to go (1012: come back later).
        endAllCalls(ctx);
        for (const timer of [...ctx.orphans.values(), ...ctx.ringTimers.values()]) clearTimeout(timer);
        ctx.orphans.clear();
        ctx.ringTimers.clear();
        await sockets.close();
        await reporter.settled();
        const closed = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeAllConnections();
        await closed;
        await media.close();
      })()),
  };
}

const MIN_SECRET_BYTES = 32;

/**
 * Dev mode generates its secrets and is never mixed with real ones; outside it both secrets are required and
 * long enough that guessing them is hopeless. Each refusal names what to change.
 */
function resolveSecrets(options: ServerOptions): { secret: string; mediaSecret: string; dev: boolean } {
  const dev = options.dev ?? false;
  if (dev) {
    if (options.secret || options.mediaSecret)
      throw new Error(
        'startServer: dev mode generates its own secrets and refuses an explicit `secret`/`mediaSecret` ' +
          '(NETCALL_SECRET / NETCALL_MEDIA_SECRET): drop dev mode to run with real secrets',
      );
    if (process.env.NODE_ENV === 'production')
      throw new Error(
        'startServer: dev mode refuses to run with NODE_ENV=production (it lets anyone log in as anyone)',
      );
    return { secret: randomBytes(32).toString('hex'), mediaSecret: randomBytes(32).toString('hex'), dev };
  }
  const check = (value: string | undefined, name: string, env: string, why: string): string => {
    if (!value) throw new Error(`startServer: \`${name}\` (${env}) is required outside dev mode (${why})`);
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes < MIN_SECRET_BYTES)
      throw new Error(
        `startServer: \`${name}\` (${env}) is ${bytes} bytes; at least ${MIN_SECRET_BYTES} are required ` +
          '(e.g. `openssl rand -hex 32`)',
      );
    return value;
  };
  return {
    secret: check(options.secret, 'secret', 'NETCALL_SECRET', 'it verifies account tokens'),
    mediaSecret: check(options.mediaSecret, 'mediaSecret', 'NETCALL_MEDIA_SECRET', 'it signs media URLs'),
    dev,
  };
}

function resolveLimits(options: ServerOptions): SignalingLimits {
  const limits: SignalingLimits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof SignalingLimits)[]) {
    const value = options[key];
    if (value === undefined) continue;
    if (!(typeof value === 'number' && value > 0 && Number.isFinite(value)))
      throw new Error(`startServer: \`${key}\` must be a positive number, got ${String(value)}`);
    limits[key] = value;
  }
  return limits;
}
