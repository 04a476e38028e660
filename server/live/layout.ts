/**
 * Where each stage member's picture goes in the live mix: a pure, deterministic function of the split mode, the
 * stage (host first) and the canvas. Owns nothing else — no processes, no state — so the mixer, the README's
 * pictures and the tests all ask it the same question and get the same answer.
 *
 * Pixels are even (yuv420p halves the chroma planes, so an odd edge would smear a colour into its neighbour)
 * and every rectangle lies inside the canvas.
 */
import { Code, NetcallError } from '../../services/protocol/errors';
import { Layout, type FloatingCorner, type Rect, type SplitMode } from '../../services/protocol/live';

export interface Canvas {
  width: number;
  height: number;
}

/** One member's picture: canvas pixels, stacking order (higher on top), how a picture of another shape fits. */
export interface Placement {
  uid: string;
  x: number;
  y: number;
  width: number;
  height: number;
  z: number;
  fit: Rect['fit'];
}

const even = (value: number): number => 2 * Math.floor(value / 2);

/** A canvas-fraction rectangle in even pixels, at least 2×2 and inside the canvas. */
function toPixels(rect: Omit<Rect, 'fit'>, canvas: Canvas): Omit<Placement, 'uid' | 'z' | 'fit'> {
  const x = Math.min(even(rect.x * canvas.width), canvas.width - 2);
  const y = Math.min(even(rect.y * canvas.height), canvas.height - 2);
  const right = Math.min(even((rect.x + rect.width) * canvas.width), canvas.width);
  const bottom = Math.min(even((rect.y + rect.height) * canvas.height), canvas.height);
  return { x, y, width: Math.max(2, right - x), height: Math.max(2, bottom - y) };
}

/**
 * A grid of ceil(√n) columns; a short last row is centred. Cell edges come from one even rounding of i·W/cols,
 * so neighbouring cells share an edge and never overlap.
 */
function lattice(members: readonly string[], canvas: Canvas, fit: Rect['fit']): Placement[] {
  const columns = Math.ceil(Math.sqrt(members.length));
  const rows = Math.ceil(members.length / columns);
  const xs = Array.from({ length: columns + 1 }, (_, i) => even((i * canvas.width) / columns));
  const ys = Array.from({ length: rows + 1 }, (_, j) => even((j * canvas.height) / rows));
  xs[columns] = canvas.width;
  ys[rows] = canvas.height;
  return members.map((uid, index) => {
    const row = Math.floor(index / columns);
    const column = index % columns;
    const inRow = Math.min(columns, members.length - row * columns);
    const offset = even((canvas.width - xs[inRow]) / 2);
    return {
      uid,
      x: offset + xs[column],
      y: ys[row],
      width: xs[column + 1] - xs[column],
      height: ys[row + 1] - ys[row],
      z: 0,
      fit,
    };
  });
}

/** Host full screen; co-hosts as small windows (a quarter of each side) in a row or stacked in a corner. */
function floating(
  members: readonly string[],
  canvas: Canvas,
  where: 'top' | 'bottom' | FloatingCorner,
): Placement[] {
  const { width: W, height: H } = canvas;
  const [host, ...coHosts] = members;
  const placements: Placement[] = [{ uid: host, x: 0, y: 0, width: W, height: H, z: 0, fit: 'cover' }];
  const k = coHosts.length;
  if (k === 0) return placements;
  const margin = even(Math.min(W, H) / 36);
  let w = Math.max(2, even(W / 4));
  let h = Math.max(2, even(H / 4));
  const inRow = where === 'top' || where === 'bottom';
  // Too many to fit at a quarter: shrink along the row (or column), keeping the canvas's shape.
  if (inRow && k * w + (k + 1) * margin > W) {
    w = Math.max(2, even((W - (k + 1) * margin) / k));
    h = Math.max(2, even((w * H) / W));
  } else if (!inRow && k * h + (k + 1) * margin > H) {
    h = Math.max(2, even((H - (k + 1) * margin) / k));
    w = Math.max(2, even((h * W) / H));
  }
  const clampX = (x: number) => Math.max(0, Math.min(x, W - w));
  const clampY = (y: number) => Math.max(0, Math.min(y, H - h));
  coHosts.forEach((uid, i) => {
    let x: number;
    let y: number;
    if (inRow) {
      const start = even((W - (k * w + (k - 1) * margin)) / 2);
      x = start + i * (w + margin);
      y = where === 'top' ? margin : H - margin - h;
    } else {
      const left = where === Layout.LAYOUT_TOP_LEFT || where === Layout.LAYOUT_BOTTOM_LEFT;
      const top = where === Layout.LAYOUT_TOP_LEFT || where === Layout.LAYOUT_TOP_RIGHT;
      x = left ? margin : W - margin - w;
      y = top ? margin + i * (h + margin) : H - margin - h - i * (h + margin);
    }
    placements.push({ uid, x: clampX(x), y: clampY(y), width: w, height: h, z: 1, fit: 'cover' });
  });
  return placements;
}

