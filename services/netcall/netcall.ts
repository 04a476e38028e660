/**
 * `Netcall`: NetEase's weixin Netcall API over one WebSocket to our own server.
 * Owns the socket, request/reply matching and event fan-out. Never touches `wx` (the socket factory is
 * injected; the default comes from platform/) and never keeps UI state: that is MediaRoster's and the stores'.
 */
import { Code, NetcallError } from '../protocol/errors';
import {
  isReply,
  Layout,
  type CallArgs,
  type CallResult,
  type CoHostTargetArgs,
  type ControlArgs,
  type CreateChannelArgs,
  type CreateChannelResult,
  type HangupArgs,
  type InviteToCallArgs,
  type JoinChannelArgs,
  type JoinChannelResult,
  type LeaveChannelArgs,
  type LiveRoomArgs,
  type LoginResult,
  type Op,
  type RequestArgs,
  type RequestResults,
  type RespondCoHostArgs,
  type RespondCoHostInviteArgs,
  type ResponseArgs,
  type SendRoomMessageArgs,
  type ServerFrame,
  type StartRtcArgs,
  type StartRtcResult,
} from '../protocol/frames';
import {
  defaultTimers,
  wxConnectSocket,
  type ConnectSocket,
  type SocketTaskLike,
  type Timers,
} from '../platform/primitives';
import type { LiveNetcallLike, NetcallEvents } from './types';

// ---- the emitter (here rather than a module of its own: every shipped file carries its own CommonJS preamble)
// A small typed multi-listener emitter. NetEase's SDK keeps one handler per event and `off` throws when
// there is none; ours fans out, `off` is idempotent, and a throwing listener cannot starve the others.

export type Listener<T> = (payload: T) => void;

export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): this {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as Listener<never>);
    return this;
  }

  once<K extends keyof Events>(name: K, listener: Listener<Events[K]>): this {
    const wrapper: Listener<Events[K]> = (payload) => {
      this.off(name, wrapper);
      listener(payload);
    };
    return this.on(name, wrapper);
  }

  /** Without a listener, removes every listener of that event. */
  off<K extends keyof Events>(name: K, listener?: Listener<Events[K]>): this {
    if (!listener) this.listeners.delete(name);
    else this.listeners.get(name)?.delete(listener as Listener<never>);
    return this;
  }

  emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (error) {
        // A broken app handler must not break the kit's own handlers on the same event.
        console.error(`[netcall] listener for "${String(name)}" threw`, error);
      }
    }
  }

  listenerCount(name: keyof Events): number {
    return this.listeners.get(name)?.size ?? 0;
  }
}

export interface NetcallOptions {
  /**
   * `ws://` or `wss://` URL of the signalling server, or several (nodes sharing one state store): the client
   * logs in at the first and moves on to the next, wrapping, whenever one fails, is lost or drains.
   */
  server: string | readonly string[];
  account: string;
  /** JWT minted by the app's business server (or `POST /api/login` in dev mode). */
  token: string;
  /** SocketTask factory; defaults to `wx.connectSocket`. Node tests pass one over `ws`. */
  connectSocket?: ConnectSocket;
  timers?: Timers;
  /** A request without a reply after this long rejects with 408. */
  requestTimeout?: number;
  /**
   * A URL whose socket has not opened and answered the login after this long (ms, default 10000: room for a
   * TLS handshake on a slow mobile network; at most 2^31-1) is abandoned as if it had refused the connection,
   * and the next URL is tried. Without it a node that silently drops packets holds the client for the
   * platform's own socket timeout, which can be a minute.
   */
  connectTimeout?: number;
  /** Reconnect attempts (each tries every URL once) after a lost socket before `disconnect` (NetEase: 8). */
  maxReconnects?: number;
  /** First reconnect delay, doubled per attempt up to `maxReconnectDelay` (ms); none between URLs of one. */
  reconnectDelay?: number;
  maxReconnectDelay?: number;
  /** How long before the token expires `tokenWillExpire` fires (ms, default 60 s; half a shorter token's life). */
  tokenWarning?: number;
}

