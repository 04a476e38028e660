/**
 * The open backend in one call: `startServer()` starts signalling (WebSocket) and the HTTP API on one port,
 * plus the media plane (the embedded media server, or nginx-rtmp with `media: 'nginx'`), and `close()` frees
 * every port. Imports nothing from services/ but protocol/.
 */
import { randomBytes } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { createServer, type Server as HttpServer } from 'http';
import type { AddressInfo } from 'net';
import os from 'os';
import path from 'path';
import pino from 'pino';
import {
  checkNumbers,
  recordingsDirOf,
  requireWritableFolder,
  resolveEcho,
  resolveLimits,
  resolveLive,
  resolveCluster,
  resolveLiveMix,
  resolveMediaEngine,
  resolveSecrets,
  type ServerOptions,
} from './config';
import { startEcho, type EchoPeer } from './echo/echo';
import { RedisCallHistory } from './history/redis';
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
import { createClusterMixes } from './live/cluster-mixes';
import { createMixerMixes, noLiveMixes, type MixerMixes } from './live/mixes';
import { startMediaPlane } from './media';
import { ClusterMedia } from './media/cluster';
import { startNginxPlane } from './media/nginx';
import type { MediaHealth, MediaPlane } from './media/plane';
import { ServerMetrics } from './metrics';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, TokenVerifier, mintToken } from './auth/tokens';
import { endAllCalls, endExpiredOrphans, kickAccount, refreshMedia, dropConnection } from './signaling/calls';
import { moveMedia, reconcile, takeOver } from './signaling/cluster';
import type { CallEnd, SignalingContext } from './signaling/context';
import { Hub } from './signaling/hub';
import { audienceOf, liveDirectory, liveDirectoryEntry } from './signaling/live';
import { attachSocketServer } from './signaling/socket-server';
import { Cluster, type BusMessage } from './store/cluster';
import { MemoryStore, type CallState } from './store/memory';
import { RedisStore } from './store/redis';
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

/**
 * How long past its deadline another node waits before ending a lost device's place: the node that lost it
 * normally ends it on time with its own timer.
 */
const SWEEP_SLACK_MS = 1000;

