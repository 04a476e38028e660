/**
 * The worker's access rules and its hold on node-media-server's sessions (runs in the media child process).
 *
 * Owns: the worker's copy of the authorised-stream set (the supervisor holds the authoritative one and
 * replays it), the publish/play checks both fronts ask before NMS sees a request, the per-address connection
 * cap both fronts share, the packet gate, cutting sessions (revoke, refusals, slow players), and routing
 * NMS's logger. It must never accept a request on its own: a stream plays or publishes only with a valid
 * signature AND while authorised.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { addressKey } from '../address';
import type { LogLevel, WorkerConfig } from './ipc';
import { nmsContext, nmsLogger, type NmsFlvSession, type NmsLevel, type NmsSession } from './nms';
import { isStreamName, streamPathOf, verifySign, type StreamRequest } from './sign';
import { clip, describe, quote } from './values';

export type Log = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

export type Protocol = 'rtmp' | 'http-flv' | 'ws-flv';

/** NMS does not look at backpressure: a player that stops reading would make it buffer without bound. */
export const MAX_PLAYER_BACKLOG_BYTES = 16 * 1024 * 1024;
// NMS interpolates client values (an unknown command's name, up to a whole message) into its log lines.
const MAX_NMS_LOG_CHARS = 256;

export interface Engine {
  readonly config: WorkerConfig;
  readonly log: Log;
  /**
   * Counts a new connection against its address's cap; false when the address is at the cap (the front
   * refuses it, and it is not counted). A counted connection is uncounted when its socket closes.
   */
  admit(socket: Socket): boolean;
  /** Why publishing is refused, or null when allowed. */
  checkPublish(request: StreamRequest): string | null;
  /** Why playing is refused, or null when allowed. */
  checkPlay(request: StreamRequest): string | null;
  /** Records one refusal: the reason tests and operators read. */
  refused(protocol: Protocol, ip: string, reason: string, fields?: Record<string, unknown>): void;
  /**
   * Takes a constructed NMS session before its run(): backlog-guarded, its close made safe, known to
   * revoke().
   */
  adopt(session: NmsSession, protocol: Protocol): void;
  /** Whether `session`'s packets may reach subscribers. */
  mayForward(session: NmsSession): boolean;
  /** Ends a session's transport now; its output is muted at once. */
  cut(session: NmsSession): void;
  authorize(stream: string): void;
  revoke(stream: string): void;
}

export function createEngine(config: WorkerConfig, log: Log): Engine {
  const authorised = new Set<string>();
  const cut = new WeakSet<NmsSession>();
  const perAddress = new Map<string, number>();
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
    admit(socket) {
      const key = addressKey(socket.remoteAddress ?? 'unknown');
      const open = perAddress.get(key) ?? 0;
      if (open >= config.maxConnectionsPerIp) return false;
      perAddress.set(key, open + 1);
      socket.once('close', () => {
        const left = (perAddress.get(key) ?? 1) - 1;
        if (left > 0) perAddress.set(key, left);
        else perAddress.delete(key);
      });
      return true;
    },
    checkPublish(request) {
      const denied = check(request, config.publishKey);
      if (denied !== null) return denied;
      // NMS would refuse too, but only after answering "publish started"; during its resume window (a
      // publisher that just dropped) it hands the stream over, which is what a reconnecting phone needs.
      const broadcast = nmsContext.broadcasts.get(streamPathOf(request.name));
      if (broadcast?.publisher && broadcast._publishGraceTimer === null)
        return 'stream already has a publisher';
      return null;
    },
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
      // NMS's close handlers assume a fully built session; a throw there would end the worker.
      const nmsOnClose = session.onClose;
      session.onClose = () => {
        try {
          nmsOnClose();
        } catch (error) {
          log('warn', 'media session close failed', { protocol, err: describe(error) });
        }
      };
      nmsContext.sessions.set(session.id, session);
    },
    mayForward: (session) =>
      !cut.has(session) && (!config.packetGate || session.broadcast?.publisher === session),
    cut: terminate,
    authorize(stream) {
      if (isStreamName(stream)) authorised.add(stream);
      else log('warn', 'authorize: not a stream name; dropped', { stream: quote(stream) });
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
      // Ends the publish now instead of after NMS's 30 s resume window, and drops the path's GOP cache, so
      // that a later player of this path (were it authorised again) is never served the revoked publisher's
      // last frames.
      nmsContext.broadcasts.get(target)?._finishPublish();
      log('info', 'stream revoked', { stream: target, closedSessions });
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
    log(NMS_LEVELS[level] ?? 'info', clip(String(message), MAX_NMS_LOG_CHARS), { component: 'nms' });
  };
}
