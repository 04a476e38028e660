/** @jest-environment node */
/**
 * The live mix's layout: NetEase's constants, every split mode with a stage of 1..4 on the 640×360 canvas
 * (exact pixels), properties over any canvas and stage (fast-check), and the custom layout's validator with
 * NetEase's own example layouts accepted and every malformed one refused with 208.
 */
import fc from 'fast-check';
import { Netcall } from '../../services/netcall/netcall';
import { NimNetcall } from '../../services/netcall/nim-netcall';
import { layout, type Placement } from '../../server/live/layout';
import { Code, NetcallError } from '../../services/protocol/errors';
import {
  FLOATING_CORNERS,
  Layout,
  MAX_CUSTOM_AREAS,
  SPLIT_MODES,
  parseCustomLayout,
  type Rect,
  type SplitMode,
} from '../../services/protocol/live';

const CANVAS = { width: 640, height: 360 };
const STAGE = ['host', 'co1', 'co2', 'co3'];
const boxes = (placements: Placement[]) => placements.map((p) => [p.x, p.y, p.width, p.height]);

// NetEase's own examples: host full screen with four floating areas (a live demo), and host on top with four
// areas in a row under it (a meeting demo).
const FLOATING_EXAMPLE =
  '{"version":0,"set_host_as_main":true,"host_area":{"adaption":1},"special_show_mode":true,"n_host_area_number":4,' +
  '"n_host_area_0":{"position_x":7000,"position_y":300,"width_rate":2100,"height_rate":1000,"adaption":1},' +
  '"n_host_area_1":{"position_x":7000,"position_y":1500,"width_rate":2100,"height_rate":1000,"adaption":1},' +
  '"n_host_area_2":{"position_x":7000,"position_y":2700,"width_rate":2100,"height_rate":1000,"adaption":1},' +
  '"n_host_area_3":{"position_x":7000,"position_y":3900,"width_rate":2100,"height_rate":1000,"adaption":1}}';
const ROW_EXAMPLE = JSON.stringify({
  version: 0,
  set_host_as_main: false,
  host_area: { adaption: 1, position_x: 0, position_y: 0, width_rate: 10000, height_rate: 7500 },
  special_show_mode: false,
  n_host_area_number: 4,
  main_width: 1200,
  main_height: 1200,
  background: { rgb_r: 0, rgb_g: 0, rgb_b: 0 },
  ...Object.fromEntries(
    [0, 1, 2, 3].map((i) => [
      `n_host_area_${i}`,
      { position_x: 2500 * i, position_y: 7500, width_rate: 2500, height_rate: 2500, adaption: 0 },
    ]),
  ),
});

describe('NetEase layout constants', () => {
  it('carries NetEase’s names and values: split modes 0..5, floating corners 1..4', () => {
    expect(Layout).toEqual({
      LAYOUT_SPLITBOTTOMHORFLOATING: 0,
      LAYOUT_SPLITTOPHORFLOATING: 1,
      LAYOUT_SPLITLATTICETILE: 2,
      LAYOUT_SPLITLATTICECUTTINGTILE: 3,
      LAYOUT_SPLITCUSTOMLAYOUT: 4,
      LAYOUT_SPLITAUDIOLAYOUT: 5,
      LAYOUT_SPLITCUSTOM: 4,
      LAYOUT_SPLITAUDIO: 5,
      LAYOUT_TOP_LEFT: 1,
      LAYOUT_TOP_RIGHT: 2,
      LAYOUT_BOTTOM_LEFT: 3,
      LAYOUT_BOTTOM_RIGHT: 4,
    });
  });

  it('are static members of Netcall and NimNetcall with NetEase’s names and values', () => {
    for (const engine of [Netcall, NimNetcall])
      for (const [name, value] of Object.entries(Layout))
        expect({ name, value: (engine as unknown as Record<string, unknown>)[name] }).toEqual({
          name,
          value,
        });
    expect(Netcall.LAYOUT_SPLITLATTICETILE).toBe(2);
    expect(NimNetcall.LAYOUT_TOP_RIGHT).toBe(2);
  });
});