/** How long a draining node waits for its connections' closes to be handled before it leaves anyway. */
const DRAIN_WAIT_MS = 5000;

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
  /** The public host as a URL writes it (an IPv6 address in brackets). */
  const urlHost = publicHost.includes(':') ? `[${publicHost}]` : publicHost;
  const log = options.logger ?? pino({ level: options.logLevel ?? 'warn' });
  const limits = resolveLimits(options);
  const clusterConfig = resolveCluster(options, () => randomBytes(4).toString('hex'));
  const echoConfig = resolveEcho(options, dev);
  const mixConfig = resolveLiveMix(options, dev);
  if (mixConfig) {
    requireWritableFolder('recordingsDir', mixConfig.recordingsDir);
    if (mixConfig.hlsDir) requireWritableFolder('hlsDir', mixConfig.hlsDir);
  }
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

  // A node never starts without its shared state: an unreachable Redis refuses the start, before media runs.
  let redisUp = true;
  let reconnected = false;
  const redisStore = clusterConfig
    ? new RedisStore({
        url: clusterConfig.redis,
        prefix: clusterConfig.prefix,
        onStatus: (up, detail) => {
          if (up && !redisUp) reconnected = true;
          redisUp = up;
          if (up) log.warn({ redis: 'up' }, 'state store (Redis) reachable');
          else
            log.warn(
              { redis: 'down', detail },
              'state store (Redis) lost: requests get 503 until it is back',
            );
        },
      })
    : null;
  if (redisStore)
    await redisStore.connect().catch((error: Error) => {
      redisStore.close().catch(() => undefined);
      throw new Error(`startServer: cannot reach Redis at ${clusterConfig!.redis}: ${error.message}`);
    });
  // Kicks made while this node was not running: their tokens are refused here too.
  const kicks = redisStore
    ? await redisStore.kicks().catch((error: Error) => {
        redisStore.close().catch(() => undefined);
        throw new Error(`startServer: cannot read the kicks from Redis: ${error.message}`);
      })
    : [];

  // Several nodes share one history, so `GET /api/calls` is complete from any of them.
  const history =
    options.history ??
    (redisStore
      ? new RedisCallHistory({ redis: redisStore.redis, prefix: redisStore.prefix })
      : options.historyFile
        ? new FileCallHistory({ path: options.historyFile, log })
        : new MemoryCallHistory());
  const reporter = createCallEndReporter({
    history,
    notifier: options.notifier,
    log,
    noticeIntervalMs: options.missedCallNoticeIntervalMs,
  });

  // nginx refuses to start here, naming the packages, when it or its RTMP module is missing.
  const startLocalMedia = (): Promise<MediaPlane> =>
    mediaEngine === 'nginx'
      ? startNginxPlane({
          bind: host,
          publicHost,
          rtmpPort: options.rtmpPort ?? 0,
          secret: mediaSecret,
          urlTtlSeconds: options.mediaUrlTtlSeconds,
          logger: log,
        })
      : startMediaPlane({
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
  // A media plane that refuses to start leaves no Redis connection behind (it would hold the process open).
  const localMedia = await startLocalMedia().catch(async (error: unknown) => {
    await redisStore?.close();
    throw error;
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

  // Several nodes: the media plane names streams on the node each call is placed on; the bus carries events.
  let onBus: (message: BusMessage) => void = () => undefined;
  let cluster: Cluster | null = null;
  let clusterMedia: ClusterMedia | null = null;
  if (clusterConfig && redisStore) {
    cluster = new Cluster({
      store: redisStore,
      url: clusterConfig.redis,
      node: { id: clusterConfig.nodeId, url: '', media: { rtmp: '', http: '', engine: mediaEngine } },
      ttlMs: clusterConfig.ttlMs,
      onMessage: (message) => onBus(message),
      onNodeDead: async (node, conns) => {
        await takeOver(ctx, conns);
        const moved = await moveMedia(ctx, node.id, (stream) => clusterMedia!.nodeOf(stream));
        log.warn({ node: node.id, devices: conns.length, moved }, 'took over a dead node');
      },
      onSweep: async () => {
        // Looked at without the lock, taken only when there is something to end (every node sweeps each second).
        const expiredBefore = Date.now() - SWEEP_SLACK_MS;
        if ((await ctx.store.expiredOrphans(expiredBefore)).length > 0)
          await ctx.store.exclusive(() => endExpiredOrphans(ctx, expiredBefore));
        if (reconnected) {
          reconnected = false;
          await reconcile(ctx, clusterConfig.nodeId);
        }
      },
      load: () => clusterMedia?.load() ?? 0,
      log,
    });
    clusterMedia = new ClusterMedia({
      local: localMedia,
      cluster,
      store: redisStore,
      engine: mediaEngine,
      strategy: clusterConfig.placement,
    });
  }
  const media: MediaPlane = clusterMedia ?? localMedia;
  const localMixes = options.liveMixes ?? mixes ?? noLiveMixes;
  // Several nodes: a live room's mix runs on the node its media is placed on, whoever handles its requests.
  const clusterMixes =
    cluster && clusterMedia
      ? createClusterMixes(localMixes, {
          self: cluster.id,
          nodeOf: (stream) => clusterMedia!.nodeOf(stream),
          send: (node, message) => cluster!.send(node, message),
          broadcast: (message) => cluster!.broadcast(message),
        })
      : null;
  const store: StateStore = options.store ?? redisStore ?? new MemoryStore();
  const now = () => Date.now();
  const tokenClaims = { audience: options.tokenAudience, issuer: options.tokenIssuer };
  const tokens = new TokenVerifier(
    { secret, maxLifetimeSeconds: options.maxTokenLifetimeSeconds, ...tokenClaims },
    now,
  );
  for (const [account, at] of kicks) tokens.revoke(account, at);
  const hub = new Hub({
    limits,
    now,
    node: clusterConfig?.nodeId,
    route: (node, connIds, text) => cluster?.send(node, { t: 'emit', c: connIds, f: text }),
    beforeWrite: () => media.flush?.(),
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
    closing: false,
    lostElsewhere: cluster ? (connId) => cluster!.lost(connId) : undefined,
    live: {
      ...resolveLive(options),
      // Set once the port is known; nothing reads it before a client can connect.
      httpUrl: '',
      // The viewer page and HLS of a room mixed on another node are that node's.
      httpUrlOf: cluster
        ? (stream) =>
            cluster!.node(clusterMedia!.nodeOf(stream))?.url.replace(/^ws/, 'http') ?? ctx.live.httpUrl
        : undefined,
      mixes: clusterMixes ?? localMixes,
      timers: new Map(),
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
    ? new ServerMetrics({ store, hub, media, storeUp: () => redisStore?.isUp() ?? true })
    : undefined;
  if (metrics) ctx.onCallSetUp = (call, at) => metrics.callSetUp(call, at);
  /** Where this node's media server is, as the node table tells the others (they sign URLs pointing there). */
  const mediaOrigins = (rtmpPort: number, httpPort: number) => ({
    rtmp: `rtmp://${urlHost}:${rtmpPort}`,
    http: httpPort ? `http://${urlHost}:${httpPort}` : '',
    engine: mediaEngine,
  });
  media.onRestart(() => {
    log.warn({ media: media.health() }, 'media plane is back: live members get fresh URLs');
    // A media server that came back on other ports (picked ones were taken): the others learn it at the next
    // announcement, instead of signing URLs for the old ports for good.
    if (cluster) cluster.self.media = mediaOrigins(media.health().rtmpPort, media.health().httpPort);
    ctx.store
      .exclusive(() => refreshMedia(ctx, clusterMedia ? (stream) => clusterMedia!.owns(stream) : undefined))
      .catch((error: unknown) => log.warn({ err: String(error) }, 'handing out fresh media URLs failed'));
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
            return port ? `http://${urlHost}:${port}` : '';
          },
        }),
      ],
      health: () => ({
        status: media.health().status === 'up' && (redisStore?.isUp() ?? true) ? 'ok' : 'degraded',
        media: media.health().status,
        ...(redisStore ? { redis: redisStore.isUp() ? 'up' : 'down', node: clusterConfig!.nodeId } : {}),
      }),
      // While the shared store is away the counts it keeps are unknown (null), and the rest still answers.
      stats: async () => ({
        connections: hub.size(),
        online: await store.onlineCount().catch(() => null),
        calls: await store.callCount().catch(() => null),
        mediaRestarts: media.health().restarts,
      }),
    }),
  );
  const sockets = attachSocketServer(http, ctx, metrics && ((op, code) => metrics.replied(op, code)));
  let port: number;
  try {
    port = await listen(http, options.port ?? 0, host);
  } catch (error) {
    await media.close();
    await redisStore?.close();
    if (mixConfig && !mixConfig.hlsDir) rmSync(hlsRoot, { recursive: true, force: true });
    throw error;
  }
  const { rtmpPort, httpPort } = media.health();
  ctx.live.httpUrl = `http://${publicHost}:${port}`;
  if (cluster && clusterMedia) {
    Object.assign(cluster.self, { url: `ws://${urlHost}:${port}`, media: mediaOrigins(rtmpPort, httpPort) });
    const planes = clusterMedia;
    onBus = (message) => {
      if (message.t === 'emit') hub.deliver(message.c, message.f);
      else if (message.t === 'kick') kickAccount(ctx, message.account, message.reason, message.at, true);
      else if (message.t === 'mix') clusterMixes?.receive(message);
      else if (message.op === 'authorize') planes.authorizeHere(message.s);
      else planes.revokeHere(message.s);
    };
    try {
      await cluster.start();
      // A node restarted under its name before its key expired: what its previous process held is lost, its
      // devices and its media server's streams with them.
      await reconcile(ctx, cluster.id);
      await moveMedia(ctx, cluster.id, (stream) => planes.nodeOf(stream));
    } catch (error) {
      http.close();
      await localMedia.close();
      await redisStore?.close();
      throw error;
    }
  }
  log.info({ port, rtmpPort, httpPort, dev }, 'listening');

  let echo: EchoPeer | null = null;
  let closing: Promise<void> | null = null;
  /**
   * Several nodes: this one leaves and the others carry on. Calls placed on its media server move, its devices
   * are lost connections (their calls wait their grace period, as for a dropped network) and are told to
   * reconnect elsewhere (1012); the client's next URL takes them to another node, where they rejoin.
   */
  const handOver = async (running: Cluster, planes: ClusterMedia) => {
    await moveMedia(ctx, running.id, (stream) => planes.nodeOf(stream)).catch((error: unknown) =>
      log.warn({ err: String(error) }, 'moving media at drain failed'),
    );
    for (const conn of hub.all()) {
      // Nothing more it sends is handled here: its session goes on at another node.
      conn.closingOnPurpose = true;
      if (!conn.account) continue;
      await store
        .exclusive(() => dropConnection(ctx, conn, false))
        .catch((error: unknown) => log.warn({ conn: conn.id, err: String(error) }, 'drain: drop failed'));
      conn.account = null;
    }
  };
  const close = () =>
    (closing ??= (async () => {
      ctx.closing = true;
      // The echo first: its calls end and its relays (ffmpeg children) are gone before anything else stops.
      await echo?.close();
      if (cluster && clusterMedia) await handOver(cluster, clusterMedia);
      else
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
      if (cluster) {
        // The others take over what is left of this node once its key is gone: its closes are handled first.
        const deadline = Date.now() + DRAIN_WAIT_MS;
        while (hub.size() > 0 && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 10));
        await cluster.stop();
      }
      await reporter.settled();
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await closed;
      await media.close();
      await redisStore?.close();
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
    kick: (account, reason = 'kicked by the server') => {
      // Devices on other nodes are kicked there; the count is of this node's.
      const at = Math.floor(Date.now() / 1000);
      cluster?.broadcast({ t: 'kick', account, reason, at });
      redisStore
        ?.rememberKick(account, at, tokens.revocationTtlSeconds)
        .catch((error: unknown) =>
          log.warn({ account, err: String(error) }, 'kick not kept for nodes that start later'),
        );
      return kickAccount(ctx, account, reason, at);
    },
    health: () => media.health(),
    close,
  };
}
