/** @jest-environment node */
/**
 * The web viewer (`GET /live/<channelName>`) in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core; a missing browser fails the test, never skips it), against the real server mixing a live
 * room whose host pushes solid red: the page plays the HTTP-FLV live stream through mpegts.js, its video's
 * `currentTime` advances and a screenshot of it shows the red picture; a page without Media Source falls back
 * to the server's HLS; once the host leaves, the page shows the end. Beside it, the public routes' refusals
 * (each with a positive control) and what the unauthenticated status answer carries.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/index';
import { killLiveHelpers, pushColour } from '../../bench/live-mix';
import { MediaRoster } from '../../services/media';
import { killAllFfmpeg } from '../helpers/ffmpeg';
import { closeClients, connectClient, startTestServer, type TestClient } from '../helpers/server';
import { CHROMIUM, CHROMIUM_ARGS as BROWSER_TEST_ARGS } from '../helpers/chromium';
import { eventuallyValue } from '../helpers/wait';

/** Every browser test's launch flags, and autoplay without a gesture (the page is muted). */
const CHROMIUM_ARGS = [...BROWSER_TEST_ARGS, '--autoplay-policy=no-user-gesture-required'];
// Two cores shared with other runs: ffmpeg pushes, mixes and the browser decodes. Waits end when it happens.
const PLAY_MS = 30_000;
const CHANNEL = 'viewer-show';

const dir = mkdtempSync(path.join(os.tmpdir(), 'viewer-'));
let server: RunningServer;
let browser: Browser | undefined;
let host: TestClient;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `No Chromium at ${CHROMIUM}: the viewer test needs Debian's chromium ` +
        '(apt-get install -y --no-install-recommends chromium; .ci/run does it).',
    );
  server = await startTestServer({ liveMix: true, hlsDir: path.join(dir, 'hls'), recordingsDir: dir });
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  killLiveHelpers();
  killAllFfmpeg();
  closeClients();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const url = (route: string) => `${server.httpUrl}${route}`;

