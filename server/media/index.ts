/**
 * The embedded media server: node-media-server (RTMP in/out, HTTP-FLV and WS-FLV out) run in-process for the
 * signalling server, with the access rules NMS lacks.
 *
 * Owns: NMS's lifecycle (ports, temp store dir, logger routing, shutdown), URL issuing, and enforcement:
 *  - publish: NMS's own signature check (`auth.publish`, key = secret) plus ours in `prePublish`, plus the
 *    allow-list of streams that belong to live RTC members;
 *  - play: our own signature check in `prePlay` with a key derived from the secret, so play URLs are useless
 *    for publishing;
 *  - packet gating: NMS 4.4.3 forwards media from *any* RTMP session attached to a stream path (a refused
 *    publisher whose socket is only half-closed, or a player sending media) to every subscriber; we only let
 *    the broadcast's registered publisher through.
 * NMS keeps its state in module-level singletons, so only one MediaServer may run per process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import {
  assertNmsShape,
  NodeMediaServer,
  nmsContext,
  nmsLogger,
  type NmsConfig,
  type NmsInstance,
  type NmsLevel,
  type NmsSession,
  type NmsWebSocket,
} from './nms';
import { freePort } from './ports';
import type { MediaPlane } from './plane';
import { assertSafeStream, derivePlayKey, makeSign, toStreamName, verifySign } from './sign';

export { freePort } from './ports';

export interface MediaServerOptions {
  /** Listen address, default '127.0.0.1'. */
  bind?: string;
  /** Host written into issued URLs; default = bind, or 127.0.0.1 when bind is a wildcard address. */
  publicHost?: string;
  /** 0 = pick a free one. */
  rtmpPort: number;
  /** HTTP-FLV / WS-FLV port; 0 = pick a free one. */
  httpPort: number;
  /** Must be non-empty: an empty secret disables NMS auth. */
  secret: string;
  /** Lifetime of issued URLs, default 12 h (long enough for the pusher's own reconnects). */
  urlTtlSeconds?: number;
  /** NMS's JSON store; default a fresh temp dir, removed on close. */
  storeDir?: string;
  logger?: Logger;
  /** ms clock used to issue and check signatures (NMS's own publish check always uses the real clock). */
  now?: () => number;
}

export interface IssuedPlayUrls {
  rtmp: string;
  flv: string;
}

export interface MediaServer {
  readonly rtmpPort: number;
  readonly httpPort: number;
  /** e.g. rtmp://127.0.0.1:PORT/live */
  readonly rtmpBase: string;
  /** e.g. http://127.0.0.1:PORT/live */
  readonly httpBase: string;
  /** Injective mapping of (room, uid) to an NMS-safe stream name. */
  streamName(cid: string, uid: string): string;
  /** Signed for publishing exactly this stream. */
  pushUrl(stream: string): string;
  /** Signed (with the play key) for playing exactly this stream. */
  playUrls(stream: string): IssuedPlayUrls;
  /** The stream belongs to a live RTC member: publishing is permitted. */
  allow(stream: string): void;
  /** No longer permitted: closes its publisher and players now and refuses later publishes. */
  revoke(stream: string): void;
  /** Stops NMS, frees both ports, removes the temp store dir. Idempotent. */
  close(): Promise<void>;
}

const APP = 'live';
const DEFAULT_TTL_SECONDS = 12 * 60 * 60;
const START_ATTEMPTS = 3;
const CLOSE_WAIT_MS = 2000;

// NMS's Context, logger and event emitter are module singletons: a second instance would share (and break)
// the first one's sessions, handlers and config.
let running = false;

/** Starts the embedded media server; resolves once both listeners accept connections. */
export async function startMediaServer(options: MediaServerOptions): Promise<MediaServer> {
  if (typeof options.secret !== 'string' || options.secret === '') {
    throw new Error('media server: `secret` must be a non-empty string (an empty secret disables NMS auth)');
  }
  if (running) {
    throw new Error(
      'media server: one is already running in this process (node-media-server state is a process-wide ' +
        'singleton); close() it before starting another',
    );
  }
  running = true;
  try {
    return await start(options);
  } catch (error) {
    running = false;
    throw error;
  }
}

