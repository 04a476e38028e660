/**
 * WebSocket edge: admits connections (per-address cap), meters every data frame and ping (token bucket, before
 * it is read), caps frame size before parsing, validates, dispatches to the op table, and answers every
 * request with exactly one reply. Bad input never closes the connection, except: a bad login (401, close
 * 4401), a frame over the transport cap (close 1009 by `ws`), a client that keeps flooding after 429s (close
 * 4429), one that does not read its replies (cut), and one that stops answering heartbeats. Once the server
 * has decided to close a connection, nothing more it sends is handled.
 *
 * Metering happens as frames arrive; handling happens in each connection's queue (hub.ts), one frame after
 * another, so a store that takes its time never reorders a client's requests, their answers, or its close.
 */
import type { IncomingMessage, Server as HttpServer } from 'http';
import type { Duplex } from 'stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import {
  Code,
  MAX_FRAME_BYTES,
  NetcallError,
  parseRequest,
  seqOf,
  type Op,
  type RequestFrame,
} from '../../services/protocol';
import { addressKey, clientAddress } from '../address';
import { closeReason, dropConnection } from './calls';
import { CloseCode, type SignalingContext } from './context';
import { handlers, type Outcome } from './handlers';
import { HEARTBEAT_SLICES, type Connection } from './hub';

/** Frames above this are cut by `ws` itself (close 1009) before they are buffered whole; twice our own cap. */
export const TRANSPORT_MAX_PAYLOAD = 2 * MAX_FRAME_BYTES;
/** How long refusals are counted before the count starts again. */
const ABUSE_WINDOW_MS = 10_000;

/**
 * How many tasks a connection may have waiting: the most one burst of frames can queue (every token of the
 * bucket, then every refusal answered before the flood cut, then the cut). With a store that answers at once
 * a queue never holds more, so nothing is refused for it; a store that lags makes it fill, and what comes past
 * it is refused with 429 at once, so a slow store cannot make a client's backlog grow without bound.
 */
export const queueCap = (limits: SignalingContext['limits']): number =>
  limits.requestBurst + limits.maxRequestsPerSecond + 1;

/**
 * Told about every answer the edge sends to a request frame (a reply, or an `error` event when the frame had
 * no seq), refusals included: `op` when the frame named a known one. For metrics.
 */
export type ReplyListener = (op: Op | undefined, code: number) => void;

export interface SocketServer {
  /** Tells every client to come back later (close 1012) and waits for the sockets to go. */
  close(): Promise<void>;
}

