/**
 * A pino logger that keeps its JSON lines in memory, so media tests can observe what the worker did (its
 * refusal reasons arrive over IPC as log lines) and wait for a line instead of sleeping.
 */
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export interface LogLine {
  msg: string;
  level: number;
  component?: string;
  protocol?: string;
  reason?: string;
  stream?: string;
  status?: number;
  ip?: string;
  [key: string]: unknown;
}

export class LogCapture {
  readonly lines: LogLine[] = [];
  readonly logger: Logger;
  private readonly events = new EventEmitter();

  constructor(level: pino.LevelWithSilent = 'debug') {
    this.events.setMaxListeners(0);
    this.logger = pino(
      { level },
      new Writable({
        write: (chunk: Buffer, _encoding, done) => {
          for (const text of chunk.toString('utf8').split('\n').filter(Boolean)) {
            const line = JSON.parse(text) as LogLine;
            this.lines.push(line);
            this.events.emit('line', line);
          }
          done();
        },
      }),
    );
  }

  /** Position in the log: pass it as `since` to ignore what was logged before. */
  mark(): number {
    return this.lines.length;
  }

  /** Resolves with the first line (logged since `since`, or yet to come) that matches. */
  waitFor(
    match: (line: LogLine) => boolean,
    timeoutMs: number,
    what = 'a matching log line',
    since = 0,
  ): Promise<LogLine> {
    const found = this.lines.slice(since).find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onLine = (line: LogLine): void => {
        if (!match(line)) return;
        clearTimeout(timer);
        this.events.off('line', onLine);
        resolve(line);
      };
      const timer = setTimeout(() => {
        this.events.off('line', onLine);
        const recent = this.lines
          .slice(-15)
          .map((l) => JSON.stringify(l))
          .join('\n');
        reject(new Error(`no ${what} within ${timeoutMs} ms; last lines:\n${recent}`));
      }, timeoutMs);
      this.events.on('line', onLine);
    });
  }

  /** Resolves once `condition` (over all lines so far) holds, re-checked on every new line. */
  async until(condition: () => boolean, timeoutMs: number, what = 'the expected log lines'): Promise<void> {
    if (condition()) return;
    await this.waitFor(() => condition(), timeoutMs, what);
  }

  /**
   * The refusal the worker logged for the connection from local port `port`, logged since `since` (a mark()
   * taken before connecting: the OS reuses local ports, and an earlier connection's refusal must not match).
   */
  refusalFrom(port: number, since: number, timeoutMs = 10000): Promise<LogLine> {
    return this.waitFor(
      (l) => l.msg === 'media request refused' && l.ip === `127.0.0.1:${port}`,
      timeoutMs,
      `refusal for 127.0.0.1:${port}`,
      since,
    );
  }

  /** Refusals logged for `stream` (a name; matched against the /live/<name> path). */
  refusalsFor(stream: string): LogLine[] {
    return this.lines.filter((l) => l.msg === 'media request refused' && l.stream === `/live/${stream}`);
  }

  /**
   * Resolves once the worker accepted a publish (or a play, over `protocol` if given) of `stream`, logged
   * since `since` (a mark() taken before starting the client).
   */
  accepted(
    kind: 'publish' | 'play',
    stream: string,
    options: { since: number; protocol?: string; timeoutMs?: number },
  ): Promise<LogLine> {
    return this.waitFor(
      (l) =>
        l.msg === `${kind} accepted` &&
        l.stream === `/live/${stream}` &&
        (options.protocol === undefined || l.protocol === options.protocol),
      options.timeoutMs ?? 15000,
      `${kind} accepted for ${stream}`,
      options.since,
    );
  }
}
