/**
 * Runs tasks one after another: each connection has one, so its frames are handled in arrival order and its
 * close is handled after them, however long the store takes to answer. Owns ordering only: what may be
 * queued, and how many, is the edge's decision (socket-server.ts). A task's failure is handed to its own error
 * handler and never stops the tasks after it.
 *
 * A list and one `then` per asynchronous task rather than a promise chain: every frame passes here, and a
 * chain costs three promises and their reactions per task whether or not anything waits.
 */

type Task = () => void | PromiseLike<void>;

interface Entry {
  task: Task;
  onError: (error: unknown) => void;
  /** Called once the task settled, after `onError`. */
  onSettled?: () => void;
}

export class SerialQueue {
  /** Waiting tasks; the first one is running. */
  private readonly entries: Entry[] = [];

  /** Tasks queued and not finished, the running one included. */
  get size(): number {
    return this.entries.length;
  }

  /**
   * Runs `task` once every task queued before it has settled, never within this call (a task that closes a
   * socket must not close it under its caller's feet), then `onSettled`.
   */
  push(task: Task, onError: (error: unknown) => void, onSettled?: () => void): void {
    this.entries.push({ task, onError, onSettled });
    if (this.entries.length === 1) queueMicrotask(this.runHead);
  }

  private readonly runHead = (): void => {
    // Synchronous tasks (an answer decided on arrival, a close) run back to back in one microtask.
    while (this.entries.length > 0) {
      const entry = this.entries[0];
      let pending: void | PromiseLike<void>;
      try {
        pending = entry.task();
      } catch (error) {
        this.finish(entry, error, true);
        continue;
      }
      if (pending && typeof pending.then === 'function') {
        pending.then(
          () => this.finishAndGoOn(entry, undefined, false),
          (error: unknown) => this.finishAndGoOn(entry, error, true),
        );
        return;
      }
      this.finish(entry, undefined, false);
    }
  };

  private finishAndGoOn(entry: Entry, error: unknown, failed: boolean): void {
    this.finish(entry, error, failed);
    this.runHead();
  }

  private finish(entry: Entry, error: unknown, failed: boolean): void {
    if (failed) report(entry, error);
    this.entries.shift();
    if (!entry.onSettled) return;
    try {
      entry.onSettled();
    } catch (settleError) {
      report(entry, settleError);
    }
  }
}

function report(entry: Entry, error: unknown): void {
  try {
    entry.onError(error);
  } catch {
    // The error handler is a logger or a reply: when even that fails, nothing is left to tell.
  }
}