export function attachSocketServer(
  http: HttpServer,
  ctx: SignalingContext,
  onReply?: ReplyListener,
): SocketServer {
  // Pings are answered by hand, after they took a token: `ws` would answer any number of them for free.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: TRANSPORT_MAX_PAYLOAD,
    autoPong: false,
    WebSocket: OrderlyWebSocket,
  });
  const perAddress = new Map<string, number>();

  const refuseUpgrade = (socket: Duplex, status: number, text: string): void => {
    // end() alone would wait for the client's FIN, and a client that never sends one would hold the socket.
    socket.once('finish', () => socket.destroy());
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const ip = clientAddress(req, ctx.trustProxy);
    const key = addressKey(ip);
    const open = perAddress.get(key) ?? 0;
    if (open >= ctx.limits.maxConnectionsPerIp) {
      ctx.log.warn({ ip, open }, 'connection refused: per-address cap');
      refuseUpgrade(socket, 429, 'Too Many Requests');
      return;
    }
    perAddress.set(key, open + 1);
    socket.once('close', () => {
      const left = (perAddress.get(key) ?? 1) - 1;
      if (left <= 0) perAddress.delete(key);
      else perAddress.set(key, left);
    });
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, ip, socket));
  });

  const accept = (socket: OrderlyWebSocket, ip: string, transport: Duplex): void => {
    const conn = ctx.hub.add(socket, ip, transport);
    socket.closeInTurn = (close) =>
      conn.queue.push(close, (error) =>
        ctx.log.warn({ conn: conn.id, err: String(error) }, 'closing a connection failed'),
      );
    const open = () => socket.readyState === socket.OPEN;
    socket.on('pong', () => (conn.alive = true));
    socket.on('ping', (data: Buffer) => {
      if (!open() || conn.closingOnPurpose) return;
      if (admit(ctx, conn, data, onReply)) socket.pong(data);
    });
    socket.on('message', (data: RawData, isBinary: boolean) => {
      // Once the server decided to close it (its close may still wait its turn), that session is over.
      if (!open() || conn.closingOnPurpose) return;
      // The default binaryType: one Buffer per message, however many fragments it came in.
      const buffer = data as Buffer;
      const failed = (error: unknown) => {
        // A bug of ours (or a store that failed) must cost one answer, never the process: by seq when it has one.
        ctx.log.warn({ conn: conn.id, err: String(error) }, 'frame handling failed');
        answer(ctx, conn, headSeq(buffer), Code.INTERNAL, 'internal error', onReply);
      };
      try {
        if (!admit(ctx, conn, buffer, onReply)) return;
        if (isBinary) {
          inTurn(ctx, conn, () =>
            answer(ctx, conn, undefined, Code.BAD_REQUEST, 'binary frames are not accepted', onReply),
          );
          return;
        }
        if (buffer.length > MAX_FRAME_BYTES) {
          // Refused unread: only the first bytes are decoded, for the seq.
          const message = `frame of ${buffer.length} bytes exceeds ${MAX_FRAME_BYTES}`;
          inTurn(ctx, conn, () => answer(ctx, conn, headSeq(buffer), Code.BAD_REQUEST, message, onReply));
          return;
        }
        if (conn.queue.size >= queueCap(ctx.limits)) {
          const message = `more than ${queueCap(ctx.limits)} requests waiting for an answer`;
          answer(ctx, conn, headSeq(buffer), Code.RATE_LIMITED, message, onReply);
          return;
        }
        const text = buffer.toString('utf8');
        conn.queue.push(() => {
          // A refused login before it closed the socket at once: nothing sent behind it is handled.
          if (conn.closingOnPurpose && !open()) return;
          return handleFrame(ctx, conn, text, buffer.length, onReply);
        }, failed);
      } catch (error) {
        failed(error);
      }
    });
    socket.on('error', (error) => ctx.log.warn({ conn: conn.id, err: error.message }, 'socket error'));
    socket.on('close', (code: number) => {
      // 1000/1001 come from a client that closed on purpose; anything else is a lost network.
      const clean = code === 1000 || code === 1001 || conn.closingOnPurpose;
      // After the frames it sent before: a hangup it sent just before closing is handled as a hangup.
      conn.queue.push(
        () => ctx.store.exclusive(() => dropConnection(ctx, conn, clean)),
        (error) => ctx.log.warn({ conn: conn.id, err: String(error) }, 'dropping a connection failed'),
        () => ctx.hub.remove(conn.id),
      );
    });
  };

  // Heartbeat: a connection that missed a ping round (no pong) is dead; its calls end for the peers. Each
  // connection is visited once a round, in its own slice of it: one sweep of every connection stalled the
  // loop for the whole sweep (19,000 pings are a few hundred milliseconds of writes).
  let slice = 0;
  const heartbeat = setInterval(() => {
    slice = (slice + 1) % HEARTBEAT_SLICES;
    // terminate() removes a connection only once its close event comes, after this loop.
    for (const conn of ctx.hub.each()) {
      if (conn.heartbeatSlice !== slice) continue;
      if (!conn.alive || (!conn.account && conn.socket.readyState === conn.socket.OPEN && conn.pings > 1)) {
        conn.socket.terminate();
        continue;
      }
      conn.alive = false;
      conn.pings++;
      conn.socket.ping();
    }
  }, ctx.heartbeatMs / HEARTBEAT_SLICES);
  heartbeat.unref();

  return {
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(heartbeat);
        for (const conn of ctx.hub.all()) {
          conn.closingOnPurpose = true;
          // 1012 "service restart": clients reconnect with backoff rather than give up.
          conn.socket.close(1012, 'server restarting');
        }
        wss.close(() => resolve());
        // Sockets that do not finish the closing handshake must not hold the shutdown.
        setTimeout(() => {
          for (const conn of ctx.hub.all()) conn.socket.terminate();
        }, 1000).unref();
      }),
  };
}

const headSeq = (buffer: Buffer): number | undefined => seqOf(buffer.toString('utf8', 0, 48));

/**
 * A socket whose closes wait their turn. `ws` closes a socket by itself when the client breaks the protocol
 * (bad UTF-8: 1007; a frame over the transport cap: 1009) or sends its close frame, and it reads a whole TCP
 * read at once: the frames before that one may still be waiting for the store. Their answers go out first, then
 * the close; the same for the closes the server decides (a kick, an expired session, a flood, shutdown).
 */
export class OrderlyWebSocket extends WebSocket {
  /** Runs a close in its connection's turn (its queue); set once the connection is accepted. */
  closeInTurn: ((close: () => void) => void) | null = null;

  override close(code?: number, data?: string | Buffer): void {
    if (this.closeInTurn) this.closeInTurn(() => super.close(code, data));
    else super.close(code, data);
  }

  /** Closes at once: for a decision taken in the connection's turn, so nothing queued behind it is handled. */
  closeNow(code?: number, data?: string | Buffer): void {
    super.close(code, data);
  }
}

/**
 * Sends an answer decided on arrival after the answers to the frames before it, so a client reads its answers
 * in the order it sent the frames; past the queue's cap (a store that lags), at once.
 */
function inTurn(ctx: SignalingContext, conn: Connection, send: () => void): void {
  if (conn.queue.size >= queueCap(ctx.limits)) return send();
  conn.queue.push(send, (error) => ctx.log.warn({ conn: conn.id, err: String(error) }, 'answer failed'));
}

