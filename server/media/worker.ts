/**
 * Entry point of the media child process (forked by supervisor.ts; never imported by the server).
 *
 * Owns: the worker's lifecycle: wait for `start` over IPC, listen on the given ports with both fronts, apply
 * authorize/revoke, forward logs (level-filtered and rate-limited, so a flood of refusals cannot flood the
 * pipe), stop on `stop`. It must never outlive its parent (exit on IPC disconnect) and never keep running
 * after an uncaught exception: its state is then unknown, so it logs, exits non-zero, and the supervisor
 * starts a clean one.
 */
import type { Server } from 'node:net';
import { createEngine, type Engine, type Log } from './engine';
import { createHttpFront } from './front-http';
import { createRtmpFront } from './front-rtmp';
import { isToWorker, shouldLog, type FromWorker, type LogLevel, type WorkerConfig } from './ipc';
import { assertNmsShape } from './nms';

// Refusals arrive as fast as an attacker can open sockets; beyond this many lines per second we count and
// summarise instead of forwarding each one.
const MAX_LOG_LINES_PER_SECOND = 100;
const EXIT_FLUSH_MS = 500;

const send = (message: FromWorker): void => {
  if (process.connected) process.send?.(message, undefined, {}, () => {});
};

let threshold: LogLevel | 'silent' = 'warn';
let windowStart = 0;
let linesInWindow = 0;
let suppressed = 0;

const log: Log = (level, msg, fields) => {
  if (!shouldLog(level, threshold)) return;
  const now = Date.now();
  if (now - windowStart >= 1000) {
    if (suppressed > 0)
      send({ type: 'log', level: 'warn', msg: 'media worker log lines suppressed', fields: { suppressed } });
    windowStart = now;
    linesInWindow = 0;
    suppressed = 0;
  }
  if (++linesInWindow > MAX_LOG_LINES_PER_SECOND && level !== 'fatal' && level !== 'error') {
    suppressed++;
    return;
  }
  send({ type: 'log', level, msg, fields });
};

let engine: Engine | undefined;
let servers: Server[] = [];
let exiting = false;

/** Sends a last message, then exits even if the pipe is gone or slow. */
function exitWith(code: number, last?: FromWorker): void {
  if (exiting) return;
  exiting = true;
  const timer = setTimeout(() => process.exit(code), EXIT_FLUSH_MS);
  if (last && process.connected) {
    process.send?.(last, undefined, {}, () => {
      clearTimeout(timer);
      process.exit(code);
    });
  } else {
    clearTimeout(timer);
    process.exit(code);
  }
}

function fatal(error: unknown): void {
  const err = error instanceof Error ? (error.stack ?? error.message) : String(error);
  exitWith(1, { type: 'log', level: 'fatal', msg: 'media worker crashed', fields: { err } });
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function start(config: WorkerConfig, streams: string[]): Promise<void> {
  threshold = config.logLevel;
  assertNmsShape();
  engine = createEngine(config, log);
  for (const stream of streams) engine.authorize(stream);
  servers = [createRtmpFront(engine), createHttpFront(engine)];
  try {
    await Promise.all([
      listen(servers[0], config.rtmpPort, config.bind),
      listen(servers[1], config.httpPort, config.bind),
    ]);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    exitWith(1, { type: 'listen-failed', code: e.code ?? 'UNKNOWN', message: e.message });
    return;
  }
  log('debug', 'media worker listening', { rtmpPort: config.rtmpPort, httpPort: config.httpPort });
  send({ type: 'listening' });
}

function stop(): void {
  for (const server of servers) server.close();
  engine?.cutAll();
  exitWith(0);
}

function main(): void {
  if (!process.send) {
    console.error('server/media/worker must be started by the media supervisor (child_process.fork)');
    process.exit(2);
  }
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  process.on('disconnect', () => exitWith(0));
  // A terminal's Ctrl-C reaches the whole process group; the parent decides when we stop.
  process.on('SIGINT', () => {});
  process.on('message', (message: unknown) => {
    if (!isToWorker(message)) {
      log('warn', 'media worker: malformed IPC message ignored');
      return;
    }
    switch (message.type) {
      case 'start':
        if (engine === undefined) start(message.config, message.streams).catch(fatal);
        break;
      case 'authorize':
        engine?.authorize(message.stream);
        break;
      case 'revoke':
        engine?.revoke(message.stream);
        break;
      case 'stop':
        stop();
        break;
    }
  });
}

main();
