/**
 * The server's configuration: every option, and the checks that refuse an unsafe or impossible one at start
 * with an error naming it (secrets too short, dev mode with real secrets or in production, a limit out of range
 * or a timer past what setTimeout can wait). Nothing here starts anything; requireWritableFolder only makes a
 * folder the server will write to.
 */
import { randomBytes } from 'crypto';
import { accessSync, constants, mkdirSync, statSync } from 'fs';
import os from 'os';
import path from 'path';
import type pino from 'pino';
import type { Logger } from 'pino';
import { ACCOUNT_PATTERN } from '../services/protocol';
import { ECHO_DEFAULTS, MAX_ECHO_DELAY_MS, type EchoConfig, type EchoOptions } from './echo/options';
import type { CallHistory } from './history';
import type { LiveMixes } from './live/mixes';
import type { Notifier } from './notify';
import type { LiveSettings } from './signaling/context';
import { DEFAULT_LIMITS, MAX_TIMER_MS, type SignalingLimits } from './signaling/limits';
import type { StateStore } from './store/types';

export interface ServerOptions {
  /** Signalling + HTTP port; 0 picks a free one. */
  port?: number;
  /** RTMP port of the embedded media server; 0 picks a free one. */
  rtmpPort?: number;
  /** HTTP-FLV port of the embedded media server; 0 picks a free one. */
  mediaHttpPort?: number;
  /** Listen address; `0.0.0.0` to let phones on the LAN in. */
  host?: string;
  /** Host written into issued URLs (a LAN address or domain); defaults to the listen host, or 127.0.0.1. */
  publicHost?: string;
  /**
   * Dev mode: `POST /api/login` mints tokens for any account, and the secrets are generated. Refused together
   * with an explicit secret or with NODE_ENV=production.
   */
  dev?: boolean;
  /** HS256 secret shared with the app's business server for account tokens; at least 32 bytes. */
  secret?: string;
  /** Signs media URLs; at least 32 bytes (node-media-server turns auth off for an empty one). */
  mediaSecret?: string;
  heartbeatMs?: number;
  /** Sustained requests per connection per second (token bucket); more get 429 (default 50). */
  maxRequestsPerSecond?: number;
  /** Requests a connection may send in a burst before the rate applies (default 100). */
  requestBurst?: number;
  /** A connection whose unsent replies and events exceed this many bytes is closed (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Concurrent signalling connections per client address (default 100). */
  maxConnectionsPerIp?: number;
  /** Take the client address from X-Forwarded-For's last entry (set it behind a TLS-terminating proxy). */
  trustProxy?: boolean;
  /** Devices one account may have logged in at once; one more gets 429 (default 10). */
  maxDevicesPerAccount?: number;
  /** An unanswered call ends for both sides with reason `timeout` after this many ms (default 60 s). */
  ringTimeoutMs?: number;
  /** Calls one account may have ringing at once (default 3). */
  maxRingingPerCaller?: number;
  /** Calls from one account to the same callee per minute (default 10). */
  maxCallsPerPairPerMinute?: number;
  /** Members a room or group call holds, the caller included (default 9; one more joining gets 104). */
  roomCapacity?: number;
  /** A created room nobody joins expires after this many ms, and its name is free again (default 10 min). */
  roomIdleMs?: number;
  /** Live rooms: co-hosts on stage beside the host; one more going on stage gets 104 (default 3). */
  maxCoHosts?: number;
  /** Live rooms: an unanswered co-host request or invite is refused with reason `timeout` after this (default 30 s). */
  coHostTimeoutMs?: number;
  /** Live rooms: how long a room waits for a host whose connection dropped before it closes (default 10 s). */
  hostGraceMs?: number;
  /** Live rooms: audience members a room holds; one more joining gets 104 (default 10,000). */
  maxAudience?: number;
  /** Room messages one account may send per second; more get 429 (default 5). */
  maxRoomMessagesPerSecond?: number;
  /**
   * Composes live rooms' stages into their live streams. Default: the ffmpeg mix (`createMixerMixes`) when
   * `liveMix` is on, else none (rooms, roles and the directory still work; the audience's stream stays empty).
   */
  liveMixes?: LiveMixes;
  /**
   * The server-side live mix with ffmpeg (and the HLS and recordings it writes). Default: on in dev mode, off
   * otherwise — each live room then costs an ffmpeg encoder, so an operator turns it on knowingly. Needs
   * ffmpeg (npm's @ffmpeg-installer/ffmpeg, or one on PATH); without it the server refuses to start.
   */
  liveMix?: boolean;
  /** Live mixes running at once; a live room past it goes on unmixed, logged (default 16). */
  maxLiveMixes?: number;
  /** Size of the live mix, even sides, 160×90 to 1920×1080 (default 640×360). */
  liveCanvas?: { width: number; height: number };
  /** Where live mixes write their HLS, a folder per room (default: a new folder in the OS temp dir). */
  hlsDir?: string;
  /** Where `rtmpRecord` live rooms are recorded, listed by `GET /api/recordings` (default: OS temp dir). */
  recordingsDir?: string;
  /** How long a call waits for a device whose socket dropped to reconnect (default 30 s; 0 ends at once). */
  callGraceMs?: number;
  /** Lifetime of tokens minted by dev login (default 24 h). */
  tokenTtlSeconds?: number;
  /** Tokens living longer than this (exp − iat) are refused (default 30 days). */
  maxTokenLifetimeSeconds?: number;
  /** When set, tokens must carry this `aud`. */
  tokenAudience?: string;
  /** When set, tokens must carry this `iss`. */
  tokenIssuer?: string;
  /** `GET /healthz` with `Authorization: Bearer <metricsToken>` adds live counts (never shown otherwise). */
  metricsToken?: string;
  /** Signature lifetime of media URLs (default 2 h); a call's URLs are revoked when it ends anyway. */
  mediaUrlTtlSeconds?: number;
  /**
   * The media server: `embedded` (default: node-media-server in a supervised child process, zero setup) or
   * `nginx` (nginx with the RTMP module, Debian's `nginx` + `libnginx-mod-rtmp`, run and configured by the
   * server; RTMP only: no HTTP-FLV, so `mediaHttpPort` does not apply).
   */
  media?: MediaEngine;
  logger?: Logger;
  logLevel?: pino.LevelWithSilent;
  /**
   * Where calls, rooms and who is online are kept (default: a MemoryStore, this process only); the server never
   * closes a store it was given. Not with `redis`, which keeps them in Redis for several nodes.
   */
  store?: StateStore;
  /**
   * Several nodes as one service: the URL of the Redis they share (`redis://host:port`, `rediss://` for TLS).
   * Calls, rooms, who is online, the live directory, call history and the rate-limit counters live there;
   * events for a device on another node travel by Redis pub/sub. Unset: one node, state in memory.
   */
  redis?: string;
  /** This node's name in the cluster ([A-Za-z0-9], at most 16); default: random. Unique per node. */
  nodeId?: string;
  /** Key prefix in Redis, so several deployments can share one (default `netcall:`). */
  redisPrefix?: string;
  /** A node that has not announced itself for this long is dead and its devices are taken over (default 3 s). */
  nodeTtlMs?: number;
  /** Where a new call's media goes: the least loaded node's media server (default) or this node's. */
  mediaPlacement?: 'least-loaded' | 'local';
  /** Where ended calls are kept for `GET /api/calls` (default: `historyFile` if set, else in memory). */
  history?: CallHistory;
  /**
   * Keep call history in this append-only JSON-lines file, written as each call ends (a crash loses nothing
   * already acknowledged) and read back at start. Without it, history is in memory and lost on restart.
   */
  historyFile?: string;
  /** At most one missed-call notice per caller→callee pair in this many ms (default 10 min; 0: every call). */
  missedCallNoticeIntervalMs?: number;
  /** Sends missed-call notices, e.g. `WeChatSubscribeNotifier` (default: none). */
  notifier?: Notifier;
  /**
   * The built-in echo peer: call its account (`echo`) and it answers and plays your own stream back to you
   * (`delayMs` later), so one phone tests the whole call path. `true` or options turn it on; default: on in
   * dev mode, off otherwise. It needs ffmpeg (npm's @ffmpeg-installer/ffmpeg, or one on PATH).
   */
  echo?: boolean | EchoOptions;
}

