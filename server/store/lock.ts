/**
 * One cluster-wide lock on Redis, so that handlers on different nodes never interleave their reads and
 * writes of the shared state (a call answered on one node while it is hung up on another).
 *
 * A node queues its own critical sections and takes the Redis lock once for a batch of them (up to
 * BATCH_MS), which keeps the lock's round trips off most requests. The lock is a key with a random token
 * and a time to live: released only by its holder (compare-and-delete), extended while held, and lost by a
 * node that dies holding it after `ttlMs` at most. Waiters poll with a short, growing delay.
 */
import { AsyncLocalStorage } from 'async_hooks';
import { randomBytes } from 'crypto';
import type Redis from 'ioredis';

/** How long one node keeps the lock for a batch of its own queued sections before letting others in. */
const BATCH_MS = 10;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const EXTEND = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

interface Waiter {
  fn: () => Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * The section a piece of code runs in. A section that reaches another (a handler calling a shared helper that
 * takes the lock) runs it inline; a timer armed inside a section inherits its id but fires after it ended,
 * so it queues like anyone else.
 */
const inside = new AsyncLocalStorage<object>();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ClusterLock {
  private readonly queue: Waiter[] = [];
  private running = false;
  private current: object | null = null;
  private stopped = false;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly ttlMs: number,
    private readonly unavailable: () => Error,
  ) {}

  run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.current !== null && inside.getStore() === this.current) return fn();
    // Stopped (the node left): nothing would ever drain the queue.
    if (this.stopped) return Promise.reject(this.unavailable());
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (!this.running) void this.drain();
    });
  }

  stop(): void {
    this.stopped = true;
    for (const waiter of this.queue.splice(0)) waiter.reject(this.unavailable());
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.stopped) {
        let token: string;
        try {
          token = await this.acquire();
        } catch (error) {
          // Redis is away: every section waiting now fails the same way (503), none hangs.
          for (const waiter of this.queue.splice(0)) waiter.reject(error);
          break;
        }
        const extender = setInterval(() => {
          this.redis.eval(EXTEND, 1, this.key, token, String(this.ttlMs)).catch(() => undefined);
        }, this.ttlMs / 3);
        extender.unref();
        const started = Date.now();
        try {
          while (this.queue.length > 0 && Date.now() - started < BATCH_MS) {
            const waiter = this.queue.shift()!;
            const section = {};
            this.current = section;
            try {
              waiter.resolve(await inside.run(section, waiter.fn));
            } catch (error) {
              waiter.reject(error);
            } finally {
              this.current = null;
            }
          }
        } finally {
          clearInterval(extender);
          await this.redis.eval(RELEASE, 1, this.key, token).catch(() => undefined);
        }
        // Let a polling node in before this one takes the lock again (they poll every 2 ms at most).
        if (this.queue.length > 0) await sleep(3);
      }
    } finally {
      this.running = false;
    }
  }

  private async acquire(): Promise<string> {
    const token = randomBytes(12).toString('hex');
    let delay = 1;
    const deadline = Date.now() + this.ttlMs * 2;
    for (;;) {
      if (this.redis.status !== 'ready') throw this.unavailable();
      let taken: string | null;
      try {
        taken = await this.redis.set(this.key, token, 'PX', this.ttlMs, 'NX');
      } catch {
        throw this.unavailable();
      }
      if (taken === 'OK') return token;
      // Past twice the lock's life the holder is stuck in a way TTL cannot explain: refuse, don't hang.
      if (Date.now() > deadline) throw this.unavailable();
      await sleep(delay);
      delay = Math.min(delay * 2, 2);
    }
  }
}
