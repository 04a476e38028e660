/**
 * The baseline for load-calls: a bare `ws` server that answers the same clients with the same frames a call
 * setup costs (login, then `call` → reply and `beCalling`, `response` → reply and `callAccepted`, `startRtc` →
 * reply and `syncDone`, and `clientJoin` to the one that started first) and does nothing else: no token check,
 * no validation, no limits, no store, no signed URLs (fixed ones of the same length), no history. The kit's
 * clients cannot tell it from the server for a call setup, so what the server's setups take beyond this one's
 * is the server's own work, and this one's time is the floor that the machine (the kernel's loopback writes,
 * the generators on the same cores) sets. Prints `listening ws://127.0.0.1:PORT`.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { boundChild } from './load-child';

interface Side {
  socket: WebSocket;
  account: string;
  uid: string;
  started: boolean;
}

interface Call {
  cid: string;
  caller: Side;
  callee: Side | null;
  calleeAccount: string;
}

const byAccount = new Map<string, WebSocket>();
const accountOfSocket = new WeakMap<WebSocket, string>();
const calls = new Map<string, Call>();
const callOf = new WeakMap<WebSocket, Call>();
let counter = 0;

/** URLs as long as the server's signed ones, so the frames weigh the same. */
const url = (uid: string, push: boolean): string =>
  `rtmp://127.0.0.1:1935/netcall/c${uid}?sign=${push ? 'p' : 'q'}-1767225600-0123456789abcdef0123456789abcdef`;
const user = (side: Side, self: boolean) => ({
  account: side.account,
  uid: side.uid,
  mode: 0,
  url: url(side.uid, self),
  ...(self ? {} : { flvUrl: url(side.uid, false).replace('rtmp', 'http') + '.flv' }),
});

const send = (socket: WebSocket, frame: unknown): void => socket.send(JSON.stringify(frame));

/** The account a token names (the generator mints ordinary JWTs; their signature is not checked here). */
const accountOf = (token: string): string =>
  (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { sub: string }).sub;

function handle(socket: WebSocket, text: string): void {
  const { seq, op, args } = JSON.parse(text) as { seq: number; op: string; args: Record<string, unknown> };
  const reply = (data: unknown = {}) => send(socket, { seq, code: 200, data });
  switch (op) {
    case 'login': {
      const account = accountOf(String(args.token));
      byAccount.set(account, socket);
      accountOfSocket.set(socket, account);
      const exp = Math.floor(Date.now() / 1000) + 3600;
      return reply({ account, heartbeat: HEARTBEAT_MS, exp, expiresIn: 3600 });
    }
    case 'call': {
      const callee = String(args.callee);
      const caller = accountOfSocket.get(socket) ?? '';
      const call: Call = {
        cid: String(++counter),
        caller: { socket, account: caller, uid: String(++counter), started: false },
        callee: null,
        calleeAccount: callee,
      };
      calls.set(call.cid, call);
      callOf.set(socket, call);
      reply({ cid: call.cid, accountUidMap: { [caller]: call.caller.uid, [callee]: String(++counter) } });
      const to = byAccount.get(callee);
      if (to) send(to, { event: 'beCalling', data: { caller, type: args.type, cid: call.cid } });
      return;
    }
    case 'response': {
      const call = calls.get(String(args.cid));
      if (!call) return send(socket, { seq, code: 404, message: 'no such call' });
      call.callee = { socket, account: call.calleeAccount, uid: String(++counter), started: false };
      callOf.set(socket, call);
      reply();
      const data = { cid: call.cid, account: call.calleeAccount, type: args.type };
      return send(call.caller.socket, { event: 'callAccepted', data });
    }
    case 'startRtc': {
      const call = callOf.get(socket);
      if (!call?.callee) return send(socket, { seq, code: 404, message: 'no call' });
      const [self, other] =
        call.caller.socket === socket ? [call.caller, call.callee] : [call.callee, call.caller];
      self.started = true;
      // The reply and its syncDone in one write, as the server's hub sends them.
      const raw = (socket as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
      raw.cork();
      reply({ uid: self.uid, account: self.account, cid: call.cid });
      const userlist = [user(self, true), ...(other.started ? [user(other, false)] : [])];
      send(socket, { event: 'syncDone', data: { code: 200, errmsg: '', cid: call.cid, userlist } });
      raw.uncork();
      if (other.started)
        send(other.socket, { event: 'clientJoin', data: { cid: call.cid, ...user(self, false) } });
      return;
    }
    default:
      return reply(); // ping and the rest: answered, nothing done
  }
}

const HEARTBEAT_MS = Number(process.argv[2]);
if (!(HEARTBEAT_MS > 0)) throw new Error('calls-baseline: HEARTBEAT_MS is required');

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('connection', (socket) => {
  socket.on('message', (data) => handle(socket, data.toString()));
  socket.on('error', () => {});
});
wss.on('listening', () => {
  const address = wss.address();
  if (!address || typeof address === 'string')
    throw new Error(`calls-baseline: unexpected address ${address}`);
  console.log(`listening ws://127.0.0.1:${address.port}`);
});

boundChild(() => {
  for (const socket of wss.clients) socket.terminate();
  wss.close(() => process.exit(0));
});
