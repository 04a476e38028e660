/**
 * The message contract between the media supervisor (parent) and the media worker (child process).
 *
 * Owns: the shapes of every IPC message in both directions and their runtime guards. It must never carry
 * anything but plain JSON data: the secrets travel here (never in argv or env, which other local users and
 * crash reporters can read), so a message must never be logged whole.
 */

import { isRecord } from './values';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

const LOG_LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** Everything the worker needs to run; sent once, in `start`. */
export interface WorkerConfig {
  bind: string;
  rtmpPort: number;
  httpPort: number;
  /** Publish signatures are made with this key (the media secret). */
  publishKey: string;
  /** Play signatures are made with this key (derived from the secret). */
  playKey: string;
  /** Lowest level worth sending back: filtering in the worker keeps a refusal flood off the IPC pipe. */
  logLevel: LogLevel | 'silent';
  /** How long a connection may take to ask for a stream (RTMP publish/play, HTTP headers). */
  requestTimeoutMs: number;
  /** How long an accepted RTMP publisher may send nothing before it is cut (it frees the stream). */
  publishIdleTimeoutMs: number;
  /** Concurrent connections each front accepts. */
  maxConnections: number;
  /** Concurrent connections one address may hold, both fronts together. */
  maxConnectionsPerIp: number;
  /** Only tests turn this off, to prove that the injection tests can fail. */
  packetGate: boolean;
  /** Only tests turn this on: the worker then obeys `test-hang`, to prove that the heartbeat catches it. */
  testHang: boolean;
}

export type ToWorker =
  | { type: 'start'; config: WorkerConfig; streams: string[] }
  /**
   * Streams allowed or no longer allowed, in the order decided: what one run of code decided in one message
   * (moving a node's media authorises every stream it had), since each IPC message costs a write.
   */
  | { type: 'access'; changes: AccessChange[] }
  | { type: 'ping'; seq: number }
  | { type: 'test-hang' }
  | { type: 'stop' };

export type AccessChange = { stream: string; allowed: boolean };

export type FromWorker =
  | { type: 'listening' }
  | { type: 'listen-failed'; code: string; message: string }
  | { type: 'pong'; seq: number }
  | { type: 'log'; level: LogLevel; msg: string; fields?: Record<string, unknown> };

function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && LOG_LEVELS.includes(value);
}

export function shouldLog(level: LogLevel, threshold: LogLevel | 'silent'): boolean {
  return threshold !== 'silent' && LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(threshold);
}

/** The worker's view of the parent's logger level (pino levels beyond ours map to silent). */
export function toWorkerLevel(level: string | undefined): LogLevel | 'silent' {
  return isLogLevel(level) ? level : 'silent';
}

function isPositive(value: unknown): value is number {
  return typeof value === 'number' && value > 0;
}

function isWorkerConfig(value: unknown): value is WorkerConfig {
  if (!isRecord(value)) return false;
  return (
    typeof value.bind === 'string' &&
    Number.isInteger(value.rtmpPort) &&
    Number.isInteger(value.httpPort) &&
    typeof value.publishKey === 'string' &&
    value.publishKey !== '' &&
    typeof value.playKey === 'string' &&
    value.playKey !== '' &&
    (value.logLevel === 'silent' || isLogLevel(value.logLevel)) &&
    isPositive(value.requestTimeoutMs) &&
    isPositive(value.publishIdleTimeoutMs) &&
    isPositive(value.maxConnections) &&
    isPositive(value.maxConnectionsPerIp) &&
    typeof value.packetGate === 'boolean' &&
    typeof value.testHang === 'boolean'
  );
}

export function isToWorker(value: unknown): value is ToWorker {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case 'start':
      return (
        isWorkerConfig(value.config) &&
        Array.isArray(value.streams) &&
        value.streams.every((s) => typeof s === 'string')
      );
    case 'access':
      return (
        Array.isArray(value.changes) &&
        value.changes.every(
          (c) => isRecord(c) && typeof c.stream === 'string' && typeof c.allowed === 'boolean',
        )
      );
    case 'ping':
      return Number.isInteger(value.seq);
    case 'test-hang':
    case 'stop':
      return true;
    default:
      return false;
  }
}

export function isFromWorker(value: unknown): value is FromWorker {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case 'listening':
      return true;
    case 'listen-failed':
      return typeof value.code === 'string' && typeof value.message === 'string';
    case 'pong':
      return Number.isInteger(value.seq);
    case 'log':
      return (
        isLogLevel(value.level) &&
        typeof value.msg === 'string' &&
        (value.fields === undefined || isRecord(value.fields))
      );
    default:
      return false;
  }
}
