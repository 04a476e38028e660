/**
 * The public side of a live room, for anyone with its name (the `h5` link is meant to be shared):
 *
 *   GET /live/<channelName>               the web viewer page (server/viewer/), for any well-formed name
 *   GET /live/<channelName>/status        {live, audience, startedAt, play?: {flv, hls}}; `flv` is a play URL of
 *                                         the mixed live stream signed for a few minutes only, minted per request
 *   GET /live/<channelName>/live.m3u8     the mix's HLS playlist, and its segments `live-<n>.ts`, while live
 *   GET /viewer/<asset>                   the page's script and style, and mpegts.js from node_modules
 *
 * What an anonymous viewer gets is the room's mixed live stream and three numbers — never a stage member's own
 * stream, a member list, the directory, or anything that writes. File names never come from the request: a
 * segment name must match a strict pattern and is read from the room's own HLS folder, which the mix chose.
 * Every refusal is JSON `{code, message}` with the matching status; no CORS headers (the page is same-origin,
 * and the media port answers a signed play cross-origin by itself).
 */
import { readFileSync } from 'fs';
import { open, type FileHandle } from 'fs/promises';
import type { IncomingMessage, ServerResponse } from 'http';
import { createRequire } from 'module';
import path from 'path';
import { pipeline } from 'stream';
import { CHANNEL_NAME_PATTERN, Code, NetcallError } from '../../services/protocol';
import { HLS_PLAYLIST } from '../live/mixer';
import { pathOf, requireGet, sendError, sendJson } from './reply';

/** A live room as the viewer may see it. */
export interface ViewerRoom {
  cid: string;
  /** Its mixed live stream's name on the media plane (never shown: the page gets a signed URL). */
  stream: string;
  audience: number;
  startedAt: number;
}

export interface ViewerRouteOptions {
  /** The live room of that name, or undefined when none is live under it. */
  room(channelName: string): Promise<ViewerRoom | undefined>;
  /** A short-lived HTTP-FLV play URL of the room's mixed live stream. */
  viewerFlv(room: ViewerRoom): string;
  /** The folder the room's mix writes its HLS to, or undefined when it has no mix. */
  hlsDir(cid: string): string | undefined;
  /** Origin of the media server's HTTP-FLV (`http://host:port`), which the page's player connects to. */
  mediaOrigin(): string;
}

const PAGE_PREFIX = '/live/';
const ASSET_PREFIX = '/viewer/';
/** What ffmpeg's HLS muxer names segments in the mixer (`live-%d.ts`), and nothing else. */
const SEGMENT = /^live-\d{1,10}\.ts$/;
/** How often the page asks for the status: a room's end shows within this (sooner when the stream ends). */
export const STATUS_POLL_MS = 5000;

const VIEWER_DIR = path.join(__dirname, '..', 'viewer');

interface Asset {
  type: string;
  body: Buffer;
}

/** Read once at start: a missing file is a broken install, and says so before anyone opens a page. */
function loadAssets(): Map<string, Asset> {
  // From npm, served by us: a viewer never depends on a CDN (and the page's CSP allows none).
  const mpegts = createRequire(__filename).resolve('mpegts.js/dist/mpegts.js');
  const files: [string, string, string][] = [
    ['viewer.js', path.join(VIEWER_DIR, 'viewer.js'), 'text/javascript; charset=utf-8'],
    ['viewer.css', path.join(VIEWER_DIR, 'viewer.css'), 'text/css; charset=utf-8'],
    ['mpegts.js', mpegts, 'text/javascript; charset=utf-8'],
  ];
  return new Map(files.map(([name, file, type]) => [name, { type, body: readFileSync(file) }]));
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function decodeName(raw: string): string {
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    throw new NetcallError(Code.BAD_REQUEST, 'malformed room name');
  }
  if (!CHANNEL_NAME_PATTERN.test(name))
    throw new NetcallError(Code.BAD_REQUEST, `a room name matches ${String(CHANNEL_NAME_PATTERN)}`);
  return name;
}

