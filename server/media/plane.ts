/**
 * The media plane as signalling sees it: one small interface, several engines behind it (today the embedded
 * node-media-server in a supervised child process; nginx-rtmp with the scale-out work). Handlers never know
 * which engine runs. Signalling owns who may use which stream; the plane enforces it on the wire.
 */

export interface IssuedPlayUrls {
  rtmp: string;
  flv: string;
}

export type MediaStatus = 'starting' | 'up' | 'restarting' | 'stopped';

export interface MediaHealth {
  status: MediaStatus;
  /** Times the engine was restarted after it died. */
  restarts: number;
  /** OS pid of the engine's process, when it runs in one of ours. */
  pid?: number;
  /** Ports the engine listens on (URLs point there). */
  rtmpPort: number;
  httpPort: number;
}

export interface MediaPlane {
  /** Injective mapping of (cid, uid) to a stream name the engine accepts ([A-Za-z0-9_-]). */
  streamName(cid: string, uid: string): string;
  /** A URL that lets its holder publish exactly this stream, while the stream is authorised. */
  pushUrl(stream: string): string;
  /** URLs that let their holder play exactly this stream, while the stream is authorised. */
  /** `ttlSeconds` shortens their life below the plane's own (a public page's URL, say). */
  playUrls(stream: string, ttlSeconds?: number): IssuedPlayUrls;
  /** The stream belongs to a live RTC member: its push URL may publish, its play URLs may play. Idempotent. */
  authorize(stream: string): void;
  /** Ends the stream: its publisher and players are cut now and its URLs refused from now on. Idempotent. */
  revoke(stream: string): void;
  health(): MediaHealth;
  /**
   * Hands the engine the authorisations and revocations held back for a batch. Signalling calls it before it
   * writes anything that may carry a URL, so an engine that batches them (the embedded one's IPC) knows a
   * stream before its client can ask for it. An engine that applies them at once has none.
   */
  flush?(): void;
  /**
   * Called each time the engine is back after dying. Streams authorised before are authorised again, but
   * every connection was lost: signalling hands live members fresh URLs.
   */
  onRestart(listener: () => void): void;
  /**
   * Several nodes: decides (once, cluster-wide) which node's media server carries call or room `cid`, before
   * its first stream is named; `streamName` then names streams there. A single node's plane has none.
   */
  place?(cid: string, avoid?: string): Promise<string>;
  /** Forgets the placement of a call or room that ended. */
  unplace?(cid: string): Promise<void>;
  /** Stops the engine and frees its ports. Idempotent. */
  close(): Promise<void>;
}
