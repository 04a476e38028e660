/**
 * The socket the netcall client needs: the shape of WeChat's SocketTask, so `wx.connectSocket` fits as is and
 * Node tests can pass an adapter over `ws`. Nothing here may depend on Node.
 */
export interface SocketTaskLike {
  send(options: { data: string }): void;
  close(options?: { code?: number; reason?: string }): void;
  onOpen(callback: () => void): void;
  onMessage(callback: (result: { data: string | ArrayBuffer }) => void): void;
  onClose(callback: (result: { code: number; reason: string }) => void): void;
  onError(callback: (result: { errMsg: string }) => void): void;
}

export type ConnectSocket = (url: string) => SocketTaskLike;

/** The production factory. `wx` is only ever touched in this folder. */
export const wxConnectSocket: ConnectSocket = (url) =>
  wx.connectSocket({ url, timeout: 10000 }) as unknown as SocketTaskLike;