export function createViewerRoute(options: ViewerRouteOptions) {
  const assets = loadAssets();
  const template = readFileSync(path.join(VIEWER_DIR, 'index.html'), 'utf8');

  function page(res: ServerResponse, name: string): void {
    const html = Buffer.from(
      template
        .replace(/\{\{channelName\}\}/g, escapeHtml(name))
        .replace(/\{\{pollMs\}\}/g, String(STATUS_POLL_MS)),
    );
    const media = options.mediaOrigin();
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': String(html.length),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      // Scripts and styles from here only; the player may fetch the status here and the stream from the media
      // port, and plays from a MediaSource (blob:) or this server's HLS.
      'content-security-policy':
        `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; ` +
        `connect-src 'self' ${media}; media-src 'self' blob: ${media}; base-uri 'none'; form-action 'none'`,
    });
    res.end(html);
  }

  async function status(res: ServerResponse, name: string): Promise<void> {
    const room = await options.room(name);
    if (!room) {
      sendJson(res, 200, { live: false });
      return;
    }
    const base = `${PAGE_PREFIX}${encodeURIComponent(name)}`;
    sendJson(res, 200, {
      live: true,
      audience: room.audience,
      startedAt: room.startedAt,
      play: { flv: options.viewerFlv(room), hls: `${base}/${HLS_PLAYLIST}` },
    });
  }

  async function hls(res: ServerResponse, name: string, file: string): Promise<void> {
    const room = await options.room(name);
    if (!room) throw new NetcallError(Code.NOT_FOUND, `no live room named "${name}"`);
    const dir = options.hlsDir(room.cid);
    if (!dir) throw new NetcallError(Code.NOT_FOUND, `"${name}" is not being mixed yet`);
    const playlist = file === HLS_PLAYLIST;
    // Opened before it is measured: the muxer replaces the playlist by rename and unlinks old segments, and an
    // open file keeps its bytes through both. Measuring the path first and opening it after could send fewer
    // bytes than the content-length promised, and the player would wait on a cut reply.
    const missing = () =>
      new NetcallError(
        Code.NOT_FOUND,
        playlist ? `"${name}" has no HLS yet: try again in a moment` : `no segment ${file}`,
      );
    let handle: FileHandle;
    try {
      handle = await open(path.join(dir, file), 'r');
    } catch {
      throw missing();
    }
    const stat = await handle.stat().catch(() => undefined);
    if (!stat?.isFile()) {
      await handle.close();
      throw missing();
    }
    const size = stat.size;
    res.writeHead(200, {
      'content-type': playlist ? 'application/vnd.apple.mpegurl' : 'video/mp2t',
      'content-length': String(size),
      // The playlist changes every second; a segment's name is reused when a mix starts over.
      'cache-control': playlist ? 'no-store' : 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    if (res.req.method === 'HEAD' || size === 0) {
      await handle.close();
      res.end();
      return;
    }
    // pipeline, not pipe: a viewer that goes away mid-segment closes the file too. A read error after the head
    // is sent can only cut the reply; the player sees it end short and asks again.
    pipeline(handle.createReadStream({ start: 0, end: size - 1 }), res, () => undefined);
  }

  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = pathOf(req);
    const isAsset = path.startsWith(ASSET_PREFIX);
    if (!isAsset && !path.startsWith(PAGE_PREFIX)) return false;
    try {
      requireGet(req);
      if (isAsset) {
        const asset = assets.get(path.slice(ASSET_PREFIX.length));
        if (!asset) throw new NetcallError(Code.NOT_FOUND, `no viewer asset ${path}`);
        res.writeHead(200, {
          'content-type': asset.type,
          'content-length': String(asset.body.length),
          'cache-control': 'public, max-age=3600',
          'x-content-type-options': 'nosniff',
        });
        res.end(asset.body);
        return true;
      }
      const parts = path.slice(PAGE_PREFIX.length).split('/');
      if (parts.length > 2 || parts[0] === '')
        throw new NetcallError(Code.NOT_FOUND, `no route for GET ${path}`);
      const name = decodeName(parts[0]);
      if (parts.length === 1) page(res, name);
      else if (parts[1] === 'status') await status(res, name);
      else if (parts[1] === HLS_PLAYLIST || SEGMENT.test(parts[1])) await hls(res, name, parts[1]);
      else throw new NetcallError(Code.NOT_FOUND, `no route for GET ${path}`);
    } catch (error) {
      sendError(res, error);
    }
    return true;
  };
}
