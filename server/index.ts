/**
 * The open backend in one call: `startServer()` starts signalling (WebSocket) and the HTTP API on one port,
 * plus the media plane (the embedded media server, or nginx-rtmp with `media: 'nginx'`), and `close()` frees
 * every port. Imports nothing from services/ but protocol/.
 */
import { mkdtempSync, rmSync } from 'fs';
import { createServer, type Server as HttpServer } from 'http';
import type { AddressInfo } from 'net';
import os from 'os';
import path from 'path';
import pino from 'pino';
import {
  checkNumbers,
  recordingsDirOf,
  resolveEcho,
  resolveLimits,
  resolveLive,
  resolveLiveMix,
  resolveMediaEngine,
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
import { createRecordingsRoute } from './http/recordings';
import { createRequestHandler } from './http/routes';
import { createViewerRoute } from './http/viewer';
import { createMixerMixes, noLiveMixes, type MixerMixes } from './live/mixes';
import { startMediaPlane } from './media';
import { startNginxPlane } from './media/nginx';
import type { MediaHealth, MediaPlane } from './media/plane';
import { ServerMetrics } from './metrics';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, TokenVerifier, mintToken } from './auth/tokens';
import { endAllCalls, kickAccount, refreshMedia } from './signaling/calls';
import type { CallEnd, SignalingContext } from './signaling/context';
import { Hub } from './signaling/hub';
import { SlidingCounter } from './signaling/limits';
import { audienceOf, liveDirectory, liveDirectoryEntry } from './signaling/live';
import { attachSocketServer } from './signaling/socket-server';
import { MemoryStore, type CallState } from './store/memory';
import type { StateStore } from './store/types';
import { checkFfmpeg } from './tools/ffmpeg';

export { mintToken, verifyToken } from './auth/tokens';
export type { ServerOptions } from './config';
export type { StateStore } from './store/types';

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

/**
 * How long the web viewer's FLV URL may start a play. The page is public and asks for a fresh one whenever it
 * (re)connects, so a copied URL stops opening new plays within minutes; one that plays goes on until the room
 * closes (signatures are checked when a play starts).
 */
const VIEWER_URL_TTL_SECONDS = 120;

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
  const mediaEngine = resolveMediaEngine(options);
  const { secret, mediaSecret, dev } = resolveSecrets(options);
  const host = options.host ?? '127.0.0.1';
  const publicHost = options.publicHost ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
  const log = options.logger ?? pino({ level: options.logLevel ?? 'warn' });
  const limits = resolveLimits(options);
  const echoConfig = resolveEcho(options, dev);
  const mixConfig = resolveLiveMix(options, dev);
  const needs = [echoConfig && 'the echo peer', mixConfig && 'the live mix'].filter(Boolean);
  const ffmpeg =
    needs.length > 0
      ? await checkFfmpeg().catch((error: Error) => {
          throw new Error(
            `startServer: ${needs.join(' and ')} need${needs.length > 1 ? '' : 's'} ffmpeg ` +
              `(turn ${needs.length > 1 ? 'them' : 'it'} off with ` +
              `${[echoConfig && '`echo: false`', mixConfig && '`liveMix: false`'].filter(Boolean).join(', ')}): ` +
              error.message,
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

  // nginx refuses to start here, naming the packages, when it or its RTMP module is missing.
  const media: MediaPlane =
    mediaEngine === 'nginx'
      ? await startNginxPlane({
          bind: host,
          publicHost,
          rtmpPort: options.rtmpPort ?? 0,
          secret: mediaSecret,
          urlTtlSeconds: options.mediaUrlTtlSeconds,
          logger: log,
        })
      : await startMediaPlane({
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

  // The mix's HLS is transient: a folder of our own unless the operator named one (then only rooms' subfolders
  // are ours to remove).
  const hlsRoot = mixConfig ? (mixConfig.hlsDir ?? mkdtempSync(path.join(os.tmpdir(), 'netcall-hls-'))) : '';
  const mixes: MixerMixes | null = mixConfig
    ? createMixerMixes({
        ffmpegPath: ffmpeg,
        hlsRoot,
        recordingsDir: mixConfig.recordingsDir,
        canvas: mixConfig.canvas,
        maxMixes: mixConfig.maxMixes,
        log,
      })
    : null;

  const store: StateStore = options.store ?? new MemoryStore();
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
      mixes: options.liveMixes ?? mixes ?? noLiveMixes,
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
  // Only with a token: /metrics is refused without one, and counting would be work nobody can read.
  const metrics = options.metricsToken
    ? new ServerMetrics({ store, hub, media, storeUp: () => true, now, log })
    : undefined;
  media.onRestart(() => {
    log.warn({ media: media.health() }, 'media plane is back: live members get fresh URLs');
    refreshMedia(ctx).catch((error: unknown) =>
      log.warn({ err: String(error) }, 'handing out fresh media URLs failed'),
    );
  });
  const http = createServer(
    createRequestHandler({
      dev,
      secret,
      tokenTtlSeconds: options.tokenTtlSeconds ?? 24 * 3600,
      tokenClaims,
      metricsToken: options.metricsToken,
      metrics,
      routes: [
        createCallsRoute({ tokens, history }),
        createLiveRoute({
          tokens,
          rooms: () => liveDirectory(ctx),
          room: (channelName) => liveDirectoryEntry(ctx, channelName),
        }),
        createRecordingsRoute({ tokens, dir: recordingsDirOf(options) }),
        createViewerRoute({
          room: async (channelName) => {
            const room = await store.roomByName(channelName);
            if (!room?.live) return undefined;
            const { stream, startedAt } = room.live;
            return { cid: room.cid, stream, audience: audienceOf(room).length, startedAt };
          },
          viewerFlv: ({ stream }) => media.playUrls(stream, VIEWER_URL_TTL_SECONDS).flv,
          hlsDir: (cid) => mixes?.hlsDirOf(cid),
          // No HTTP media port (nginx-rtmp): the page plays HLS from this server, nothing else to allow.
          mediaOrigin: () => {
            const port = media.health().httpPort;
            return port ? `http://${publicHost.includes(':') ? `[${publicHost}]` : publicHost}:${port}` : '';
          },
        }),
      ],
      health: () => ({
        status: media.health().status === 'up' ? 'ok' : 'degraded',
        media: media.health().status,
      }),
      stats: async () => ({
        connections: hub.size(),
        online: await store.onlineCount(),
        calls: await store.callCount(),
        mediaRestarts: media.health().restarts,
      }),
    }),
  );
  const sockets = attachSocketServer(
    http,
    ctx,
    metrics && ((op, code, data) => metrics.replied(op, code, data)),
  );
  let port: number;
  try {
    port = await listen(http, options.port ?? 0, host);
  } catch (error) {
    await media.close();
    if (mixConfig && !mixConfig.hlsDir) rmSync(hlsRoot, { recursive: true, force: true });
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
      // Ending every call also clears every grace and ring timer, and closes live rooms (their mixes stop).
      // A store that fails here must not keep the ports open: the rest of the shutdown goes on.
      await endAllCalls(ctx).catch((error: unknown) =>
        log.warn({ err: String(error) }, 'ending the calls at shutdown failed'),
      );
      // No mix process outlives the server; recordings are finished before it says it closed.
      await mixes?.close();
      if (mixConfig && !mixConfig.hlsDir) rmSync(hlsRoot, { recursive: true, force: true });
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
