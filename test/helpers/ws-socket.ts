/**
 * A SocketTask-shaped adapter over `ws`, so the real `Netcall` runs in Node exactly as it runs on `wx`, and plain
 * `ws` sockets for tests that must do what `Netcall` never would (flood, send junk, stop reading).
 */
import WebSocket from 'ws';
import type { ConnectSocket } from '../../services/platform';
// The same adapter the server's echo peer and bot use: tests drive Netcall exactly as they do.
import { adaptWs, wsConnectSocket } from '../../server/tools/socket';

export { adaptWs, wsConnectSocket };

/** A socket factory whose latest socket the test can cut abnormally, like a phone losing its network. */
export function cuttableSockets(): { connectSocket: ConnectSocket; cut(): void } {
  let current: WebSocket | null = null;
  return {
    connectSocket: (url) => adaptWs((current = new WebSocket(url))),
    cut: () => current?.terminate(),
  };
}

/**
 * Opens a plain socket: resolves with it once open, or with the HTTP status when the server refuses the upgrade
 * (a connection cap answers 429). Errors after the open are ignored: a server that cuts a socket (flood, frame
 * over the cap) may reset it, and the close code is what the tests read.
 */
export function tryOpenSocket(
  url: string,
  options: WebSocket.ClientOptions = {},
): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options);
    socket.once('open', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.once('error', reject);
  });
}

/** Opens a plain socket, failing with the HTTP status if the server refuses the upgrade. */
export async function openSocket(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const opened = await tryOpenSocket(url, options);
  if (typeof opened === 'number') throw new Error(`${url}: upgrade refused with HTTP ${opened}`);
  return opened;
}

/** Resolves with the code `socket` closes with; call it before whatever may close the socket. */
export const closeOf = (socket: WebSocket): Promise<number> =>
  new Promise((resolve) => socket.once('close', (code) => resolve(code)));

/** Closes `socket` and resolves once it has closed, so a test leaves no socket behind on the server. */
export async function closeSocket(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return;
  const closed = closeOf(socket);
  socket.close();
  await closed;
}

export interface RawSocket {
  socket: WebSocket;
  /** The next frame not yet taken; rejects if the socket closes first, or after 5 s. */
  next(): Promise<Record<string, unknown>>;
  sendText(text: string): void;
}

/** A raw socket for tests that must send frames `Netcall` would never send. */
export async function rawSocket(url: string): Promise<RawSocket> {
  const socket = await openSocket(url);
  const queue: Record<string, unknown>[] = [];
  const waiters: { resolve(frame: Record<string, unknown>): void; reject(error: Error): void }[] = [];
  let closed: number | null = null;
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Record<string, unknown>;
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(frame);
    else queue.push(frame);
  });
  socket.on('close', (code) => {
    closed = code;
    for (const waiter of waiters.splice(0))
      waiter.reject(new Error(`socket closed (${code}) before a frame`));
  });
  return {
    socket,
    sendText: (text) => socket.send(text),
    next: () =>
      new Promise((resolve, reject) => {
        const frame = queue.shift();
        if (frame) return resolve(frame);
        if (closed !== null) return reject(new Error(`socket closed (${closed}) before a frame`));
        const waiter = {
          resolve: (f: Record<string, unknown>) => {
            clearTimeout(timer);
            resolve(f);
          },
          reject: (error: Error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        // A waiter that gave up leaves the line, so the frame that arrives later is not handed to it.
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error('no frame within 5 s'));
        }, 5000);
        waiters.push(waiter);
      }),
  };
}
