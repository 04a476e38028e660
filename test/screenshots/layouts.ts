/**
 * The README's pictures of the live mix's layouts, drawn from the server's own `layout()` (server/live/layout.ts)
 * as SVG: one per split mode (and a floating corner), a host and three co-hosts on the 640×360 live canvas.
 * `npm run screenshots` writes them with the screen states; test/screenshots/layouts.test.ts redraws them and
 * compares, so a change to the layout function that is not reflected in docs/screenshots/ fails.
 */
import fs from 'fs';
import path from 'path';
import { layout, type Canvas } from '../../server/live/layout';
import { Layout, parseCustomLayout, type FloatingCorner, type SplitMode } from '../../services/protocol/live';

export const LAYOUT_CANVAS: Canvas = { width: 640, height: 360 };
const STAGE = ['host', 'co-host 1', 'co-host 2', 'co-host 3'];
const COLOURS = ['#c0392b', '#2471a3', '#1e8449', '#b7950b'];

/** NetEase's live demo layout: the host full screen, four small areas down the right (its own JSON). */
const CUSTOM_EXAMPLE =
  '{"version":0,"set_host_as_main":true,"host_area":{"adaption":1},"special_show_mode":true,"n_host_area_number":4,' +
  '"n_host_area_0":{"position_x":7000,"position_y":300,"width_rate":2100,"height_rate":1000,"adaption":1},' +
  '"n_host_area_1":{"position_x":7000,"position_y":1500,"width_rate":2100,"height_rate":1000,"adaption":1},' +
  '"n_host_area_2":{"position_x":7000,"position_y":2700,"width_rate":2100,"height_rate":1000,"adaption":1},' +
  '"n_host_area_3":{"position_x":7000,"position_y":3900,"width_rate":2100,"height_rate":1000,"adaption":1}}';

export interface LayoutPicture {
  /** File name without extension. */
  name: string;
  /** NetEase's constant(s), as the caption. */
  title: string;
  mode: SplitMode;
  corner?: FloatingCorner;
  custom?: string;
}

export const LAYOUT_PICTURES: readonly LayoutPicture[] = [
  {
    name: 'layout-bottom-floating',
    title: 'LAYOUT_SPLITBOTTOMHORFLOATING',
    mode: Layout.LAYOUT_SPLITBOTTOMHORFLOATING,
  },
  {
    name: 'layout-top-floating',
    title: 'LAYOUT_SPLITTOPHORFLOATING',
    mode: Layout.LAYOUT_SPLITTOPHORFLOATING,
  },
  {
    name: 'layout-floating-top-right',
    title: 'LAYOUT_SPLITBOTTOMHORFLOATING + LAYOUT_TOP_RIGHT',
    mode: Layout.LAYOUT_SPLITBOTTOMHORFLOATING,
    corner: Layout.LAYOUT_TOP_RIGHT,
  },
  { name: 'layout-lattice-tile', title: 'LAYOUT_SPLITLATTICETILE', mode: Layout.LAYOUT_SPLITLATTICETILE },
  {
    name: 'layout-lattice-cutting-tile',
    title: 'LAYOUT_SPLITLATTICECUTTINGTILE',
    mode: Layout.LAYOUT_SPLITLATTICECUTTINGTILE,
  },
  {
    name: 'layout-custom',
    title: 'LAYOUT_SPLITCUSTOMLAYOUT (NetEase’s example JSON)',
    mode: Layout.LAYOUT_SPLITCUSTOMLAYOUT,
    custom: CUSTOM_EXAMPLE,
  },
  { name: 'layout-audio', title: 'LAYOUT_SPLITAUDIOLAYOUT', mode: Layout.LAYOUT_SPLITAUDIOLAYOUT },
];

const CAPTION = 28;

/** One picture as SVG text: the canvas in black, each member's rectangle in its colour, named, with its fit. */
export function layoutSvg(picture: LayoutPicture): string {
  const { width, height } = LAYOUT_CANVAS;
  const custom = picture.custom === undefined ? undefined : parseCustomLayout(picture.custom);
  const placements = layout(picture.mode, STAGE, LAYOUT_CANVAS, custom, picture.corner);
  // Lower z first, so floating pictures are drawn over the host.
  const drawn = [...placements].sort((a, b) => a.z - b.z);
  const rects = drawn.map((p) => {
    const colour = COLOURS[STAGE.indexOf(p.uid)];
    const small = p.width < 200;
    const size = small ? 12 : 18;
    return (
      `<rect x="${p.x}" y="${p.y}" width="${p.width}" height="${p.height}" fill="${colour}" ` +
      `stroke="#000" stroke-width="2"/>` +
      `<text x="${p.x + p.width / 2}" y="${p.y + p.height / 2}" font-size="${size}" fill="#fff" ` +
      `text-anchor="middle" dominant-baseline="middle">${p.uid}</text>` +
      `<text x="${p.x + p.width / 2}" y="${p.y + p.height / 2 + size + 2}" font-size="${size - 4}" ` +
      `fill="#fff" fill-opacity="0.8" text-anchor="middle" dominant-baseline="middle">${p.fit}</text>`
    );
  });
  const empty =
    placements.length === 0
      ? `<text x="${width / 2}" y="${height / 2}" font-size="18" fill="#aaa" text-anchor="middle" ` +
        `dominant-baseline="middle">sound only: no pictures</text>`
      : '';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height + CAPTION}" ` +
    `viewBox="0 0 ${width} ${height + CAPTION}" font-family="sans-serif">\n` +
    `<rect width="${width}" height="${height}" fill="#000"/>\n${rects.join('\n')}${empty}\n` +
    `<rect y="${height}" width="${width}" height="${CAPTION}" fill="#fff"/>` +
    `<text x="8" y="${height + 19}" font-size="14" fill="#222">${picture.title}</text>\n</svg>\n`
  );
}

/** Writes every picture into `outDir` and returns the files. */
export function writeLayoutPictures(outDir: string): string[] {
  fs.mkdirSync(outDir, { recursive: true });
  return LAYOUT_PICTURES.map((picture) => {
    const file = path.join(outDir, `${picture.name}.svg`);
    fs.writeFileSync(file, layoutSvg(picture));
    return file;
  });
}
