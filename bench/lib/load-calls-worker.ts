/**
 * A load-calls generator child: its share of the 1,000 calls, caller and callee of each in this process, so a
 * call's setup is timed on one clock. Its clients speak the kit's wire protocol themselves (the frames Netcall
 * sends, over `ws`), and a side counts as set up when it holds what MediaRoster binds (its own push URL, and the
 * peer's play URL from `syncDone` or `clientJoin`): the same moment call-setup times with the kit's own
 * Netcall and MediaRoster. Without the kit's layers a client costs a fraction of the CPU, and the generators
 * share the server's 2 cores: what is measured is the server, not 2,000 kit clients packed on its machine
 * (2,000 phones each carry one). It refuses a non-loopback target and a count over the generator's cap.
 */
import { monitorEventLoopDelay, performance } from 'perf_hooks';
import { WebSocket } from 'ws';
import { mintToken } from '../../server/auth/tokens';
import type { LoginResult, RtcUser } from '../../services/protocol';
import { requireLoopback, requireWithinCap } from './load-bounds';
import { boundChild, serve } from './load-child';

export interface ConnectRequest {
  type: 'connect';
  url: string;
  pairs: number;
  /** Accounts are `<prefix>-caller-<n>` and `<prefix>-callee-<n>`: unique across children. */
  prefix: string;
  /** Logins in flight at once. */
  concurrency: number;
  /** Calls set up one at a time on pairs of their own (closed after), before the burst. */
  warmup: number;
}

export interface ConnectedReply {
  type: 'connected';
  clients: number;
  ms: number;
}

export interface DialRequest {
  type: 'dial';
  timeoutMs: number;
}

export interface DialledReply {
  type: 'dialled';
  /** call() until both rosters hold a pusher URL and the peer's player URL, per call set up. */
  setupMs: number[];
  /** Calls not set up, by reason. */
  failed: Record<string, number>;
  /** This process's event-loop delay during the burst: a generator that lags would inflate every sample. */
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
  /** This process's CPU over the burst, and the burst's wall time. */
  cpuSeconds: number;
  wallSeconds: number;
}

export interface CheckRequest {
  type: 'check';
  timeoutMs: number;
}

export interface CheckedReply {
  type: 'checked';
  /** Calls set up that still carry a control from caller to callee, with nothing gone wrong on either side. */
  held: number;
  /** Calls set up that ended, lost a side, or no longer carry a control. */
  dropped: number;
  /** Clients whose socket dropped (a reconnect attempt or a disconnect) since they logged in. */
  connectionsDropped: number;
  /** What went wrong, by event, over every client. */
  trouble: Record<string, number>;
}

/** A call is over, or at risk, once either side sees one of these. */
const CALL_TROUBLE = new Set(['hangup', 'clientLeave', 'callRejected']);
/** The socket under a client dropped, or the server cut it. */
const CONNECTION_TROUBLE = new Set(['disconnect', 'kicked']);

interface Frame {
  seq?: number;
  code?: number;
  message?: string;
  data?: unknown;
  event?: string;
}

/** One client: a socket, its requests by seq, and the URLs it holds. */
class Side {
  private readonly socket: WebSocket;
  private seq = 0;
  private readonly pending = new Map<number, { resolve(data: unknown): void; reject(error: Error): void }>();
  private readonly listeners = new Map<string, (data: never) => void>();
  private heartbeat: NodeJS.Timeout | undefined;
  readonly trouble: string[] = [];
  /** What MediaRoster would bind: this side's push URL and the peer's play URL. */
  pushUrl: string | null = null;
  peerUrl: string | null = null;
  private onComplete: (() => void) | null = null;
  /** Closed by this side (a warm-up pair done): not a dropped connection. */
  private closed = false;

  constructor(
    url: string,
    readonly account: string,
  ) {
    this.socket = new WebSocket(url, { perMessageDeflate: false });
    this.socket.on('message', (data) => this.receive(data.toString()));
    this.socket.on('close', () => {
      clearInterval(this.heartbeat);
      if (!this.closed) this.trouble.push('disconnect');
      for (const { reject } of this.pending.values()) reject(new Error('disconnected'));
      this.pending.clear();
    });
    this.socket.on('error', () => {});
  }