/** Answers a request by its seq when it has one, else with an unattributed `error` event. */
function answer(
  ctx: SignalingContext,
  conn: Connection,
  seq: number | undefined,
  code: number,
  message: string,
  onReply: ReplyListener | undefined,
  op?: Op,
) {
  if (seq === undefined) ctx.hub.emit(conn.id, 'error', { code, message });
  else ctx.hub.reply(conn, { seq, code, message });
  tell(ctx, onReply, op, code);
}

/** Every answer passes here once it was sent. A listener's bug costs its count, never a second reply. */
function tell(
  ctx: SignalingContext,
  onReply: ReplyListener | undefined,
  op: Op | undefined,
  code: number,
): void {
  if (!onReply) return;
  try {
    onReply(op, code);
  } catch (error) {
    ctx.log.warn({ op, err: String(error) }, 'reply listener failed');
  }
}

/**
 * Meters one incoming frame, whatever it is (text, binary or ping, valid or not, before or after login).
 * Returns false when it was refused for rate, after answering 429 (by seq when its first bytes carry one).
 */
function admit(
  ctx: SignalingContext,
  conn: Connection,
  buffer: Buffer,
  onReply: ReplyListener | undefined,
): boolean {
  const now = ctx.now();
  if (conn.bucket.take(now)) return true;
  if (now - conn.refusedSince >= ABUSE_WINDOW_MS) {
    conn.refusedSince = now;
    conn.refused = 0;
  }
  // A client told "429" a second's worth of times in one window is not slowing down.
  if (++conn.refused > ctx.limits.maxRequestsPerSecond) {
    ctx.log.warn({ conn: conn.id, ip: conn.ip, account: conn.account }, 'closed: kept flooding after 429s');
    // Nothing it sends from now on is read; the answers to what it sent before still go out, then the close.
    conn.closingOnPurpose = true;
    conn.socket.close(CloseCode.RATE_LIMITED, 'rate limit exceeded');
    return false;
  }
  const message = `more than ${ctx.limits.maxRequestsPerSecond} requests a second`;
  inTurn(ctx, conn, () => answer(ctx, conn, headSeq(buffer), Code.RATE_LIMITED, message, onReply));
  return false;
}

/** Handles one request frame, in its connection's turn: exactly one answer, then what the handler delivers. */
export async function handleFrame(
  ctx: SignalingContext,
  conn: Connection,
  text: string,
  bytes: number,
  onReply?: ReplyListener,
): Promise<void> {
  const parsed = parseRequest(text, bytes);
  if (!parsed.ok) {
    answer(ctx, conn, parsed.seq, parsed.code, parsed.message, onReply, parsed.op);
    return;
  }
  const frame = parsed.frame;
  try {
    await ctx.store.exclusive(() => runFrame(ctx, conn, frame, onReply));
  } catch (error) {
    // Only the section itself fails here (the shared store unreachable): the handler never ran.
    const code = error instanceof NetcallError ? error.code : Code.INTERNAL;
    if (code === Code.INTERNAL) ctx.log.warn({ op: frame.op, err: String(error) }, 'frame not handled');
    ctx.hub.reply(conn, {
      seq: frame.seq,
      code,
      message: error instanceof NetcallError ? error.message : 'internal error',
    });
    tell(ctx, onReply, frame.op, code);
  }
}

async function runFrame(
  ctx: SignalingContext,
  conn: Connection,
  frame: RequestFrame,
  onReply: ReplyListener | undefined,
): Promise<void> {
  let outcome: Outcome<Op>;
  try {
    outcome = await (
      handlers[frame.op] as (c: SignalingContext, k: Connection, a: unknown) => Promise<Outcome<Op>>
    )(ctx, conn, (frame as RequestFrame).args);
  } catch (error) {
    const known = error instanceof NetcallError;
    if (!known) ctx.log.warn({ op: frame.op, err: String(error) }, 'handler failed');
    const code = known ? error.code : Code.INTERNAL;
    ctx.hub.reply(conn, { seq: frame.seq, code, message: known ? error.message : 'internal error' });
    tell(ctx, onReply, frame.op, code);
    if (frame.op === 'login' && code === Code.UNAUTHORIZED) {
      // Now, not in turn: the frames this client sent behind the refused login are not handled.
      conn.closingOnPurpose = true;
      const reason = closeReason(known ? error.message : 'unauthorized');
      if (conn.socket instanceof OrderlyWebSocket) conn.socket.closeNow(CloseCode.UNAUTHORIZED, reason);
      else conn.socket.close(CloseCode.UNAUTHORIZED, reason);
    }
    return;
  }
  ctx.hub.reply(conn, { seq: frame.seq, code: Code.OK, data: outcome.result });
  tell(ctx, onReply, frame.op, Code.OK);
  try {
    await outcome.after?.();
  } catch (error) {
    // The request itself succeeded; a failed delivery must not turn into a second reply.
    ctx.log.warn({ op: frame.op, err: String(error) }, 'delivery after reply failed');
  }
}
