/**
 * The HTTP-FLV and WS-FLV front of the media worker: our own http.Server and a `ws` server without a
 * listener of its own, and per accepted request an NMS FlvSession.
 *
 * Owns: the only routes, `GET /live/<name>.flv?sign=<exp>-<md5>` and the WebSocket upgrade on the same path,
 * both play-only; the answers to everything else (404 unknown path, 405 other methods or a publishing
 * subprotocol, 400 malformed query or a request body, 403 bad/expired signature or a stream not authorised,
 * 429 an address over its connection cap), always with a short text body and `Connection: close`; the CORS
 * policy (only a validly signed play gets `Access-Control-Allow-Origin: *`: web players embed anywhere and the
 * signature is the credential); one request per connection; and bounded header and request times. It must
 * never hand NMS a request it has not validated: node-media-server 4.4.3 src/session/flv_session.js leaves a
 * refused session half-built, and its close handler then throws.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { DropArgument, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Engine, Protocol } from './engine';
import { FlvSession, NmsWebSocketServer, type FlvRequest, type NmsFlvSession } from './nms';
import { APP, isStreamName, parseSignQuery, type StreamRequest } from './sign';
import { describe, quote } from './values';

const FLV_PATH = new RegExp(`^/${APP}/([^/]*)\\.flv$`);
// Players send nothing after the handshake; a larger frame is an attempt at something else.
const MAX_WS_MESSAGE_BYTES = 64 * 1024;

type Verdict = { ok: true; request: StreamRequest } | { ok: false; status: number; reason: string };

const TOO_MANY: Verdict = { ok: false, status: 429, reason: 'too many connections from this address' };

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  429: 'Too Many Requests',
};

export function createHttpFront(engine: Engine): http.Server {
  const timeout = engine.config.requestTimeoutMs;
  const server = http.createServer({
    headersTimeout: timeout,
    requestTimeout: timeout,
    keepAliveTimeout: 1000,
    // Node checks the two timeouts above only this often (default 30 s).
    connectionsCheckingInterval: Math.min(1000, timeout),
  });
  // A player's response never ends, so a pipelined request behind it would start a session of its own.
  server.maxRequestsPerSocket = 1;
  server.maxConnections = engine.config.maxConnections;
  // Decided per connection, answered on its request: a 429 needs the request to answer.
  const overCap = new WeakSet<Duplex>();
  // Connections whose response has started: a refusal's status line must not land inside a player's body.
  const answered = new WeakSet<Duplex>();
  server.on('connection', (socket: Socket) => {
    if (!engine.admit(socket)) overCap.add(socket);
  });
  // At info: a client can cause one per connection attempt, and warn lines are never rate-limited.
  server.on('drop', (data?: DropArgument) =>
    engine.refused(
      'http-flv',
      `${data?.remoteAddress}:${data?.remotePort}`,
      'the front is at maxConnections',
    ),
  );
  const wss = new NmsWebSocketServer({
    noServer: true,
    maxPayload: MAX_WS_MESSAGE_BYTES,
    perMessageDeflate: false,
    // FlvSession treats the subprotocols 'post'/'publisher' as publishing; we never select any.
    handleProtocols: () => false,
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    try {
      answered.add(req.socket);
      onRequest(engine, req, res, overCap.has(req.socket));
    } catch (error) {
      engine.log('warn', 'http-flv request failed', { err: describe(error) });
      req.socket.destroy();
    }
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    try {
      onUpgrade(engine, wss, req, socket, head, overCap.has(socket));
    } catch (error) {
      engine.log('warn', 'ws-flv upgrade failed', { err: describe(error) });
      socket.destroy();
    }
  });
  // What `handleUpgrade` refuses itself (a missing or malformed key, version or extension header).
  wss.on('wsClientError', (error: Error, socket: Duplex) => {
    engine.refused('ws-flv', remote(socket), `bad upgrade: ${error.message}`);
    socket.end(rawResponse(400, 'bad upgrade'));
    setTimeout(() => socket.destroy(), 1000).unref();
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    engine.refused(
      'http-flv',
      remote(socket),
      `${timedOut ? 'slow' : 'unparseable'} request (${error.code ?? describe(error)})`,
    );
    if (socket.writable && !answered.has(socket) && error.code !== 'ECONNRESET')
      socket.end(rawResponse(timedOut ? 408 : 400, 'request refused'));
    socket.destroy();
  });
  server.on('error', (error) => engine.log('warn', 'http listener error', { err: describe(error) }));
  return server;
}

/** Everything but the signature's key and the authorisation, which the engine checks. */
function classify(engine: Engine, req: IncomingMessage, protocol: Protocol): Verdict {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const match = FLV_PATH.exec(q < 0 ? url : url.slice(0, q));
  if (!match || !isStreamName(match[1])) return { ok: false, status: 404, reason: 'unknown path' };
  if (req.method !== 'GET') return { ok: false, status: 405, reason: `method ${quote(req.method)}` };
  if (protocol === 'ws-flv') {
    const offered = (req.headers['sec-websocket-protocol'] ?? '').toLowerCase().split(',');
    if (offered.some((p) => p.trim() === 'post' || p.trim() === 'publisher'))
      return { ok: false, status: 405, reason: 'publishing over WebSocket' };
  }
  const hasBody =
    req.headers['transfer-encoding'] !== undefined ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
  if (hasBody) return { ok: false, status: 400, reason: 'request with a body' };
  const sign = parseSignQuery(q < 0 ? '' : url.slice(q + 1));
  if (!sign.ok) return { ok: false, status: 400, reason: sign.error };
  const request = { name: match[1], sign: sign.value };
  const denied = engine.checkPlay(request);
  if (denied !== null) return { ok: false, status: 403, reason: `play: ${denied}` };
  return { ok: true, request };
}