  /** Logs in, then pings at the server's heartbeat as Netcall does. */
  async login(token: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('open', resolve);
      this.socket.once('error', reject);
    });
    const result = (await this.request('login', { token })) as LoginResult;
    this.heartbeat = setInterval(() => {
      this.request('ping', {}).catch(() => this.trouble.push('ping'));
    }, result.heartbeat);
  }

  on<T>(event: string, listener: (data: T) => void): void {
    this.listeners.set(event, listener as (data: never) => void);
  }

  request(op: string, args: object): Promise<unknown> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.socket.send(JSON.stringify({ seq, op, args }));
    });
  }

  /** Resolves once this side holds both URLs. */
  whenComplete(): Promise<void> {
    if (this.complete()) return Promise.resolve();
    return new Promise((resolve) => (this.onComplete = resolve));
  }

  close(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.socket.close();
  }

  private complete(): boolean {
    return this.pushUrl !== null && this.peerUrl !== null;
  }

  private receive(text: string): void {
    const frame = JSON.parse(text) as Frame;
    if (frame.seq !== undefined) {
      const pending = this.pending.get(frame.seq);
      if (!pending) return;
      this.pending.delete(frame.seq);
      if (frame.code === 200) pending.resolve(frame.data ?? {});
      else pending.reject(new Error(`${frame.code} ${frame.message}`));
      return;
    }
    const event = frame.event ?? '';
    if (CALL_TROUBLE.has(event) || CONNECTION_TROUBLE.has(event)) this.trouble.push(event);
    if (event === 'syncDone')
      for (const user of (frame.data as { userlist: RtcUser[] }).userlist)
        if (user.account === this.account) this.pushUrl = user.url;
        else this.peerUrl = user.url;
    if (event === 'clientJoin') this.peerUrl = (frame.data as RtcUser).url;
    if (this.onComplete && this.complete()) {
      const resolve = this.onComplete;
      this.onComplete = null;
      resolve();
    }
    this.listeners.get(event)?.(frame.data as never);
  }
}

interface Pair {
  caller: Side;
  callee: Side;
  failures: string[];
  /** Set once the call is set up. */
  cid: string | null;
}

/** Bounds a warm-up call; the burst's own bound comes with the request. */
const SETUP_TIMEOUT_MS = 10_000;

const secret = process.env.BENCH_LOAD_SECRET ?? '';
const pairs: Pair[] = [];

async function connectSide(url: string, account: string): Promise<Side> {
  const side = new Side(url, account);
  await side.login(mintToken(secret, account, 3600));
  return side;
}

/** The app's wiring (README): the caller starts RTC on `callAccepted`, the callee after its `response`. */
function wire(pair: Pair): void {
  const { caller, callee, failures } = pair;
  caller.on<{ cid: string }>('callAccepted', ({ cid }) => {
    caller
      .request('startRtc', { mode: 0, cid })
      .catch((error: Error) => failures.push(`caller startRtc: ${error.message}`));
  });
  callee.on<{ caller: string; type: number; cid: string }>('beCalling', ({ caller: account, type, cid }) => {
    callee
      .request('response', { accepted: true, caller: account, type, cid })
      .then(() => callee.request('startRtc', { mode: 0, cid }))
      .catch((error: Error) => failures.push(`callee response/startRtc: ${error.message}`));
  });
}

async function connect(request: ConnectRequest): Promise<ConnectedReply> {
  requireLoopback(request.url);
  requireWithinCap((request.pairs + request.warmup) * 2, 'load-calls child');
  if (!secret) throw new Error('BENCH_LOAD_SECRET is not set');
  const started = performance.now();
  let next = 0;
  const runner = async (): Promise<void> => {
    while (next < request.pairs) {
      const index = next++;
      const pair: Pair = {
        caller: await connectSide(request.url, `${request.prefix}-caller-${index}`),
        callee: await connectSide(request.url, `${request.prefix}-callee-${index}`),
        failures: [],
        cid: null,
      };
      wire(pair);
      pairs.push(pair);
    }
  };
  await Promise.all(Array.from({ length: Math.min(request.concurrency, request.pairs) }, runner));
  const ms = performance.now() - started;
  await warmUp(request);
  return { type: 'connected', clients: pairs.length * 2, ms };
}

