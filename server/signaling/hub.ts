/**
 * The transport side of signalling: live connections and delivery of replies and events to them.
 * It knows sockets, not calls; handlers tell it whom to deliver to.
 */
import type { WebSocket } from 'ws';
import type { EventFrame, ReplyFrame, ServerEventName, ServerEvents } from '../../services/protocol';

export interface Connection {
  id: string;
  socket: WebSocket;
  account: string | null;
  /** The call this device is in, NetEase's "current channel": the default cid of hangup/startRtc. */
  currentCid: string | null;
  alive: boolean;
  /** Heartbeat rounds seen; an unauthenticated connection gets two before it is closed. */
  pings: number;
  /** Set when the server itself closes the socket on purpose (shutdown, kick): no grace period then. */
  closingOnPurpose: boolean;
  /** Requests seen in the current one-second window, and when that window started (rate limit). */
  windowCount: number;
  windowStart: number;
}

export class Hub {
  private readonly connections = new Map<string, Connection>();
  private counter = 0;

  add(socket: WebSocket): Connection {
    const conn: Connection = {
      id: `c${++this.counter}`,
      socket,
      account: null,
      currentCid: null,
      alive: true,
      pings: 0,
      closingOnPurpose: false,
      windowCount: 0,
      windowStart: 0,
    };
    this.connections.set(conn.id, conn);
    return conn;
  }

  remove(connId: string): void {
    this.connections.delete(connId);
  }

  get(connId: string): Connection | undefined {
    return this.connections.get(connId);
  }

  all(): Connection[] {
    return [...this.connections.values()];
  }

  size(): number {
    return this.connections.size;
  }

  reply(conn: Connection, frame: ReplyFrame): void {
    this.send(conn, frame);
  }

  emit<E extends ServerEventName>(connId: string, event: E, data: ServerEvents[E]): void {
    const conn = this.connections.get(connId);
    if (conn) this.send(conn, { event, data } as EventFrame<E>);
  }

  emitMany<E extends ServerEventName>(connIds: Iterable<string>, event: E, data: ServerEvents[E]): void {
    for (const id of connIds) this.emit(id, event, data);
  }

  private send(conn: Connection, frame: ReplyFrame | EventFrame): void {
    // A socket that is closing just drops the frame: its calls are ended by the close handler.
    if (conn.socket.readyState === conn.socket.OPEN) conn.socket.send(JSON.stringify(frame));
  }
}
