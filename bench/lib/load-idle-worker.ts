/**
 * A load-idle generator child: opens its share of idle connections from one loopback source address and holds
 * them, each as light as a socket can be. `login` mode is what the kit's Netcall does on the wire when it idles
 * (login, then a `ping` request every heartbeat the server named, answering the server's WebSocket pings);
 * `bare` mode only opens and answers pings, for the raw `ws` baseline. Raw frames, not Netcall: thousands of
 * Netcall instances would cost this process more than the server it measures. It refuses a non-loopback
 * target, a source address off loopback, and a count over the generator's cap.
 */
import WebSocket from 'ws';
import { mintToken } from '../../server/auth/tokens';
import { isLoopback, requireLoopback, requireWithinCap } from './load-bounds';
import { boundChild, serve } from './load-child';

export interface OpenRequest {
  type: 'open';
  url: string;
  mode: 'login' | 'bare';
  count: number;
  /** Account names are `<prefix>-<index>`: unique across children. */
  prefix: string;
  /** The source address of every socket: one per child keeps each within the ephemeral port range. */
  localAddress: string;
  heartbeatMs: number;
  /** Handshakes in flight at once. */
  concurrency: number;
}

export interface OpenedReply {
  type: 'opened';
  /** Open (and logged in, in login mode) now. */
  open: number;
  /** Why the others are not, by reason. */
  refused: Record<string, number>;
  ms: number;
}

export interface CheckRequest {
  type: 'check';
}

export interface CheckedReply {
  type: 'checked';
  /** Still open, and pinged by the server within the last two heartbeats. */
  held: number;
  /** Closed since they were open, by close code. */
  closed: Record<string, number>;
  /** Still open but not pinged by the server for two heartbeats or more. */
  silent: number;
  /** The server's WebSocket pings received per socket, fewest and most. */
  pingsFewest: number;
  pingsMost: number;
  /** Ping requests sent and the ones the next round found unanswered (login mode). */
  requestsSent: number;
  requestsUnanswered: number;
}

interface Client {
  socket: WebSocket;
  pings: number;
  lastPingAt: number;
  seq: number;
  awaiting: number | null;
  closedWith: number | null;
}

/** A ping request is sent to every client once per heartbeat, spread over the heartbeat in ticks of this. */
const TICK_MS = 250;
const HANDSHAKE_TIMEOUT_MS = 30_000;
const LOGIN_SEQ = 1;

const secret = process.env.BENCH_LOAD_SECRET ?? '';
const clients: Client[] = [];
let requestsSent = 0;
let requestsUnanswered = 0;

function open(request: OpenRequest, index: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(request.url, {
      localAddress: request.localAddress,
      perMessageDeflate: false,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    });
    const client: Client = {
      socket,
      pings: 0,
      lastPingAt: 0,
      seq: LOGIN_SEQ,
      awaiting: null,
      closedWith: null,
    };
    let ready = false;
    const fail = (why: string): void => {
      if (ready) return;
      ready = true;
      socket.terminate();
      reject(new Error(why));
    };
    const succeed = (): void => {
      ready = true;
      client.lastPingAt = Date.now();
      resolve(client);
    };
    const timer = setTimeout(() => fail('timeout'), HANDSHAKE_TIMEOUT_MS + 5000);
    socket.once('unexpected-response', (_request, response) => fail(`HTTP ${response.statusCode}`));
    socket.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
    socket.on('open', () => {
      if (request.mode === 'bare') {
        clearTimeout(timer);
        succeed();
        return;
      }
      const token = mintToken(secret, `${request.prefix}-${index}`, 3600);
      socket.send(JSON.stringify({ seq: LOGIN_SEQ, op: 'login', args: { token } }));
    });
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { seq?: number; code?: number };
      if (!ready && frame.seq === LOGIN_SEQ) {
        clearTimeout(timer);
        if (frame.code === 200) succeed();
        else fail(`login ${frame.code}`);
      } else if (frame.seq !== undefined && frame.seq === client.awaiting) client.awaiting = null;
    });
    socket.on('ping', () => {
      client.pings++;
      client.lastPingAt = Date.now();
    });
    socket.on('close', (code) => {
      client.closedWith = code;
      fail(`closed ${code}`);
    });
  });
}

async function openAll(request: OpenRequest): Promise<OpenedReply> {
  requireLoopback(request.url);
  if (!isLoopback(request.localAddress))
    throw new Error(`source address ${request.localAddress} is not loopback`);
  requireWithinCap(request.count, 'load-idle child');
  if (request.mode === 'login' && !secret) throw new Error('BENCH_LOAD_SECRET is not set');
  const started = Date.now();
  const refused: Record<string, number> = {};
  let nextIndex = 0;
  const runner = async (): Promise<void> => {
    while (nextIndex < request.count) {
      const index = nextIndex++;
      try {
        clients.push(await open(request, index));
      } catch (error) {
        const why = (error as Error).message;
        refused[why] = (refused[why] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(request.concurrency, request.count) }, runner));
  if (request.mode === 'login') pingRequests(request.heartbeatMs);
  return { type: 'opened', open: clients.length, refused, ms: Date.now() - started };
}

/** What Netcall's heartbeat does: a `ping` request every heartbeat, its answer expected before the next. */
function pingRequests(heartbeatMs: number): void {
  const slots = Math.max(1, Math.round(heartbeatMs / TICK_MS));
  let tick = 0;
  setInterval(() => {
    const slot = tick++ % slots;
    for (let index = slot; index < clients.length; index += slots) {
      const client = clients[index];
      if (client.closedWith !== null) continue;
      if (client.awaiting !== null) requestsUnanswered++;
      client.awaiting = ++client.seq;
      requestsSent++;
      client.socket.send(`{"seq":${client.seq},"op":"ping","args":{}}`);
    }
  }, TICK_MS).unref();
}

function check(heartbeatMs: number): CheckedReply {
  const now = Date.now();
  const closed: Record<string, number> = {};
  let held = 0;
  let silent = 0;
  for (const client of clients) {
    if (client.closedWith !== null) closed[client.closedWith] = (closed[client.closedWith] ?? 0) + 1;
    else if (now - client.lastPingAt > 2 * heartbeatMs) silent++;
    else held++;
  }
  const pings = clients.map((client) => client.pings);
  return {
    type: 'checked',
    held,
    closed,
    silent,
    pingsFewest: pings.length ? Math.min(...pings) : 0,
    pingsMost: pings.length ? Math.max(...pings) : 0,
    requestsSent,
    requestsUnanswered,
  };
}

boundChild();
let heartbeatMs = 0;
serve<OpenRequest | CheckRequest>(async (request) => {
  if (request.type === 'open') {
    heartbeatMs = request.heartbeatMs;
    return openAll(request);
  }
  return check(heartbeatMs);
});
