/**
 * Interactive live on the wire: NetEase's layout constants (names and numeric values as NetEase's SDKs define
 * them), NetEase's custom-layout JSON, and the validator that turns it into normalised rectangles or refuses it
 * with 208. Shared by server and client, so it must stay free of Node and `wx` APIs, and of anything that lays
 * out pixels (that is the server's `layout()`).
 */
import { Code, NetcallError } from './errors';

// NetEase's layout constants live beside the wire frames, so Netcall can carry them without this module.
export { Layout } from './frames';

/** `sessionConfig.splitMode`. */
export type SplitMode = 0 | 1 | 2 | 3 | 4 | 5;
/** Where the co-hosts' small windows float instead of a row (NetEase's MIX_VIDEO_MODE). */
export type FloatingCorner = 1 | 2 | 3 | 4;

export const SPLIT_MODES: readonly SplitMode[] = [0, 1, 2, 3, 4, 5];
export const FLOATING_CORNERS: readonly FloatingCorner[] = [1, 2, 3, 4];

export const isSplitMode = (value: unknown): value is SplitMode =>
  (SPLIT_MODES as readonly unknown[]).includes(value);
export const isFloatingCorner = (value: unknown): value is FloatingCorner =>
  (FLOATING_CORNERS as readonly unknown[]).includes(value);

/** NetEase's custom-layout coordinates are integers in ten-thousandths of the canvas. */
export const LAYOUT_RATE_SCALE = 10000;
/** Co-host areas a custom layout may describe (the stage is far smaller; this only bounds the work). */
export const MAX_CUSTOM_AREAS = 15;
/** `sessionConfig.layout` arrives as a JSON string; longer than this is not a layout. */
export const MAX_LAYOUT_CHARS = 4096;

/** One area of NetEase's custom layout. */
export interface CustomLayoutArea {
  position_x?: number;
  position_y?: number;
  width_rate?: number;
  height_rate?: number;
  /** 1 (default): the picture whole, letterboxed; 0: it fills the area, cropped. */
  adaption?: 0 | 1;
}

/** NetEase's custom layout (`sessionConfig.layout`, a JSON string of this). */
export interface CustomLayoutJson {
  version?: 0;
  /** The host fills the canvas and `host_area`'s position is not used. */
  set_host_as_main?: boolean;
  host_area?: CustomLayoutArea;
  special_show_mode?: boolean;
  /** How many `n_host_area_<i>` follow: one per co-host, in stage order. */
  n_host_area_number: number;
  main_width?: number;
  main_height?: number;
  background?: { rgb_r: number; rgb_g: number; rgb_b: number };
  [area: `n_host_area_${number}`]: CustomLayoutArea;
}

/** A rectangle in canvas fractions (0..1); `fit` says how a picture of another shape goes in. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
  fit: 'contain' | 'cover';
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const bad = (message: string): NetcallError => new NetcallError(Code.BAD_LAYOUT, `bad layout: ${message}`);

function integerIn(value: unknown, min: number, max: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw bad(`${what} must be an integer in ${min}..${max}`);
  return value;
}

function optionalBoolean(value: unknown, what: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw bad(`${what} must be a boolean`);
  return value;
}

function fitOf(area: Record<string, unknown>, what: string): Rect['fit'] {
  if (area.adaption === undefined) return 'contain';
  return integerIn(area.adaption, 0, 1, `${what}.adaption`) === 1 ? 'contain' : 'cover';
}

function areaRect(area: unknown, what: string): Rect {
  if (!isObject(area)) throw bad(`${what} must be an object`);
  const x = integerIn(area.position_x, 0, LAYOUT_RATE_SCALE - 1, `${what}.position_x`);
  const y = integerIn(area.position_y, 0, LAYOUT_RATE_SCALE - 1, `${what}.position_y`);
  const width = integerIn(area.width_rate, 1, LAYOUT_RATE_SCALE, `${what}.width_rate`);
  const height = integerIn(area.height_rate, 1, LAYOUT_RATE_SCALE, `${what}.height_rate`);
  if (x + width > LAYOUT_RATE_SCALE) throw bad(`${what} reaches past the right edge`);
  if (y + height > LAYOUT_RATE_SCALE) throw bad(`${what} reaches past the bottom edge`);
  return {
    x: x / LAYOUT_RATE_SCALE,
    y: y / LAYOUT_RATE_SCALE,
    width: width / LAYOUT_RATE_SCALE,
    height: height / LAYOUT_RATE_SCALE,
    fit: fitOf(area, what),
  };
}

function parseJson(json: unknown): unknown {
  if (typeof json !== 'string') return json;
  if (json.length > MAX_LAYOUT_CHARS) throw bad(`longer than ${MAX_LAYOUT_CHARS} characters`);
  try {
    return JSON.parse(json) as unknown;
  } catch {
    throw bad('not JSON');
  }
}

/**
 * NetEase's custom layout (the JSON string of `sessionConfig.layout`, or the object) → normalised rectangles:
 * `[host, co-host 0, co-host 1, …]`, one per area. Throws NetcallError 208 on anything malformed: not JSON or
 * too long, an unknown version, an area count outside 0..MAX_CUSTOM_AREAS, a missing area, a coordinate that is
 * not an integer in range or an area reaching past the canvas, a background colour off 0..255.
 */
export function parseCustomLayout(json: unknown): Rect[] {
  const layout = parseJson(json);
  if (!isObject(layout)) throw bad('must be a JSON object');
  if (Object.keys(layout).length > MAX_CUSTOM_AREAS + 16) throw bad('too many fields');
  if (layout.version !== undefined && layout.version !== 0) throw bad('version must be 0');
  const count = integerIn(layout.n_host_area_number, 0, MAX_CUSTOM_AREAS, 'n_host_area_number');
  const hostAsMain = optionalBoolean(layout.set_host_as_main, 'set_host_as_main');
  optionalBoolean(layout.special_show_mode, 'special_show_mode');
  for (const side of ['main_width', 'main_height'] as const)
    if (layout[side] !== undefined) integerIn(layout[side], 16, 4096, side);
  if (layout.background !== undefined) {
    if (!isObject(layout.background)) throw bad('background must be an object');
    for (const channel of ['rgb_r', 'rgb_g', 'rgb_b'] as const)
      integerIn(layout.background[channel], 0, 255, `background.${channel}`);
  }

  let host: Rect;
  if (hostAsMain) {
    const area = layout.host_area;
    if (area !== undefined && !isObject(area)) throw bad('host_area must be an object');
    host = { x: 0, y: 0, width: 1, height: 1, fit: area ? fitOf(area, 'host_area') : 'contain' };
  } else {
    if (layout.host_area === undefined) throw bad('host_area is required unless set_host_as_main');
    host = areaRect(layout.host_area, 'host_area');
  }
  const rects = [host];
  for (let i = 0; i < count; i++) {
    const key = `n_host_area_${i}`;
    if (layout[key] === undefined) throw bad(`${key} is missing (n_host_area_number is ${count})`);
    rects.push(areaRect(layout[key], key));
  }
  return rects;
}
