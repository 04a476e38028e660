/**
 * Entry point of the media child process (forked by supervisor.ts; never imported by the server).
 *
 * Owns: the worker's lifecycle: wait for `start` over IPC, listen on the given ports with both fronts, apply
 * authorize/revoke, answer the supervisor's heartbeat, forward logs (level-filtered, and below warn rate-
 * limited, so a flood of refusals cannot flood the pipe), exit on `stop`. It must never outlive its parent
 * (exit on IPC disconnect) and never keep running after an uncaught exception: its state is then unknown, so
 * it logs, exits non-zero, and the supervisor starts a clean one.
 */
import type { Server } from 'node:net';
import { createEngine, type Engine, type Log } from './engine';
import { createHttpFront } from './front-http';
import { createRtmpFront } from './front-rtmp';
import { isToWorker, shouldLog, type FromWorker, type LogLevel, type WorkerConfig } from './ipc';
import { assertNmsShape } from './nms';
import { describe } from './values';

// Refusals arrive as fast as an attacker can open sockets; beyond this many lines per second we count and
// summarise instead of forwarding each one. Warn and above are never held back: they are the worker's own
// trouble, not a client's doing.
const MAX_LOG_LINES_PER_SECOND = 100;
const LOG_WINDOW_MS = 1000;
const EXIT_FLUSH_MS = 500;
const HANG_MS = 10 * 60 * 1000;

const send = (message: FromWorker): void => {
  if (process.connected) process.send?.(message, undefined, {}, () => {});
};

let threshold: LogLevel | 'silent' = 'warn';
let windowStart = 0;
let linesInWindow = 0;
let suppressed = 0;

/** The summary of lines held back since the last one, if any (and starts counting afresh). */
function takeSuppressed(): FromWorker | undefined {
  if (suppressed === 0) return undefined;
  const fields = { suppressed };
  suppressed = 0;
  return { type: 'log', level: 'warn', msg: 'media worker log lines suppressed', fields };
}

function reportSuppressed(): void {
  const summary = takeSuppressed();
  if (summary) send(summary);
}

const log: Log = (level, msg, fields) => {
  if (!shouldLog(level, threshold)) return;
  if (!shouldLog(level, 'warn')) {
    const now = Date.now();
    if (now - windowStart >= LOG_WINDOW_MS) {
      windowStart = now;
      linesInWindow = 0;
    }
    if (++linesInWindow > MAX_LOG_LINES_PER_SECOND) {
      // The summary goes out when the window ends, whether or not another line comes to trigger it.
      if (suppressed++ === 0) setTimeout(reportSuppressed, windowStart + LOG_WINDOW_MS - now).unref();
      return;
    }
  }
  send({ type: 'log', level, msg, fields });
};

let engine: Engine | undefined;
let testHang = false;
let exiting = false;

/** Sends what is left to say (a last message, the suppressed count), then exits even if the pipe is stuck. */
function exitWith(code: number, message?: FromWorker): void {
  if (exiting) return;
  exiting = true;
  const summary = takeSuppressed();
  // IPC messages go out in order: the last one's callback means all were written.
  const last = message ?? summary;
  if (message && summary) send(summary);
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
  // Our own stack, not a client's value: whole, so the crash can be found.
  const err = error instanceof Error ? (error.stack ?? error.message) : describe(error);
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
  testHang = config.testHang;
  assertNmsShape();
  engine = createEngine(config, log);
  for (const stream of streams) engine.authorize(stream);
  const servers: Server[] = [createRtmpFront(engine), createHttpFront(engine)];
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

/** Blocks the event loop without burning a core, as a stuck worker would; the supervisor kills it. */
function hang(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, HANG_MS);
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
      case 'access':
        for (const { stream, allowed } of message.changes)
          if (allowed) engine?.authorize(stream);
          else engine?.revoke(stream);
        break;
      case 'ping':
        send({ type: 'pong', seq: message.seq });
        break;
      case 'test-hang':
        if (testHang) hang();
        else log('warn', 'media worker: test-hang ignored (not a test worker)');
        break;
      case 'stop':
        // Exiting closes the listeners and every connection; nothing is left to flush but the logs.
        exitWith(0);
        break;
    }
  });
}

main();
