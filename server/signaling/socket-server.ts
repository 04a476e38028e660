/**
 * WebSocket edge: parses and validates every frame, dispatches to the op table, and answers every request with
 * exactly one reply. Bad input never closes the connection except a bad login (401, then close 4401).
 */
import type { Server as HttpServer } from 'http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { Code, NetcallError, parseRequest, type Op, type RequestFrame } from '../../services/protocol';
import { dropConnection, handlers, type Outcome, type SignalingContext } from './handlers';
import type { Connection } from './hub';

/** Frames above this are cut by `ws` itself (close 1009); between MAX_FRAME_BYTES and this they get a 400. */
const TRANSPORT_MAX_PAYLOAD = 1024 * 1024;
export const LOGIN_FAILED_CLOSE = 4401;

export interface SocketServer {
  close(): Promise<void>;
}

export function attachSocketServer(http: HttpServer, ctx: SignalingContext): SocketServer {
  const wss = new WebSocketServer({ server: http, maxPayload: TRANSPORT_MAX_PAYLOAD });

  wss.on('connection', (socket: WebSocket) => {
    const conn = ctx.hub.add(socket);
    socket.on('pong', () => (conn.alive = true));
    socket.on('message', (data: RawData, isBinary: boolean) => {
      conn.alive = true;
      const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (isBinary) {
        ctx.hub.emit(conn.id, 'error', { code: Code.BAD_REQUEST, message: 'binary frames are not accepted' });
        return;
      }
      handleFrame(ctx, conn, buffer.toString('utf8'), buffer.length);
    });
    socket.on('error', (error) => ctx.log.warn({ conn: conn.id, err: error.message }, 'socket error'));
    socket.on('close', (code: number) => {
      // 1000/1001 come from a client that closed on purpose; anything else is a lost network.
      dropConnection(ctx, conn, code === 1000 || code === 1001 || conn.closingOnPurpose);
      ctx.hub.remove(conn.id);
    });
  });

  // Heartbeat: a connection silent for two intervals (no frame, no pong) is dead; its calls end for the peers.
  const heartbeat = setInterval(() => {
    for (const conn of ctx.hub.all()) {
      if (!conn.alive || (!conn.account && conn.socket.readyState === conn.socket.OPEN && conn.pings > 1)) {
        conn.socket.terminate();
        continue;
      }
      conn.alive = false;
      conn.pings++;
      conn.socket.ping();
    }
  }, ctx.heartbeatMs);
  heartbeat.unref();

  return {
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(heartbeat);
        for (const conn of ctx.hub.all()) {
          conn.closingOnPurpose = true;
          conn.socket.close(1001, 'server shutting down');
        }
        wss.close(() => resolve());
        // Sockets that do not finish the closing handshake must not hold the shutdown.
        setTimeout(() => {
          for (const conn of ctx.hub.all()) conn.socket.terminate();
        }, 1000).unref();
      }),
  };
}

export function handleFrame(ctx: SignalingContext, conn: Connection, text: string, bytes: number): void {
  const parsed = parseRequest(text, bytes);
  if (!parsed.ok) {
    if (parsed.seq === undefined)
      ctx.hub.emit(conn.id, 'error', { code: parsed.code, message: parsed.message });
    else ctx.hub.reply(conn, { seq: parsed.seq, code: parsed.code, message: parsed.message });
    return;
  }
  const frame = parsed.frame;
  // A fixed one-second window: cheap, and enough to keep one runaway client from starving the others.
  const now = ctx.now();
  if (now - conn.windowStart >= 1000) {
    conn.windowStart = now;
    conn.windowCount = 0;
  }
  if (++conn.windowCount > ctx.maxRequestsPerSecond) {
    ctx.hub.reply(conn, {
      seq: frame.seq,
      code: Code.RATE_LIMITED,
      message: `more than ${ctx.maxRequestsPerSecond} requests in a second`,
    });
    return;
  }
  let outcome: Outcome<Op>;
  try {
    outcome = (handlers[frame.op] as (c: SignalingContext, k: Connection, a: unknown) => Outcome<Op>)(
      ctx,
      conn,
      (frame as RequestFrame).args,
    );
  } catch (error) {
    const known = error instanceof NetcallError;
    if (!known) ctx.log.warn({ op: frame.op, err: String(error) }, 'handler failed');
    const code = known ? error.code : Code.INTERNAL;
    ctx.hub.reply(conn, { seq: frame.seq, code, message: known ? error.message : 'internal error' });
    if (frame.op === 'login' && code === Code.UNAUTHORIZED)
      conn.socket.close(LOGIN_FAILED_CLOSE, error instanceof Error ? error.message : 'unauthorized');
    return;
  }
  ctx.hub.reply(conn, { seq: frame.seq, code: Code.OK, data: outcome.result });
  try {
    outcome.after?.();
  } catch (error) {
    // The request itself succeeded; a failed delivery must not turn into a second reply.
    ctx.log.warn({ op: frame.op, err: String(error) }, 'delivery after reply failed');
  }
}
