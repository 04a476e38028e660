/**
 * One media worker process, from fork to listening (the supervisor decides when to start one and what to do
 * when it dies).
 *
 * Owns: how the worker is forked (its entry file, a stripped environment, JSON IPC), its stdout/stderr, and
 * the start handshake (`start` out, `listening` or `listen-failed` back, bounded in time). It must never pass
 * a secret through argv or env: the config, keys included, goes over IPC only.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Logger } from 'pino';
import { isFromWorker, type FromWorker, type ToWorker, type WorkerConfig } from './ipc';
import { describe } from './values';

// A ts-node worker is ready in ~0.5 s; a loaded 2-core machine can take many times that.
const READY_TIMEOUT_MS = 30_000;
const STDERR_TAIL = 4000;

// `worker` with this file's own extension: a compiled build forks worker.js with plain node.
const WORKER_EXT = path.extname(__filename);
const WORKER_ENTRY = path.join(__dirname, `worker${WORKER_EXT}`);
const WORKER_EXEC_ARGV =
  WORKER_EXT === '.ts' ? ['-r', createRequire(__filename).resolve('ts-node/register/transpile-only')] : [];
// The worker needs nothing from the environment but what runs Node and ts-node: in particular not the
// NETCALL_* secrets an operator may have exported.
const ENV_ALLOWED = /^(PATH|HOME|TMPDIR|TEMP|TMP|TZ|LANG|LC_[A-Z]+|NODE_ENV|TS_NODE_[A-Z_]+|SystemRoot)$/;

function workerEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => ENV_ALLOWED.test(key)));
  // ts-node looks for its tsconfig from the cwd when preloaded with -r; the server may run from anywhere.
  if (WORKER_EXT === '.ts' && env.TS_NODE_PROJECT === undefined) {
    const project = findUp(__dirname, 'tsconfig.json');
    if (project) env.TS_NODE_PROJECT = project;
  }
  return env;
}

function findUp(dir: string, name: string): string | undefined {
  for (let current = dir; ; current = path.dirname(current)) {
    if (existsSync(path.join(current, name))) return path.join(current, name);
    if (path.dirname(current) === current) return undefined;
  }
}

class ListenError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The worker could not listen because a port is taken. */
export function isAddrInUse(error: unknown): boolean {
  return error instanceof ListenError && error.code === 'EADDRINUSE';
}

export interface WorkerHooks {
  log?: Logger;
  /** Every well-formed message from the worker (logs, heartbeat answers, the start handshake). */
  onMessage(message: FromWorker): void;
  /** The worker exited after it was listening (before that, `ready` rejects instead). */
  onExit(code: number | null, signal: NodeJS.Signals | null): void;
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves once both listeners accept connections; rejects (and the process is gone) otherwise. */
  ready: Promise<void>;
}

/** Forks a worker and sends it `start`. */
export function forkWorker(config: WorkerConfig, streams: string[], hooks: WorkerHooks): WorkerProcess {
  const { log } = hooks;
  const child = fork(WORKER_ENTRY, [], {
    execArgv: WORKER_EXEC_ARGV,
    env: workerEnv(),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  });
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) =>
    log?.debug({ pid: child.pid, out: chunk.toString('utf8').trimEnd() }, 'media worker stdout'),
  );
  child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    stderr = (stderr + text).slice(-STDERR_TAIL);
    log?.warn({ pid: child.pid, err: text.trimEnd() }, 'media worker stderr');
  });
  child.on('error', (error) => log?.warn({ err: describe(error) }, 'media worker process error'));
  child.on('message', (message: unknown) => {
    if (isFromWorker(message)) hooks.onMessage(message);
  });

  const ready = new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onEarlyExit);
    };
    const fail = (error: Error): void => {
      cleanup();
      child.kill('SIGKILL');
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new Error(`media worker not ready after ${READY_TIMEOUT_MS} ms\n${stderr}`)),
      READY_TIMEOUT_MS,
    );
    const onMessage = (message: unknown): void => {
      if (!isFromWorker(message)) return;
      if (message.type === 'listening') {
        cleanup();
        child.once('exit', (code, signal) => hooks.onExit(code, signal));
        resolve();
      } else if (message.type === 'listen-failed') {
        fail(new ListenError(message.code, `media worker cannot listen: ${message.message}`));
      }
    };
    const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      reject(new Error(`media worker exited before listening (code ${code}, signal ${signal})\n${stderr}`));
    };
    child.on('message', onMessage);
    child.once('exit', onEarlyExit);
  });
  child.send({ type: 'start', config, streams } satisfies ToWorker);
  return { child, ready };
}