/**
 * A server that never placed a call compiles its call path during the first ones (call-setup warms up for the
 * same reason); a node under this load has been up for a while. Warm-up pairs get accounts of their own and
 * are closed before the burst, so the burst meets none of their state.
 */
async function warmUp(request: ConnectRequest): Promise<void> {
  for (let index = 0; index < request.warmup; index++) {
    const pair: Pair = {
      caller: await connectSide(request.url, `${request.prefix}-warm-caller-${index}`),
      callee: await connectSide(request.url, `${request.prefix}-warm-callee-${index}`),
      failures: [],
      cid: null,
    };
    wire(pair);
    try {
      await establish(pair, SETUP_TIMEOUT_MS);
    } finally {
      pair.caller.close();
      pair.callee.close();
    }
  }
}

async function establish(pair: Pair, timeoutMs: number): Promise<number> {
  const ready = Promise.all([pair.caller.whenComplete(), pair.callee.whenComplete()]);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
  });
  const started = performance.now();
  try {
    const { cid } = await Promise.race([
      pair.caller
        .request('call', { type: 2, callee: pair.callee.account })
        .then((result) => ready.then(() => result as { cid: string })),
      timeout,
    ]);
    pair.cid = cid;
    return performance.now() - started;
  } finally {
    clearTimeout(timer);
  }
}

async function dial(request: DialRequest): Promise<DialledReply> {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  const cpu = process.cpuUsage();
  const started = performance.now();
  delay.enable();
  const failed: Record<string, number> = {};
  // Every call() is sent in this one turn of the loop: the 1,000 calls start together.
  const outcomes = await Promise.all(
    pairs.map((pair) =>
      establish(pair, request.timeoutMs).catch((error: Error) => {
        const why = pair.failures[0] ?? error.message;
        failed[why] = (failed[why] ?? 0) + 1;
        return null;
      }),
    ),
  );
  delay.disable();
  const used = process.cpuUsage(cpu);
  return {
    type: 'dialled',
    setupMs: outcomes.filter((ms): ms is number => ms !== null),
    failed,
    loopDelayMaxMs: delay.max / 1e6,
    loopDelayP99Ms: delay.percentile(99) / 1e6,
    cpuSeconds: (used.user + used.system) / 1e6,
    wallSeconds: (performance.now() - started) / 1000,
  };
}

/** Whether a control from the caller still reaches the callee on this call. */
function carries(pair: Pair, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(false), timeoutMs);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      pair.callee.on('control', () => {});
      resolve(ok);
    };
    pair.callee.on<{ cid: string }>('control', (event) => {
      if (event.cid === pair.cid) done(true);
    });
    pair.caller.request('control', { command: 2, cid: pair.cid }).catch(() => done(false));
  });
}

async function check(request: CheckRequest): Promise<CheckedReply> {
  const trouble: Record<string, number> = {};
  let connectionsDropped = 0;
  for (const pair of pairs)
    for (const side of [pair.caller, pair.callee]) {
      for (const event of side.trouble) trouble[event] = (trouble[event] ?? 0) + 1;
      if (side.trouble.some((event) => CONNECTION_TROUBLE.has(event))) connectionsDropped++;
    }
  const setUp = pairs.filter((pair) => pair.cid !== null);
  const held = await Promise.all(
    setUp.map(
      async (pair) =>
        pair.caller.trouble.length === 0 &&
        pair.callee.trouble.length === 0 &&
        (await carries(pair, request.timeoutMs)),
    ),
  );
  const count = held.filter(Boolean).length;
  return { type: 'checked', held: count, dropped: setUp.length - count, connectionsDropped, trouble };
}

boundChild();
serve<ConnectRequest | DialRequest | CheckRequest>(async (request) => {
  if (request.type === 'connect') return connect(request);
  if (request.type === 'dial') return dial(request);
  return check(request);
});
