/**
 * One nginx process group, from spawn to gone (the plane decides when to start one and what to do when it
 * dies).
 *
 * Owns: how nginx is spawned (its own process group, an empty environment, its error log on our stderr
 * pipe), readiness (the control server answers our token), and making sure no part of it outlives us: the
 * whole group is killed when the master exits (a master killed with SIGKILL leaves its worker running, still
 * holding the RTMP port), on our exit, and, through a tiny watchdog shell holding a pipe to us, when we are
 * killed outright. It must never pass a secret through argv or env (they live in the 0600 config file).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { Logger } from 'pino';

const STDERR_TAIL = 4000;
// nginx retries a taken port for ~2.5 s before it gives up; a loaded 2-core machine adds to that.
const READY_TIMEOUT_MS = 20_000;
const READY_POLL_MS = 50;

export interface NginxExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface NginxProcess {
  /** The master's pid, which is also the group's id. */
  pid: number;
  /** Resolves once the control server answers our token; rejects (the group is gone by then) otherwise. */
  ready: Promise<void>;
  /** Resolves when the master exited and the rest of its group was killed. */
  exited: Promise<NginxExit>;
  /** SIGTERM (nginx's fast shutdown) to the group, SIGKILL after `timeoutMs`; resolves once it is gone. */
  stop(timeoutMs: number): Promise<void>;
  /** SIGKILL to the whole group, at once (for process exit: synchronous). */
  kill(): void;
}

export class NginxStartError extends Error {
  constructor(
    message: string,
    /** A port was taken: worth retrying on other ports. */
    readonly addressInUse: boolean,
  ) {
    super(message);
    this.name = 'NginxStartError';
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

const LEVELS: Record<string, 'error' | 'warn' | 'info' | 'debug'> = {
  emerg: 'error',
  alert: 'error',
  crit: 'error',
  error: 'error',
  warn: 'warn',
  notice: 'info',
  info: 'info',
  debug: 'debug',
};

/** Forwards nginx's error-log lines to our logger at their own level; keeps a tail for start failures. */
function forwardStderr(child: ChildProcess, log?: Logger): () => string {
  let tail = '';
  let pending = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-STDERR_TAIL);
    pending += chunk;
    const lines = pending.split('\n');
    pending = (lines.pop() ?? '').slice(-STDERR_TAIL);
    for (const line of lines.filter(Boolean)) {
      const level = LEVELS[/\[(\w+)\]/.exec(line)?.[1] ?? ''] ?? 'warn';
      log?.[level]({ pid: child.pid, nginx: line.slice(0, 500) }, 'nginx');
    }
  });
  return () => tail;
}

/** Whether our nginx answers its control server's ready path with our token; never rejects. */
export function askReady(url: string, token: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk.slice(0, 200)));
      res.on('end', () => resolve(res.statusCode === 200 && body === token));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/**
 * A shell in its own session that reads our pipe and, when it ends (we died, however), kills the nginx
 * group and removes the private folder (its config holds the hook secret). Its own session: a terminal's
 * Ctrl-C must not take it down before it has done its job.
 */
function startWatchdog(pid: number, folder: string): ChildProcess | undefined {
  try {
    const watchdog = spawn(
      '/bin/sh',
      ['-c', 'read _; kill -9 "-$1" 2>/dev/null; /bin/rm -rf -- "$2"', 'nginx-watchdog', String(pid), folder],
      {
        detached: true,
        stdio: ['pipe', 'ignore', 'ignore'],
        env: {},
      },
    );
    watchdog.on('error', () => {});
    watchdog.stdin?.on('error', () => {});
    return watchdog;
  } catch {
    return undefined; // process exit and close() still kill the group; only an outright kill of us would not
  }
}

export function spawnNginx(options: {
  binary: string;
  prefix: string;
  confPath: string;
  readyUrl: string;
  readyToken: string;
  log?: Logger;
}): NginxProcess {
  const { log } = options;
  // -e stderr: nginx opens its compiled-in error log before reading our config; this keeps it off /var/log.
  const child = spawn(options.binary, ['-p', `${options.prefix}/`, '-c', options.confPath, '-e', 'stderr'], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: process.env.TZ ? { TZ: process.env.TZ } : {},
  });
  const stderr = forwardStderr(child, log);
  const pid = child.pid;
  const watchdog = pid === undefined ? undefined : startWatchdog(pid, options.prefix);
  const kill = (): void => {
    if (pid !== undefined) killGroup(pid, 'SIGKILL');
  };
  process.on('exit', kill);

  const exited = new Promise<NginxExit>((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      // The master is gone; anything left in its group (a worker after a SIGKILLed master) goes with it.
      kill();
      watchdog?.kill('SIGKILL');
      process.off('exit', kill);
      resolve({ code, signal });
    };
    child.once('exit', done);
    child.once('error', (error) => {
      log?.error({ err: error.message }, 'nginx could not be spawned');
      if (child.pid === undefined) done(null, null);
    });
  });

  const ready = new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (error: NginxStartError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      kill();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new NginxStartError(`nginx not ready after ${READY_TIMEOUT_MS} ms\n${stderr()}`, false)),
      READY_TIMEOUT_MS,
    );
    void exited.then(({ code, signal }) => {
      const text = stderr();
      fail(
        new NginxStartError(
          `nginx exited before it was ready (code ${code}, signal ${signal})\n${text}`,
          /Address already in use/.test(text),
        ),
      );
    });
    const poll = async (): Promise<void> => {
      while (!settled) {
        if (await askReady(options.readyUrl, options.readyToken)) {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve();
          return;
        }
        await new Promise((wake) => setTimeout(wake, READY_POLL_MS));
      }
    };
    void poll();
  });
  ready.catch(() => {}); // observed by the plane; a failed start must not also be an unhandled rejection

  return {
    pid: pid ?? -1,
    ready,
    exited,
    kill,
    async stop(timeoutMs) {
      if (child.exitCode !== null || child.signalCode !== null) {
        await exited;
        return;
      }
      if (pid !== undefined) killGroup(pid, 'SIGTERM');
      const timer = setTimeout(kill, timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
