/**
 * A SocketTask-shaped adapter over `ws`, so the real `Netcall` runs in Node exactly as it runs on `wx`.
 */
import WebSocket from 'ws';
import type { ConnectSocket, SocketTaskLike } from '../../services/platform';

/** WeChat's SocketTask shape over one `ws` socket. */
export function adaptWs(socket: WebSocket): SocketTaskLike {
  return {
    send: ({ data }) => socket.send(data),
    close: (options) => socket.close(options?.code ?? 1000, options?.reason),
    onOpen: (callback) => socket.on('open', () => callback()),
    onMessage: (callback) => socket.on('message', (data) => callback({ data: data.toString() })),
    onClose: (callback) =>
      socket.on('close', (code, reason) => callback({ code, reason: reason.toString() })),
    onError: (callback) => socket.on('error', (error) => callback({ errMsg: error.message })),
  };
}

export const wsConnectSocket: ConnectSocket = (url: string) => adaptWs(new WebSocket(url));

/** A socket factory whose latest socket the test can cut abnormally, like a phone losing its network. */
export function cuttableSockets(): { connectSocket: ConnectSocket; cut(): void } {
  let current: WebSocket | null = null;
  return {
    connectSocket: (url) => adaptWs((current = new WebSocket(url))),
    cut: () => current?.terminate(),
  };
}

/** A raw socket for tests that must send frames `Netcall` would never send. */
export async function rawSocket(url: string): Promise<{
  socket: WebSocket;
  next(): Promise<Record<string, unknown>>;
  sendText(text: string): void;
}> {
  const socket = new WebSocket(url);
  const queue: Record<string, unknown>[] = [];
  const waiters: ((frame: Record<string, unknown>) => void)[] = [];
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Record<string, unknown>;
    const waiter = waiters.shift();
    if (waiter) waiter(frame);
    else queue.push(frame);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    sendText: (text) => socket.send(text),
    next: () =>
      new Promise((resolve, reject) => {
        const frame = queue.shift();
        if (frame) return resolve(frame);
        const timer = setTimeout(() => reject(new Error('no frame within 5 s')), 5000);
        waiters.push((f) => {
          clearTimeout(timer);
          resolve(f);
        });
      }),
  };
}
