/**
 * The open backend in one call: `startServer()` starts signalling (WebSocket) and the HTTP API on one port,
 * plus the embedded media server, and `close()` frees every port. Imports nothing from services/ but protocol/.
 */
import { createServer, type Server as HttpServer } from 'http';
import type { AddressInfo } from 'net';
import pino from 'pino';
import {
  checkNumbers,
  resolveEcho,
  resolveLimits,
  resolveLive,
  resolveSecrets,
  type ServerOptions,
} from './config';
import { startEcho, type EchoPeer } from './echo/echo';
import {
  FileCallHistory,
  MemoryCallHistory,
  callRecordFrom,
  createCallEndReporter,
  type CallOutcome,
} from './history';
import { createCallsRoute } from './http/calls';
import { createLiveRoute } from './http/live';
import { createRequestHandler } from './http/routes';
import { noLiveMixes } from './live/mixes';
import { startMediaPlane } from './media';
import type { MediaHealth } from './media/plane';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, TokenVerifier, mintToken } from './auth/tokens';
import { endAllCalls, kickAccount, refreshMedia } from './signaling/calls';
import type { CallEnd, SignalingContext } from './signaling/context';
import { Hub } from './signaling/hub';
import { SlidingCounter } from './signaling/limits';
import { liveDirectory, liveDirectoryEntry } from './signaling/live';
import { attachSocketServer } from './signaling/socket-server';
import { MemoryStore, type CallState } from './store/memory';
import { checkFfmpeg } from './tools/ffmpeg';

export { mintToken, verifyToken } from './auth/tokens';
export type { ServerOptions } from './config';

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
  // Everything that can refuse the configuration runs before the media process starts, so nothing leaks.
  checkNumbers(options);
  const { secret, mediaSecret, dev } = resolveSecrets(options);
  const host = options.host ?? '127.0.0.1';
  const publicHost = options.publicHost ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
  const log = options.logger ?? pino({ level: options.logLevel ?? 'warn' });
  const limits = resolveLimits(options);
  const echoConfig = resolveEcho(options, dev);
  const ffmpeg = echoConfig
    ? await checkFfmpeg().catch((error: Error) => {
        throw new Error(
          `startServer: the echo peer needs ffmpeg (turn it off with \`echo: false\`): ${error.message}`,
        );
      })
    : '';
  const history =
    options.history ??
    (options.historyFile ? new FileCallHistory({ path: options.historyFile, log }) : new MemoryCallHistory());
  const reporter = createCallEndReporter({
    history,
    notifier: options.notifier,
    log,
    noticeIntervalMs: options.missedCallNoticeIntervalMs,
  });

  const media = await startMediaPlane({
    bind: host,
    publicHost,
    rtmpPort: options.rtmpPort ?? 0,
    httpPort: options.mediaHttpPort ?? 0,
    secret: mediaSecret,
    urlTtlSeconds: options.mediaUrlTtlSeconds,
    // One setting for both planes: a client address opens at most this many signalling and media sockets each.
    maxConnectionsPerIp: limits.maxConnectionsPerIp,
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
    limits,
    now,
    onOverflow: (conn) =>
      log.warn({ conn: conn.id, ip: conn.ip, account: conn.account }, 'closed: does not read its replies'),
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
    roomTimers: new Map(),
    roomCapacity: options.roomCapacity ?? 9,
    roomIdleMs: options.roomIdleMs ?? 10 * 60_000,
    pairCalls: new SlidingCounter(60_000),
    live: {
      ...resolveLive(options),
      // Set once the port is known; nothing reads it before a client can connect.
      httpUrl: '',
      mixes: options.liveMixes ?? noLiveMixes,
      timers: new Map(),
      messages: new SlidingCounter(1000),
    },
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
      routes: [
        createCallsRoute({ tokens, history }),
        createLiveRoute({
          tokens,
          rooms: () => liveDirectory(ctx),
          room: (channelName) => liveDirectoryEntry(ctx, channelName),
        }),
      ],
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
  ctx.live.httpUrl = `http://${publicHost}:${port}`;
  log.info({ port, rtmpPort, httpPort, dev }, 'listening');

  let echo: EchoPeer | null = null;
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      // The echo first: its calls end and its relays (ffmpeg children) are gone before anything else stops.
      await echo?.close();
      // Peers hear their calls end before the sockets are told to go (1012: come back later).
      // Ending every call also clears every grace and ring timer.
      endAllCalls(ctx);
      await sockets.close();
      await reporter.settled();
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await closed;
      await media.close();
    })());

  if (echoConfig) {
    // The echo dials the listener directly: the public host may be a tunnel or a name that resolves elsewhere.
    const local = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
    const tokenTtl = Math.min(
      options.tokenTtlSeconds ?? 24 * 3600,
      options.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
    );
    try {
      echo = await startEcho(echoConfig, {
        server: `ws://${local.includes(':') ? `[${local}]` : local}:${port}`,
        mediaHost: local,
        mintToken: () => mintToken(secret, echoConfig.account, tokenTtl, tokenClaims),
        ffmpeg,
        log,
      });
    } catch (error) {
      await close();
      throw new Error(`startServer: the echo peer could not log in: ${String(error)}`);
    }
  }

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
    close,
  };
}
