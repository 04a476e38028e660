/**
 * The transport side of signalling: live connections and delivery of replies and events to them.
 * It knows sockets, not calls; handlers tell it whom to deliver to.
 *
 * Frames for one connection within one turn of the event loop leave in one write, at the turn's end: each is
 * still its own WebSocket message, in the order sent, but a reply and the events it causes (a `startRtc` reply
 * and its `syncDone`, and the peer's `clientJoin` read in the same turn) cost one syscall and one TCP segment,
 * and wake the client once, instead of once each.
 */
import type { Duplex } from 'stream';
import type { WebSocket } from 'ws';
import type { EventFrame, ReplyFrame, ServerEventName, ServerEvents } from '../../services/protocol';
import { TokenBucket, type SignalingLimits } from './limits';
import { nodeOf } from '../store/ids';
import { SerialQueue } from './serial-queue';

export interface Connection {
  id: string;
  socket: WebSocket;
  /** The client's address (the proxy's X-Forwarded-For entry when the proxy is trusted). */
  ip: string;
  account: string | null;
  /** The call this device is in, NetEase's "current channel": the default cid of hangup/startRtc. */
  currentCid: string | null;
  /** Answered the last heartbeat ping (only pongs count: a client that floods but never pongs is dead). */
  alive: boolean;
  /** Heartbeat rounds seen; an unauthenticated connection gets two before it is closed. */
  pings: number;
  /** Which slice of each heartbeat round pings this connection (HEARTBEAT_SLICES). */
  heartbeatSlice: number;
  /**
   * Set when the server itself decided to close the socket (shutdown, kick, expiry, flood, refused login): no
   * grace period then, and nothing the client sends from then on is read.
   */
  closingOnPurpose: boolean;
  /** Every incoming frame takes a token, whatever it is. */
  bucket: TokenBucket;
  /** Frames refused for rate in the current abuse window, and when that window started. */
  refused: number;
  refusedSince: number;
  /**
   * The `iat` of the newest token the session presented (login, renewToken); undefined before login or for a
   * token without one. A kick that reaches this node late spares a session whose token was minted after it.
   */
  tokenIat: number | undefined;
  /** Ends the session at its token's expiry (re-armed by renewToken); cleared when the session ends. */
  expiryTimer: ReturnType<typeof setTimeout> | null;
  /** Its frames, in arrival order, then its close: the next starts when the one before it finished. */
  queue: SerialQueue;
}

export interface HubOptions {
  /** The bucket's rate and burst, and the backlog past which a connection that does not read is cut. */
  limits: Pick<SignalingLimits, 'maxRequestsPerSecond' | 'requestBurst' | 'maxBufferedBytes'>;
  now(): number;
  onOverflow?(conn: Connection): void;
  /**
   * This node's id when it is one of several: connection ids become `<node>.<n>`, unique in the cluster, and
   * an event for another node's connection goes to `route` (the bus) instead of being dropped.
   */
  node?: string;
  route?(node: string, connIds: string | string[], text: string): void;
  /** Runs before held frames are written: the media plane hands its engine the streams those URLs name. */
  beforeWrite?(): void;
}

/** A heartbeat round visits the connections in this many slices, spread over the round. */
export const HEARTBEAT_SLICES = 20;

/** Frames one connection holds back in a tick before they are written anyway (two iovecs each). */
const MAX_HELD_FRAMES = 64;

export class Hub {
  private readonly connections = new Map<string, Connection>();
  /** The byte stream under each socket, where the hub holds writes back until the tick ends. */
  private readonly transports = new WeakMap<Connection, Duplex>();
  /** Connections written to in this tick, their transport corked until `flush`: how many frames each holds. */
  private held = new Map<Connection, number>();
  private counter = 0;
  /**
   * Several nodes: a node restarted under the same name (a supervisor's restart within seconds) must not reuse
   * the ids its previous process left in the store, so each process numbers its connections afresh.
   */
  private readonly epoch = Math.random().toString(36).slice(2, 8);

  constructor(private readonly options: HubOptions) {}