/**
 * The pictures of `members` (host first, then co-hosts in stage order) on `canvas` for `mode`:
 * - LAYOUT_SPLITBOTTOMHORFLOATING / LAYOUT_SPLITTOPHORFLOATING: the host fills the canvas (z 0), co-hosts float
 *   in a centred row at the bottom / top (z 1); with `corner` (LAYOUT_TOP_LEFT … LAYOUT_BOTTOM_RIGHT) they are
 *   stacked in that corner instead.
 * - LAYOUT_SPLITLATTICETILE: a grid, each picture whole in its cell; LAYOUT_SPLITLATTICECUTTINGTILE: the same
 *   grid, each picture cropped to fill its cell.
 * - LAYOUT_SPLITCUSTOMLAYOUT: `custom` from parseCustomLayout, `[host, co-host 0, …]`, z in that order;
 *   co-hosts beyond its areas are not shown.
 * - LAYOUT_SPLITAUDIOLAYOUT: no pictures at all.
 * Throws NetcallError 208 for the custom mode without a custom layout, 400 for a canvas that is not even.
 */
export function layout(
  mode: SplitMode,
  members: readonly string[],
  canvas: Canvas,
  custom?: readonly Rect[],
  corner?: FloatingCorner,
): Placement[] {
  if (
    !Number.isInteger(canvas.width) ||
    !Number.isInteger(canvas.height) ||
    canvas.width < 2 ||
    canvas.height < 2 ||
    canvas.width % 2 !== 0 ||
    canvas.height % 2 !== 0
  )
    throw new NetcallError(
      Code.BAD_REQUEST,
      `canvas must be even and at least 2×2, got ${JSON.stringify(canvas)}`,
    );
  if (members.length === 0) return [];
  switch (mode) {
    case Layout.LAYOUT_SPLITBOTTOMHORFLOATING:
      return floating(members, canvas, corner ?? 'bottom');
    case Layout.LAYOUT_SPLITTOPHORFLOATING:
      return floating(members, canvas, corner ?? 'top');
    case Layout.LAYOUT_SPLITLATTICETILE:
      return lattice(members, canvas, 'contain');
    case Layout.LAYOUT_SPLITLATTICECUTTINGTILE:
      return lattice(members, canvas, 'cover');
    case Layout.LAYOUT_SPLITCUSTOMLAYOUT:
      if (!custom || custom.length === 0)
        throw new NetcallError(Code.BAD_LAYOUT, 'bad layout: the custom split mode needs a layout');
      return members
        .slice(0, custom.length)
        .map((uid, i) => ({ uid, ...toPixels(custom[i], canvas), z: i, fit: custom[i].fit }));
    case Layout.LAYOUT_SPLITAUDIOLAYOUT:
      return [];
    default:
      throw new NetcallError(Code.BAD_REQUEST, `unknown split mode ${String(mode)}`);
  }
}
