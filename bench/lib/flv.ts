/**
 * A raw HTTP-FLV reader for "first frame decodable": it parses FLV tags as they
 * arrive and reports the first video tag that is an AVC keyframe carrying NALUs (not the sequence
 * header). ffprobe/ffmpeg are not used for timing: their probing adds seconds that are not the server's.
 */
import http from 'http';

const FLV_HEADER = 9;
const PREVIOUS_TAG_SIZE = 4;
const TAG_HEADER = 11;
const TAG_VIDEO = 9;
const FRAME_KEY = 1;
const CODEC_AVC = 7;
const AVC_NALU = 1;

export interface FlvReader {
  /** Resolves with performance.now() when the first AVC keyframe NALU tag has fully arrived. */
  keyframe: Promise<number>;
  /** performance.now() when the request was sent. */
  requestedAt: number;
  close(): void;
}

/** Connects to `url` at once; `timeoutMs` bounds the wait for a keyframe (rejects, and closes). */
export function readFlv(url: string, timeoutMs = 10_000): FlvReader {
  let buffer: Buffer = Buffer.alloc(0);
  let offset = -1; // -1: FLV header not parsed yet
  let request: http.ClientRequest | null = null;
  let timer: NodeJS.Timeout | null = null;
  const close = (): void => {
    if (timer) clearTimeout(timer);
    timer = null;
    request?.destroy();
  };
  const requestedAt = performance.now();
  const keyframe = new Promise<number>((resolve, reject) => {
    const fail = (error: Error): void => {
      close();
      reject(error);
    };
    timer = setTimeout(
      () => fail(new Error(`no AVC keyframe from ${url} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    request = http.get(url, (response) => {
      if (response.statusCode !== 200) {
        fail(new Error(`GET ${url}: HTTP ${response.statusCode}`));
        response.resume();
        return;
      }
      response.on('data', (chunk: Buffer) => {
        buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
        if (offset < 0) {
          if (buffer.length < FLV_HEADER + PREVIOUS_TAG_SIZE) return;
          if (buffer.toString('latin1', 0, 3) !== 'FLV') return fail(new Error(`${url} is not FLV`));
          offset = buffer.readUInt32BE(5) + PREVIOUS_TAG_SIZE;
        }
        while (buffer.length - offset >= TAG_HEADER) {
          const type = buffer[offset] & 0x1f;
          const size = buffer.readUIntBE(offset + 1, 3);
          const end = offset + TAG_HEADER + size + PREVIOUS_TAG_SIZE;
          if (buffer.length < end) break;
          if (type === TAG_VIDEO && size >= 2) {
            const head = buffer[offset + TAG_HEADER];
            const packetType = buffer[offset + TAG_HEADER + 1];
            if (head >> 4 === FRAME_KEY && (head & 0x0f) === CODEC_AVC && packetType === AVC_NALU) {
              const at = performance.now();
              close();
              resolve(at);
              return;
            }
          }
          offset = end;
        }
        // Drop what has been parsed so a long stream does not grow the buffer.
        if (offset > 0 && offset === buffer.length) {
          buffer = Buffer.alloc(0);
          offset = 0;
        }
      });
      response.on('error', (error) => fail(error));
    });
    request.on('error', (error) => {
      // destroy() after success also lands here; the promise is settled by then.
      fail(error);
    });
  });
  return { keyframe, requestedAt, close };
}
