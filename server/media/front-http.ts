/**
 * The HTTP-FLV and WS-FLV front of the media worker: our own http.Server and a `ws` server without a
 * listener of its own, and per accepted request an NMS FlvSession.
 *
 * Owns: the only routes, `GET /live/<name>.flv?sign=<exp>-<md5>` and the WebSocket upgrade on the same path,
 * both play-only; the answers to everything else (404 unknown path, 405 other methods or a publishing
 * subprotocol, 400 malformed query or a request body, 403 bad/expired signature or a stream not authorised),
 * always with a short text body and `Connection: close`; the CORS policy (only a validly signed play gets
 * `Access-Control-Allow-Origin: *`: web players embed anywhere and the signature is the credential); and
 * bounded header and request times. It must never hand NMS a request it has not validated: node-media-server
 * 4.4.3 src/session/flv_session.js leaves a refused session half-built, and its close handler then throws.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Engine, Protocol } from './engine';
import { FlvSession, NmsWebSocketServer, type FlvRequest, type NmsFlvSession } from './nms';
import { APP, isStreamName, parseSignQuery, type StreamRequest } from './sign';

const FLV_PATH = new RegExp(`^/${APP}/([^/]*)\\.flv$`);
// Players send nothing after the handshake; a larger frame is an attempt at something else.
const MAX_WS_MESSAGE_BYTES = 64 * 1024;

type Verdict = { ok: true; request: StreamRequest } | { ok: false; status: number; reason: string };

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
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
  const wss = new NmsWebSocketServer({
    noServer: true,
    maxPayload: MAX_WS_MESSAGE_BYTES,
    perMessageDeflate: false,
    // FlvSession treats the subprotocols 'post'/'publisher' as publishing; we never select any.
    handleProtocols: () => false,
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    try {
      onRequest(engine, req, res);
    } catch (error) {
      engine.log('warn', 'http-flv request failed', { err: String(error) });
      req.socket.destroy();
    }
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    try {
      onUpgrade(engine, wss, req, socket, head);
    } catch (error) {
      engine.log('warn', 'ws-flv upgrade failed', { err: String(error) });
      socket.destroy();
    }
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    engine.refused(
      'http-flv',
      remote(socket),
      `unparseable or slow request (${error.code ?? error.message})`,
    );
    if (socket.writable && error.code !== 'ECONNRESET') socket.end(rawResponse(status, 'request refused'));
    socket.destroy();
  });
  server.on('error', (error) => engine.log('warn', 'http listener error', { err: error.message }));
  return server;
}

/** Everything but the signature's key and the authorisation, which the engine checks. */
function classify(engine: Engine, req: IncomingMessage, protocol: Protocol): Verdict {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const match = FLV_PATH.exec(q < 0 ? url : url.slice(0, q));
  if (!match || !isStreamName(match[1])) return { ok: false, status: 404, reason: 'unknown path' };
  if (req.method !== 'GET') return { ok: false, status: 405, reason: `method ${req.method}` };
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

function onRequest(engine: Engine, req: IncomingMessage, res: ServerResponse): void {
  const verdict = classify(engine, req, 'http-flv');
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
): void {
  let verdict = classify(engine, req, 'ws-flv');
  if (verdict.ok && (req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
    verdict = { ok: false, status: 400, reason: `upgrade to ${req.headers.upgrade}` };
  if (!verdict.ok) {
    engine.refused('ws-flv', remote(socket), verdict.reason, { status: verdict.status });
    socket.end(rawResponse(verdict.status, verdict.reason));
    setTimeout(() => socket.destroy(), 1000).unref();
    return;
  }
  const { request } = verdict;
  wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
    ws.on('error', () => {});
    // handleUpgrade may complete later than the check above; a revoke in between must still win.
    const denied = engine.checkPlay(request);
    if (denied !== null) {
      engine.refused('ws-flv', remote(socket), `play: ${denied}`);
      ws.terminate();
      return;
    }
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
  const nmsOnClose = session.onClose;
  session.onClose = () => {
    try {
      nmsOnClose();
    } catch (error) {
      engine.log('warn', 'flv session close failed', { err: String(error) });
    }
  };
  session.run();
  engine.adopt(session, protocol);
  engine.log('info', 'play accepted', { protocol, stream: session.streamPath });
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