  /**
   * `transport` is the stream `socket` writes to (the upgraded HTTP socket): given, a tick's frames to the
   * connection go out together.
   */
  add(socket: WebSocket, ip: string, transport?: Duplex): Connection {
    const now = this.options.now();
    const n = ++this.counter;
    const conn: Connection = {
      id: this.options.node ? `${this.options.node}.${this.epoch}-${n}` : `c${n}`,
      socket,
      ip,
      account: null,
      currentCid: null,
      alive: true,
      pings: 0,
      heartbeatSlice: n % HEARTBEAT_SLICES,
      closingOnPurpose: false,
      bucket: new TokenBucket(
        this.options.limits.maxRequestsPerSecond,
        this.options.limits.requestBurst,
        now,
      ),
      refused: 0,
      refusedSince: now,
      tokenIat: undefined,
      expiryTimer: null,
      queue: new SerialQueue(),
    };
    this.connections.set(conn.id, conn);
    if (transport) this.transports.set(conn, transport);
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

  /** The live connections, not copied: for a loop that removes none of them on the way. */
  each(): IterableIterator<Connection> {
    return this.connections.values();
  }

  size(): number {
    return this.connections.size;
  }

  reply(conn: Connection, frame: ReplyFrame): void {
    this.send(conn, frame);
  }

  emit<E extends ServerEventName>(connId: string, event: E, data: ServerEvents[E]): void {
    const conn = this.connections.get(connId);
    if (conn) return this.send(conn, { event, data } as EventFrame<E>);
    const node = nodeOf(connId);
    if (node && node !== this.options.node && this.options.route)
      this.options.route(node, connId, JSON.stringify({ event, data }));
  }

  /** An event another node sent for connections of this one, already serialised. */
  deliver(connIds: string | string[], text: string): void {
    // Most bus messages name one connection: no array for it.
    if (typeof connIds === 'string') return this.deliverOne(connIds, text);
    for (const id of connIds) this.deliverOne(id, text);
  }

  private deliverOne(connId: string, text: string): void {
    const conn = this.connections.get(connId);
    if (conn) this.sendText(conn, text);
  }

  /**
   * One event to many connections: serialised once, and one bus message per other node that has some of them
   * (a live room's `audienceCount` goes to thousands).
   */
  emitMany<E extends ServerEventName>(connIds: Iterable<string>, event: E, data: ServerEvents[E]): void {
    const route = this.options.route;
    let text: string | undefined;
    let remote: Map<string, string[]> | undefined;
    for (const id of connIds) {
      const conn = this.connections.get(id);
      if (conn) {
        this.sendText(conn, (text ??= JSON.stringify({ event, data })));
        continue;
      }
      const node = nodeOf(id);
      if (!node || node === this.options.node || !route) continue;
      remote ??= new Map();
      const ids = remote.get(node);
      if (ids) ids.push(id);
      else remote.set(node, [id]);
    }
    if (!remote || !route) return;
    text ??= JSON.stringify({ event, data });
    // A single id goes as a string, the shape every version of the bus understands.
    for (const [node, ids] of remote) route(node, ids.length === 1 ? ids[0] : ids, text);
  }

  private send(conn: Connection, frame: ReplyFrame | EventFrame): void {
    this.sendText(conn, JSON.stringify(frame));
  }

  private sendText(conn: Connection, text: string): void {
    // A socket that is closing just drops the frame: its calls are ended by the close handler.
    if (conn.socket.readyState !== conn.socket.OPEN) return;
    const transport = this.transports.get(conn);
    if (!transport) {
      this.options.beforeWrite?.();
      conn.socket.send(text);
      this.cutIfBacklogged(conn);
      return;
    }
    const held = this.held.get(conn);
    if (held === undefined) {
      // Whatever ws writes from here on (these frames, a close frame, a ping) stays in order behind them.
      transport.cork();
      this.held.set(conn, 1);
      // After the poll phase: every frame its reads caused, to any connection, goes out in one write each.
      if (this.held.size === 1) setImmediate(this.flush);
    } else this.held.set(conn, held + 1);
    conn.socket.send(text);
    // A flood's answers leave in slices: one write of thousands of frames would pass the kernel's iovec limit,
    // and libuv writes the rest of such a write only on a later turn of the loop, behind every read.
    if (held !== undefined && held + 1 >= MAX_HELD_FRAMES) this.release(conn, transport);
  }

  /**
   * Writes out every connection's frames of the tick. The backlog is judged once they were offered to the
   * kernel: bytes held back here are not a client that does not read.
   */
  private readonly flush = (): void => {
    this.options.beforeWrite?.();
    const held = this.held;
    this.held = new Map();
    for (const [conn] of held) {
      const transport = this.transports.get(conn);
      if (transport) this.uncorkAndCheck(conn, transport);
    }
  };

  private release(conn: Connection, transport: Duplex): void {
    this.options.beforeWrite?.();
    this.held.delete(conn);
    this.uncorkAndCheck(conn, transport);
  }

  private uncorkAndCheck(conn: Connection, transport: Duplex): void {
    transport.uncork();
    if (!transport.destroyed) this.cutIfBacklogged(conn);
  }

  private cutIfBacklogged(conn: Connection): void {
    if (conn.socket.bufferedAmount > this.options.limits.maxBufferedBytes) {
      // A close frame would queue behind the backlog it cannot drain: cut the socket instead.
      conn.socket.terminate();
      this.options.onOverflow?.(conn);
    }
  }
}
