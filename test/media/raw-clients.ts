/**
 * Hand-made clients for media-front tests: raw RTMP bytes (handshake, chunks, AMF commands) for malformed
 * requests no real client sends, an HTTP request that reports status and headers, a WS-FLV upgrade, and a
 * player that injects media. NMS's own AMF encoder and RTMP client do the encoding where the bytes are
 * well-formed; everything else is written out byte by byte on purpose.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';
import { pushTestPattern } from '../helpers/ffmpeg';

/* eslint-disable @typescript-eslint/no-require-imports -- untyped NMS internals, test-only */
const { encodeAmf0Cmd } = require('node-media-server/src/protocol/amf.js') as {
  encodeAmf0Cmd(command: Record<string, unknown>): Buffer;
};
/* eslint-enable @typescript-eslint/no-require-imports */

export const TYPE_SET_CHUNK_SIZE = 1;
export const TYPE_WINDOW_ACK = 5;
export const TYPE_VIDEO = 9;
export const TYPE_INVOKE = 20;

const HANDSHAKE_SIZE = 1536;

export interface RawRtmp {
  socket: net.Socket;
  localPort: number;
  /** Resolves with ms from connect to close. */
  closed: Promise<number>;
  isClosed(): boolean;
  send(bytes: Buffer | string): void;
  /** Resolves once at least `count` bytes arrived in total. */
  receive(count: number, timeoutMs?: number): Promise<Buffer>;
}

export function openRaw(port: number): Promise<RawRtmp> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const started = Date.now();
    let received = Buffer.alloc(0);
    let closed = false;
    const waiters: Array<() => void> = [];
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      for (const w of waiters.splice(0)) w();
    });
    socket.on('error', () => {});
    const closedAt = new Promise<number>((done) =>
      socket.once('close', () => {
        closed = true;
        for (const w of waiters.splice(0)) w();
        done(Date.now() - started);
      }),
    );
    socket.once('connect', () =>
      resolve({
        socket,
        localPort: socket.localPort ?? 0,
        closed: closedAt,
        isClosed: () => closed,
        send: (bytes) => {
          if (!socket.destroyed) socket.write(bytes);
        },
        receive: (count, timeoutMs = 10000) =>
          new Promise((done, fail) => {
            const timer = setTimeout(
              () => fail(new Error(`got ${received.length}/${count} bytes`)),
              timeoutMs,
            );
            const check = (): void => {
              if (received.length >= count) {
                clearTimeout(timer);
                done(received);
              } else if (closed) {
                clearTimeout(timer);
                fail(new Error(`closed after ${received.length}/${count} bytes`));
              } else waiters.push(check);
            };
            check();
          }),
      }),
    );
    socket.once('error', reject);
  });
}

/** C0+C1, wait for S0+S1+S2, then C2: the simple RTMP handshake. */
export async function handshake(conn: RawRtmp): Promise<void> {
  const c1 = Buffer.concat([Buffer.alloc(8), randomBytes(HANDSHAKE_SIZE - 8)]);
  conn.send(Buffer.concat([Buffer.from([3]), c1]));
  const s = await conn.receive(1 + 2 * HANDSHAKE_SIZE);
  conn.send(s.subarray(1, 1 + HANDSHAKE_SIZE));
}

export interface ChunkOptions {
  cid?: number;
  streamId?: number;
  /** Declared message length, when it should differ from the payload's. */
  length?: number;
}

/** One RTMP message as a type-0 chunk followed by type-3 continuations (128-byte chunks, the default). */
export function chunk(type: number, payload: Buffer, options: ChunkOptions = {}): Buffer {
  const cid = options.cid ?? 3;
  const header = Buffer.alloc(12);
  header[0] = cid & 0x3f;
  header.writeUIntBE(0, 1, 3);
  header.writeUIntBE(options.length ?? payload.length, 4, 3);
  header[7] = type;
  header.writeUInt32LE(options.streamId ?? 0, 8);
  const parts: Buffer[] = [header];
  for (let offset = 0; offset < payload.length; offset += 128) {
    if (offset > 0) parts.push(Buffer.from([0xc0 | (cid & 0x3f)]));
    parts.push(payload.subarray(offset, offset + 128));
  }
  return Buffer.concat(parts);
}

