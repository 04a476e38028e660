/** @jest-environment node */
/**
 * The live mix on the real server: a host pushes solid red and a co-host solid blue (320×240@15) to the push
 * URLs the server issued them; a Mixer pulls both with play URLs the server issued and pushes the lattice-tile
 * mix to a stream of the same room. One audience reader decodes the live stream from start to end: it sees red
 * on the left and blue on the right while both are on stage, then — same reader, never reconnected — only red
 * once the co-host is off stage. The HLS playlist and the recording decode afterwards, and stop() leaves no
 * ffmpeg behind.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { RunningServer } from '../../server/index';
import { HLS_PLAYLIST, Mixer } from '../../server/live/mixer';
import { Layout } from '../../services/protocol/live';
import {
  killLiveHelpers,
  openLiveRoom,
  pushColour,
  watchLiveFrames,
  type LiveRoom,
} from '../../bench/live-mix';
import { binaries, decodeVideoFrames, killAllFfmpeg } from '../helpers/ffmpeg';
import { closeClients, startTestServer } from '../helpers/server';

// Generous: two cores shared with other test runs. Waits end as soon as the frame arrives.
const FRAME_MS = 20000;

let server: RunningServer;
let room: LiveRoom | undefined;
let mixer: Mixer | undefined;
const dir = mkdtempSync(path.join(os.tmpdir(), 'live-mix-'));

afterAll(async () => {
  await mixer?.stop();
  killLiveHelpers();
  killAllFfmpeg();
  await room?.close();
  closeClients();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it('mixes host and co-host side by side, re-lays out to the host alone on the same stream, and writes HLS and a recording', async () => {
  server = await startTestServer();
  room = await openLiveRoom(server, 'live-mix', { host: 'lm-host', coHosts: ['lm-cohost'], live: 'lm-live' });
  const hlsDir = path.join(dir, 'hls');
  const recordFile = path.join(dir, 'record.flv');
  const errors: Error[] = [];
  mixer = new Mixer({
    ffmpegPath: binaries().ffmpeg,
    outputs: [room.livePush],
    hlsDir,
    recordFile,
    log: pino({ level: 'silent' }),
  });
  mixer.on('error', (error) => errors.push(error));
  pushColour(room.push('lm-host'), 'red');
  pushColour(room.push('lm-cohost'), 'blue');
  const host = { uid: 'lm-host', url: room.play('lm-host'), audio: true };
  const coHost = { uid: 'lm-cohost', url: room.play('lm-cohost'), audio: true };
  mixer.setStage([host, coHost], Layout.LAYOUT_SPLITLATTICETILE);

  // 640×360 in 16×9 cells of 40 px. Two tiles of 320×360, each 4:3 picture whole: 320×240 at y 60..300.
  const reader = watchLiveFrames(room.liveFlv);
  const both = await reader.until(
    (grid) => grid.all('red', [1, 6], [2, 6]) && grid.all('blue', [9, 14], [2, 6]),
    'with red on the left and blue on the right',
    FRAME_MS,
  );
  expect(both.grid.count('blue')).toBeGreaterThan(0); // the colour the next check must not find can be seen
  expect(both.grid.all('black', [0, 15], [0, 0])).toBe(true); // letterbox above the pictures
  const framesBefore = reader.frames();

  mixer.setStage([host], Layout.LAYOUT_SPLITLATTICETILE);
  // The host alone: one tile, the 4:3 picture whole, 480×360 at x 80..560.
  const hostOnly = await reader.until(
    (grid) => grid.count('blue') === 0 && grid.all('red', [3, 12], [1, 7]),
    'with only the host, full height',
    FRAME_MS,
  );
  expect(hostOnly.grid.all('black', [0, 1], [0, 8])).toBe(true);
  // The same player saw the change: it kept decoding the one stream and never ended.
  expect(reader.frames()).toBeGreaterThan(framesBefore);
  const ended = await Promise.race([reader.exited, Promise.resolve('still playing')]);
  expect(ended).toBe('still playing');

  const pids = mixer.pids();
  expect(pids.length).toBeGreaterThanOrEqual(2); // the publisher and the host's decoder at least
  expect(pids.every(alive)).toBe(true);
  await mixer.stop();
  expect(pids.filter(alive)).toEqual([]);
  expect(mixer.pids()).toEqual([]);
  reader.stop();

  const playlist = readFileSync(path.join(hlsDir, HLS_PLAYLIST), 'utf8');
  expect(playlist).toMatch(/#EXTINF/);
  expect(playlist).toMatch(/#EXT-X-ENDLIST/); // stop() let the publisher finish its files
  for (const file of [path.join(hlsDir, HLS_PLAYLIST), recordFile])
    expect(await decodeVideoFrames(file, { frames: 10, timeoutMs: FRAME_MS })).toMatchObject({
      codec: 'h264',
      width: 640,
      height: 360,
    });
  expect(errors).toEqual([]);
}, 60000);
