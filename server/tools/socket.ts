/**
 * WeChat's SocketTask shape over a `ws` socket, so the real `Netcall` (services/netcall) runs inside Node —
 * the built-in echo peer and the bot CLI are clients of the server exactly as a phone is; the tests use it too
 * (test/helpers/ws-socket.ts). Owns nothing but the adapter.
 */
import WebSocket from 'ws';
import type { ConnectSocket, SocketTaskLike } from '../../services/platform/primitives';

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

export const wsConnectSocket: ConnectSocket = (url) => adaptWs(new WebSocket(url));
