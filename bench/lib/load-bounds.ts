/**
 * The hard limits of the load generator (bench/load-calls.ts, bench/load-idle.ts and their child processes),
 * checked on both sides of the fork: the parent before it starts anything, every child again before it opens a
 * socket. A load generator pointed at the wrong host is an attack, so it only ever dials loopback, never more
 * than MAX_CLIENTS sockets in all, and every run has a time limit after which its processes are killed.
 */

import { budgeted, info, type Budgets, type Metric } from './types';

/** Sockets one load run may open in all (every child together); the machines allow 20,000 open files. */
export const MAX_CLIENTS = 20_000;
/** No load run, however it is configured, may last longer than this. */
export const MAX_RUN_MS = 15 * 60_000;

/** Whether `host` (a URL's hostname or a bind address) is this machine's loopback. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1') return true;
  const octets = bare.split('.');
  return (
    octets.length === 4 &&
    octets[0] === '127' &&
    octets.every((octet) => /^\d{1,3}$/.test(octet) && Number(octet) <= 255)
  );
}

/** Throws unless `url` is a ws:// or http:// URL on loopback. */
export function requireLoopback(url: string): void {
  const parsed = new URL(url);
  if (!['ws:', 'http:'].includes(parsed.protocol) || !isLoopback(parsed.hostname))
    throw new Error(`the load generator targets loopback only, not ${url}`);
}

/** Throws unless `count` sockets fit under MAX_CLIENTS. */
export function requireWithinCap(count: number, what: string): void {
  if (!Number.isInteger(count) || count < 0 || count > MAX_CLIENTS)
    throw new Error(`${what}: ${count} sockets is over the load generator's cap of ${MAX_CLIENTS}`);
}

/**
 * BENCH_LOAD_SCALE, a fraction of the full load in (0, 1] (default 1) for quick checks. Budgets apply only at
 * full scale: a tenth of the load says nothing about the whole.
 */
export function loadScale(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.BENCH_LOAD_SCALE;
  if (text === undefined || text === '') return 1;
  const scale = Number(text);
  if (!(scale > 0 && scale <= 1)) throw new Error(`BENCH_LOAD_SCALE must be in (0, 1], got "${text}"`);
  return scale;
}

/** `full` scaled down, at least `least`. */
export const scaled = (full: number, scale: number, least = 1): number =>
  Math.max(least, Math.round(full * scale));

/** Sizes of `total` split over `parts` (generator processes) as evenly as can be. */
export const split = (total: number, parts: number): number[] =>
  Array.from({ length: parts }, (_, index) => Math.floor(total / parts) + (index < total % parts ? 1 : 0));

export const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);

/** Counts from every generator process, added up by name. */
export function tally(records: Array<Record<string, number>>): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const record of records)
    for (const [key, count] of Object.entries(record)) merged[key] = (merged[key] ?? 0) + count;
  return merged;
}

/**
 * A load benchmark's metrics at `scale`: budgeted at full scale; at any other, info only, each label saying so
 * (`scope`), since a fraction of the load says nothing about the budget.
 */
export function scaledMetrics(budgets: Budgets, scale: number) {
  const full = scale === 1;
  const scope = full ? '' : ` (scale ${scale}: info only)`;
  const metric = (id: string, label: string, value: number, unit: string): Metric =>
    full ? budgeted(budgets, id, label + scope, value) : info(id, label + scope, value, unit);
  return { scope, metric };
}