interface Pending {
  resolve(data: unknown): void;
  reject(error: NetcallError): void;
  timer: unknown;
}

const LOGIN_CLOSE_CODE = 4401;
const KICKED_CLOSE_CODE = 4403;
/** The server's "service restart" on shutdown: come back, elsewhere if there is an elsewhere. */
const RESTART_CLOSE_CODE = 1012;

/** Live-room ops: each acts on the current room unless `cid` names one. */
type LiveOp =
  | 'changeRoleToPlayer'
  | 'changeRoleToAudience'
  | 'requestCoHost'
  | 'respondCoHost'
  | 'inviteCoHost'
  | 'respondCoHostInvite'
  | 'removeCoHost'
  | 'sendRoomMessage';

export class Netcall extends Emitter<NetcallEvents> implements LiveNetcallLike {
  readonly account: string;
  /** The call this client is in (dialing, ringing answered, or talking); NetEase's "current channel". */
  cid: string | null = null;
  private readonly options: Required<Omit<NetcallOptions, 'connectSocket' | 'timers'>>;
  private readonly connectSocket: ConnectSocket;
  private readonly timers: Timers;
  /** The server URLs, the current one first. */
  private readonly urls: string[];
  /** URLs that failed in a row since the last login or backoff: a round ends when each had its turn. */
  private tried = 0;
  /** Settles the last `connect()`: a no-op once it has settled, so only its own round's outcome counts. */
  private settle: (error?: NetcallError) => void = () => undefined;
  private socket: SocketTaskLike | null = null;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private heartbeat: unknown = null;
  /** Runs from a socket's creation until its login is answered: `connectTimeout`. */
  private connectTimer: unknown = null;
  private connected = false;
  private everConnected = false;
  private closedByUser = false;
  private reconnectAttempts = 0;
  private reconnectTimer: unknown = null;
  private expiryTimer: unknown = null;
  /** The call placed last rings several callees: one refusal does not end it. */
  private group = false;
  /** The RTC session to rejoin after a reconnect. */
  private rtc: { cid: string; mode: StartRtcArgs['mode'] } | null = null;
  /**
   * The room this device joined by name: after a reconnect, a member with no RTC session there (the audience of
   * a live room, a member not pushing yet) joins it again, which takes its place back while its grace runs.
   */
  private room: JoinChannelArgs | null = null;