const MIN_SECRET_BYTES = 32;

type NumericOption = {
  [K in keyof ServerOptions]-?: NonNullable<ServerOptions[K]> extends number ? K : never;
}[keyof ServerOptions];

export const MEDIA_ENGINES = ['embedded', 'nginx'] as const;
export type MediaEngine = (typeof MEDIA_ENGINES)[number];

/**
 * The media server to run. nginx-rtmp has no HTTP port to give `mediaHttpPort`, so a port asked for it is
 * refused rather than silently left unused.
 */
export function resolveMediaEngine(options: ServerOptions): MediaEngine {
  const media = options.media ?? 'embedded';
  if (!MEDIA_ENGINES.includes(media))
    throw new Error(
      `startServer: \`media\` must be one of ${MEDIA_ENGINES.join(', ')}, got ${String(media)}`,
    );
  if (media === 'nginx' && options.mediaHttpPort)
    throw new Error(
      "startServer: `mediaHttpPort` does not apply to media 'nginx' (nginx-rtmp serves no HTTP-FLV): leave it out",
    );
  return media;
}

export interface ClusterConfig {
  redis: string;
  nodeId: string;
  prefix: string;
  ttlMs: number;
  placement: 'least-loaded' | 'local';
}

/** The cluster settings, checked; null for a single node. The node settings without `redis` are refused. */
export function resolveCluster(options: ServerOptions, randomId: () => string): ClusterConfig | null {
  const named = (['nodeId', 'redisPrefix', 'nodeTtlMs', 'mediaPlacement'] as const).filter(
    (key) => options[key] !== undefined,
  );
  if (options.redis === undefined) {
    if (named.length > 0)
      throw new Error(
        `startServer: ${named.map((key) => `\`${key}\``).join(', ')} need \`redis\` (several nodes)`,
      );
    return null;
  }
  if (options.historyFile !== undefined)
    throw new Error(
      'startServer: `historyFile` does not apply with `redis`: the nodes keep one history in Redis',
    );
  if (options.store !== undefined)
    throw new Error('startServer: `store` does not apply with `redis`: the nodes keep their state in Redis');
  if (!/^rediss?:\/\/[^\s]+$/.test(options.redis))
    throw new Error(`startServer: \`redis\` must be a redis:// or rediss:// URL, got "${options.redis}"`);
  const nodeId = options.nodeId ?? randomId();
  if (!/^[A-Za-z0-9]{1,16}$/.test(nodeId))
    throw new Error(`startServer: \`nodeId\` must be 1 to 16 letters or digits, got "${nodeId}"`);
  const prefix = options.redisPrefix ?? 'netcall:';
  if (!/^[\x21-\x7e]{1,64}$/.test(prefix))
    throw new Error(`startServer: \`redisPrefix\` must be 1 to 64 printable characters, got "${prefix}"`);
  const placement = options.mediaPlacement ?? 'least-loaded';
  if (placement !== 'least-loaded' && placement !== 'local')
    throw new Error(
      `startServer: \`mediaPlacement\` must be least-loaded or local, got "${String(placement)}"`,
    );
  return { redis: options.redis, nodeId, prefix, ttlMs: options.nodeTtlMs ?? 3000, placement };
}

