/**
 * Benchmark 3: shipped size. `gulp dist` into a temporary folder, then the runtime files plus the runtime
 * deps, each .js minified with terser, raw and gzip -9 totals (bench/lib/size.ts, the competitors' method).
 */
import { measureShippedSize } from './lib/size';
import { budgeted, info, type BenchmarkResult, type Budgets } from './lib/types';

const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;

export async function run(budgets: Budgets): Promise<BenchmarkResult> {
  const reports = await measureShippedSize();
  const report = reports.p2p;
  const { kit, dependencies, total } = report;
  const rooms = reports.rooms.total;
  const live = reports.live.total;
  return {
    name: 'shipped size (an app with 1:1 calls only; then with rooms; then with live)',
    metrics: [
      budgeted(
        budgets,
        'size.minified',
        `kit + runtime deps, minified (${total.files} files)`,
        total.minified,
      ),
      budgeted(budgets, 'size.gzip', 'kit + runtime deps, minified + gzip -9', total.gzip),
      budgeted(
        budgets,
        'size.rooms.minified',
        `with rooms and group calls (+ group entry, room-screen; ${rooms.files} files), minified`,
        rooms.minified,
      ),
      budgeted(budgets, 'size.rooms.gzip', 'with rooms and group calls, minified + gzip -9', rooms.gzip),
      budgeted(
        budgets,
        'size.live.minified',
        `with interactive live (+ live entry, live-room; ${live.files} files), minified`,
        live.minified,
      ),
      budgeted(budgets, 'size.live.gzip', 'with interactive live, minified + gzip -9', live.gzip),
      info('size.raw', 'kit + runtime deps, raw', total.raw, 'B'),
      info(
        'size.kit.minified',
        `kit alone (miniprogram_dist, ${kit.files} files), minified`,
        kit.minified,
        'B',
      ),
      info(
        'size.deps.minified',
        'mobx-miniprogram (the only runtime dep), minified',
        dependencies.minified,
        'B',
      ),
    ],
    notes: [
      `kit ${kb(kit.raw)} raw / ${kb(kit.minified)} min / ${kb(kit.gzip)} gz; ` +
        `deps ${kb(dependencies.raw)} raw / ${kb(dependencies.minified)} min / ${kb(dependencies.gzip)} gz`,
      'largest minified files: ' +
        [...report.files]
          .sort((a, b) => b.minified - a.minified)
          .slice(0, 5)
          .map(
            (file) => `${file.file.replace(/^(miniprogram_dist|node_modules)\//, '')} ${kb(file.minified)}`,
          )
          .join(', '),
      `not reached from the entry, so not shipped by apps on our backend: ${
        report.optional.map((f) => f.file.replace(/^miniprogram_dist\//, '')).join(', ') || 'nothing'
      } (${kb(report.optional.reduce((n, f) => n + f.minified, 0))} min); the NetEase adapter is its own entry`,
      'for comparison (measured the same way, minified): Tencent TUICallKit G1 933 KB, G3 1.46 MB, NetEase 569 KB, ' +
        'Agora 169 KB (gzip: 233 KB, 500 KB, 148 KB, 38 KB)',
    ],
    details: reports,
  };
}