describe('layout() on 640×360 with a stage of 1..4', () => {
  const grid = [
    [[0, 0, 640, 360]],
    [
      [0, 0, 320, 360],
      [320, 0, 320, 360],
    ],
    [
      [0, 0, 320, 180],
      [320, 0, 320, 180],
      [160, 180, 320, 180], // a short last row is centred
    ],
    [
      [0, 0, 320, 180],
      [320, 0, 320, 180],
      [0, 180, 320, 180],
      [320, 180, 320, 180],
    ],
  ];

  it.each([1, 2, 3, 4])(
    'tiles %i whole (lattice tile) and cropped (lattice cutting tile) on one grid',
    (n) => {
      const tile = layout(Layout.LAYOUT_SPLITLATTICETILE, STAGE.slice(0, n), CANVAS);
      const cutting = layout(Layout.LAYOUT_SPLITLATTICECUTTINGTILE, STAGE.slice(0, n), CANVAS);
      expect(boxes(tile)).toEqual(grid[n - 1]);
      expect(boxes(cutting)).toEqual(grid[n - 1]);
      expect(tile.map((p) => p.uid)).toEqual(STAGE.slice(0, n));
      expect(new Set(tile.map((p) => `${p.fit}/${p.z}`))).toEqual(new Set(['contain/0']));
      expect(new Set(cutting.map((p) => `${p.fit}/${p.z}`))).toEqual(new Set(['cover/0']));
    },
  );

  // Small windows are a quarter of each side (160×90) with 10 px margins.
  const rows: Record<number, number[][]> = {
    1: [],
    2: [[240, 0, 160, 90]],
    3: [
      [154, 0, 160, 90],
      [324, 0, 160, 90],
    ],
    4: [
      [70, 0, 160, 90],
      [240, 0, 160, 90],
      [410, 0, 160, 90],
    ],
  };
  it.each([1, 2, 3, 4])(
    'floats the co-hosts of a stage of %i in a centred row at the bottom or the top',
    (n) => {
      for (const [mode, y] of [
        [Layout.LAYOUT_SPLITBOTTOMHORFLOATING, 260],
        [Layout.LAYOUT_SPLITTOPHORFLOATING, 10],
      ] as const) {
        const placements = layout(mode, STAGE.slice(0, n), CANVAS);
        expect(placements[0]).toEqual({
          uid: 'host',
          x: 0,
          y: 0,
          width: 640,
          height: 360,
          z: 0,
          fit: 'cover',
        });
        expect(boxes(placements.slice(1))).toEqual(rows[n].map(([x, , w, h]) => [x, y, w, h]));
        expect(placements.slice(1).every((p) => p.z === 1)).toBe(true);
      }
    },
  );

  it.each([1, 2, 3, 4])('stacks the co-hosts of a stage of %i in the corner NetEase names', (n) => {
    const k = n - 1;
    const corners = {
      [Layout.LAYOUT_TOP_LEFT]: (i: number) => [10, 10 + 100 * i],
      [Layout.LAYOUT_TOP_RIGHT]: (i: number) => [470, 10 + 100 * i],
      [Layout.LAYOUT_BOTTOM_LEFT]: (i: number) => [10, 260 - 100 * i],
      [Layout.LAYOUT_BOTTOM_RIGHT]: (i: number) => [470, 260 - 100 * i],
    };
    for (const corner of FLOATING_CORNERS) {
      const placements = layout(
        Layout.LAYOUT_SPLITBOTTOMHORFLOATING,
        STAGE.slice(0, n),
        CANVAS,
        undefined,
        corner,
      );
      expect(boxes(placements)).toEqual([
        [0, 0, 640, 360],
        ...Array.from({ length: k }, (_, i) => [...corners[corner](i), 160, 90]),
      ]);
    }
  });

  it.each([1, 2, 3, 4])('places a stage of %i in the host’s custom areas, in stage order', (n) => {
    const custom = parseCustomLayout(ROW_EXAMPLE);
    const placements = layout(Layout.LAYOUT_SPLITCUSTOMLAYOUT, STAGE.slice(0, n), CANVAS, custom);
    expect(boxes(placements)).toEqual(
      [
        [0, 0, 640, 270],
        [0, 270, 160, 90],
        [160, 270, 160, 90],
        [320, 270, 160, 90],
      ].slice(0, n),
    );
    expect(placements.map((p) => p.z)).toEqual([0, 1, 2, 3].slice(0, n));
    expect(placements.map((p) => p.fit)).toEqual(['contain', 'cover', 'cover', 'cover'].slice(0, n));
  });

  it('leaves co-hosts beyond the custom areas out of the picture', () => {
    const custom = parseCustomLayout({ set_host_as_main: true, n_host_area_number: 0 });
    expect(layout(Layout.LAYOUT_SPLITCUSTOMLAYOUT, STAGE, CANVAS, custom).map((p) => p.uid)).toEqual([
      'host',
    ]);
  });

  it.each([1, 2, 3, 4])('gives no picture at all to a stage of %i in the audio layout', (n) => {
    expect(layout(Layout.LAYOUT_SPLITAUDIOLAYOUT, STAGE.slice(0, n), CANVAS)).toEqual([]);
    expect(layout(Layout.LAYOUT_SPLITLATTICETILE, STAGE.slice(0, n), CANVAS)).toHaveLength(n); // control
  });

  it('refuses the custom mode without a layout (208) and an odd canvas (400)', () => {
    const code = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return error instanceof NetcallError ? error.code : error;
      }
      return 'no error';
    };
    expect(code(() => layout(Layout.LAYOUT_SPLITCUSTOMLAYOUT, STAGE, CANVAS))).toBe(Code.BAD_LAYOUT);
    expect(code(() => layout(Layout.LAYOUT_SPLITCUSTOMLAYOUT, STAGE, CANVAS, []))).toBe(Code.BAD_LAYOUT);
    expect(code(() => layout(Layout.LAYOUT_SPLITLATTICETILE, STAGE, { width: 641, height: 360 }))).toBe(
      Code.BAD_REQUEST,
    );
    expect(code(() => layout(Layout.LAYOUT_SPLITLATTICETILE, STAGE, CANVAS))).toBe('no error'); // control
  });
});