export function command(fields: Record<string, unknown>, options: ChunkOptions = {}): Buffer {
  return chunk(TYPE_INVOKE, encodeAmf0Cmd(fields), options);
}

export function connectCommand(tcUrl?: unknown, app: unknown = 'live'): Buffer {
  const cmdObj: Record<string, unknown> = { app, flashVer: 'FMLE/3.0', objectEncoding: 0 };
  if (tcUrl !== undefined) cmdObj.tcUrl = tcUrl;
  return command({ cmd: 'connect', transId: 1, cmdObj });
}

/** An issued media URL as a URL object (rtmp:// parsed like http://, which Node's URL does not do itself). */
export function mediaUrl(url: string): URL {
  return new URL(url.replace(/^rtmp:/, 'http:'));
}

/** The `sign` of an issued media URL. */
export function signOf(url: string): string {
  const sign = mediaUrl(url).searchParams.get('sign');
  if (!sign) throw new Error(`no sign in ${url}`);
  return sign;
}

/** The stream name of an issued media URL (`/live/<name>` or `/live/<name>.flv`). */
export function streamOf(url: string): string {
  return mediaUrl(url)
    .pathname.split('/')[2]
    .replace(/\.flv$/, '');
}

export function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}

/** Resolves with `promise`, or rejects after `ms` saying what did not happen. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Handshake, then connect to app 'live' as every RTMP client does, then `after`. */
export async function connected(port: number, ...after: Buffer[]): Promise<RawRtmp> {
  const conn = await openRaw(port);
  await handshake(conn);
  conn.send(Buffer.concat([connectCommand(`rtmp://127.0.0.1:${port}/live`), ...after]));
  return conn;
}

export function createStream(transId: number): Buffer {
  return command({ cmd: 'createStream', transId, cmdObj: null });
}

/** publish/play on message stream 1 (the one createStream answered), as clients send them. */
export function streamCommand(cmd: 'publish' | 'play', streamName: string): Buffer {
  return command({ cmd, transId: 0, cmdObj: null, streamName }, { streamId: 1 });
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The first bytes of the body (the request is cut after them for a stream). */
  body: Buffer;
}

/** One request; resolves at the headers plus up to `bodyBytes` of body (then destroys the connection). */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; bodyBytes?: number } = {},
  timeoutMs = 10000,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: options.method ?? 'GET',
      headers: options.headers,
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('response', (res) => {
      let body = Buffer.alloc(0);
      const done = (): void => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      };
      res.on('data', (data: Buffer) => {
        body = Buffer.concat([body, data]);
        if (body.length >= (options.bodyBytes ?? Infinity)) done();
      });
      res.on('end', done);
      res.on('error', done);
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(options.body);
  });
}

/** Sends `text` as is (no URL normalisation) and resolves with the status code of the answer. */
export async function rawHttpStatus(port: number, text: string, timeoutMs = 10000): Promise<number> {
  const conn = await openRaw(port);
  conn.send(text);
  try {
    const answer = await conn.receive(12, timeoutMs);
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(answer.toString('latin1'))?.[1] ?? 0);
  } finally {
    conn.socket.destroy();
  }
}

/** A WS-FLV upgrade: the refusal status, or the open socket and its first message. */
export function wsFlv(
  url: string,
  protocols?: string[],
  timeoutMs = 10000,
): Promise<{ status: number; firstMessage?: Buffer }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no WS answer from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (result: { status: number; firstMessage?: Buffer }): void => {
      clearTimeout(timer);
      ws.terminate();
      resolve(result);
    };
    ws.on('unexpected-response', (_req, res) => finish({ status: res.statusCode ?? 0 }));
    ws.on('message', (data: Buffer) => finish({ status: 101, firstMessage: data }));
    ws.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

export interface OpenWsFlv {
  ws: WebSocket;
  /** Resolves when the connection closes, from either side. */
  closed: Promise<void>;
}