interface Listening {
  nms: NmsInstance;
  rtmpPort: number;
  httpPort: number;
}

async function start(options: MediaServerOptions): Promise<MediaServer> {
  const bind = options.bind ?? '127.0.0.1';
  const publicHost = options.publicHost ?? (bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind);
  const urlHost = publicHost.includes(':') ? `[${publicHost}]` : publicHost;
  const ttl = options.urlTtlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!(ttl > 0)) throw new Error('media server: `urlTtlSeconds` must be positive');
  const now = options.now ?? Date.now;
  const log = options.logger?.child({ component: 'media' });
  const publishKey = options.secret;
  const playKey = derivePlayKey(options.secret);
  const allowed = new Set<string>();
  // Sessions we have cut: their packets and output are dropped even before their close event arrives.
  const cut = new WeakSet<NmsSession>();
  const gated = new WeakSet<NmsSession>();

  const ownsStore = options.storeDir === undefined;
  const storeDir = options.storeDir ?? (await mkdtemp(path.join(tmpdir(), 'netcall-nms-')));
  const restoreLogger = routeNmsLogger(options.logger);

  const nowSeconds = (): number => Math.floor(now() / 1000);

  const gatePackets = (session: NmsSession): void => {
    const parser = session.rtmp;
    const deliver = session.onPacket;
    if (!parser || !deliver || gated.has(session)) return;
    gated.add(session);
    parser.onPacketCallback = (packet) => {
      if (!cut.has(session) && session.broadcast?.publisher === session) deliver(packet);
    };
  };

  const terminate = (session: NmsSession, refuseHttp: boolean): void => {
    cut.add(session);
    session.sendBuffer = () => {};
    if (session.socket) {
      session.socket.destroy();
      return;
    }
    const res = session.res;
    if (res && 'terminate' in res && typeof res.terminate === 'function') {
      (res as NmsWebSocket).terminate();
    } else if (res) {
      const http = res as ServerResponse;
      // A 403 tells an HTTP-FLV player why; NMS itself answers 200 with an empty body.
      if (refuseHttp && !http.headersSent) {
        http.writeHead(403, { 'Content-Type': 'text/plain', Connection: 'close' });
        http.end('forbidden\n');
      } else {
        session.req?.socket.destroy();
        http.destroy();
      }
    }
  };

  const onPrePublish = (session: NmsSession): void => {
    gatePackets(session);
    let reason: string | null = null;
    if (session.streamApp !== APP) reason = 'unknown app';
    else if (!verifySign(session.streamQuery?.sign, session.streamPath, publishKey, nowSeconds()))
      reason = 'missing, invalid or expired publish signature';
    else if (!allowed.has(session.streamName)) reason = 'stream is not allowed';
    if (reason === null) return;
    log?.info(
      { stream: session.streamPath, protocol: session.protocol, ip: session.ip, reason },
      'publish refused',
    );
    // NMS checks its own signature right after this event; with no `sign` left it fails and never registers
    // the session as the stream's publisher (closing the socket alone would leave it registered).
    session.streamQuery = {};
    terminate(session, false);
  };

  const onPrePlay = (session: NmsSession): void => {
    gatePackets(session);
    if (
      session.streamApp === APP &&
      verifySign(session.streamQuery?.sign, session.streamPath, playKey, nowSeconds())
    )
      return;
    log?.info({ stream: session.streamPath, protocol: session.protocol, ip: session.ip }, 'play refused');
    // NMS still attaches the session as a subscriber after this event; `terminate` muted it first.
    terminate(session, true);
  };

  let listening: Listening | undefined;
  try {
    for (let attempt = 1; listening === undefined; attempt++) {
      const rtmpPort = options.rtmpPort || (await freePort(bind));
      let httpPort = options.httpPort || (await freePort(bind));
      while (httpPort === rtmpPort && !options.httpPort) httpPort = await freePort(bind);
      const config: NmsConfig = {
        bind,
        rtmp: { port: rtmpPort },
        http: { port: httpPort },
        auth: { play: false, publish: true, secret: publishKey },
        notify: { url: '' },
        webadmin: { enable: false },
        store: { path: storeDir, maxHistory: 1000 },
        record: { auto: false, path: path.join(storeDir, 'record') },
      };
      try {
        listening = { nms: await launch(config, onPrePublish, onPrePlay), rtmpPort, httpPort };
      } catch (error) {
        const picked = !options.rtmpPort || !options.httpPort;
        if (!(isAddrInUse(error) && picked && attempt < START_ATTEMPTS)) throw error;
        log?.debug({ err: error, attempt }, 'picked port was taken meanwhile; retrying');
      }
    }
  } catch (error) {
    restoreLogger();
    if (ownsStore) await rm(storeDir, { recursive: true, force: true });
    throw error;
  }

  const { nms, rtmpPort, httpPort } = listening;
  const rtmpBase = `rtmp://${urlHost}:${rtmpPort}/${APP}`;
  const httpBase = `http://${urlHost}:${httpPort}/${APP}`;
  log?.info({ rtmpPort, httpPort, bind, storeDir }, 'media server listening');

  const expiry = (): number => nowSeconds() + Math.floor(ttl);
  const streamPath = (stream: string): string => `/${APP}/${stream}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const servers = [nms.rtmpServer.tcpServer, nms.httpServer.httpServer].filter(
        (s): s is NetServer | HttpServer => s !== undefined,
      );
      const closed = servers.map((s) => waitClosed(s, CLOSE_WAIT_MS));
      // NMS.stop() closes listeners but leaves HTTP-FLV responses (and WS close handshakes) open, which
      // would keep the process alive and the players attached; cut every transport first.
      for (const session of nmsContext.sessions.values()) terminate(session, false);
      for (const client of nms.httpServer.wsServer?.clients ?? []) client.terminate();
      nms.httpServer.httpServer?.closeAllConnections();
      await nms.stop();
      await Promise.all(closed);
      for (const broadcast of nmsContext.broadcasts.values()) {
        if (broadcast._publishGraceTimer !== null) clearTimeout(broadcast._publishGraceTimer);
      }
      nmsContext.broadcasts.clear();
      nmsContext.sessions.clear();
      // Also drops the listeners NMS's record server adds and never removes.
      nmsContext.eventEmitter.removeAllListeners();
      allowed.clear();
      restoreLogger();
      if (ownsStore) await rm(storeDir, { recursive: true, force: true });
      running = false;
      log?.info({ rtmpPort, httpPort }, 'media server closed');
    })();
    return closing;
  };

  return {
    rtmpPort,
    httpPort,
    rtmpBase,
    httpBase,
    streamName: toStreamName,
    pushUrl(stream) {
      assertSafeStream(stream);
      return `${rtmpBase}/${stream}?sign=${makeSign(streamPath(stream), expiry(), publishKey)}`;
    },
    playUrls(stream) {
      assertSafeStream(stream);
      const sign = makeSign(streamPath(stream), expiry(), playKey);
      return { rtmp: `${rtmpBase}/${stream}?sign=${sign}`, flv: `${httpBase}/${stream}.flv?sign=${sign}` };
    },
    allow(stream) {
      assertSafeStream(stream);
      allowed.add(stream);
    },
    revoke(stream) {
      assertSafeStream(stream);
      allowed.delete(stream);
      const target = streamPath(stream);
      let closedSessions = 0;
      for (const session of nmsContext.sessions.values()) {
        if (session.streamPath === target && !cut.has(session)) {
          terminate(session, false);
          closedSessions++;
        }
      }
      // Ends the publish now instead of after NMS's 30 s resume window, and drops the GOP cache so a player
      // arriving later with a still-valid play URL cannot be served the revoked member's last frames.
      nmsContext.broadcasts.get(target)?._finishPublish();
      log?.info({ stream: target, closedSessions }, 'stream revoked');
    },
    close,
  };
}

async function launch(
  config: NmsConfig,
  onPrePublish: (session: NmsSession) => void,
  onPrePlay: (session: NmsSession) => void,
): Promise<NmsInstance> {
  const nms = new NodeMediaServer(config);
  assertNmsShape(nms);
  nms.on('prePublish', onPrePublish);
  nms.on('prePlay', onPrePlay);
  // run() attaches the listeners synchronously before its first await, so the listen-error handlers exist
  // (and can be replaced) before any error can be emitted.
  const ran = nms.run();
  const rtmp = nms.rtmpServer.tcpServer as NetServer;
  const http = nms.httpServer.httpServer as HttpServer;
  // allSettled, not all: stopping before the store finished opening would leave its lock and exit hooks behind.
  const results = await Promise.allSettled([listeningOrError(rtmp), listeningOrError(http), ran]);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await nms.stop();
    nmsContext.eventEmitter.removeAllListeners();
    throw failure.reason;
  }
  // Keep ws from re-emitting server errors as an unhandled 'error' on itself.
  nms.httpServer.wsServer?.on('error', () => {});
  // The store installs SIGINT/SIGTERM handlers that re-raise the signal; the host process owns signals.
  if (nms.store.opened && nms.store._onSignal) {
    process.removeListener('SIGINT', nms.store._onSignal);
    process.removeListener('SIGTERM', nms.store._onSignal);
  }
  return nms;
}

/**
 * NMS's listen-error handlers call process.exit(1) (fatal inside the signalling server or a jest worker);
 * swap them for a rejection.
 */
function listeningOrError(server: NetServer): Promise<void> {
  server.removeAllListeners('error');
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      server.on('error', () => {});
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      // Post-listen errors on a listening server are not fatal for us; NMS only logs per-socket errors.
      server.on('error', () => {});
      resolve();
    };
    if (server.listening) {
      onListening();
      return;
    }
    server.once('error', onError);
    server.once('listening', onListening);
  });
}

function waitClosed(server: NetServer, timeoutMs: number): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    server.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function isAddrInUse(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
}

// NMS logs client misbehaviour (failed auth, bad stream names, parse errors) at "error"; for us those are
// expected refusals, so they go out as warn. Its "info" is per-connection chatter. Without a logger NMS stays
// silent: we log refusals ourselves.
const NMS_TO_PINO: Record<NmsLevel, 'trace' | 'debug' | 'info' | 'warn'> = {
  trace: 'trace',
  debug: 'debug',
  info: 'debug',
  warn: 'warn',
  error: 'warn',
};

/**
 * Replaces NMS's console logger (which the NMS constructor resets to debug, and which logs its banner from
 * the constructor) before construction; returns the undo.
 */
function routeNmsLogger(logger: Logger | undefined): () => void {
  const previousLevel = nmsLogger.level;
  const hadOwnLog = Object.prototype.hasOwnProperty.call(nmsLogger, 'log');
  const previousLog = nmsLogger.log;
  const child = logger?.child({ component: 'nms' });
  nmsLogger.log = (message: string, level: NmsLevel = 'info') => {
    if (child) child[NMS_TO_PINO[level] ?? 'info'](message);
  };
  return () => {
    if (hadOwnLog) nmsLogger.log = previousLog;
    else delete (nmsLogger as Partial<typeof nmsLogger>).log;
    nmsLogger.level = previousLevel;
  };
}

/**
 * The embedded engine behind the `MediaPlane` interface. (Interim: in-process; the supervised child process
 * replaces this.)
 */
export async function startMediaPlane(options: MediaServerOptions): Promise<MediaPlane> {
  const server = await startMediaServer(options);
  return {
    streamName: (cid, uid) => server.streamName(cid, uid),
    pushUrl: (stream) => server.pushUrl(stream),
    playUrls: (stream) => server.playUrls(stream),
    authorize: (stream) => server.allow(stream),
    revoke: (stream) => server.revoke(stream),
    health: () => ({ status: 'up', restarts: 0, rtmpPort: server.rtmpPort, httpPort: server.httpPort }),
    onRestart: () => {},
    close: () => server.close(),
  };
}
