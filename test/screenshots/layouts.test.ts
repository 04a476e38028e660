/** @jest-environment node */
/**
 * The README's layout pictures stay those of the server's layout function: each is redrawn and compared with
 * the committed file in docs/screenshots/ (`npm run screenshots -- layout` rewrites them).
 */
import fs from 'fs';
import path from 'path';
import { LAYOUT_PICTURES, layoutSvg } from './layouts';
import { OUT_DIR } from './render';

describe('layout pictures in docs/screenshots', () => {
  it.each(LAYOUT_PICTURES.map((picture) => [picture.name, picture] as const))(
    '%s is what layout() draws today',
    (name, picture) => {
      const committed = fs.readFileSync(path.join(OUT_DIR, `${name}.svg`), 'utf8');
      expect(committed).toBe(layoutSvg(picture));
    },
  );

  it('draws a rectangle per stage member, and none for sound only (the comparison above is not vacuous)', () => {
    const rects = (svg: string) => (svg.match(/<rect x=/g) ?? []).length;
    const byName = (name: string) => LAYOUT_PICTURES.find((picture) => picture.name === name)!;
    expect(rects(layoutSvg(byName('layout-lattice-tile')))).toBe(4);
    expect(rects(layoutSvg(byName('layout-audio')))).toBe(0);
    expect(layoutSvg(byName('layout-audio'))).toContain('sound only');
  });
});
