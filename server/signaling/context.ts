/**
 * What every signalling module shares: the store (memory), the hub (delivery), the media plane, the token
 * verifier, the limits, and the timers signalling owns (grace periods, ring timeouts). Types only, plus the
 * close codes clients see.
 */
import type { EndHint } from '../../services/protocol';
import type { TokenVerifier } from '../auth/tokens';
import type { LiveMixes } from '../live/mixes';
import type { MediaPlane } from '../media/plane';
import type { CallState, StateStore } from '../store/types';
import type { Hub } from './hub';
import type { SignalingLimits } from './limits';

/** How a call ended, for history and notices. `rejected`: the callee refused it (hint says why, if known). */
export interface CallEnd {
  /** The account whose action (or lost connection) ended it; '' when the server ended it (ring timeout, shutdown). */
  by: string;
  hint?: EndHint;
  rejected: boolean;
  endedAt: number;
}

/** Live rooms' settings (startServer options; bounds in config.ts). */
export interface LiveSettings {
  /** Co-hosts on stage beside the host; one more going on stage gets 104. Default 3. */
  maxCoHosts: number;
  /** A co-host request or invite nobody answers is refused with reason `timeout` after this (ms). Default 30 s. */
  coHostTimeoutMs: number;
  /** How long a live room waits for a host whose connection dropped before it closes (ms). Default 10 s. */
  hostGraceMs: number;
  /** Audience members a live room holds; one more joining gets 104. Default 10,000. */
  maxAudience: number;
  /** Room messages one account may send per second; one more gets 429. Default 5. */
  maxRoomMessagesPerSecond: number;
}

/** What live-room signalling needs beyond rooms: its settings, its timers, and the mix hook. */
export interface LiveContext extends LiveSettings {
  /** `http://host:port` of this server, set once it listens: the web viewer's and HLS addresses start there. */
  httpUrl: string;
  /** Several nodes: the `http://host:port` of the node that mixes the live stream `stream` (its HLS is there). */
  httpUrlOf?(stream: string): string;
  mixes: LiveMixes;
  /** Co-host request/invite timeouts, host grace periods and audience-count notices, by key (see live.ts). */
  timers: Map<string, ReturnType<typeof setTimeout>>;
}

export interface SignalingContext {
  store: StateStore;
  hub: Hub;
  media: MediaPlane;
  tokens: TokenVerifier;
  limits: SignalingLimits;
  /** Read the client address from X-Forwarded-For (set when a reverse proxy we trust sits in front). */
  trustProxy: boolean;
  heartbeatMs: number;
  /** How long a call waits for a device whose socket dropped to come back before it ends with 'network'. */
  graceMs: number;
  /** Pending grace timers by `${cid}/${account}`. */
  orphans: Map<string, ReturnType<typeof setTimeout>>;
  /** Ring timeouts: of unanswered 1:1 calls by cid, of group-call invitees by `${cid}/${account}`. */
  ringTimers: Map<string, ReturnType<typeof setTimeout>>;
  /** Rooms created and not joined yet, by cid: they expire. */
  roomTimers: Map<string, ReturnType<typeof setTimeout>>;
  /** Members a room (or group call) holds. */
  roomCapacity: number;
  /** How long a created room waits for its first member before its name is given back. */
  roomIdleMs: number;
  live: LiveContext;
  /**
   * Several nodes: whether connection `connId` (another node's) is gone because its node died, though the
   * cluster has not taken it over yet. A device of the same account may then take its place at once.
   */
  lostElsewhere?: (connId: string) => Promise<boolean>;
  /** Set once the server began to close: a timer the store could not serve is not retried then. */
  closing: boolean;
  /** Told about every call that ends (history, notices); must not throw into signalling. */
  onCallEnded?: (call: CallState, end: CallEnd) => void;
  /**
   * Told once per 1:1 call, when the second side's first `startRtc` was answered (both sides hold their URLs),
   * with the time of that answer (metrics); must not throw into signalling.
   */
  onCallSetUp?: (call: CallState, at: number) => void;
  now(): number;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

/** Close codes a client sees (WebSocket application range). */
export const CloseCode = {
  /** Login refused, or the token expired without being renewed: the client reports 401, no reconnect. */
  UNAUTHORIZED: 4401,
  /** The account was kicked: no reconnect. */
  KICKED: 4403,
  /** The client kept flooding after 429s. */
  RATE_LIMITED: 4429,
} as const;
