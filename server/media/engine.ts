/**
 * The worker's access rules and its hold on node-media-server's sessions (runs in the media child process).
 *
 * Owns: the worker's copy of the authorised-stream set (the supervisor holds the authoritative one and
 * replays it), the publish/play checks both fronts ask before NMS sees a request, the packet gate, cutting
 * sessions (revoke, refusals, slow players), and routing NMS's logger. It must never accept a request on
 * its own: a stream plays or publishes only with a valid signature AND while authorised.
 */
import type { ServerResponse } from 'node:http';
import type { LogLevel, WorkerConfig } from './ipc';
import { nmsContext, nmsLogger, type NmsFlvSession, type NmsLevel, type NmsSession } from './nms';
import { isStreamName, streamPathOf, verifySign, type StreamRequest } from './sign';

export type Log = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

export type Protocol = 'rtmp' | 'http-flv' | 'ws-flv';

// NMS does not look at backpressure: a player that stops reading would make it buffer without bound.
const MAX_PLAYER_BACKLOG_BYTES = 16 * 1024 * 1024;

export interface Engine {
  readonly config: WorkerConfig;
  readonly log: Log;
  /** Why publishing is refused, or null when allowed. */
  checkPublish(request: StreamRequest): string | null;
  /** Why playing is refused, or null when allowed. */
  checkPlay(request: StreamRequest): string | null;
  /** Records one refusal: the reason tests and operators read. */
  refused(protocol: Protocol, ip: string, reason: string, fields?: Record<string, unknown>): void;
  /** Hands a constructed, running NMS session over: backlog-guarded and known to revoke(). */
  adopt(session: NmsSession, protocol: Protocol): void;
  /** Whether `session`'s packets may reach subscribers. */
  mayForward(session: NmsSession): boolean;
  /** Ends a session's transport now; its output is muted at once. */
  cut(session: NmsSession): void;
  authorize(stream: string): void;
  revoke(stream: string): void;
  /** Cuts every session (shutdown). */
  cutAll(): void;
}

export function createEngine(config: WorkerConfig, log: Log): Engine {
  const authorised = new Set<string>();
  const cut = new WeakSet<NmsSession>();
  const nowSeconds = (): number => Math.floor(Date.now() / 1000);

  const check = (request: StreamRequest, key: string): string | null => {
    if (!verifySign(request.sign, streamPathOf(request.name), key, nowSeconds()))
      return 'signature invalid or expired';
    if (!authorised.has(request.name)) return 'stream not authorised';
    return null;
  };

  const backlog = (session: NmsSession): number => {
    const rtmp = (session as Partial<{ socket: { writableLength: number } }>).socket;
    if (rtmp) return rtmp.writableLength;
    const res = (session as NmsFlvSession).res;
    if ('bufferedAmount' in res) return res.bufferedAmount;
    return res.writableLength;
  };

  const terminate = (session: NmsSession): void => {
    if (cut.has(session)) return;
    cut.add(session);
    session.sendBuffer = () => {};
    if ('socket' in session && session.socket) {
      (session as { socket: { destroy(): void } }).socket.destroy();
      return;
    }
    const { req, res } = session as NmsFlvSession;
    if ('terminate' in res) res.terminate();
    else {
      (res as ServerResponse).destroy();
      req.socket.destroy();
    }
  };

  const engine: Engine = {
    config,
    log,
    checkPublish: (request) => check(request, config.publishKey),
    checkPlay: (request) => check(request, config.playKey),
    refused(protocol, ip, reason, fields) {
      log('info', 'media request refused', { protocol, ip, reason, ...fields });
    },
    adopt(session, protocol) {
      const send = session.sendBuffer;
      session.sendBuffer = (buffer) => {
        if (backlog(session) > MAX_PLAYER_BACKLOG_BYTES) {
          engine.refused(protocol, session.ip, 'player too slow', { stream: session.streamPath });
          terminate(session);
          return;
        }
        send(buffer);
      };
      nmsContext.sessions.set(session.id, session);
    },
    mayForward: (session) =>
      !cut.has(session) && (!config.packetGate || session.broadcast?.publisher === session),
    cut: terminate,
    authorize(stream) {
      if (isStreamName(stream)) authorised.add(stream);
    },
    revoke(stream) {
      authorised.delete(stream);
      const target = streamPathOf(stream);
      let closedSessions = 0;
      for (const session of nmsContext.sessions.values()) {
        if (session.streamPath === target && !cut.has(session)) {
          terminate(session);
          closedSessions++;
        }
      }
      // Ends the publish now instead of after NMS's 30 s resume window, and drops the GOP cache so that no
      // later player (on another, still authorised path) can be served the revoked member's last frames.
      nmsContext.broadcasts.get(target)?._finishPublish();
      log('info', 'stream revoked', { stream: target, closedSessions });
    },
    cutAll() {
      for (const session of nmsContext.sessions.values()) terminate(session);
    },
  };

  // The second line of defence: NMS re-checks publish signatures itself. Play is ours alone (NMS would
  // check play signatures with the publish key).
  nmsContext.config = { auth: { publish: true, play: false, secret: config.publishKey } };
  routeNmsLogger(log);
  return engine;
}

// NMS logs client misbehaviour (unknown AMF commands, a busy stream) at "error". The fronts log every
// refusal themselves, so these are detail: at info, a client cannot push lines past the default (warn)
// threshold. Its "info" is per-connection chatter.
const NMS_LEVELS: Record<NmsLevel, LogLevel> = {
  trace: 'trace',
  debug: 'debug',
  info: 'debug',
  warn: 'info',
  error: 'info',
};

/** Replaces NMS's console logger (a module singleton) for the whole worker process. */
function routeNmsLogger(log: Log): void {
  nmsLogger.log = (message: string, level: NmsLevel = 'info') => {
    log(NMS_LEVELS[level] ?? 'info', String(message), { component: 'nms' });
  };
}
