/**
 * What makes several nodes on one Redis one service, besides the shared state (RedisStore):
 * - the bus (pub/sub): a frame for a device whose socket another node holds goes to that node's channel;
 *   kicks and media commands travel the same way;
 * - the node table: each node announces itself (its URLs, its media plane's, its load) under a key with a
 *   time to live, refreshed every `ttlMs / 3`; a node whose key expired is dead;
 * - the reaper: one live node (whoever takes the dead node's reap key first) treats every device of a dead
 *   node as a lost connection (grace period, then end), exactly as if its socket had dropped on one node.
 *
 * The bus needs its own Redis connection (a subscribed connection can do nothing else).
 */
import Redis from 'ioredis';
import type { MixMessage } from '../live/cluster-mixes';
import { nodeOf, processOf } from './ids';
import { RECONNECT_MAX_MS, redisOptions, type RedisStore } from './redis';

export interface NodeInfo {
  id: string;
  /** `ws://host:port` clients reach this node at. */
  url: string;
  /** The media plane's origins on this node (`rtmp://host:port`, `http://host:port`); '' when it has none. */
  media: { rtmp: string; http: string; engine: string };
  /** Media streams this node carries now: placement puts a new call on the least loaded node. */
  load: number;
  startedAt: number;
}

/** How long messages wait for a node that is not listening (Redis reconnecting) before they are dropped. */
const HOLD_MS = 5000;
const MAX_HELD = 10_000;
/** The channel every node listens on. */
const ALL = '*all';
/**
 * How long a process found without its Redis connection counts as gone without asking again. A node that dies
 * holding thousands of devices is asked about once per device that comes back elsewhere, under the cluster lock.
 */
const GONE_MS = 1000;

export type BusMessage =
  /** An event for connections of the receiving node (one id, or several that get the same frame). */
  | { t: 'emit'; c: string | string[]; f: string }
  /** `at`: the kick's second, so every node refuses the same tokens (arrival times differ). */
  | { t: 'kick'; account: string; reason: string; at: number }
  | { t: 'media'; op: 'authorize' | 'revoke'; s: string }
  | MixMessage;

/** A message to every node names its sender, which skips it. */
type Broadcast = BusMessage & { from?: string };

export interface ClusterOptions {
  store: RedisStore;
  url: string;
  node: Omit<NodeInfo, 'load' | 'startedAt'>;
  /** A node that has not refreshed its key for this long is dead. */
  ttlMs: number;
  onMessage(message: BusMessage): void;
  /** Another node died: this node took over its devices. */
  onNodeDead(node: NodeInfo, conns: Array<{ connId: string; account: string | null }>): Promise<void>;
  /** Every sweep (about once a second), while Redis is up: end what nobody else will. */
  onSweep(): Promise<void>;
  load(): number;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

export class Cluster {
  private readonly sub: Redis;
  private readonly redis: Redis;
  private readonly prefix: string;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Messages for a node whose subscriber is not listening right now, in order. */
  private readonly held = new Map<string, string[]>();
  private sweeping = false;
  private stopped = false;
  /**
   * When this node's connection to Redis last became ready. Keys persisted across a Redis restart (AOF) come
   * back expired, and the other nodes need a moment to reconnect and announce: until every node had a full
   * time to live to do so, a missing key means nothing and nobody is reaped.
   */
  private readySince = Date.now();
  private nodes = new Map<string, NodeInfo>();
  private readonly startedAt = Date.now();
  /** Processes (`<node>.<epoch>`, the head of their connection ids) found gone, and when. */
  private readonly gone = new Map<string, number>();

  constructor(private readonly options: ClusterOptions) {
    this.redis = options.store.redis;
    this.prefix = options.store.prefix;
    this.redis.on('ready', () => (this.readySince = Date.now()));
    // Named, so any node can tell at once whether this one still holds its connection (see `connected`).
    this.sub = new Redis(options.url, {
      ...redisOptions(),
      connectionName: this.connectionName(options.node.id),
    });
    this.sub.on('error', () => undefined);
    this.sub.on('message', (_channel: string, text: string) => {
      let message: BusMessage;
      try {
        message = JSON.parse(text) as BusMessage;
      } catch {
        options.log.warn({ text: text.slice(0, 80) }, 'bus: unreadable message');
        return;
      }
      // A broadcast reaches its sender too, which already did what it says.
      if ((message as Broadcast).from === this.id) return;
      try {
        options.onMessage(message);
      } catch (error) {
        options.log.warn({ t: message.t, err: String(error) }, 'bus: message handling failed');
      }
    });
  }

  get id(): string {
    return this.options.node.id;
  }

  /** What this node announces; its URLs are filled in once it listens (before `start`). */
  get self(): Omit<NodeInfo, 'load' | 'startedAt'> {
    return this.options.node;
  }

  private connectionName(node: string): string {
    return `${this.prefix}node:${node}`;
  }

