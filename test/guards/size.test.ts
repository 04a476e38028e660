/** @jest-environment node */
/**
 * Guard: what a mini-program ships for the kit stays within bench/budgets.json. Builds `gulp dist` into a
 * temporary folder (like test/devtools), minifies each .js with terser, adds the runtime deps and
 * compares (bench/lib/size.ts; `npm run bench` prints the same numbers with the other benchmarks).
 */
import { measureShippedSize, type SizeReport } from '../../bench/lib/size';
import { loadBudgets } from '../../bench/lib/types';

const budgets = loadBudgets();
let report: SizeReport;

beforeAll(async () => {
  report = await measureShippedSize();
}, 120_000);

function overBudget(id: 'size.minified' | 'size.gzip', value: number): string {
  const largest = [...report.files]
    .sort((a, b) => b.minified - a.minified)
    .slice(0, 6)
    .map((file) => `  ${file.file}: ${file.minified} B minified, ${file.gzip} B gzip`)
    .join('\n');
  return (
    `${id}: ${value} B is over the budget of ${budgets[id].max} B in bench/budgets.json by ${value - budgets[id].max} B ` +
    `(kit ${report.kit.minified} B minified / ${report.kit.gzip} B gzip, runtime deps ${report.dependencies.minified} B / ` +
    `${report.dependencies.gzip} B). Largest files:\n${largest}`
  );
}

describe('shipped size guard', () => {
  it('measures the kit and its one runtime dep, and leaves the optional NetEase adapter out', () => {
    expect(report.kit.files).toBeGreaterThan(0);
    expect(report.files.some((file) => file.file.endsWith('.d.ts'))).toBe(false);
    expect(report.dependencies.files).toBe(1);
    // Optional entries are built but not reached from the package entry or any component.
    expect(report.optional.map((file) => file.file)).toContain(
      'miniprogram_dist/services/netcall/nim-netcall.js',
    );
    expect(report.files.map((file) => file.file)).toContain('miniprogram_dist/services/call/session.js');
  });

  it('stays within the minified budget', () => {
    if (report.total.minified > budgets['size.minified'].max)
      throw new Error(overBudget('size.minified', report.total.minified));
  });

  it('stays within the gzip budget', () => {
    if (report.total.gzip > budgets['size.gzip'].max)
      throw new Error(overBudget('size.gzip', report.total.gzip));
  });
});
