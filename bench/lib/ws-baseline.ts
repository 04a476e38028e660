/**
 * The baseline for load-idle: a bare `ws` WebSocketServer on loopback that holds connections and pings them
 * every heartbeat the way the signalling server does (one that missed a round is terminated), and nothing
 * else: no login, no limits, no state. What it costs per connection is the floor our server's cost is read
 * against. `ws-baseline.ts HEARTBEAT_MS`; prints `listening ws://127.0.0.1:PORT`.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { answerCollect, boundChild } from './load-child';

const heartbeatMs = Number(process.argv[2]);
if (!(heartbeatMs > 0)) throw new Error('ws-baseline: HEARTBEAT_MS is required');

const alive = new WeakMap<WebSocket, boolean>();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('connection', (socket) => {
  alive.set(socket, true);
  socket.on('pong', () => alive.set(socket, true));
  socket.on('error', () => {});
});
const heartbeat = setInterval(() => {
  for (const socket of wss.clients) {
    if (!alive.get(socket)) {
      socket.terminate();
      continue;
    }
    alive.set(socket, false);
    socket.ping();
  }
}, heartbeatMs);
wss.on('listening', () => {
  const address = wss.address();
  if (!address || typeof address === 'string') throw new Error(`ws-baseline: unexpected address ${address}`);
  console.log(`listening ws://127.0.0.1:${address.port}`);
});

boundChild(() => {
  clearInterval(heartbeat);
  for (const socket of wss.clients) socket.terminate();
  wss.close(() => process.exit(0));
});
answerCollect();
