/** @jest-environment node */
/**
 * Guard: what a mini-program ships for the kit stays within bench/budgets.json, for an app with 1:1 calls
 * only, for an app with rooms and group calls too, and for an app with interactive live. Builds `gulp dist` into a temporary folder (like
 * test/devtools), minifies each .js with terser, adds the runtime deps and compares (bench/lib/size.ts;
 * `npm run bench` prints the same numbers with the other benchmarks).
 */
import { measureShippedSize, type Profile, type SizeReport } from '../../bench/lib/size';
import { loadBudgets } from '../../bench/lib/types';

const budgets = loadBudgets();
let reports: Record<Profile, SizeReport>;

beforeAll(async () => {
  reports = await measureShippedSize();
}, 120_000);

const BUDGET_IDS: Record<Profile, { minified: string; gzip: string }> = {
  p2p: { minified: 'size.minified', gzip: 'size.gzip' },
  rooms: { minified: 'size.rooms.minified', gzip: 'size.rooms.gzip' },
  live: { minified: 'size.live.minified', gzip: 'size.live.gzip' },
};

function overBudget(report: SizeReport, id: string, value: number): string {
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

const shipped = (profile: Profile) => reports[profile].files.map((file) => file.file);

describe('shipped size guard', () => {
  it('measures the kit and its one runtime dep, and leaves the optional NetEase adapter out', () => {
    const report = reports.p2p;
    expect(report.kit.files).toBeGreaterThan(0);
    expect(report.files.some((file) => file.file.endsWith('.d.ts'))).toBe(false);
    expect(report.dependencies.files).toBe(1);
    // Optional entries are built but not reached from the package entry or any component.
    expect(report.optional.map((file) => file.file)).toContain(
      'miniprogram_dist/services/netcall/nim-netcall.js',
    );
    expect(shipped('p2p')).toContain('miniprogram_dist/services/call/session.js');
  });

  it('ships the group entry and room-screen only to apps with rooms', () => {
    const group = [
      'miniprogram_dist/services/call/group-session.js',
      'miniprogram_dist/components/room-screen/index.js',
    ];
    for (const file of group) {
      expect(shipped('p2p')).not.toContain(file);
      expect(shipped('rooms')).toContain(file);
    }
    // Everything a 1:1 app ships, an app with rooms ships too.
    expect(shipped('rooms')).toEqual(expect.arrayContaining(shipped('p2p')));
  });

  it('ships the live entry and live-room only to apps with live, and the group entry not to them', () => {
    const live = [
      'miniprogram_dist/services/live/live-session.js',
      'miniprogram_dist/services/stores/live-store.js',
      'miniprogram_dist/services/i18n/live.js',
      'miniprogram_dist/components/live-room/index.js',
    ];
    for (const file of live) {
      expect(shipped('p2p')).not.toContain(file);
      expect(shipped('rooms')).not.toContain(file);
      expect(shipped('live')).toContain(file);
    }
    expect(shipped('live')).not.toContain('miniprogram_dist/services/call/group-session.js');
    expect(shipped('live')).not.toContain('miniprogram_dist/components/room-screen/index.js');
    // Everything a 1:1 app ships, an app with live ships too.
    expect(shipped('live')).toEqual(expect.arrayContaining(shipped('p2p')));
  });

  describe.each(['p2p', 'rooms', 'live'] as const)('%s app', (profile) => {
    it('stays within the minified budget', () => {
      const { minified } = reports[profile].total;
      const id = BUDGET_IDS[profile].minified;
      if (minified > budgets[id].max) throw new Error(overBudget(reports[profile], id, minified));
    });

    it('stays within the gzip budget', () => {
      const { gzip } = reports[profile].total;
      const id = BUDGET_IDS[profile].gzip;
      if (gzip > budgets[id].max) throw new Error(overBudget(reports[profile], id, gzip));
    });
  });
});
