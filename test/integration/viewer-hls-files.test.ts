/** @jest-environment node */
/**
 * The viewer's HLS route while the muxer works on the folder it serves: ffmpeg's HLS muxer replaces a live
 * playlist by writing `live.m3u8.tmp` and renaming it over `live.m3u8`, and with `delete_segments` unlinks old
 * segments. Here a loop does exactly that, as fast as it can, while a player asks over real HTTP: every reply
 * is a whole version of the file with the length it announced, or a clear 404 — never a reply cut short (the
 * Chromium viewer test once failed on one: "terminated: other side closed"). A viewer that goes away
 * mid-segment leaves no open file behind.
 *
 * The route is the server's own; only the room lookup is given here, so the folder is one this test writes.
 */
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createViewerRoute } from '../../server/http/viewer';
import { eventually } from '../helpers/wait';

const ROOM = 'hls-files';
const dir = mkdtempSync(path.join(os.tmpdir(), 'viewer-hls-'));
let server: http.Server;
let base: string;

beforeAll(async () => {
  const route = createViewerRoute({
    room: async (name) =>
      name === ROOM ? { cid: 'cid-1', stream: 'mix-1', audience: 0, startedAt: Date.now() } : undefined,
    viewerFlv: () => 'http://127.0.0.1:1/unused.flv',
    hlsDir: () => dir,
    mediaOrigin: () => '',
  });
  server = http.createServer((req, res) => {
    void route(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/live/${ROOM}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `step` back to back until `stop` is called; resolves once the last step has finished. */
function churn(step: (round: number) => Promise<void>): { stop(): Promise<void>; rounds(): number } {
  let running = true;
  let round = 0;
  const done = (async () => {
    while (running) await step(round++);
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
    rounds: () => round,
  };
}

/** One GET, read to the end; a reply cut short rejects here (undici: "terminated"). */
async function get(route: string): Promise<{ status: number; length: number; body: string }> {
  const res = await fetch(`${base}/${route}`);
  const body = await res.text();
  return { status: res.status, length: Number(res.headers.get('content-length')), body };
}

describe('the viewer HLS route while the muxer rewrites its folder', () => {
  it('answers every playlist request with one whole version, as the muxer renames new ones over it', async () => {
    // Versions of very different sizes, so a reply measured on one and read from another cannot pass.
    const versions = ['#EXTM3U\n#EXT-X-VERSION:3\n', `#EXTM3U\n${'#EXTINF:1.0,\nlive-7.ts\n'.repeat(400)}`];
    const playlist = path.join(dir, 'live.m3u8');
    await writeFile(playlist, versions[0]);
    const muxer = churn(async (round) => {
      await writeFile(`${playlist}.tmp`, versions[round % 2]);
      await rename(`${playlist}.tmp`, playlist);
    });
    const seen = new Set<string>();
    try {
      for (let i = 0; i < 300; i++) {
        const reply = await get('live.m3u8');
        expect(reply.status).toBe(200);
        expect(versions).toContain(reply.body);
        expect(Buffer.byteLength(reply.body)).toBe(reply.length);
        seen.add(reply.body);
      }
    } finally {
      await muxer.stop();
    }
    // Positive control: the loop really replaced the file under the requests, both versions were served.
    expect(muxer.rounds()).toBeGreaterThan(20);
    expect(seen.size).toBe(2);
  }, 60_000);

  it('answers a segment the muxer deletes with the whole segment or a 404, never a cut reply', async () => {
    const segment = path.join(dir, 'live-3.ts');
    const bytes = Buffer.alloc(64 * 1024, 0x47); // TS sync bytes, a realistic size for a second at 320x240
    // Written whole before it is named (a player asks only for segments the playlist lists, which are done).
    const muxer = churn(async (round) => {
      if (round % 2) await unlink(segment);
      else {
        await writeFile(`${segment}.tmp`, bytes);
        await rename(`${segment}.tmp`, segment);
      }
    });
    const statuses = new Map<number, number>();
    try {
      for (let i = 0; i < 300; i++) {
        const reply = await get('live-3.ts');
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        if (reply.status === 200) expect(reply.length).toBe(bytes.length);
        else
          expect({ status: reply.status, code: JSON.parse(reply.body).code }).toEqual({
            status: 404,
            code: 404,
          });
      }
    } finally {
      await muxer.stop();
    }
    // Both outcomes happened, so the deletes did race the requests; only those two.
    expect([...statuses.keys()].sort()).toEqual([200, 404]);
  }, 60_000);

  it('refuses a folder under a segment name with a 404, beside a served segment', async () => {
    mkdirSync(path.join(dir, 'live-4.ts'));
    await writeFile(path.join(dir, 'live-5.ts'), 'x');
    expect((await get('live-5.ts')).status).toBe(200);
    const refused = await get('live-4.ts');
    expect({ status: refused.status, body: JSON.parse(refused.body) }).toEqual({
      status: 404,
      body: { code: 404, message: 'no segment live-4.ts' },
    });
  });

  it('closes the segment file when the viewer goes away mid-reply', async () => {
    const big = path.join(dir, 'live-9.ts');
    await writeFile(big, Buffer.alloc(32 * 1024 * 1024, 0x47));
    const openOnBig = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === big;
        } catch {
          return false; // closed while listed
        }
      }).length;
    const abort = new AbortController();
    const res = await fetch(`${base}/live-9.ts`, { signal: abort.signal });
    const reader = res.body!.getReader();
    await reader.read(); // the reply has started: the file is being read
    // Positive control: while the reply is under way the server holds the file open.
    expect(openOnBig()).toBe(1);
    abort.abort();
    await reader.read().catch(() => undefined);
    await eventually(() => openOnBig() === 0, 'the server closing the segment after the viewer left');
  });
});
