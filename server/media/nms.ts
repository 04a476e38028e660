/**
 * Typed view of the node-media-server 4.4.x internals the media worker builds on.
 *
 * We do not run `new NodeMediaServer()` (express, CORS on everything, a store dir, an admin API, and
 * listeners whose handlers throw on malformed input). The worker owns the sockets and constructs NMS's
 * session classes itself, after its front has validated the request; NMS still does RTMP chunking, FLV
 * muxing and fan-out. Every touch point is typed here, and `assertNmsShape` turns a changed internal into a
 * loud start-up failure instead of a silent hole. Only the worker may import this module: loading it pulls
 * NMS's singletons into the process.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Socket } from 'node:net';
import type { WebSocket, WebSocketServer } from 'ws';

export type NmsLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** One RTMP message being reassembled (node-media-server 4.4.3 src/protocol/rtmp.js RtmpPacket). */
export interface NmsRtmpPacket {
  header: { length: number; type: number };
  /** Payload bytes received so far; > 0 while a message spans several chunks. */
  bytes: number;
  payload: Buffer;
}

/** NMS's RTMP parser. The worker replaces some of its methods on the instance to validate before them. */
export interface NmsRtmpParser {
  /** 0 until the first byte (C0) arrived. */
  handshakeState: number;
  parserPacket: NmsRtmpPacket;
  /** One entry per chunk stream id the peer has used. */
  inPackets: Map<number, unknown>;
  onPacketCallback: (packet: unknown) => void;
  chunkMessageHeaderRead(): number;
  controlHandler(): void;
  invokeHandler(): void;
}

export interface NmsBroadcast {
  publisher: NmsSession | null;
  /** Set while a dropped publisher's resume window runs. */
  _publishGraceTimer: ReturnType<typeof setTimeout> | null;
  _finishPublish: () => void;
}

export interface NmsSession {
  readonly id: string;
  readonly ip: string;
  streamPath: string;
  broadcast?: NmsBroadcast;
  run: () => void;
  onData: (data: Buffer) => void;
  onClose: () => void;
  onPacket: (packet: unknown) => void;
  sendBuffer: (buffer: Buffer) => void;
}

export interface NmsRtmpSession extends NmsSession {
  socket: Socket;
  rtmp: NmsRtmpParser;
}

export interface NmsFlvSession extends NmsSession {
  req: IncomingMessage;
  res: ServerResponse | WebSocket;
}

/** What FlvSession reads from an express request (src/session/flv_session.js); we fill it in ourselves. */
export interface FlvRequest extends IncomingMessage {
  params: { app: string; name: string };
  query: Record<string, string>;
  hostname: string;
}

export interface NmsContextShape {
  config: { auth?: { publish: boolean; play: boolean; secret: string } };
  sessions: Map<string, NmsSession>;
  broadcasts: Map<string, NmsBroadcast>;
}

export interface NmsLoggerShape {
  log: (message: string, level?: NmsLevel) => void;
}

// The global `require` is typed by miniprogram-api-typings here (no `resolve`); Node's own has it.
const nodeRequire = createRequire(__filename);
const nmsDir = path.dirname(nodeRequire.resolve('node-media-server/package.json'));

/* eslint-disable @typescript-eslint/no-require-imports -- NMS is CommonJS without types; see the header. */
export const nmsVersion = (require('node-media-server/package.json') as { version: string }).version;
export const nmsContext = require('node-media-server/src/core/context.js') as NmsContextShape;
export const nmsLogger = require('node-media-server/src/core/logger.js') as NmsLoggerShape;
export const RtmpSession = require('node-media-server/src/session/rtmp_session.js') as new (
  socket: Socket,
) => NmsRtmpSession;
export const FlvSession = require('node-media-server/src/session/flv_session.js') as new (
  req: FlvRequest | IncomingMessage,
  res: ServerResponse | WebSocket,
) => NmsFlvSession;
export const decodeAmf0Cmd = (
  require('node-media-server/src/protocol/amf.js') as { decodeAmf0Cmd: (payload: Buffer) => unknown }
).decodeAmf0Cmd;
// FlvSession tells WS-FLV from HTTP-FLV with `instanceof WebSocket`: our server must create sockets from
// the very copy of `ws` NMS loads, whichever copy npm happens to hoist.
export const NmsWebSocketServer = (
  require(nodeRequire.resolve('ws', { paths: [nmsDir] })) as { WebSocketServer: typeof WebSocketServer }
).WebSocketServer;
/* eslint-enable @typescript-eslint/no-require-imports */

const fn = (value: unknown): boolean => typeof value === 'function';

/** Fails fast when an NMS upgrade moved the internals the worker's front and gate depend on. */
export function assertNmsShape(): void {
  const problems: string[] = [];
  if (!(nmsContext.sessions instanceof Map)) problems.push('Context.sessions');
  if (!(nmsContext.broadcasts instanceof Map)) problems.push('Context.broadcasts');
  if (!fn(nmsLogger.log)) problems.push('core/logger');
  if (!fn(decodeAmf0Cmd)) problems.push('amf.decodeAmf0Cmd');
  if (!fn(NmsWebSocketServer)) problems.push('ws.WebSocketServer');
  // The session classes define their handlers as instance fields, so only an instance can be inspected;
  // their constructors read a few socket fields and nothing else.
  const rtmp = new RtmpSession({ remoteAddress: '', remotePort: 0 } as unknown as Socket);
  for (const name of ['run', 'onData', 'onClose', 'onPacket', 'sendBuffer'] as const)
    if (!fn(rtmp[name])) problems.push(`RtmpSession.${name}`);
  const parser = rtmp.rtmp;
  if (parser?.handshakeState !== 0) problems.push('Rtmp.handshakeState');
  if (!(parser?.inPackets instanceof Map)) problems.push('Rtmp.inPackets');
  if (typeof parser?.parserPacket?.header?.length !== 'number') problems.push('Rtmp.parserPacket');
  for (const name of ['chunkMessageHeaderRead', 'controlHandler', 'invokeHandler'] as const)
    if (!fn(parser?.[name])) problems.push(`Rtmp.${name}`);
  if (!fn(rtmp.broadcast?._finishPublish)) problems.push('BroadcastServer._finishPublish');
  if (rtmp.broadcast?.publisher !== null || rtmp.broadcast._publishGraceTimer !== null)
    problems.push('BroadcastServer.publisher/_publishGraceTimer');
  const probe = '__nms_shape_probe__'; // '_' never starts one of our stream names (see sign.ts)
  const req = {
    socket: { remoteAddress: '', remotePort: 0 },
    params: { app: 'live', name: probe },
    query: {},
    method: 'GET',
    hostname: '',
    headers: {},
  } as unknown as FlvRequest;
  const flv = new FlvSession(req, {} as ServerResponse);
  nmsContext.broadcasts.delete(`/live/${probe}`);
  for (const name of ['run', 'onData', 'onClose', 'sendBuffer'] as const)
    if (!fn(flv[name])) problems.push(`FlvSession.${name}`);
  if (flv.streamPath !== `/live/${probe}` || flv.broadcast === undefined) problems.push('FlvSession request');
  if (problems.length > 0) {
    throw new Error(
      `node-media-server ${nmsVersion}: internals changed (${problems.join(', ')}); server/media was written ` +
        'against 4.4.3 and must be reviewed before use',
    );
  }
}
