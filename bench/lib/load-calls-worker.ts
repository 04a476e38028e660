/**
 * A load-calls generator child: its share of the 1,000 calls, caller and callee of each in this process, so a
 * call's setup is timed on one clock. Real kit clients (Netcall over `ws`, a MediaRoster on each side) wired the
 * way bench/lib/calls.ts wires a pair for call-setup, so "set up" means here what it means there; the wiring is
 * repeated rather than imported because that helper names its accounts per process (two children would ring
 * each other's callees) and loads the whole server to mint tokens. It refuses a non-loopback target and a
 * count over the generator's cap.
 */
import { monitorEventLoopDelay, performance } from 'perf_hooks';
import { mintToken } from '../../server/auth/tokens';
import { wsConnectSocket } from '../../server/tools/socket';
import { MediaRoster } from '../../services/media';
import { Netcall, type NetcallEvents } from '../../services/netcall';
import type { ControlEvent } from '../../services/protocol';
import { requireLoopback, requireWithinCap } from './load-bounds';
import { boundChild, serve } from './load-child';
import { whenComplete } from './roster';

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
const CALL_TROUBLE = ['hangup', 'callLost', 'clientLeave', 'callRejected'] as const;
/** The socket under a client dropped. */
const CONNECTION_TROUBLE = ['willreconnect', 'disconnect', 'kicked'] as const;

interface Side {
  netcall: Netcall;
  roster: MediaRoster;
  trouble: string[];
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
  const netcall = new Netcall({
    server: url,
    account,
    token: mintToken(secret, account, 3600),
    connectSocket: wsConnectSocket,
  });
  const side: Side = { netcall, roster: new MediaRoster(netcall), trouble: [] };
  for (const event of [...CALL_TROUBLE, ...CONNECTION_TROUBLE])
    netcall.on(event as keyof NetcallEvents, () => side.trouble.push(event));
  await netcall.connect();
  return side;
}

/** The app's wiring (README): the caller starts RTC on `callAccepted`, the callee after its `response`. */
function wire(pair: Pair): void {
  const { caller, callee, failures } = pair;
  caller.netcall.on('callAccepted', () => {
    caller.netcall.startRtc({ mode: 0 }).then(
      (self) => caller.roster.setSelf(self),
      (error: Error) => failures.push(`caller startRtc: ${error.message}`),
    );
  });
  callee.netcall.on('beCalling', ({ caller: account, type, cid }) => {
    callee.netcall
      .response({ accepted: true, caller: account, type, cid })
      .then(() => callee.netcall.startRtc({ mode: 0 }))
      .then(
        (self) => callee.roster.setSelf(self),
        (error: Error) => failures.push(`callee response/startRtc: ${error.message}`),
      );
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
      pair.caller.netcall.close();
      pair.callee.netcall.close();
    }
  }
}

async function establish(pair: Pair, timeoutMs: number): Promise<number> {
  const ready = Promise.all([whenComplete(pair.caller.roster), whenComplete(pair.callee.roster)]);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
  });
  const started = performance.now();
  try {
    const { cid } = await Promise.race([
      pair.caller.netcall
        .call({ type: 2, callee: pair.callee.netcall.account })
        .then((result) => ready.then(() => result)),
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
    const listener = (event: ControlEvent) => {
      if (event.cid === pair.cid) done(true);
    };
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      pair.callee.netcall.off('control', listener);
      resolve(ok);
    };
    pair.callee.netcall.on('control', listener);
    pair.caller.netcall.control({ command: 2 }).catch(() => done(false));
  });
}

async function check(request: CheckRequest): Promise<CheckedReply> {
  const trouble: Record<string, number> = {};
  let connectionsDropped = 0;
  for (const pair of pairs)
    for (const side of [pair.caller, pair.callee]) {
      for (const event of side.trouble) trouble[event] = (trouble[event] ?? 0) + 1;
      if (side.trouble.some((event) => (CONNECTION_TROUBLE as readonly string[]).includes(event)))
        connectionsDropped++;
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