/** A WS-FLV player that stays connected; resolves at its first message (the FLV header). */
export function openWsFlv(url: string, timeoutMs = 10000): Promise<OpenWsFlv> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const closed = new Promise<void>((done) => ws.once('close', () => done()));
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no WS-FLV message from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.once('message', () => {
      clearTimeout(timer);
      resolve({ ws, closed });
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`WS-FLV ${url} answered ${res.statusCode}`));
    });
    ws.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

interface NmsRtmpClient {
  connect(url: string): Promise<void>;
  sendConnect(): Promise<unknown>;
  sendCreateStream(): Promise<number>;
  sendPlay(streamName: string): Promise<unknown>;
  sendPacket(packet: { codec_type: number; flags: number }): void;
  disconnect(): void;
  socket: net.Socket | null;
  onErrorCallback: (error: Error) => void;
  onCloseCallback: (hadError: boolean) => void;
}

export interface Injector {
  /** Video packets sent so far. */
  videoPackets(): number;
  /** Resolves once `count` video packets have been sent; rejects if the connection closes or time runs out. */
  sent(count: number, timeoutMs?: number): Promise<void>;
  closed(): boolean;
  /**
   * Stops sending and ends the connection gracefully (so the worker reads every packet sent); resolves once
   * it is closed.
   */
  stop(): Promise<void>;
}

/**
 * Connects as an RTMP *player* with a valid play URL, then sends media on that connection. NMS 4.4.3 forwards
 * media from any RTMP session attached to a path, so without the worker's packet gate this injects into the
 * stream. NMS's own RTMP client and FLV parser do the protocol work.
 */
export async function injectAsPlayer(playRtmpUrl: string): Promise<Injector> {
  /* eslint-disable @typescript-eslint/no-require-imports -- untyped NMS internals, test-only */
  const RtmpClient = require('node-media-server/src/protocol/rtmp_client.js') as new () => NmsRtmpClient;
  const Flv = require('node-media-server/src/protocol/flv.js') as new () => {
    onPacketCallback: (packet: { codec_type: number; flags: number }) => void;
    parserData(chunk: Buffer): string | null;
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const url = mediaUrl(playRtmpUrl);
  const client = new RtmpClient();
  let closed = false;
  let stopping = false;
  let video = 0;
  const waiters: Array<() => void> = [];
  let onClosed: () => void = () => {};
  const closedEvent = new Promise<void>((resolve) => (onClosed = resolve));
  client.onErrorCallback = () => {};
  client.onCloseCallback = () => {
    closed = true;
    onClosed();
    for (const w of waiters.splice(0)) w();
  };
  await client.connect(playRtmpUrl.split('?')[0]);
  await client.sendConnect();
  await client.sendCreateStream();
  client.sendPlay(`${streamOf(playRtmpUrl)}${url.search}`).catch(() => {});
  const source = pushTestPattern('pipe:1');
  const flv = new Flv();
  flv.onPacketCallback = (packet) => {
    if (closed || stopping) return;
    client.sendPacket(packet);
    if (packet.codec_type === TYPE_VIDEO) video++;
    for (const w of waiters.splice(0)) w();
  };
  source.process.stdout?.on('data', (data: Buffer) => flv.parserData(data));
  return {
    videoPackets: () => video,
    sent: (count, timeoutMs = 20000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`injector: ${video}/${count} video packets sent in ${timeoutMs} ms`)),
          timeoutMs,
        );
        const check = (): void => {
          if (video >= count) resolve();
          else if (closed) reject(new Error(`injector: closed after ${video}/${count} video packets`));
          else return void waiters.push(check);
          clearTimeout(timer);
        };
        check();
      }),
    closed: () => closed,
    async stop() {
      stopping = true;
      void source.stop();
      if (client.socket) client.socket.end();
      else client.disconnect();
      // The worker answers the FIN with its own; if it does not, the socket is destroyed after a while.
      const timer = setTimeout(() => client.disconnect(), 10000);
      await closedEvent;
      clearTimeout(timer);
    },
  };
}
