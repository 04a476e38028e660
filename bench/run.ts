/**
 * `npm run bench`: runs every benchmark in turn, prints one table (metric, value, budget, pass/fail),
 * writes bench/results.json, and exits 1 if any budget fails (2 if a benchmark could not run at all).
 * Budgets live in bench/budgets.json. `npm run bench -- size call-setup` runs a subset (by module name).
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { performance } from 'perf_hooks';
import { loadBudgets, type BenchmarkResult, type Budgets, type Metric } from './lib/types';

interface BenchmarkModule {
  run(budgets: Budgets): Promise<BenchmarkResult>;
}

/** Cheapest first; each module is imported only when it runs (the setData ones install a DOM). */
const BENCHMARKS: Record<string, () => Promise<BenchmarkModule>> = {
  'setdata-join': () => import('./setdata-join'),
  'setdata-steady': () => import('./setdata-steady'),
  size: () => import('./size'),
  'call-setup': () => import('./call-setup'),
  'room-join': () => import('./room-join'),
  'first-frame': () => import('./first-frame'),
  'live-mix': () => import('./live-mix'),
  'cluster-setup': () => import('./cluster-setup'),
  'media-capacity': () => import('./media-capacity'),
  // Minutes each, and they load the machine: last.
  'load-calls': () => import('./load-calls'),
  'load-idle': () => import('./load-idle'),
};

const RESULTS_FILE = path.join(__dirname, 'results.json');

function machine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  return {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpu,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
  };
}

const format = (value: number) => (Number.isInteger(value) ? value.toLocaleString('en-US') : String(value));

function table(metrics: Metric[]): string {
  const rows = metrics.map((metric) => [
    metric.label,
    `${format(metric.value)} ${metric.unit}`,
    metric.budget === null
      ? ''
      : // A count that must reach a number shows that number; its max is only the generator's cap.
        metric.min !== undefined
        ? `≥ ${format(metric.min)} ${metric.unit}`
        : `≤ ${format(metric.budget)} ${metric.unit}`,
    metric.pass === null ? 'info' : metric.pass ? 'pass' : 'FAIL',
  ]);
  const header = ['metric', 'value', 'budget', 'result'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column].length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join(' | ')} |`;
  const rule = `| ${widths.map((width, column) => (column === 0 ? '-'.repeat(width) : `${'-'.repeat(width - 1)}:`)).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  const budgets = loadBudgets();
  const selected = process.argv.slice(2);
  const unknown = selected.filter((name) => !(name in BENCHMARKS));
  if (unknown.length)
    throw new Error(
      `unknown benchmark(s) ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`,
    );
  const names = selected.length ? selected : Object.keys(BENCHMARKS);

  // A benchmark may wait on nothing but unref'd handles (the test Redis's process): the run must not end there.
  const keepAlive = setInterval(() => undefined, 60_000);
  const results: Array<BenchmarkResult & { module: string; seconds: number }> = [];
  const errors: Array<{ module: string; error: string }> = [];
  for (const name of names) {
    const started = performance.now();
    process.stderr.write(`bench: ${name}…\n`);
    try {
      const result = await (await BENCHMARKS[name]()).run(budgets);
      results.push({ ...result, module: name, seconds: (performance.now() - started) / 1000 });
    } catch (error) {
      errors.push({
        module: name,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
    }
  }

  clearInterval(keepAlive);
  const metrics = results.flatMap((result) => result.metrics);
  const host = machine();
  console.log(`\nmachine: ${host.nproc} cores, ${host.cpu}, Node ${host.node}, ${host.platform}\n`);
  console.log(table(metrics));
  console.log('');
  for (const result of results) {
    for (const note of result.notes) console.log(`${result.name}: ${note}`);
  }
  for (const { module, error } of errors) console.error(`\nbench ${module} could not run:\n${error}`);

  const failed = metrics.filter((metric) => metric.pass === false);
  fs.writeFileSync(
    RESULTS_FILE,
    `${JSON.stringify({ date: new Date().toISOString(), machine: host, budgets, metrics, failed: failed.map((m) => m.id), errors, results }, null, 2)}\n`,
  );
  console.log(`\nwrote ${path.relative(process.cwd(), RESULTS_FILE)}`);
  if (failed.length) console.log(`over budget: ${failed.map((metric) => metric.id).join(', ')}`);
  if (errors.length) return 2;
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