describe('layout() properties', () => {
  const evenSide = (min: number, max: number) => fc.integer({ min: min / 2, max: max / 2 }).map((v) => v * 2);
  const canvas = fc.record({ width: evenSide(16, 1920), height: evenSide(16, 1080) });
  const stage = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 9 });
  const area = fc
    .record({ x: fc.integer({ min: 0, max: 9999 }), y: fc.integer({ min: 0, max: 9999 }) })
    .chain(({ x, y }) =>
      fc.record({
        position_x: fc.constant(x),
        position_y: fc.constant(y),
        width_rate: fc.integer({ min: 1, max: 10000 - x }),
        height_rate: fc.integer({ min: 1, max: 10000 - y }),
        adaption: fc.constantFrom(0 as const, 1 as const),
      }),
    );
  const custom = fc
    .record({ host: area, areas: fc.array(area, { maxLength: MAX_CUSTOM_AREAS }), main: fc.boolean() })
    .map(({ host, areas, main }) =>
      parseCustomLayout({
        set_host_as_main: main,
        host_area: host,
        n_host_area_number: areas.length,
        ...Object.fromEntries(areas.map((a, i) => [`n_host_area_${i}`, a])),
      }),
    );
  const anyMode = fc.constantFrom(...SPLIT_MODES);
  const corner = fc.option(fc.constantFrom(...FLOATING_CORNERS), { nil: undefined });

  const overlaps = (a: Placement, b: Placement) =>
    a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

  it('keeps every picture inside the canvas on even pixels, the host’s first, the same every time', () => {
    fc.assert(
      fc.property(
        anyMode,
        stage,
        canvas,
        custom,
        corner,
        (mode: SplitMode, members, size, rects: Rect[], at) => {
          const placements = layout(mode, members, size, rects, at);
          expect(layout(mode, members, size, rects, at)).toEqual(placements);
          if (mode === Layout.LAYOUT_SPLITAUDIOLAYOUT) return expect(placements).toEqual([]);
          expect(placements[0]?.uid).toBe(members[0]);
          expect(placements.map((p) => p.uid)).toEqual(members.slice(0, placements.length));
          for (const p of placements) {
            for (const value of [p.x, p.y, p.width, p.height]) expect(value % 2).toBe(0);
            expect(p.width).toBeGreaterThanOrEqual(2);
            expect(p.height).toBeGreaterThanOrEqual(2);
            expect(p.x).toBeGreaterThanOrEqual(0);
            expect(p.y).toBeGreaterThanOrEqual(0);
            expect(p.x + p.width).toBeLessThanOrEqual(size.width);
            expect(p.y + p.height).toBeLessThanOrEqual(size.height);
          }
        },
      ),
    );
  });

  it('tiles without overlap: every member a cell, no two cells sharing a pixel', () => {
    const tileMode = fc.constantFrom(Layout.LAYOUT_SPLITLATTICETILE, Layout.LAYOUT_SPLITLATTICECUTTINGTILE);
    fc.assert(
      fc.property(tileMode, stage, canvas, (mode, members, size) => {
        const placements = layout(mode, members, size);
        expect(placements).toHaveLength(members.length);
        for (let i = 0; i < placements.length; i++)
          for (let j = i + 1; j < placements.length; j++)
            if (placements[i].z === placements[j].z)
              expect(overlaps(placements[i], placements[j])).toBe(false);
      }),
    );
  });

  it('finds the overlap check able to fail: floating windows lie on the host', () => {
    const [host, window] = layout(Layout.LAYOUT_SPLITBOTTOMHORFLOATING, ['a', 'b'], CANVAS);
    expect(overlaps(host, window)).toBe(true);
  });
});