/** Inclusive bounds of every numeric option; timers stay within what setTimeout can wait. */
const BOUNDS: Record<NumericOption, [min: number, max: number]> = {
  port: [0, 65535],
  rtmpPort: [0, 65535],
  mediaHttpPort: [0, 65535],
  heartbeatMs: [100, MAX_TIMER_MS],
  callGraceMs: [0, MAX_TIMER_MS],
  ringTimeoutMs: [1, MAX_TIMER_MS],
  missedCallNoticeIntervalMs: [0, MAX_TIMER_MS],
  roomIdleMs: [1, MAX_TIMER_MS],
  roomCapacity: [2, 1000],
  maxCoHosts: [0, 16],
  coHostTimeoutMs: [1, MAX_TIMER_MS],
  hostGraceMs: [0, MAX_TIMER_MS],
  maxAudience: [0, 1_000_000],
  maxRoomMessagesPerSecond: [1, 1000],
  maxLiveMixes: [1, 1000],
  maxRequestsPerSecond: [1, Number.MAX_SAFE_INTEGER],
  requestBurst: [1, Number.MAX_SAFE_INTEGER],
  maxBufferedBytes: [1024, Number.MAX_SAFE_INTEGER],
  maxConnectionsPerIp: [1, Number.MAX_SAFE_INTEGER],
  maxDevicesPerAccount: [1, Number.MAX_SAFE_INTEGER],
  maxRingingPerCaller: [1, Number.MAX_SAFE_INTEGER],
  maxCallsPerPairPerMinute: [1, Number.MAX_SAFE_INTEGER],
  tokenTtlSeconds: [1, 10 * 365 * 24 * 3600],
  maxTokenLifetimeSeconds: [1, 10 * 365 * 24 * 3600],
  mediaUrlTtlSeconds: [1, 10 * 365 * 24 * 3600],
  nodeTtlMs: [300, 600_000],
};

