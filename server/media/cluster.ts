/**
 * The media plane of a node in a cluster: each call or room is placed on one node's media server (the least
 * loaded one, by default), and every URL of it points there, whichever node issues it. The node is part of
 * the stream name (`<node>_<name>`), so any node can tell where a stream lives from its name alone.
 *
 * URLs for another node's streams are signed here: every node has the same media secret (a cluster is one
 * deployment), signatures cover the stream path and not the host, so only the origin differs from a local
 * URL. Authorising and revoking another node's stream is a bus message to that node. Nodes of one cluster
 * run the same media engine (the URL shapes differ between engines); a node of another engine is never
 * chosen for placement.
 */
import { createHash } from 'crypto';
import type { Cluster, NodeInfo } from '../store/cluster';
import type { RedisStore } from '../store/redis';
import type { IssuedPlayUrls, MediaHealth, MediaPlane } from './plane';
import { toStreamName } from './sign';

/** How a new call's media node is chosen among the live nodes of this engine. */
export type PlacementStrategy = 'least-loaded' | 'local';

const ORIGIN = /^[a-z]+:\/\/[^/]+/;
const MAX_NAME = 200;
/** Placements remembered per node; a forgotten one is read from Redis again. */
const MAX_CACHED = 10_000;

export interface ClusterMediaOptions {
  local: MediaPlane;
  cluster: Cluster;
  store: RedisStore;
  engine: string;
  strategy: PlacementStrategy;
}

export class ClusterMedia implements MediaPlane {
  /** cid → node, as placed (the placement key in Redis is the truth; this saves the round trip). */
  private readonly placements = new Map<string, string>();
  /** Streams this node authorised and carries now: its load, as the node table reports it. */
  private readonly carried = new Set<string>();
  /**
   * Calls and rooms this node placed on each node since it last read the table, keyed by the entry read (a
   * refresh brings new entries, and with them loads that count those calls). Without it, every call of a burst
   * that arrives within one tick would go to the node that was least loaded at the tick.
   */
  private readonly placedSince = new WeakMap<NodeInfo, number>();

  constructor(private readonly options: ClusterMediaOptions) {}

  get self(): string {
    return this.options.cluster.id;
  }

  load(): number {
    return this.carried.size;
  }

  /** The node a stream lives on (every name this plane issues carries it). */
  nodeOf(stream: string): string {
    const cut = stream.indexOf('_');
    return cut < 0 ? this.self : stream.slice(0, cut);
  }

  owns(stream: string): boolean {
    return this.nodeOf(stream) === this.self;
  }

  /**
   * Where a call or room's media goes: decided once, by whichever node asks first, and kept in Redis for the
   * call's life. `avoid` is a node that is going away (draining or dead): a placement on it is redone.
   */
  async place(cid: string, avoid?: string): Promise<string> {
    const cached = this.placements.get(cid);
    if (cached !== undefined && cached !== avoid && this.isUsable(cached)) return cached;
    const { redis, prefix } = this.options.store;
    const key = `${prefix}placement:${cid}`;
    const current = await redis.get(key);
    if (current !== null && !this.options.cluster.node(current)) await this.options.cluster.refresh();
    let node = current;
    if (node === null || node === avoid || !this.isUsable(node)) {
      node = this.choose(avoid);
      await redis.set(key, node, 'PX', 24 * 3600 * 1000);
      const entry = this.options.cluster.node(node);
      if (entry) this.placedSince.set(entry, (this.placedSince.get(entry) ?? 0) + 1);
    }
    this.placements.delete(cid);
    this.placements.set(cid, node);
    // Only the node that ends a call forgets its placement: the others' copies go oldest first.
    if (this.placements.size > MAX_CACHED) this.placements.delete(this.placements.keys().next().value!);
    return node;
  }

  /** Forgets a call's placement once it ended. */
  async unplace(cid: string): Promise<void> {
    this.placements.delete(cid);
    const { redis, prefix } = this.options.store;
    await redis.del(`${prefix}placement:${cid}`).catch(() => undefined);
  }

  private isUsable(node: string): boolean {
    if (node === this.self) return true;
    const info = this.options.cluster.node(node);
    return info !== undefined && info.media.engine === this.options.engine && info.media.rtmp !== '';
  }

  private choose(avoid?: string): string {
    if (this.options.strategy === 'local' && this.self !== avoid) return this.self;
    const candidates = this.options.cluster
      .alive()
      .filter((node) => node.id !== avoid && this.isUsable(node.id));
    if (candidates.length === 0) return this.self;
    // A placement is worth one stream until the table says what it costs: enough to alternate a burst.
    const load = (node: NodeInfo) => node.load + (this.placedSince.get(node) ?? 0);
    const least = (a: NodeInfo, b: NodeInfo) => load(a) - load(b) || (a.id < b.id ? -1 : 1);
    return [...candidates].sort(least)[0].id;
  }

  streamName(cid: string, uid: string): string {
    const node = this.placements.get(cid) ?? this.self;
    const name = `${node}_${toStreamName(cid, uid)}`;
    if (name.length <= MAX_NAME) return name;
    return `${node}_--${createHash('sha256').update(cid).update('\0').update(uid).digest('hex')}`;
  }

  private origin(stream: string, scheme: 'rtmp' | 'http'): string | null {
    const node = this.nodeOf(stream);
    if (node === this.self) return null;
    const info = this.options.cluster.node(node);
    // A node that is gone: the URL would point nowhere. The local origin at least fails fast on a signature.
    return info ? info.media[scheme] : null;
  }

  pushUrl(stream: string): string {
    const url = this.options.local.pushUrl(stream);
    const origin = this.origin(stream, 'rtmp');
    return origin ? url.replace(ORIGIN, origin) : url;
  }

  playUrls(stream: string, ttlSeconds?: number): IssuedPlayUrls {
    const urls = this.options.local.playUrls(stream, ttlSeconds);
    const rtmp = this.origin(stream, 'rtmp');
    const http = this.origin(stream, 'http');
    return {
      rtmp: rtmp ? urls.rtmp.replace(ORIGIN, rtmp) : urls.rtmp,
      // nginx-rtmp has no HTTP-FLV: its "flv" URL is the RTMP one, so it moves with the RTMP origin.
      flv: urls.flv.startsWith('rtmp:')
        ? rtmp
          ? urls.flv.replace(ORIGIN, rtmp)
          : urls.flv
        : http
          ? urls.flv.replace(ORIGIN, http)
          : urls.flv,
    };
  }

  authorize(stream: string): void {
    if (this.owns(stream)) this.authorizeHere(stream);
    else this.options.cluster.send(this.nodeOf(stream), { t: 'media', op: 'authorize', s: stream });
  }

  revoke(stream: string): void {
    if (this.owns(stream)) this.revokeHere(stream);
    else this.options.cluster.send(this.nodeOf(stream), { t: 'media', op: 'revoke', s: stream });
  }

  /** A bus message from another node about a stream of ours. */
  authorizeHere(stream: string): void {
    this.carried.add(stream);
    this.options.local.authorize(stream);
  }

  revokeHere(stream: string): void {
    this.carried.delete(stream);
    this.options.local.revoke(stream);
  }

  flush(): void {
    this.options.local.flush?.();
  }

  health(): MediaHealth {
    return this.options.local.health();
  }

  onRestart(listener: () => void): void {
    this.options.local.onRestart(listener);
  }

  close(): Promise<void> {
    return this.options.local.close();
  }
}
