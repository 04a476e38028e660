/**
 * Typed view of the node-media-server 4.4.x internals that server/media relies on.
 *
 * NMS ships no type declarations, and the parts we need to enforce our security rules (per-session sockets,
 * the packet callback, the broadcast registry, the logger singleton) are not public API. Keeping every such
 * touch point typed in this one file makes an NMS upgrade a single review, and `assertNmsShape` turns a silent
 * behaviour change into a loud start-up failure.
 */
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';

export type NmsLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface NmsConfig {
  bind: string;
  rtmp: { port: number };
  http: { port: number };
  auth: { play: boolean; publish: boolean; secret: string };
  notify: { url: string };
  webadmin: { enable: boolean };
  store: { path: string; maxHistory?: number };
  record: { auto: boolean; path: string };
}

/** The WS-FLV transport: NMS hands the `ws` socket over as the session's `res`. */
export interface NmsWebSocket {
  terminate(): void;
  close(code?: number): void;
}

export interface NmsSession {
  readonly id: string;
  readonly ip: string;
  readonly protocol: string;
  isPublisher: boolean;
  streamApp: string;
  streamName: string;
  streamPath: string;
  streamQuery: Record<string, string | string[] | undefined>;
  broadcast?: NmsBroadcast;
  sendBuffer: (buffer: Buffer) => void;
  close: () => void;
  /** RTMP sessions only. */
  socket?: Socket;
  /** RTMP sessions only: the chunk parser, whose packet callback feeds `broadcast.broadcastMessage`. */
  rtmp?: { onPacketCallback: (packet: unknown) => void };
  /** RTMP and FLV sessions: forwards a parsed packet to the session's broadcast. */
  onPacket?: (packet: unknown) => void;
  /** FLV sessions only. */
  req?: IncomingMessage;
  res?: ServerResponse | NmsWebSocket;
}

export interface NmsBroadcast {
  readonly streamPath: string;
  publisher: NmsSession | null;
  subscribers: Map<string, NmsSession>;
  _publishGraceTimer: ReturnType<typeof setTimeout> | null;
  _finishPublish: () => void;
}

export interface NmsContextShape {
  sessions: Map<string, NmsSession>;
  broadcasts: Map<string, NmsBroadcast>;
  eventEmitter: EventEmitter;
}

export interface NmsLoggerShape {
  level: string;
  log: (message: string, level?: NmsLevel) => void;
}

export interface NmsInstance {
  httpServer: { httpServer?: HttpServer; wsServer?: EventEmitter & { clients: Set<NmsWebSocket> } };
  rtmpServer: { tcpServer?: NetServer };
  store: { opened: boolean; _onSignal?: (...args: unknown[]) => void };
  on(event: string, listener: (session: NmsSession) => void): void;
  run(): Promise<void>;
  stop(): Promise<void>;
}

/* eslint-disable @typescript-eslint/no-require-imports -- NMS is CommonJS without types; see the header. */
export const NodeMediaServer = require('node-media-server') as new (config: NmsConfig) => NmsInstance;
export const nmsContext = require('node-media-server/src/core/context.js') as NmsContextShape;
export const nmsLogger = require('node-media-server/src/core/logger.js') as NmsLoggerShape;
export const nmsVersion = (require('node-media-server/package.json') as { version: string }).version;
/* eslint-enable @typescript-eslint/no-require-imports */

/** Fails fast when an NMS upgrade moved the internals our auth and shutdown code depends on. */
export function assertNmsShape(nms: NmsInstance): void {
  const problems: string[] = [];
  if (!(nmsContext.sessions instanceof Map)) problems.push('Context.sessions');
  if (!(nmsContext.broadcasts instanceof Map)) problems.push('Context.broadcasts');
  if (typeof nmsContext.eventEmitter?.on !== 'function') problems.push('Context.eventEmitter');
  if (typeof nmsLogger.log !== 'function') problems.push('core/logger');
  if (!nms.rtmpServer?.tcpServer) problems.push('rtmpServer.tcpServer');
  if (!nms.httpServer?.httpServer) problems.push('httpServer.httpServer');
  if (problems.length > 0) {
    throw new Error(
      `node-media-server ${nmsVersion}: internals changed (${problems.join(', ')}); server/media was written ` +
        'against 4.4.3 and must be reviewed before use',
    );
  }
}