/** Throws, naming the option, when a numeric option is not a number within its bounds. */
export function checkNumbers(options: ServerOptions): void {
  for (const [key, [min, max]] of Object.entries(BOUNDS) as [NumericOption, [number, number]][]) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
      throw new Error(`startServer: \`${key}\` must be a number from ${min} to ${max}, got ${String(value)}`);
  }
}

export function resolveLimits(options: ServerOptions): SignalingLimits {
  const limits: SignalingLimits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof SignalingLimits)[]) {
    const value = options[key];
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}

export const LIVE_DEFAULTS: LiveSettings = {
  maxCoHosts: 3,
  coHostTimeoutMs: 30_000,
  hostGraceMs: 10_000,
  maxAudience: 10_000,
  maxRoomMessagesPerSecond: 5,
};

/** Live rooms' settings: each option, or its default. */
export function resolveLive(options: ServerOptions): LiveSettings {
  const settings: LiveSettings = { ...LIVE_DEFAULTS };
  for (const key of Object.keys(LIVE_DEFAULTS) as (keyof LiveSettings)[]) {
    const value = options[key];
    if (value !== undefined) settings[key] = value;
  }
  return settings;
}

/**
 * Dev mode generates its secrets and is never mixed with real ones; outside it both secrets are required and
 * long enough that guessing them is hopeless. Each refusal names what to change.
 */
export function resolveSecrets(options: ServerOptions): {
  secret: string;
  mediaSecret: string;
  dev: boolean;
} {
  const dev = options.dev ?? false;
  if (dev) {
    if (options.secret || options.mediaSecret)
      throw new Error(
        'startServer: dev mode generates its own secrets and refuses an explicit `secret`/`mediaSecret` ' +
          '(NETCALL_SECRET / NETCALL_MEDIA_SECRET): drop dev mode to run with real secrets',
      );
    if (process.env.NODE_ENV === 'production')
      throw new Error(
        'startServer: dev mode refuses to run with NODE_ENV=production (it lets anyone log in as anyone)',
      );
    return { secret: randomBytes(32).toString('hex'), mediaSecret: randomBytes(32).toString('hex'), dev };
  }
  const check = (value: string | undefined, name: string, env: string, why: string): string => {
    if (!value) throw new Error(`startServer: \`${name}\` (${env}) is required outside dev mode (${why})`);
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes < MIN_SECRET_BYTES)
      throw new Error(
        `startServer: \`${name}\` (${env}) is ${bytes} bytes; at least ${MIN_SECRET_BYTES} are required ` +
          '(e.g. `openssl rand -hex 32`)',
      );
    return value;
  };
  return {
    secret: check(options.secret, 'secret', 'NETCALL_SECRET', 'it verifies account tokens'),
    mediaSecret: check(options.mediaSecret, 'mediaSecret', 'NETCALL_MEDIA_SECRET', 'it signs media URLs'),
    dev,
  };
}

