/** A sliding-window counter per key, for the memory store's rate limits and caps. */
/** How many times each key happened within the last `windowMs`; memory is bounded by the keys still counting. */
export class SlidingCounter {
  private readonly hits = new Map<string, number[]>();
  // Pruning scans every key, so it runs only when the map has doubled since the last scan: amortised O(1).
  private pruneAt = 1024;

  constructor(private readonly windowMs: number) {}

  /** Counts a hit for `key` if fewer than `max` happened in the window; returns whether it was allowed. */
  tryHit(key: string, max: number, now: number): boolean {
    const recent = (this.hits.get(key) ?? []).filter((at) => at > now - this.windowMs);
    if (recent.length >= max) {
      this.hits.set(key, recent);
      return false;
    }
    recent.push(now);
    this.hits.set(key, recent);
    if (this.hits.size > this.pruneAt) {
      for (const [name, list] of this.hits)
        if (list.every((at) => at <= now - this.windowMs)) this.hits.delete(name);
      this.pruneAt = Math.max(1024, this.hits.size * 2);
    }
    return true;
  }
}
