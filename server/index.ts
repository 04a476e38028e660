/**
 * The open backend in one call: `startServer()` starts signalling (WebSocket) and the HTTP API on one port,
 * plus the embedded media server, and `close()` frees every port. Imports nothing from services/ but protocol/.
 */
import { randomBytes } from 'crypto';
import { createServer, type Server as HttpServer } from 'http';
import type { AddressInfo } from 'net';
import pino, { type Logger } from 'pino';
import {
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
import { Hub } from './signaling/hub';
import { kickAccount, type CallEnd, type SignalingContext } from './signaling/handlers';
import type { CallState } from './store/memory';
import { attachSocketServer } from './signaling/socket-server';
import { MemoryStore } from './store/memory';

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
  /** Dev mode: `POST /api/login` mints tokens, and missing secrets are generated. */
  dev?: boolean;
  /** HS256 secret shared with the app's business server for account tokens. */
  secret?: string;
  /** Signs media URLs. Must be non-empty: node-media-server turns auth off for an empty secret. */
  mediaSecret?: string;
  heartbeatMs?: number;
  /** Requests per connection per second before 429 (default 50). */
  maxRequestsPerSecond?: number;
  /** How long a call waits for a device whose socket dropped to reconnect (default 30 s; 0 ends at once). */
  callGraceMs?: number;
  tokenTtlSeconds?: number;
  mediaUrlTtlSeconds?: number;
  logger?: Logger;
  logLevel?: pino.LevelWithSilent;
  /** Where ended calls are kept for `GET /api/calls` (default: in memory, 50 per account). */
  history?: CallHistory;
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
  media: { rtmp: string; http: string };
  port: number;
  /** Ends every session of `account` with a `kicked` event (e.g. your business server banned it). */
  kick(account: string, reason?: string): number;
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
  const dev = options.dev ?? false;
  const secret = options.secret || (dev ? randomBytes(24).toString('hex') : '');
  const mediaSecret = options.mediaSecret || (dev ? randomBytes(24).toString('hex') : '');
  if (!secret)
    throw new Error('startServer: `secret` is required outside dev mode (it verifies account tokens)');
  if (!mediaSecret)
    throw new Error(
      'startServer: `mediaSecret` is required outside dev mode (an empty one turns media auth off)',
    );
  const host = options.host ?? '127.0.0.1';
  const publicHost = options.publicHost ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
  const log = options.logger ?? pino({ level: options.logLevel ?? 'warn' });

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
  const hub = new Hub();
  const history = options.history ?? new MemoryCallHistory();
  const reporter = createCallEndReporter({ history, notifier: options.notifier, log });
  const ctx: SignalingContext = {
    store,
    hub,
    media,
    secret,
    heartbeatMs: options.heartbeatMs ?? 15000,
    graceMs: options.callGraceMs ?? 30000,
    maxRequestsPerSecond: options.maxRequestsPerSecond ?? 50,
    orphans: new Map(),
    now: () => Date.now(),
    log,
    onCallEnded: (call, end) =>
      reporter.callEnded(
        callRecordFrom(call, { endedBy: end.by, endedAt: end.endedAt, outcome: outcomeOf(call, end) }),
      ),
  };
  const http = createServer(
    createRequestHandler({
      dev,
      secret,
      tokenTtlSeconds: options.tokenTtlSeconds ?? 24 * 3600,
      routes: [createCallsRoute({ secret, history })],
      stats: () => ({ connections: hub.size(), online: store.onlineCount(), calls: store.callCount() }),
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
    media: { rtmp: `rtmp://${publicHost}:${rtmpPort}`, http: `http://${publicHost}:${httpPort}` },
    port,
    kick: (account, reason = 'kicked by the server') => kickAccount(ctx, account, reason),
    close: () =>
      (closing ??= (async () => {
        for (const timer of ctx.orphans.values()) clearTimeout(timer);
        ctx.orphans.clear();
        await sockets.close();
        await reporter.settled();
        const closed = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeAllConnections();
        await closed;
        await media.close();
      })()),
  };
}