/** The echo peer's settings, or null when it is off (the default outside dev mode). */
export function resolveEcho(options: ServerOptions, dev: boolean): EchoConfig | null {
  const echo = options.echo ?? dev;
  if (echo === false) return null;
  // Each concurrent echo call is one of the account's devices.
  const maxDevices = options.maxDevicesPerAccount ?? DEFAULT_LIMITS.maxDevicesPerAccount;
  const config: EchoConfig = {
    ...ECHO_DEFAULTS,
    maxCalls: Math.min(ECHO_DEFAULTS.maxCalls, maxDevices),
    // An option given as undefined keeps its default, as everywhere else in ServerOptions.
    ...(echo === true ? {} : Object.fromEntries(Object.entries(echo).filter(([, v]) => v !== undefined))),
  };
  if (typeof config.account !== 'string' || !ACCOUNT_PATTERN.test(config.account))
    throw new Error(
      `startServer: \`echo.account\` must match ${ACCOUNT_PATTERN}, got ${String(config.account)}`,
    );
  const whole = (value: unknown, name: string, min: number, max: number) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      throw new Error(
        `startServer: \`echo.${name}\` must be a whole number from ${min} to ${max}, got ${String(value)}`,
      );
  };
  whole(config.delayMs, 'delayMs', 0, MAX_ECHO_DELAY_MS);
  whole(config.maxCalls, 'maxCalls', 1, maxDevices);
  return config;
}

/** The live mix's settings, or null when it is off (the default outside dev mode, or another `liveMixes`). */
export function resolveLiveMix(
  options: ServerOptions,
  dev: boolean,
): {
  maxMixes: number;
  canvas: { width: number; height: number };
  hlsDir?: string;
  recordingsDir: string;
} | null {
  const canvas = options.liveCanvas ?? { width: 640, height: 360 };
  const side = (value: unknown, name: string, min: number, max: number) => {
    if (
      typeof value !== 'number' ||
      !Number.isInteger(value) ||
      value % 2 !== 0 ||
      value < min ||
      value > max
    )
      throw new Error(
        `startServer: \`liveCanvas.${name}\` must be an even whole number from ${min} to ${max}, got ${String(value)}`,
      );
  };
  side(canvas.width, 'width', 160, 1920);
  side(canvas.height, 'height', 90, 1080);
  for (const key of ['hlsDir', 'recordingsDir'] as const) {
    const value = options[key];
    if (value !== undefined && (typeof value !== 'string' || value === ''))
      throw new Error(`startServer: \`${key}\` must be a folder path, got ${String(value)}`);
  }
  if (options.liveMixes || !(options.liveMix ?? dev)) return null;
  return {
    maxMixes: options.maxLiveMixes ?? 16,
    canvas: { width: canvas.width, height: canvas.height },
    hlsDir: options.hlsDir,
    recordingsDir: recordingsDirOf(options),
  };
}

/**
 * `mkdir -p` that gives up. Node 20's own (`mkdirSync(dir, {recursive: true})`) spins at full CPU for ever under
 * /proc, where the parent exists and the child can never be made: it steps back to the parent on ENOENT and
 * forward again on EEXIST. Here each folder is tried once after its parent.
 */
function makeFolder(dir: string): void {
  // Another node on this machine may make the same folder at the same moment.
  const make = () => {
    try {
      mkdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  };
  try {
    make();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(dir) === dir) throw error;
    makeFolder(path.dirname(dir));
    make();
  }
}

/**
 * A folder the server writes to: made when missing, and refused at start when it cannot be written (a file in
 * the way, no permission, a read-only mount), rather than when the first live room's mix fails on it.
 */
export function requireWritableFolder(key: 'hlsDir' | 'recordingsDir', dir: string): void {
  try {
    makeFolder(path.resolve(dir));
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    accessSync(dir, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new Error(`startServer: \`${key}\` ${dir} cannot be written to (${code})`);
  }
}

/** Where recordings are kept (and listed from), whether or not this server mixes. */
export const recordingsDirOf = (options: ServerOptions): string =>
  options.recordingsDir ?? path.join(os.tmpdir(), 'netcall-recordings');
