/**
 * Error codes and the one error type of the kit. Shared by server and client, so it must stay free of
 * Node and `wx` APIs. Codes are NetEase's where NetEase has one.
 */

export const Code = {
  OK: 200,
  /** NetEase: the room is full. */
  ROOM_FULL: 104,
  /** NetEase: a live room already has its host (kNIMVChatConnectRtmpHostError). */
  HOST_EXISTS: 105,
  /** NetEase: a bypass push (`rtmpUrl`) asked by someone who is not the room's creator (kNIMVChatConnectRtmpCreateError). */
  NOT_HOST: 106,
  /** NetEase: the host's custom layout is malformed (kNIMVChatConnectLayoutError). */
  BAD_LAYOUT: 208,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  TIMEOUT: 408,
  CONFLICT: 409,
  EXISTS: 417,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  /** An operation this engine cannot do (NimNetcall: what NetEase's weixin SDK has no API for). */
  NOT_SUPPORTED: 501,
  /** The server cannot reach its shared state (Redis) right now: nothing was done, try again shortly. */
  UNAVAILABLE: 503,
  /** Client side: the socket closed before the request got its reply. */
  DISCONNECTED: 599,
} as const;

export type CodeValue = (typeof Code)[keyof typeof Code];

/** Every promise of the kit rejects with this, never with a string. */
export class NetcallError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'NetcallError';
    this.code = code;
    // Keeps `instanceof` working when compiled to ES5-style classes by other toolchains.
    Object.setPrototypeOf(this, NetcallError.prototype);
  }
}
