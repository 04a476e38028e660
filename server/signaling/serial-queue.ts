/**
 * A promise chain that runs tasks one after another: each connection has one, so its frames are handled in
 * arrival order and its close is handled after them, however long the store takes to answer. Owns ordering
 * only: what may be queued, and how many, is the edge's decision (socket-server.ts). A task's failure is
 * handed to its own error handler and never stops the tasks after it.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;

  /** Tasks queued and not finished, the running one included. */
  get size(): number {
    return this.waiting;
  }

  /** Runs `task` once every task queued before it has settled. Never rejects. */
  push(task: () => void | Promise<void>, onError: (error: unknown) => void): Promise<void> {
    this.waiting++;
    const run = this.tail
      .then(task)
      .catch((error: unknown) => {
        try {
          onError(error);
        } catch {
          // The error handler is a logger or a reply: when even that fails, nothing is left to tell.
        }
      })
      .finally(() => {
        this.waiting--;
      });
    this.tail = run;
    return run;
  }
}