  constructor(options: NetcallOptions) {
    super();
    this.urls = options ? ([] as string[]).concat(options.server) : [];
    const connectTimeout = options?.connectTimeout ?? 10000;
    if (
      !this.urls.length ||
      this.urls.some((url) => !/^wss?:\/\/./i.test(url)) ||
      !options.account ||
      !options.token ||
      // Timers overflow past 2^31-1 ms and would fire at once: every URL would time out before it could answer.
      !(connectTimeout > 0 && connectTimeout < 2 ** 31)
    )
      throw new NetcallError(
        Code.BAD_REQUEST,
        'Netcall needs account, token, server (ws:// or wss:// URLs), connectTimeout in (0, 2^31) ms',
      );
    this.account = options.account;
    this.options = {
      requestTimeout: 10000,
      maxReconnects: 8,
      reconnectDelay: 1000,
      maxReconnectDelay: 8000,
      tokenWarning: 60000,
      ...options,
      connectTimeout,
    };
    this.connectSocket = options.connectSocket ?? wxConnectSocket;
    this.timers = options.timers ?? defaultTimers;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /**
   * Opens the socket and logs in, trying each URL once; rejects with the last failure, with 401 for a bad token
   * (the server then closes the socket).
   */
  connect(): Promise<void> {
    if (this.socket || this.reconnectTimer !== null)
      return Promise.reject(new NetcallError(Code.CONFLICT, 'already connected'));
    // A new session: a failed round rejects it, instead of reconnecting as the last session would.
    this.closedByUser = this.everConnected = false;
    this.tried = 0;
    return new Promise<void>((resolve, reject) => {
      this.settle = (error) => (error ? reject(error) : resolve());
      this.open();
    });
  }

  /** Closes the socket for good (no reconnect); pending requests reject with 599. */
  close(): void {
    this.closedByUser = true;
    // Nothing of this session is rejoined by a later connect().
    this.rtc = this.room = this.cid = null;
    this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.settle(new NetcallError(Code.DISCONNECTED, 'closed by client'));
    const socket = this.socket;
    if (!socket) return;
    this.teardown(Code.DISCONNECTED, 'closed by client');
    socket.close({ code: 1000, reason: 'bye' });
    this.emit('disconnect', { code: 1000, reason: 'closed by client' });
  }

  /**
   * One socket's life, to the current URL: open, log in, then route its frames. Events of a socket that is no
   * longer current (abandoned after a failed login or a heartbeat timeout) are ignored, so a late close cannot
   * tear down its successor.
   */
  private open(): void {
    const socket = this.connectSocket(this.urls[0]);
    this.socket = socket;
    const current = () => this.socket === socket;
    // Before login the first failure ends this socket. lost() first: it detaches the socket, so the close
    // below (or the one that follows an error) cannot report the same loss twice.
    const fail = (code: number, error: NetcallError) => {
      if (!current()) return;
      this.lost(code, error.message, error);
      socket.close({ code: 1000, reason: 'login refused' });
    };
    // A dead host may never answer at all (packets dropped, or a handshake or login left hanging): give up on
    // it as on a refusal.
    const ms = this.options.connectTimeout;
    this.connectTimer = this.timers.setTimeout(
      () => fail(1006, new NetcallError(Code.DISCONNECTED, `no login in ${ms} ms`)),
      ms,
    );
    socket.onOpen(() => {
      if (!current()) return;
      this.request('login', { token: this.options.token }).then(
        (result: LoginResult) => {
          if (!current()) return;
          const count = this.reconnectAttempts;
          this.timers.clearTimeout(this.connectTimer);
          this.connected = this.everConnected = true;
          this.tried = this.reconnectAttempts = 0;
          this.startHeartbeat(result.heartbeat);
          this.warnBefore(result);
          this.settle();
          if (!count) return;
          this.emit('reconnected', { count });
          this.rejoin();
        },
        // 401 is final; a refusal that may pass (429: the device cap while the server has not yet noticed our
        // previous socket died) lets a reconnecting client retry.
        (error: NetcallError) =>
          fail(error.code === Code.UNAUTHORIZED ? LOGIN_CLOSE_CODE : error.code, error),
      );
    });
    socket.onMessage(({ data }) => {
      if (current()) this.receive(data);
    });
    // Once logged in, the close that follows an error reports the loss.
    socket.onError(
      ({ errMsg }) =>
        this.connected || fail(1006, new NetcallError(Code.DISCONNECTED, `socket error: ${errMsg}`)),
    );
    socket.onClose(({ code, reason }) => {
      if (!current()) return;
      const error = new NetcallError(Code.DISCONNECTED, `socket closed (${code}) ${reason || ''}`.trim());
      this.lost(code, reason, error);
    });
  }

  /**
   * The current socket is gone; the next attempt goes to the next URL. Before login, the round goes on at once
   * while a URL in it has not had its turn; a logged-in client reconnects, one round per attempt, backed off
   * between rounds; anything else is reported.
   */
  private lost(code: number, reason: string, error?: NetcallError): void {
    const refused = code === LOGIN_CLOSE_CODE || code === KICKED_CLOSE_CODE;
    const up = this.connected;
    this.teardown(code === LOGIN_CLOSE_CODE ? Code.UNAUTHORIZED : Code.DISCONNECTED, reason);
    const urls = this.urls.length;
    this.urls.push(this.urls.shift()!);
    if (!up && !refused && ++this.tried < urls) return this.open();
    this.tried = 0;
    if (
      this.closedByUser ||
      refused ||
      !this.everConnected ||
      this.reconnectAttempts >= this.options.maxReconnects
    ) {
      const gaveUp = !refused && this.everConnected && !this.closedByUser && this.options.maxReconnects > 0;
      this.reconnectAttempts = 0;
      this.emit('disconnect', {
        code: code === LOGIN_CLOSE_CODE ? Code.UNAUTHORIZED : gaveUp ? Code.DISCONNECTED : code,
        reason: gaveUp ? `gave up after ${this.options.maxReconnects} reconnect attempts` : reason,
      });
      // Only a connect() in progress hears it: without an error here, a heartbeat's, it has settled long ago.
      this.settle(error);
      return;
    }
    const count = ++this.reconnectAttempts;
    this.emit('willreconnect', { count });
    // A draining node sends us elsewhere: another node is up, nothing to wait for.
    const delay =
      up && code === RESTART_CLOSE_CODE && urls > 1
        ? 0
        : Math.min(this.options.reconnectDelay * 2 ** (count - 1), this.options.maxReconnectDelay);
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.closedByUser) this.open();
    }, delay);
  }

  /** After a reconnect, rejoin the RTC session: the server answers with a fresh syncDone (new URLs). */
  private rejoin(): void {
    const rtc = this.rtc;
    const room = this.room;
    const target = rtc || room;
    if (!target) return;
    const cid = target.cid!;
    const held = () => (rtc ? this.rtc : this.room) === target;
    (rtc ? this.request('startRtc', { mode: rtc.mode, cid }) : this.request('joinChannel', room!)).then(
      (result) => {
        if (!rtc && held()) this.emit('roomRejoined', { cid, result: result as JoinChannelResult });
      },
      (error: NetcallError) => {
        if (!held()) return;
        this.forget(cid);
        this.emit('callLost', { cid, code: error.code, message: error.message });
      },
    );
  }

  /**
   * Replaces the session's token (same account) before it expires; the server then keeps the session past the
   * old token's `exp`, and reconnects use the new token. Our extension: NetEase's SDK has none.
   */
  async renewToken(token: string): Promise<void> {
    const result = await this.request('renewToken', { token });
    this.options.token = token;
    this.warnBefore(result);
  }

  async call(options: CallArgs): Promise<CallResult> {
    const result = await this.request('call', options);
    this.cid = result.cid;
    this.group = Array.isArray(options.callee);
    return result;
  }

  async response(options: ResponseArgs): Promise<void> {
    await this.request('response', {
      accepted: options.accepted,
      caller: options.caller,
      type: options.type,
      // The demo of NetEase passes cid through a page query, so it may arrive as a number or string.
      cid: String(options.cid),
      ...(options.reason ? { reason: options.reason } : {}),
    });
    if (options.accepted) this.cid = String(options.cid);
  }

  async hangup(options: HangupArgs = {}): Promise<void> {
    const cid = this.cidOf(options);
    if (cid === undefined) return; // Like NetEase: hanging up with no call is a no-op, not an error.
    try {
      await this.request('hangup', options.reason ? { cid, reason: options.reason } : { cid });
    } finally {
      this.forget(cid);
    }
  }

  async startRtc(options: StartRtcArgs): Promise<StartRtcResult> {
    const cid = this.cidOf(options);
    const result = await this.request(
      'startRtc',
      cid === undefined ? { mode: options.mode } : { mode: options.mode, cid },
    );
    this.rtc = { cid: result.cid, mode: options.mode };
    return result;
  }

  /** Creates a room by name (417 when the name is taken); join it with `joinChannel`. */
  createChannel(options: CreateChannelArgs): Promise<CreateChannelResult> {
    return this.request('createChannel', options);
  }

  /** Joins a room by name (404 none, 104 full, 409 already in a call or room); then `startRtc` to push. */
  async joinChannel(options: JoinChannelArgs): Promise<JoinChannelResult> {
    const result = await this.request('joinChannel', options);
    this.cid = result.cid;
    // The host's settings stay out: a host that comes back takes its place, it does not start a live again. The
    // cid keeps it out of another room given the same name meanwhile.
    const { channelName, type, liveEnable } = options;
    this.room = { channelName, type, liveEnable, cid: result.cid };
    return result;
  }

  /** Leaves the current room (or `cid`); rejects (404) when not in one. */
  async leaveChannel(options: LeaveChannelArgs = {}): Promise<void> {
    const cid = this.cidOf(options);
    try {
      await this.request('leaveChannel', cid === undefined ? {} : { cid });
    } finally {
      if (cid !== undefined) this.forget(cid);
    }
  }

  /** Rings one more account into a running group call (our extension). */
  async inviteToCall(options: InviteToCallArgs): Promise<void> {
    await this.request('inviteToCall', options);
  }

  // ---- interactive live (a room joined with liveEnable) ----

  /** NetEase's: audience → on stage, then `startRtc`. 403 when the room needs approval first, 104 stage full. */
  changeRoleToPlayer(options: LiveRoomArgs = {}): Promise<void> {
    return this.liveRequest('changeRoleToPlayer', options);
  }

  /** NetEase's: co-host → audience (the server ends its stream: nothing to rejoin after a reconnect). */
  async changeRoleToAudience(options: LiveRoomArgs = {}): Promise<void> {
    await this.liveRequest('changeRoleToAudience', options);
    this.offStage(this.cidOf(options));
  }

  requestCoHost(options: LiveRoomArgs = {}): Promise<void> {
    return this.liveRequest('requestCoHost', options);
  }

  respondCoHost(options: RespondCoHostArgs): Promise<void> {
    return this.liveRequest('respondCoHost', options);
  }

  inviteCoHost(options: CoHostTargetArgs): Promise<void> {
    return this.liveRequest('inviteCoHost', options);
  }

  respondCoHostInvite(options: RespondCoHostInviteArgs): Promise<void> {
    return this.liveRequest('respondCoHostInvite', options);
  }

  removeCoHost(options: CoHostTargetArgs): Promise<void> {
    return this.liveRequest('removeCoHost', options);
  }

  sendRoomMessage(options: SendRoomMessageArgs): Promise<void> {
    return this.liveRequest('sendRoomMessage', options);
  }

  private async liveRequest<O extends LiveOp>(op: O, options: RequestArgs[O]): Promise<void> {
    const cid = this.cidOf(options);
    await this.request(op, (cid === undefined ? options : { ...options, cid }) as RequestArgs[O]);
  }

  /** The call or room an op is about: the one named, else the current one (none: the server says which). */
  private cidOf(options: { cid?: string | null }): string | undefined {
    return options.cid ?? this.cid ?? undefined;
  }

  /** Off stage: no RTC session left to rejoin after a reconnect (a startRtc there would be refused, 403). */
  private offStage(cid: string | null | undefined): void {
    if (this.rtc && this.rtc.cid === cid) this.rtc = null;
  }

  async control(options: ControlArgs): Promise<void> {
    const cid = this.cidOf(options);
    await this.request('control', cid === undefined ? { command: options.command } : { ...options, cid });
  }

  private request<O extends Op>(op: O, args: RequestArgs[O]): Promise<RequestResults[O]> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new NetcallError(Code.DISCONNECTED, `${op}: not connected`));
    const seq = ++this.seq;
    const data = JSON.stringify({ seq, op, args });
    return new Promise<RequestResults[O]>((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this.pending.delete(seq);
        reject(new NetcallError(Code.TIMEOUT, `${op}: no reply in ${this.options.requestTimeout} ms`));
      }, this.options.requestTimeout);
      this.pending.set(seq, { resolve: resolve as (data: unknown) => void, reject, timer });
      socket.send({ data });
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
    // One refusal ends a 1:1 call; a group call goes on while others are in it, until its `hangup`.
    if (event === 'hangup' || event === 'liveRoomClose' || (event === 'callRejected' && !this.group))
      this.forget((payload as { cid: string }).cid);
    if (event === 'coHostRemoved') this.offStage((payload as { cid: string }).cid);
    this.emit(event, payload as never);
  }

  private forget(cid: string): void {
    if (this.cid === cid) this.cid = null;
    if (this.rtc?.cid === cid) this.rtc = null;
    if (this.room && this.room.cid === cid) this.room = null;
  }

  private startHeartbeat(interval: number): void {
    if (!(interval > 0)) return;
    this.heartbeat = this.timers.setInterval(() => {
      const socket = this.socket;
      this.request('ping', {}).catch((error: NetcallError) => {
        // No pong in time on a socket that still looks open: the network is gone under it (a half-open TCP
        // connection never closes by itself). Abandon it and reconnect.
        if (error.code !== Code.TIMEOUT || this.socket !== socket || !socket) return;
        this.lost(1006, 'heartbeat timeout'); // detaches the socket first, so its own late close is ignored
        socket.close({ code: 4000, reason: 'heartbeat timeout' });
      });
    }, interval);
  }

  /** Schedules `tokenWillExpire` ahead of `exp`, timed by the server's clock (a phone's may be off). */
  private warnBefore({ exp, expiresIn }: { exp: number; expiresIn: number }): void {
    this.timers.clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    // A renewal that lands after close() must not leave a timer behind.
    if (!this.connected) return;
    // A token shorter than the warning is warned at half its life: a fixed lead would fire at once after
    // every renewal, and the app would renew in a loop.
    const delay = expiresIn * 1000 - Math.min(this.options.tokenWarning, expiresIn * 500);
    // Timers overflow past 2^31-1 ms (~24.8 days) and would fire at once; a session rarely lasts that long.
    if (!(expiresIn > 0) || delay > 2147483647) return;
    this.expiryTimer = this.timers.setTimeout(() => {
      this.expiryTimer = null;
      this.emit('tokenWillExpire', { exp });
    }, delay);
  }

  private teardown(code: number, reason: string): void {
    this.connected = false;
    this.socket = null;
    this.timers.clearTimeout(this.connectTimer);
    this.timers.clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    this.timers.clearInterval(this.heartbeat);
    this.heartbeat = null;
    for (const [seq, pending] of this.pending) {
      this.timers.clearTimeout(pending.timer);
      pending.reject(new NetcallError(code, `connection closed before reply${reason ? `: ${reason}` : ''}`));
      this.pending.delete(seq);
    }
  }
}

