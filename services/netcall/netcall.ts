/**
 * `Netcall`: NetEase's weixin Netcall API over one WebSocket to our own server.
 * Owns the socket, request/reply matching and event fan-out. Never touches `wx` (the socket factory is
 * injected; the default comes from platform/) and never keeps UI state: that is MediaRoster's and the stores'.
 */
import {
  Code,
  NetcallError,
  isReply,
  type CallArgs,
  type CallResult,
  type ControlArgs,
  type HangupArgs,
  type LoginResult,
  type Op,
  type RequestArgs,
  type RequestResults,
  type ResponseArgs,
  type ServerFrame,
  type StartRtcArgs,
  type StartRtcResult,
} from '../protocol';
import {
  defaultTimers,
  wxConnectSocket,
  type ConnectSocket,
  type SocketTaskLike,
  type Timers,
} from '../platform';
import { Emitter } from './emitter';
import type { NetcallEvents, NetcallLike } from './types';

export interface NetcallOptions {
  /** `ws://` or `wss://` URL of the signalling server. */
  server: string;
  account: string;
  /** JWT minted by the app's business server (or `POST /api/login` in dev mode). */
  token: string;
  /** SocketTask factory; defaults to `wx.connectSocket`. Node tests pass one over `ws`. */
  connectSocket?: ConnectSocket;
  timers?: Timers;
  /** A request without a reply after this long rejects with 408. */
  requestTimeout?: number;
}

interface Pending {
  resolve(data: unknown): void;
  reject(error: NetcallError): void;
  timer: unknown;
}

const LOGIN_CLOSE_CODE = 4401;

export class Netcall extends Emitter<NetcallEvents> implements NetcallLike {
  readonly account: string;
  /** The call this client is in (dialing, ringing answered, or talking); NetEase's "current channel". */
  cid: string | null = null;
  private readonly options: Required<Omit<NetcallOptions, 'connectSocket' | 'timers'>>;
  private readonly connectSocket: ConnectSocket;
  private readonly timers: Timers;
  private socket: SocketTaskLike | null = null;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private heartbeat: unknown = null;
  private connected = false;

  constructor(options: NetcallOptions) {
    super();
    if (!options || !options.server || !options.account || !options.token)
      throw new NetcallError(Code.BAD_REQUEST, 'Netcall needs server, account and token');
    this.account = options.account;
    this.options = { requestTimeout: 10000, ...options };
    this.connectSocket = options.connectSocket ?? wxConnectSocket;
    this.timers = options.timers ?? defaultTimers;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Opens the socket and logs in; rejects with 401 for a bad token (the server then closes the socket). */
  connect(): Promise<void> {
    if (this.socket) return Promise.reject(new NetcallError(Code.CONFLICT, 'already connected'));
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (error: NetcallError) => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      const socket = this.connectSocket(this.options.server);
      this.socket = socket;
      socket.onOpen(() => {
        this.request('login', { token: this.options.token }).then((result: LoginResult) => {
          if (settled) return;
          settled = true;
          this.connected = true;
          this.startHeartbeat(result.heartbeat);
          resolve();
        }, fail);
      });
      socket.onMessage(({ data }) => this.receive(data));
      socket.onError(({ errMsg }) => fail(new NetcallError(Code.DISCONNECTED, `socket error: ${errMsg}`)));
      socket.onClose(({ code, reason }) => {
        this.teardown(code === LOGIN_CLOSE_CODE ? Code.UNAUTHORIZED : Code.DISCONNECTED, reason);
        fail(new NetcallError(Code.DISCONNECTED, `socket closed (${code}) ${reason || ''}`.trim()));
        this.emit('disconnect', { code: code === LOGIN_CLOSE_CODE ? Code.UNAUTHORIZED : code, reason });
      });
    });
  }

  /** Closes the socket; pending requests reject with 599. */
  close(): void {
    const socket = this.socket;
    if (!socket) return;
    this.teardown(Code.DISCONNECTED, 'closed by client');
    socket.close({ code: 1000, reason: 'bye' });
  }

  async call(options: CallArgs): Promise<CallResult> {
    const result = await this.request('call', options);
    this.cid = result.cid;
    return result;
  }

  async response(options: ResponseArgs): Promise<void> {
    await this.request('response', {
      accepted: options.accepted,
      caller: options.caller,
      type: options.type,
      // The demo of NetEase passes cid through a page query, so it may arrive as a number or string.
      cid: String(options.cid),
    });
    if (options.accepted) this.cid = String(options.cid);
  }

  async hangup(options: HangupArgs = {}): Promise<void> {
    const cid = options.cid ?? this.cid ?? undefined;
    if (cid === undefined) return; // Like NetEase: hanging up with no call is a no-op, not an error.
    try {
      await this.request('hangup', { cid });
    } finally {
      if (this.cid === cid) this.cid = null;
    }
  }

  startRtc(options: StartRtcArgs): Promise<StartRtcResult> {
    const cid = options.cid ?? this.cid ?? undefined;
    return this.request('startRtc', cid === undefined ? { mode: options.mode } : { mode: options.mode, cid });
  }

  async control(options: ControlArgs): Promise<void> {
    const cid = options.cid ?? this.cid ?? undefined;
    await this.request('control', cid === undefined ? { command: options.command } : { ...options, cid });
  }

  private request<O extends Op>(op: O, args: RequestArgs[O]): Promise<RequestResults[O]> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new NetcallError(Code.DISCONNECTED, `${op}: not connected`));
    const seq = ++this.seq;
    return new Promise<RequestResults[O]>((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this.pending.delete(seq);
        reject(new NetcallError(Code.TIMEOUT, `${op}: no reply in ${this.options.requestTimeout} ms`));
      }, this.options.requestTimeout);
      this.pending.set(seq, { resolve: resolve as (data: unknown) => void, reject, timer });
      socket.send({ data: JSON.stringify({ seq, op, args }) });
    });
  }

  private receive(data: string | ArrayBuffer): void {
    if (typeof data !== 'string') return; // the server only sends text frames
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      this.emit('error', { code: Code.BAD_REQUEST, message: 'unparseable frame from server' });
      return;
    }
    if (isReply(frame)) {
      const pending = this.pending.get(frame.seq);
      if (!pending) return; // a reply after its timeout: the caller already got 408
      this.pending.delete(frame.seq);
      this.timers.clearTimeout(pending.timer);
      if (frame.code === Code.OK) pending.resolve(frame.data ?? {});
      else pending.reject(new NetcallError(frame.code, frame.message ?? `request failed with ${frame.code}`));
      return;
    }
    const { event, data: payload } = frame;
    if ((event === 'hangup' || event === 'callRejected') && this.cid === (payload as { cid: string }).cid)
      this.cid = null;
    this.emit(event, payload as never);
  }

  private startHeartbeat(interval: number): void {
    if (!(interval > 0)) return;
    this.heartbeat = this.timers.setInterval(() => {
      this.request('ping', {}).catch(() => {
        // A lost ping shows up as a close from the server or the socket; nothing to do here.
      });
    }, interval);
  }

  private teardown(code: number, reason: string): void {
    this.connected = false;
    this.socket = null;
    if (this.heartbeat !== null) this.timers.clearInterval(this.heartbeat);
    this.heartbeat = null;
    for (const [seq, pending] of this.pending) {
      this.timers.clearTimeout(pending.timer);
      pending.reject(new NetcallError(code, `connection closed before reply${reason ? `: ${reason}` : ''}`));
      this.pending.delete(seq);
    }
  }
}
