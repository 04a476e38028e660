/**
 * The positive control most media tests end with: the plane still serves real media (a push decoded back
 * over HTTP-FLV and RTMP).
 */
import type { MediaPlane } from '../../server/media';
import { decodeVideoFrames, pushTestPattern } from '../helpers/ffmpeg';
import type { LogCapture } from './log-capture';

// Generous: two cores shared with other test runs.
const DECODE_MS = 20000;

/** Pushes to a fresh push URL and decodes video back over HTTP-FLV and RTMP. */
export async function expectPlayback(plane: MediaPlane, logs: LogCapture, stream: string): Promise<void> {
  const since = logs.mark();
  const pusher = pushTestPattern(plane.pushUrl(stream));
  try {
    await logs.accepted('publish', stream, { since });
    const play = plane.playUrls(stream);
    const decoded = await Promise.all([
      decodeVideoFrames(play.flv, { frames: 3, timeoutMs: DECODE_MS }),
      decodeVideoFrames(play.rtmp, { frames: 3, timeoutMs: DECODE_MS }),
    ]);
    for (const video of decoded) expect(video).toMatchObject({ width: 320, height: 240, codec: 'h264' });
  } finally {
    await pusher.stop();
  }
}