function onRequest(engine: Engine, req: IncomingMessage, res: ServerResponse, overCap: boolean): void {
  const verdict = overCap ? TOO_MANY : classify(engine, req, 'http-flv');
  if (!verdict.ok) {
    engine.refused('http-flv', remote(req.socket), verdict.reason, { status: verdict.status });
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': 'text/plain; charset=utf-8',
      Connection: 'close',
    };
    if (verdict.status === 405) headers.Allow = 'GET';
    res.writeHead(verdict.status, headers);
    res.end(`${verdict.reason}\n`);
    return;
  }
  res.writeHead(200, {
    'Content-Type': 'video/x-flv',
    'Cache-Control': 'no-store',
    'Access-Control-Allow-Origin': '*',
    // The session ends when the socket closes (NMS listens for that), so no keep-alive after it.
    Connection: 'close',
  });
  const flvReq = req as FlvRequest;
  flvReq.params = { app: APP, name: verdict.request.name };
  flvReq.query = { sign: verdict.request.sign };
  flvReq.hostname = (req.headers.host ?? '').replace(/:\d+$/, '');
  startSession(engine, new FlvSession(flvReq, res), 'http-flv');
}

function onUpgrade(
  engine: Engine,
  wss: InstanceType<typeof NmsWebSocketServer>,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  overCap: boolean,
): void {
  let verdict = overCap ? TOO_MANY : classify(engine, req, 'ws-flv');
  if (verdict.ok && (req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
    verdict = { ok: false, status: 400, reason: `upgrade to ${quote(req.headers.upgrade)}` };
  if (!verdict.ok) {
    engine.refused('ws-flv', remote(socket), verdict.reason, { status: verdict.status });
    socket.end(rawResponse(verdict.status, verdict.reason));
    setTimeout(() => socket.destroy(), 1000).unref();
    return;
  }
  // Without a verifyClient option, ws 8 completes the upgrade (or refuses it) before handleUpgrade returns,
  // so no revoke can come between the check above and the session.
  wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
    ws.on('error', () => {});
    startSession(engine, new FlvSession(req, ws), 'ws-flv');
  });
}

function startSession(engine: Engine, session: NmsFlvSession, protocol: Protocol): void {
  if (session.broadcast === undefined) {
    // NMS refused the path in its constructor; cannot happen after classify(), but never run it half-built.
    engine.refused(protocol, session.ip, 'node-media-server refused the path');
    engine.cut(session);
    return;
  }
  // Players only read: request bodies are refused above and WebSocket messages end the session.
  session.onData = () => {
    engine.refused(protocol, session.ip, 'player sent data', { stream: session.streamPath });
    engine.cut(session);
  };
  engine.adopt(session, protocol);
  session.run();
  engine.log('info', 'play accepted', { protocol, ip: session.ip, stream: session.streamPath });
}

function remote(socket: Duplex): string {
  const s = socket as Partial<{ remoteAddress: string; remotePort: number }>;
  return `${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}`;
}

function rawResponse(status: number, reason: string): string {
  const body = `${reason}\n`;
  return (
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}