  /**
   * Whether `node` still holds its connection to Redis. A process that died lost it at once (its sockets went
   * with it), long before its key expires: a device that lost it and comes back at once need not wait for that.
   */
  private async connected(node: string): Promise<boolean> {
    const list = (await this.redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
    const name = `name=${this.connectionName(node)} `;
    return list.split('\n').some((line) => line.includes(name));
  }

  /**
   * Whether connection `connId` of another node is gone because its process is: that node holds no connection
   * to Redis. Remembered for a moment per process, not per node: a node restarted under its name is another
   * process, with other connection ids.
   */
  async lost(connId: string): Promise<boolean> {
    const node = nodeOf(connId);
    if (node === '' || node === this.id) return false;
    const process = processOf(connId);
    const now = Date.now();
    const since = this.gone.get(process);
    if (since !== undefined && now - since < GONE_MS) return true;
    if (await this.connected(node)) {
      this.gone.delete(process);
      return false;
    }
    for (const [key, at] of this.gone) if (now - at >= GONE_MS) this.gone.delete(key);
    this.gone.set(process, now);
    return true;
  }

  private channel(node: string): string {
    return `${this.prefix}bus:${node}`;
  }

  async start(): Promise<void> {
    await this.sub.connect();
    await this.sub.subscribe(this.channel(this.id), this.channel(ALL));
    // ioredis re-subscribes by itself after a reconnect.
    await this.announce();
    await this.refresh();
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.options.ttlMs / 3)));
    this.timer.unref();
  }

  /** The nodes seen alive at the last tick (this one included). */
  alive(): NodeInfo[] {
    return [...this.nodes.values()];
  }

  node(id: string): NodeInfo | undefined {
    return this.nodes.get(id);
  }

  send(node: string, message: BusMessage): void {
    const text = JSON.stringify(message);
    const held = this.held.get(node);
    if (held) {
      if (held.length < MAX_HELD) held.push(text);
      return;
    }
    this.publish(node, text);
  }

  /**
   * Pub/sub delivers to whoever listens now. A node's subscriber that is re-subscribing (Redis just came back)
   * hears nothing: PUBLISH says so (no receiver), and the message waits, with any that follow it, until that
   * node listens again or `HOLD_MS` passed (then it is gone, and the reaper deals with it).
   */
  private publish(node: string, text: string): void {
    this.redis.publish(this.channel(node), text).then(
      (receivers) => {
        if (receivers === 0 && node !== ALL) this.hold(node, text);
      },
      (error: Error) => this.options.log.warn({ node, err: error.message }, 'bus: publish failed'),
    );
  }

  private hold(node: string, text: string): void {
    const waiting = this.held.get(node);
    if (waiting) {
      if (waiting.length < MAX_HELD) waiting.push(text);
      return;
    }
    const held = [text];
    this.held.set(node, held);
    const giveUp = Date.now() + HOLD_MS;
    const retry = async (): Promise<void> => {
      // A node that leaves stops waiting for others: its process must not stay up for their messages.
      while (held.length > 0 && !this.stopped) {
        const receivers = await this.redis.publish(this.channel(node), held[0]).catch(() => 0);
        if (receivers > 0) held.shift();
        else if (Date.now() > giveUp) break;
        else await new Promise((resolve) => setTimeout(resolve, 50).unref());
      }
      if (held.length > 0)
        this.options.log.warn({ node, dropped: held.length }, 'bus: node not listening; messages dropped');
      this.held.delete(node);
    };
    void retry();
  }

  /** To every other node. */
  broadcast(message: BusMessage): void {
    const named: Broadcast = { ...message, from: this.id };
    this.send(ALL, named);
  }

  private info(): NodeInfo {
    return { ...this.options.node, load: this.options.load(), startedAt: this.startedAt };
  }

  private async announce(): Promise<void> {
    const info = this.info();
    await this.redis
      .multi()
      .set(`${this.prefix}alive:${this.id}`, '1', 'PX', this.options.ttlMs)
      .hset(`${this.prefix}nodes`, this.id, JSON.stringify(info))
      .exec();
    this.nodes.set(this.id, info);
  }

  private async tick(): Promise<void> {
    if (this.sweeping || this.redis.status !== 'ready') return;
    this.sweeping = true;
    try {
      await this.announce();
      const dead = await this.refresh();
      if (Date.now() - this.readySince >= this.options.ttlMs + RECONNECT_MAX_MS)
        for (const node of dead) await this.reap(node);
      await this.options.onSweep();
    } catch (error) {
      this.options.log.warn({ err: String(error) }, 'cluster: sweep failed');
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * Reads the node table: the live nodes are kept (what placement and URLs use), the dead ones returned. Also
   * called when a node this one has not seen yet is named (one that started since the last tick).
   */
  async refresh(): Promise<NodeInfo[]> {
    const table = await this.redis.hgetall(`${this.prefix}nodes`);
    const ids = Object.keys(table);
    const alive = ids.length > 0 ? await this.redis.mget(ids.map((id) => `${this.prefix}alive:${id}`)) : [];
    const seen = new Map<string, NodeInfo>();
    const dead: NodeInfo[] = [];
    for (const [i, id] of ids.entries()) {
      const info = JSON.parse(table[id]) as NodeInfo;
      if (alive[i] !== null || id === this.id) seen.set(id, info);
      else dead.push(info);
    }
    this.nodes = seen;
    return dead;
  }

  private async reap(node: NodeInfo): Promise<void> {
    const claimed = await this.redis.set(`${this.prefix}reap:${node.id}`, this.id, 'PX', 60_000, 'NX');
    if (claimed !== 'OK') return;
    const conns = await this.options.store.connsOfNode(node.id);
    this.options.log.warn({ node: node.id, devices: conns.length }, 'cluster: node is gone; taking over');
    await this.options.onNodeDead(node, conns);
    await this.redis.hdel(`${this.prefix}nodes`, node.id);
  }

  /** Leaves the cluster: the node's key goes at once, so the others take over its devices now. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.redis.status === 'ready')
      await this.redis.del(`${this.prefix}alive:${this.id}`).catch(() => undefined);
    this.sub.disconnect();
  }
}