/**
 * NetEase's layout constants as static members, where NetEase's SDK has them (`Netcall.LAYOUT_SPLITLATTICETILE`
 * for `sessionConfig.splitMode`). Assigned from one table rather than declared one by one: the names ship once.
 */
Object.assign(Netcall, Layout);

// eslint-disable-next-line @typescript-eslint/no-namespace -- declaration merging: the statics' types on the class
export declare namespace Netcall {
  const LAYOUT_SPLITBOTTOMHORFLOATING: typeof Layout.LAYOUT_SPLITBOTTOMHORFLOATING;
  const LAYOUT_SPLITTOPHORFLOATING: typeof Layout.LAYOUT_SPLITTOPHORFLOATING;
  const LAYOUT_SPLITLATTICETILE: typeof Layout.LAYOUT_SPLITLATTICETILE;
  const LAYOUT_SPLITLATTICECUTTINGTILE: typeof Layout.LAYOUT_SPLITLATTICECUTTINGTILE;
  const LAYOUT_SPLITCUSTOMLAYOUT: typeof Layout.LAYOUT_SPLITCUSTOMLAYOUT;
  const LAYOUT_SPLITAUDIOLAYOUT: typeof Layout.LAYOUT_SPLITAUDIOLAYOUT;
  const LAYOUT_SPLITCUSTOM: typeof Layout.LAYOUT_SPLITCUSTOM;
  const LAYOUT_SPLITAUDIO: typeof Layout.LAYOUT_SPLITAUDIO;
  const LAYOUT_TOP_LEFT: typeof Layout.LAYOUT_TOP_LEFT;
  const LAYOUT_TOP_RIGHT: typeof Layout.LAYOUT_TOP_RIGHT;
  const LAYOUT_BOTTOM_LEFT: typeof Layout.LAYOUT_BOTTOM_LEFT;
  const LAYOUT_BOTTOM_RIGHT: typeof Layout.LAYOUT_BOTTOM_RIGHT;
}
