/**
 * Netcall's own guarantees that need no server: every promise settles with a NetcallError carrying a code,
 * whatever the socket does. The socket is WeChat's SocketTask shape, driven by hand.
 */
import { Netcall } from '../../services/netcall';
import { NetcallError } from '../../services/protocol';
import type { SocketTaskLike } from '../../services/platform';

class HandSocket implements SocketTaskLike {
  sent: Record<string, unknown>[] = [];
  private handlers: Record<string, ((arg: never) => void)[]> = {};
  send({ data }: { data: string }) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.fire('close', { code: 1000, reason: '' });
  }
  onOpen(cb: () => void) {
    this.on('open', cb);
  }
  onMessage(cb: (r: { data: string }) => void) {
    this.on('message', cb);
  }
  onClose(cb: (r: { code: number; reason: string }) => void) {
    this.on('close', cb);
  }
  onError(cb: (r: { errMsg: string }) => void) {
    this.on('error', cb);
  }
  fire(name: string, arg?: unknown) {
    for (const handler of this.handlers[name] ?? []) handler(arg as never);
  }
  reply(data: unknown, code = 200, message?: string) {
    const seq = this.sent[this.sent.length - 1].seq;
    this.fire('message', { data: JSON.stringify({ seq, code, data, message }) });
  }
  private on(name: string, cb: (arg: never) => void) {
    (this.handlers[name] ??= []).push(cb);
  }
}

async function connected(options: { requestTimeout?: number; maxReconnects?: number } = {}) {
  const socket = new HandSocket();
  const client = new Netcall({
    server: 'ws://x',
    account: 'a',
    token: 't',
    connectSocket: () => socket,
    ...options,
  });
  const done = client.connect();
  socket.fire('open');
  expect(socket.sent[0]).toMatchObject({ op: 'login', args: { token: 't' } });
  socket.reply({ account: 'a', heartbeat: 0 });
  await done;
  return { socket, client };
}

describe('Netcall client', () => {
  it('refuses construction without server, account or token', () => {
    expect(() => new Netcall({ server: '', account: 'a', token: 't' })).toThrow(NetcallError);
  });

  it('rejects a request with the server code and message as a NetcallError', async () => {
    const { socket, client } = await connected();
    const call = client.call({ type: 2, callee: 'b' });
    socket.reply(undefined, 404, 'callee "b" is not online');
    const error = await call.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetcallError);
    expect(error).toMatchObject({ code: 404, message: 'callee "b" is not online' });
  });

  it('rejects with 408 when no reply comes in time', async () => {
    jest.useFakeTimers();
    try {
      const { client } = await connected({ requestTimeout: 1000 });
      const call = client.call({ type: 2, callee: 'b' });
      jest.advanceTimersByTime(1001);
      await expect(call).rejects.toMatchObject({ code: 408 });
    } finally {
      jest.useRealTimers();
    }
  });

  it('rejects pending requests with 599 when the socket closes, and emits disconnect', async () => {
    const { socket, client } = await connected({ maxReconnects: 0 });
    const seen: unknown[] = [];
    client.on('disconnect', (event) => seen.push(event));
    const call = client.call({ type: 2, callee: 'b' });
    socket.fire('close', { code: 1006, reason: 'gone' });
    await expect(call).rejects.toMatchObject({ code: 599 });
    expect(seen).toEqual([{ code: 1006, reason: 'gone' }]);
    await expect(client.startRtc({ mode: 0 })).rejects.toMatchObject({ code: 599 });
  });

  it('rejects connect when the socket fails before login', async () => {
    const socket = new HandSocket();
    const client = new Netcall({ server: 'ws://x', account: 'a', token: 't', connectSocket: () => socket });
    const done = client.connect();
    socket.fire('error', { errMsg: 'connect refused' });
    await expect(done).rejects.toMatchObject({
      code: 599,
      message: expect.stringContaining('connect refused'),
    });
  });

  it('fans events out to every listener and reports unparseable server frames', async () => {
    const { socket, client } = await connected();
    const first: unknown[] = [];
    const second: unknown[] = [];
    const errors: unknown[] = [];
    client.on('beCalling', (e) => first.push(e));
    client.on('beCalling', (e) => second.push(e));
    client.on('error', (e) => errors.push(e));
    const payload = { caller: 'b', type: 2, cid: 'c1' };
    socket.fire('message', { data: JSON.stringify({ event: 'beCalling', data: payload }) });
    socket.fire('message', { data: '{oops' });
    expect(first).toEqual([payload]);
    expect(second).toEqual([payload]);
    expect(errors).toEqual([{ code: 400, message: 'unparseable frame from server' }]);
  });

  it('remembers the current cid from call() and forgets it on the peer hangup', async () => {
    const { socket, client } = await connected();
    const call = client.call({ type: 2, callee: 'b' });
    socket.reply({ cid: 'c9', accountUidMap: {} });
    await call;
    expect(client.cid).toBe('c9');
    const start = client.startRtc({ mode: 0 });
    expect(socket.sent[socket.sent.length - 1]).toMatchObject({
      op: 'startRtc',
      args: { mode: 0, cid: 'c9' },
    });
    socket.reply({ uid: '1', account: 'a', cid: 'c9' });
    await start;
    socket.fire('message', {
      data: JSON.stringify({ event: 'hangup', data: { cid: 'c9', account: 'b', timetag: 1 } }),
    });
    expect(client.cid).toBeNull();
    await client.hangup(); // no current call: a no-op, like NetEase
    expect(socket.sent[socket.sent.length - 1]).toMatchObject({ op: 'startRtc' });
  });
});