describe('parseCustomLayout()', () => {
  it('accepts NetEase’s example layouts, as JSON text or as an object, in canvas fractions', () => {
    expect(parseCustomLayout(FLOATING_EXAMPLE)).toEqual([
      { x: 0, y: 0, width: 1, height: 1, fit: 'contain' },
      { x: 0.7, y: 0.03, width: 0.21, height: 0.1, fit: 'contain' },
      { x: 0.7, y: 0.15, width: 0.21, height: 0.1, fit: 'contain' },
      { x: 0.7, y: 0.27, width: 0.21, height: 0.1, fit: 'contain' },
      { x: 0.7, y: 0.39, width: 0.21, height: 0.1, fit: 'contain' },
    ]);
    expect(parseCustomLayout(JSON.parse(ROW_EXAMPLE))).toEqual(parseCustomLayout(ROW_EXAMPLE));
    expect(parseCustomLayout(ROW_EXAMPLE)[1]).toEqual({
      x: 0,
      y: 0.75,
      width: 0.25,
      height: 0.25,
      fit: 'cover',
    });
  });

  const valid = JSON.parse(ROW_EXAMPLE) as Record<string, unknown>;
  const area0 = valid.n_host_area_0 as Record<string, unknown>;
  const withArea = (change: Record<string, unknown>) => ({
    ...valid,
    n_host_area_0: { ...area0, ...change },
  });
  const refusals: Array<[string, unknown]> = [
    ['not JSON', '{"version":0,'],
    ['too long', JSON.stringify({ ...valid, padding: 'x'.repeat(5000) })],
    ['an array', [valid]],
    ['null', null],
    ['a number', 4],
    ['an unknown version', { ...valid, version: 1 }],
    ['a negative area count', { ...valid, n_host_area_number: -1 }],
    ['too many areas', { ...valid, n_host_area_number: MAX_CUSTOM_AREAS + 1 }],
    ['a fractional area count', { ...valid, n_host_area_number: 1.5 }],
    ['a count as a string', { ...valid, n_host_area_number: '4' }],
    ['no count', { ...valid, n_host_area_number: undefined }],
    ['a missing area', { ...valid, n_host_area_3: undefined }],
    ['no host area without set_host_as_main', { ...valid, host_area: undefined }],
    ['set_host_as_main not a boolean', { ...valid, set_host_as_main: 'yes' }],
    ['an area that is not an object', { ...valid, n_host_area_0: 'left' }],
    ['a coordinate on the far edge', withArea({ position_x: 10000, width_rate: 1 })],
    ['a zero width', withArea({ width_rate: 0 })],
    ['an area past the right edge', withArea({ position_x: 9000, width_rate: 2500 })],
    ['an area past the bottom edge', withArea({ position_y: 7501 })],
    ['a negative coordinate', withArea({ position_y: -1 })],
    ['a fractional coordinate (0..1 instead of ten-thousandths)', withArea({ position_x: 0.5 })],
    ['NaN', withArea({ width_rate: NaN })],
    ['Infinity', withArea({ height_rate: Infinity })],
    ['a numeric string', withArea({ width_rate: '2500' })],
    ['an unknown adaption', withArea({ adaption: 2 })],
    ['a background colour off 0..255', { ...valid, background: { rgb_r: 256, rgb_g: 0, rgb_b: 0 } }],
    ['a main size of 0', { ...valid, main_width: 0 }],
  ];

  it.each(refusals)('refuses %s with 208', (_what, json) => {
    let caught: unknown;
    try {
      parseCustomLayout(json);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(NetcallError);
    expect((caught as NetcallError).code).toBe(Code.BAD_LAYOUT);
    expect((caught as NetcallError).message).toMatch(/^bad layout: /);
  });

  it('accepts the base every refusal above starts from', () => {
    expect(parseCustomLayout(valid)).toHaveLength(5);
  });
});