async function json(
  route: string,
  init?: RequestInit,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url(route), init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** What each page logged, shown when a wait on it fails. */
const consoles = new Map<Page, string[]>();

async function openViewer(init?: () => void): Promise<Page> {
  const page = await browser!.newPage({ viewport: { width: 640, height: 420 } });
  const lines: string[] = [];
  consoles.set(page, lines);
  page.on('console', (message) => lines.push(`${message.type()}: ${message.text()}`.slice(0, 300)));
  page.on('pageerror', (error) => lines.push(`pageerror: ${error.message}`));
  if (init) await page.addInitScript(init);
  await page.goto(url(`/live/${CHANNEL}`));
  return page;
}

/** Waits for `test` in the page; on timeout, fails with the page's state and console. */
async function waitInPage(
  page: Page,
  what: string,
  test: (arg: number | undefined) => boolean,
  arg: number | undefined,
): Promise<void> {
  try {
    await page.waitForFunction(test, arg, { timeout: PLAY_MS, polling: 100 });
  } catch (error) {
    const state = await page
      .evaluate(() => {
        const video = document.getElementById('video') as HTMLVideoElement;
        return JSON.stringify({
          ...document.body.dataset,
          currentTime: video.currentTime,
          readyState: video.readyState,
          src: video.src,
          error: video.error?.message,
        });
      })
      .catch(() => 'unknown');
    throw new Error(
      `the viewer did not get ${what}: ${String(error)}\nstate ${state}\n${(consoles.get(page) ?? []).slice(-30).join('\n')}`,
    );
  }
}

/** Red pixels (of 100 sampled in the middle) in a PNG, decoded by the browser itself on a blank page. */
async function redShare(png: Buffer): Promise<{ red: number; distinct: number }> {
  const page = await browser!.newPage();
  try {
    return await page.evaluate(async (base64) => {
      const image = new Image();
      image.src = `data:image/png;base64,${base64}`;
      await image.decode();
      const canvas = document.createElement('canvas');
      canvas.width = image.width;
      canvas.height = image.height;
      const context = canvas.getContext('2d')!;
      context.drawImage(image, 0, 0);
      let red = 0;
      const colours = new Set<string>();
      for (let i = 0; i < 10; i++)
        for (let j = 0; j < 10; j++) {
          const x = Math.floor(image.width * (0.3 + 0.04 * i));
          const y = Math.floor(image.height * (0.3 + 0.04 * j));
          const [r, g, b] = context.getImageData(x, y, 1, 1).data;
          if (r > 150 && g < 90 && b < 90) red++;
          colours.add(`${r >> 4},${g >> 4},${b >> 4}`);
        }
      // The edges too: a blank (one-colour) picture has a single colour everywhere.
      for (const [x, y] of [
        [2, 2],
        [image.width - 3, image.height - 3],
      ]) {
        const [r, g, b] = context.getImageData(x, y, 1, 1).data;
        colours.add(`${r >> 4},${g >> 4},${b >> 4}`);
      }
      return { red, distinct: colours.size };
    }, png.toString('base64'));
  } finally {
    await page.close();
  }
}

describe('the public viewer routes', () => {
  it('answers the status of a room that is not live, and refuses what is not a viewer request', async () => {
    expect(await json('/live/nobody-here/status')).toEqual({ status: 200, body: { live: false } });
    // The page itself is served for any well-formed name (it waits for the live to start)…
    const page = await fetch(url('/live/nobody-here'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    // …and its scripts from this server: mpegts.js from npm, no CDN.
    const asset = await fetch(url('/viewer/mpegts.js'));
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await asset.text()).toMatch(/mpegts/);

    const refusals: [string, number, RequestInit?][] = [
      ['/live/bad%20name', 400],
      ['/live/%E0%A4%A', 400],
      ['/live/nobody-here/live.m3u8', 404],
      ['/live/nobody-here/live-0.ts', 404],
      ['/live/nobody-here/other.ts', 404],
      ['/live/nobody-here/..%2F..%2Fpackage.json', 404],
      ['/live/nobody-here/a/b', 404],
      ['/viewer/../package.json', 404],
      ['/viewer/viewer.js.map', 404],
      ['/live/nobody-here/status', 405, { method: 'POST' }],
    ];
    for (const [route, status, init] of refusals) {
      const res = await json(route, init);
      expect({ route, status: res.status, code: res.body.code, message: typeof res.body.message }).toEqual({
        route,
        status,
        code: status,
        message: 'string',
      });
    }
  });
});

describe('the web viewer in Chromium', () => {
  it('plays the mixed live stream with mpegts.js, falls back to HLS without Media Source, and shows the end', async () => {
    host = await connectClient(server, 'viewer-host');
    await host.createChannel({ channelName: CHANNEL });
    const { cid } = await host.joinChannel({ channelName: CHANNEL, type: 2, liveEnable: true });
    const roster = new MediaRoster(host);
    roster.setSelf(await host.startRtc({ mode: 0 }));
    pushColour(await eventuallyValue(() => roster.pusher?.url, 'the host push URL'), 'red');

    // What an anonymous viewer learns: that it is live, the count, when it started, and where to play.
    const status = await json(`/live/${CHANNEL}/status`);
    expect(status.status).toBe(200);
    expect(Object.keys(status.body).sort()).toEqual(['audience', 'live', 'play', 'startedAt']);
    const play = status.body.play as { flv: string; hls: string };
    expect(Object.keys(play).sort()).toEqual(['flv', 'hls']);
    expect(play.flv).toMatch(/\/live\/[A-Za-z0-9_-]+\.flv\?sign=\d+-[0-9a-f]{32}$/);
    expect(play.flv).toContain(cid); // the room's own mixed stream, never a member's
    const exp = Number(/sign=(\d+)-/.exec(play.flv)![1]);
    expect(exp - Date.now() / 1000).toBeLessThanOrEqual(5 * 60); // minted for the page, short-lived

    const flvPage = await openViewer();
    await waitInPage(
      flvPage,
      'playing over FLV',
      () =>
        document.body.dataset.playback === 'flv' &&
        document.body.dataset.state === 'live' &&
        (document.getElementById('video') as HTMLVideoElement).currentTime > 0.3,
      undefined,
    );
    const before = await flvPage.evaluate(
      () => (document.getElementById('video') as HTMLVideoElement).currentTime,
    );
    await waitInPage(
      flvPage,
      'its currentTime advancing',
      (t) => (document.getElementById('video') as HTMLVideoElement).currentTime > (t ?? 0) + 1,
      before,
    );
    // The screenshot shows the host's red in the middle, and is not one flat colour.
    const shot = await eventuallyValue(
      async () => {
        const sample = await redShare(await flvPage.locator('video').screenshot());
        return sample.red >= 90 ? sample : undefined;
      },
      'a screenshot of the video showing the red picture',
      PLAY_MS,
      250,
    );
    expect(shot.distinct).toBeGreaterThan(1);
    expect(await flvPage.locator('#audience').textContent()).toMatch(/^0 watching$/);

    const hlsPage = await openViewer(() => {
      delete (window as { MediaSource?: unknown }).MediaSource;
    });
    const src = await eventuallyValue(
      async () => {
        const found = await hlsPage.evaluate(() => ({
          playback: document.body.dataset.playback,
          src: (document.getElementById('video') as HTMLVideoElement).src,
        }));
        return found.playback === 'hls' && found.src ? found.src : undefined;
      },
      'the page on its HLS fallback',
      PLAY_MS,
      100,
    );
    expect(src).toBe(url(`/live/${CHANNEL}/live.m3u8`));
    const playlist = await eventuallyValue(
      async () => {
        const res = await fetch(src);
        const text = await res.text();
        return res.status === 200 && /#EXTINF/.test(text) ? text : undefined;
      },
      'the HLS playlist the page plays',
      PLAY_MS,
      200,
    );
    expect(playlist).toMatch(/^#EXTM3U/);
    expect(playlist).toMatch(/^live-\d+\.ts$/m);
    // Positive control for the FLV page: it did not pick HLS.
    expect(await flvPage.evaluate(() => document.body.dataset.playback)).toBe('flv');

    await host.leaveChannel();
    for (const page of [flvPage, hlsPage])
      await waitInPage(page, 'to the end', () => document.body.dataset.state === 'ended', undefined);
    expect(await flvPage.locator('#state').textContent()).toBe('Ended');
    expect(await flvPage.locator('#notice').textContent()).toBe('This live has ended');
    expect(await json(`/live/${CHANNEL}/status`)).toEqual({ status: 200, body: { live: false } });
  }, 120_000);
});