describe('token expiry warning', () => {
  it('times tokenWillExpire by the server clock, whatever the phone clock says', async () => {
    jest.useFakeTimers();
    // The phone's clock is a day behind: a warning timed from `exp` and Date.now() would fire a day late.
    jest.setSystemTime(Date.parse('2026-01-01T00:00:00Z'));
    try {
      const socket = new HandSocket();
      const client = new Netcall({ server: 'ws://x', account: 'a', token: 't', connectSocket: () => socket });
      const warned: number[] = [];
      client.on('tokenWillExpire', ({ exp }) => warned.push(exp));
      const done = client.connect();
      socket.fire('open');
      const exp = Math.floor(Date.parse('2026-01-02T00:05:00Z') / 1000);
      socket.reply({ account: 'a', heartbeat: 0, exp, expiresIn: 300 });
      await done;
      jest.advanceTimersByTime(239_000);
      expect(warned).toEqual([]);
      jest.advanceTimersByTime(1_000); // 60 s before the 300 s the server counted
      expect(warned).toEqual([exp]);
      client.close();
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('login refusals and token renewal', () => {
  /** A client whose every socket is a HandSocket the test drives; `sockets` lists them in order. */
  function client(options: { maxReconnects?: number; requestTimeout?: number } = {}) {
    const sockets: HandSocket[] = [];
    const netcall = new Netcall({
      server: 'ws://x',
      account: 'a',
      token: 't1',
      reconnectDelay: 100,
      connectSocket: () => {
        const socket = new HandSocket();
        sockets.push(socket);
        return socket;
      },
      ...options,
    });
    const events: { name: string; payload: unknown }[] = [];
    for (const name of ['disconnect', 'willreconnect', 'reconnected', 'tokenWillExpire'] as const)
      netcall.on(name, (payload: unknown) => events.push({ name, payload }));
    return { netcall, sockets, events };
  }
  const login = (socket: HandSocket, expiresIn = 3600) => {
    socket.fire('open');
    socket.reply({ account: 'a', heartbeat: 0, exp: 2_000_000_000, expiresIn });
  };

  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('ends a first connect refused with 401 there: disconnect 401, no other socket', async () => {
    const { netcall, sockets, events } = client();
    const done = netcall.connect();
    sockets[0].fire('open');
    sockets[0].reply(undefined, 401, 'token expired');
    await expect(done).rejects.toMatchObject({ code: 401 });
    jest.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
    expect(events).toEqual([{ name: 'disconnect', payload: { code: 401, reason: 'token expired' } }]);
  });

  it('closes the socket of a login that got no answer (408), and says so', async () => {
    const { netcall, sockets, events } = client({ requestTimeout: 1000 });
    const done = netcall.connect();
    sockets[0].fire('open');
    const closed = jest.fn();
    sockets[0].onClose(closed);
    jest.advanceTimersByTime(1001);
    await expect(done).rejects.toMatchObject({ code: 408 });
    expect(closed).toHaveBeenCalled();
    expect(events).toEqual([{ name: 'disconnect', payload: expect.objectContaining({ code: 408 }) }]);
  });

  it('retries a reconnect refused with 429 (the device cap, while the old socket lingers), then gets back in', async () => {
    const { netcall, sockets, events } = client();
    const done = netcall.connect();
    login(sockets[0]);
    await done;
    sockets[0].fire('close', { code: 1006, reason: '' }); // the network dropped
    jest.advanceTimersByTime(100);
    expect(sockets).toHaveLength(2);
    sockets[1].fire('open');
    sockets[1].reply(undefined, 429, '"a" already has 10 devices online');
    await Promise.resolve();
    jest.advanceTimersByTime(200); // the next attempt, backed off
    expect(sockets).toHaveLength(3);
    login(sockets[2]);
    await jest.advanceTimersByTimeAsync(0);
    expect(events.map((e) => e.name)).toEqual(['willreconnect', 'willreconnect', 'reconnected']);
    expect(netcall.isConnected).toBe(true);
    netcall.close();
  });

  it('re-arms the warning on renewToken, logs in again with the new token, and forgets it on close', async () => {
    const { netcall, sockets, events } = client();
    const done = netcall.connect();
    login(sockets[0], 30); // shorter than the 60 s warning: warned at half its life
    await done;
    jest.advanceTimersByTime(14_999);
    expect(events).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(events.map((e) => e.name)).toEqual(['tokenWillExpire']);
    const renewed = netcall.renewToken('t2');
    expect(sockets[0].sent[sockets[0].sent.length - 1]).toMatchObject({
      op: 'renewToken',
      args: { token: 't2' },
    });
    sockets[0].reply({ exp: 2_000_000_030, expiresIn: 30 });
    await renewed;
    // Not at once (a loop), but half the new token's life later.
    jest.advanceTimersByTime(14_999);
    expect(events).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(events).toHaveLength(2);
    // A reconnect logs in with the renewed token.
    sockets[0].fire('close', { code: 1006, reason: '' });
    jest.advanceTimersByTime(100);
    sockets[1].fire('open');
    expect(sockets[1].sent[0]).toMatchObject({ op: 'login', args: { token: 't2' } });
    sockets[1].reply({ account: 'a', heartbeat: 0, exp: 2_000_000_030, expiresIn: 30 });
    await Promise.resolve();
    netcall.close();
    const before = events.length;
    jest.advanceTimersByTime(60_000);
    expect(events.filter((e) => e.name === 'tokenWillExpire')).toHaveLength(
      events.slice(0, before).filter((e) => e.name === 'tokenWillExpire').length,
    );
  });
});

describe('several server URLs', () => {
  /** A client over `server`; each socket it opens is a HandSocket the test drives, with the URL it was opened to. */
  function client(
    server: string | string[],
    options: { reconnectDelay?: number; connectTimeout?: number } = {},
  ) {
    const sockets: (HandSocket & { url: string })[] = [];
    const netcall = new Netcall({
      server,
      account: 'a',
      token: 't',
      reconnectDelay: 100,
      connectSocket: (url) => {
        const socket = Object.assign(new HandSocket(), { url });
        sockets.push(socket);
        return socket;
      },
      ...options,
    });
    const events: string[] = [];
    for (const name of ['disconnect', 'willreconnect', 'reconnected'] as const)
      netcall.on(name, (payload) => events.push(`${name} ${JSON.stringify(payload)}`));
    return { netcall, sockets, events, urls: () => sockets.map((socket) => socket.url) };
  }
  const login = (socket: HandSocket) => {
    socket.fire('open');
    socket.reply({ account: 'a', heartbeat: 0 });
  };
  async function connectedAt(server: string[]) {
    const context = client(server);
    const done = context.netcall.connect();
    login(context.sockets[0]);
    await done;
    return context;
  }

  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('refuses an empty list and any URL that is not ws:// or wss://', () => {
    const make = (server: string | string[]) => () => new Netcall({ server, account: 'a', token: 't' });
    for (const server of [[], ['ws://a', 'http://b'], 'https://a', ['']])
      expect(make(server)).toThrow(/ws:\/\/ or wss:\/\//);
    expect(make(['wss://a', 'WS://b:8080'])).not.toThrow();
    expect(make('ws://a')).not.toThrow();
  });

  it('refuses a connectTimeout that is not a number of ms above 0, or that a timer would overflow', () => {
    const make = (connectTimeout: unknown) => () =>
      new Netcall({
        server: 'ws://a',
        account: 'a',
        token: 't',
        connectTimeout: connectTimeout as number,
      });
    for (const bad of [0, -1, NaN, Infinity, 2 ** 31, 'soon'])
      expect(make(bad)).toThrow(
        expect.objectContaining({ code: 400, message: expect.stringContaining('connectTimeout') }),
      );
    for (const good of [undefined, 1, 300, 2 ** 31 - 1]) expect(make(good)).not.toThrow();
  });

  it('gives up on a URL whose login is unanswered after connectTimeout, ignores it after, and keeps the next', async () => {
    const { netcall, sockets, events, urls } = client(['ws://a', 'ws://b'], { connectTimeout: 1000 });
    const done = netcall.connect();
    sockets[0].fire('open');
    const abandon = jest.spyOn(sockets[0], 'close');
    jest.advanceTimersByTime(999);
    expect(urls()).toEqual(['ws://a']);
    jest.advanceTimersByTime(1);
    expect(urls()).toEqual(['ws://a', 'ws://b']);
    expect(abandon).toHaveBeenCalledWith({ code: 1000, reason: 'login refused' });
    // Its login answered late is nobody's: the client is on ws://b's socket.
    sockets[0].reply({ account: 'a', heartbeat: 0 });
    expect(netcall.isConnected).toBe(false);
    login(sockets[1]);
    await done;
    // Logged in, the timer is gone: it does not cut the socket that answered.
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(60_000);
    expect(netcall.isConnected).toBe(true);
    expect(urls()).toEqual(['ws://a', 'ws://b']);
    expect(events).toEqual([]);
  });

  it('rejects connect with 599 when no URL answers within the default 10 s, and close() mid-connect leaves no timer', async () => {
    const { netcall, events, urls } = client(['ws://a', 'ws://b']);
    const done = netcall.connect();
    jest.advanceTimersByTime(9999);
    expect(urls()).toEqual(['ws://a']);
    jest.advanceTimersByTime(1);
    expect(urls()).toEqual(['ws://a', 'ws://b']);
    jest.advanceTimersByTime(10000);
    await expect(done).rejects.toMatchObject({ code: 599, message: 'no login in 10000 ms' });
    jest.advanceTimersByTime(60_000);
    expect(urls()).toEqual(['ws://a', 'ws://b']);
    expect(events).toEqual([`disconnect ${JSON.stringify({ code: 1006, reason: 'no login in 10000 ms' })}`]);
    // close() mid-connect leaves no timer behind either: it would keep a page or a test process alive.
    const again = netcall.connect();
    netcall.close();
    await expect(again).rejects.toMatchObject({ code: 599, message: 'closed by client' });
    expect(jest.getTimerCount()).toBe(0);
  });

  it('logs in at the next URL at once when the first is unreachable, with nothing to report', async () => {
    const { netcall, sockets, events, urls } = client(['ws://a', 'ws://b']);
    const done = netcall.connect();
    sockets[0].fire('error', { errMsg: 'connect refused' });
    sockets[0].fire('close', { code: 1006, reason: '' });
    expect(urls()).toEqual(['ws://a', 'ws://b']);
    login(sockets[1]);
    await done;
    expect(netcall.isConnected).toBe(true);
    expect(events).toEqual([]);
  });

  it('rejects connect with the last failure once every URL had its turn', async () => {
    const { netcall, sockets, events, urls } = client(['ws://a', 'ws://b']);
    const done = netcall.connect();
    sockets[0].fire('close', { code: 1006, reason: '' });
    sockets[1].fire('open');
    sockets[1].reply(undefined, 429, 'too many devices');
    await expect(done).rejects.toMatchObject({ code: 429 });
    jest.advanceTimersByTime(60_000);
    expect(urls()).toEqual(['ws://a', 'ws://b']);
    expect(events).toEqual([`disconnect ${JSON.stringify({ code: 429, reason: 'too many devices' })}`]);
  });

  it('rejects a connect after close() once every URL failed, as a first one does, and rejoins nothing of before', async () => {
    const { netcall, sockets, events } = await connectedAt(['ws://a']);
    const joining = netcall.joinChannel({ channelName: 'show', type: 2, liveEnable: true });
    sockets[0].reply({
      cid: 'c1',
      uid: '1',
      account: 'a',
      channelName: 'show',
      custom: '',
      accountUidMap: {},
    });
    await joining;
    netcall.close();
    const done = netcall.connect();
    sockets[1].fire('close', { code: 1006, reason: '' });
    await expect(done).rejects.toMatchObject({ code: 599 });
    expect(events.filter((event) => event.startsWith('willreconnect'))).toEqual([]);
    // A later session that logs in sends nothing for the room the closed one was in.
    const again = netcall.connect();
    login(sockets[2]);
    await again;
    expect(sockets[2].sent.map((frame) => frame.op)).toEqual(['login']);
  });

  it('joins its room again after a reconnect by name and cid, and gives it up when the name is another room now', async () => {
    const { netcall, sockets } = await connectedAt(['ws://a']);
    const joining = netcall.joinChannel({
      channelName: 'show',
      type: 2,
      liveEnable: true,
      sessionConfig: {},
    });
    sockets[0].reply({
      cid: 'c1',
      uid: '1',
      account: 'a',
      channelName: 'show',
      custom: '',
      accountUidMap: {},
    });
    await joining;
    const seen: string[] = [];
    netcall.on('roomRejoined', (e) => seen.push(`rejoined ${e.cid}`));
    netcall.on('callLost', (e) => seen.push(`lost ${e.cid} ${e.code}`));
    const reconnect = async () => {
      sockets.at(-1)!.fire('close', { code: 1006, reason: '' });
      jest.advanceTimersByTime(60_000);
      login(sockets.at(-1)!);
      await Promise.resolve();
      return sockets.at(-1)!;
    };
    let socket = await reconnect();
    // Without the host's settings: a host coming back takes its place, it does not go live again.
    expect(socket.sent.at(-1)).toMatchObject({
      op: 'joinChannel',
      args: { channelName: 'show', type: 2, liveEnable: true, cid: 'c1' },
    });
    expect(socket.sent.at(-1)!.args).not.toHaveProperty('sessionConfig');
    socket.reply({ cid: 'c1', uid: '1', account: 'a', channelName: 'show', custom: '', accountUidMap: {} });
    await Promise.resolve();
    socket = await reconnect();
    socket.reply(undefined, 404, 'no room named "show"');
    await Promise.resolve();
    expect(seen).toEqual(['rejoined c1', 'lost c1 404']);
    // Given up: the next reconnect sends nothing for it.
    socket = await reconnect();
    expect(socket.sent.map((frame) => frame.op)).toEqual(['login']);
  });

  it('reconnects round robin after a loss: every URL of a round at once, backed off between rounds', async () => {
    const { netcall, sockets, events, urls } = await connectedAt(['ws://a', 'ws://b']);
    sockets[0].fire('close', { code: 1006, reason: '' });
    jest.advanceTimersByTime(99);
    expect(sockets).toHaveLength(1);
    jest.advanceTimersByTime(1); // round 1, from the next URL
    sockets[1].fire('close', { code: 1006, reason: '' });
    sockets[2].fire('close', { code: 1006, reason: '' });
    expect(urls()).toEqual(['ws://a', 'ws://b', 'ws://a']);
    jest.advanceTimersByTime(199);
    expect(sockets).toHaveLength(3);
    jest.advanceTimersByTime(1); // round 2, 200 ms later
    login(sockets[3]);
    await jest.advanceTimersByTimeAsync(0);
    expect(urls()).toEqual(['ws://a', 'ws://b', 'ws://a', 'ws://b']);
    expect(events).toEqual([
      'willreconnect {"count":1}',
      'willreconnect {"count":2}',
      'reconnected {"count":2}',
    ]);
    netcall.close();
  });

  it('goes to the next URL at once when its node restarts (1012), and backs off with one URL', async () => {
    const several = await connectedAt(['ws://a', 'ws://b']);
    several.sockets[0].fire('close', { code: 1012, reason: 'server restarting' });
    jest.advanceTimersByTime(0);
    expect(several.urls()).toEqual(['ws://a', 'ws://b']);
    login(several.sockets[1]);
    await jest.advanceTimersByTimeAsync(0);
    expect(several.events).toEqual(['willreconnect {"count":1}', 'reconnected {"count":1}']);
    several.netcall.close();

    const one = await connectedAt(['ws://a']);
    one.sockets[0].fire('close', { code: 1012, reason: 'server restarting' });
    expect(one.sockets).toHaveLength(1);
    jest.advanceTimersByTime(100);
    expect(one.urls()).toEqual(['ws://a', 'ws://a']);
    one.netcall.close();
  });

  it('settles a connect that close() ends mid-round, and opens no other socket', async () => {
    const { netcall, sockets } = client(['ws://a', 'ws://b']);
    const done = netcall.connect();
    sockets[0].fire('close', { code: 1006, reason: '' });
    netcall.close();
    await expect(done).rejects.toMatchObject({ code: 599, message: 'closed by client' });
    jest.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(2);
  });

  it('does not try another URL when kicked, or when the token is refused', async () => {
    const kicked = await connectedAt(['ws://a', 'ws://b']);
    kicked.sockets[0].fire('close', { code: 4403, reason: 'kicked' });
    jest.advanceTimersByTime(60_000);
    expect(kicked.urls()).toEqual(['ws://a']);
    expect(kicked.events).toEqual([`disconnect ${JSON.stringify({ code: 4403, reason: 'kicked' })}`]);

    const refused = client(['ws://a', 'ws://b']);
    const done = refused.netcall.connect();
    refused.sockets[0].fire('open');
    refused.sockets[0].reply(undefined, 401, 'token expired');
    await expect(done).rejects.toMatchObject({ code: 401 });
    jest.advanceTimersByTime(60_000);
    expect(refused.urls()).toEqual(['ws://a']);
  });
});
