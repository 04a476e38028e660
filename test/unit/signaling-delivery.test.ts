/** @jest-environment node */
/**
 * The two pieces every frame passes through on the server: a connection's serial queue (arrival order, a
 * failure costs only its own task) and the hub's delivery (a turn's frames to one connection in one write, in
 * order, each its own WebSocket message; a backlog judged once they were offered to the kernel).
 */
import { Duplex } from 'stream';
import type { WebSocket } from 'ws';
import { Hub } from '../../server/signaling/hub';
import { SerialQueue } from '../../server/signaling/serial-queue';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SerialQueue', () => {
  it('runs tasks in the order pushed, each once the one before has settled', async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    let release = (): void => {};
    queue.push(
      () =>
        new Promise<void>((resolve) => {
          log.push('a starts');
          release = () => {
            log.push('a ends');
            resolve();
          };
        }),
      () => log.push('a failed'),
    );
    queue.push(
      () => void log.push('b'),
      () => log.push('b failed'),
    );
    queue.push(
      async () => void log.push('c'),
      () => log.push('c failed'),
    );
    expect(log).toEqual([]); // never within push
    expect(queue.size).toBe(3);
    await tick();
    expect(log).toEqual(['a starts']);
    release();
    await tick();
    expect(log).toEqual(['a starts', 'a ends', 'b', 'c']);
    expect(queue.size).toBe(0);
  });

  it('hands a thrown or rejected task to its own error handler and goes on with the next', async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    queue.push(
      () => {
        throw new Error('sync');
      },
      (error) => log.push(`1: ${(error as Error).message}`),
    );
    queue.push(
      () => Promise.reject(new Error('async')),
      (error) => log.push(`2: ${(error as Error).message}`),
    );
    queue.push(
      () => void log.push('3 ran'),
      () => {
        throw new Error('a failing error handler must not stop the queue');
      },
    );
    queue.push(
      () => {
        throw new Error('its handler throws');
      },
      () => {
        throw new Error('and that is swallowed');
      },
    );
    queue.push(
      () => void log.push('5 ran'),
      () => log.push('5 failed'),
    );
    await tick();
    expect(log).toEqual(['1: sync', '2: async', '3 ran', '5 ran']);
  });

  it('calls onSettled after the task and its error handler, with the task no longer counted', async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    queue.push(
      () => Promise.reject(new Error('x')),
      () => log.push('error'),
      () => log.push(`settled, size ${queue.size}`),
    );
    queue.push(
      () => void log.push('next'),
      () => {},
    );
    await tick();
    expect(log).toEqual(['error', 'settled, size 1', 'next']);
  });

  it('runs a task pushed by the running task after it, not within it', async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    queue.push(
      () => {
        queue.push(
          () => void log.push('inner'),
          () => {},
        );
        log.push('outer done');
      },
      () => {},
    );
    await tick();
    expect(log).toEqual(['outer done', 'inner']);
  });
});

/** The socket's byte stream, recording each write the kernel would see; a stalled one never finishes one. */
class Transport extends Duplex {
  readonly writes: string[][] = [];
  stalled = false;
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.writes.push([String(chunk)]);
    if (!this.stalled) callback();
  }
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: () => void): void {
    this.writes.push(chunks.map(({ chunk }) => String(chunk)));
    if (!this.stalled) callback();
  }
}

/** A ws stand-in: every `send` is one message, written as ws writes it (a header, then the payload). */
class FakeSocket {
  readonly OPEN = 1;
  readyState = 1;
  terminated = false;
  constructor(readonly transport: Transport) {}
  send(text: string): void {
    this.transport.cork();
    this.transport.write(Buffer.from([0x81, Buffer.byteLength(text)]));
    this.transport.write(text);
    this.transport.uncork();
  }
  get bufferedAmount(): number {
    return this.transport.writableLength;
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
    this.transport.destroy();
  }
}

function connect(hub: Hub) {
  const transport = new Transport();
  const socket = new FakeSocket(transport);
  const conn = hub.add(socket as unknown as WebSocket, '127.0.0.1', transport);
  const messages = () =>
    transport.writes
      .flat()
      .filter((text) => text.startsWith('{'))
      .map((text) => JSON.parse(text) as { seq?: number; event?: string });
  return { conn, socket, transport, writes: transport.writes, messages };
}

const newHub = (overflowed: string[] = [], maxBufferedBytes = 1024 * 1024) =>
  new Hub({
    limits: { maxRequestsPerSecond: 100, requestBurst: 100, maxBufferedBytes },
    now: () => 0,
    onOverflow: (conn) => overflowed.push(conn.id),
  });

describe('Hub delivery', () => {
  it("writes one tick's reply and events to a connection in one write, each its own message, in order", async () => {
    const hub = newHub();
    const client = connect(hub);
    hub.reply(client.conn, { seq: 7, code: 200, data: {} });
    hub.emit(client.conn.id, 'syncDone', { code: 200, errmsg: '', cid: 'c', userlist: [] });
    hub.emit(client.conn.id, 'clientJoin', { cid: 'c', account: 'b', uid: '2', mode: 0, url: 'u' });
    expect(client.writes).toHaveLength(0); // held until the tick ends
    await tick();
    expect(client.writes).toHaveLength(1);
    expect(client.messages().map((m) => m.seq ?? m.event)).toEqual([7, 'syncDone', 'clientJoin']);
  });

  it('holds frames across ticks until the turn ends, and lets the media plane hand over its batch first', async () => {
    const log: string[] = [];
    const hub = new Hub({
      limits: { maxRequestsPerSecond: 100, requestBurst: 100, maxBufferedBytes: 1024 * 1024 },
      now: () => 0,
      beforeWrite: () => log.push(`plane flushed, ${client.writes.length} writes so far`),
    });
    const client = connect(hub);
    // Two reads in one turn of the loop: the reply to one and the event the other caused (a peer's clientJoin).
    hub.reply(client.conn, { seq: 1, code: 200, data: {} });
    await new Promise<void>((resolve) => process.nextTick(resolve));
    hub.emit(client.conn.id, 'clientJoin', { cid: 'c', account: 'b', uid: '2', mode: 0, url: 'u' });
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(client.writes).toHaveLength(0);
    expect(log).toEqual([]);
    await tick();
    expect(log).toEqual(['plane flushed, 0 writes so far']);
    expect(client.writes).toHaveLength(1);
    expect(client.messages().map((m) => m.seq ?? m.event)).toEqual([1, 'clientJoin']);
  });

  it('writes a flood to one connection in slices rather than one write per tick', async () => {
    const hub = newHub();
    const client = connect(hub);
    for (let seq = 0; seq < 200; seq++) hub.reply(client.conn, { seq, code: 200, data: {} });
    await tick();
    expect(client.writes.length).toBeGreaterThan(1);
    expect(Math.max(...client.writes.map((chunks) => chunks.length))).toBeLessThanOrEqual(128);
    expect(client.messages().map((m) => m.seq)).toEqual(Array.from({ length: 200 }, (_, seq) => seq));
  });

  it('cuts a connection whose backlog passes the cap once the tick is written, not for what it held', async () => {
    const overflowed: string[] = [];
    const hub = newHub(overflowed, 1024);
    const stalled = connect(hub);
    stalled.transport.stalled = true; // a client that reads nothing: no write ever completes
    const reader = connect(hub);
    const big = 'x'.repeat(400);
    for (let i = 0; i < 3; i++) {
      hub.emit(stalled.conn.id, 'error', { code: 500, message: big });
      hub.emit(reader.conn.id, 'error', { code: 500, message: big });
    }
    expect(overflowed).toEqual([]); // 1.2 kB held back is not a backlog
    await tick();
    expect(reader.socket.terminated).toBe(false);
    // The stalled one's 1.2 kB could not be written: it is cut.
    expect(stalled.socket.terminated).toBe(true);
    expect(overflowed).toEqual([stalled.conn.id]);
  });

  it('sends one event to many connections as one bus message per other node, and delivers such a message', async () => {
    const routed: Array<[string, string | string[], string]> = [];
    const node = (name: string) =>
      new Hub({
        limits: { maxRequestsPerSecond: 100, requestBurst: 100, maxBufferedBytes: 1024 * 1024 },
        now: () => 0,
        node: name,
        route: (to, connIds, text) => routed.push([to, connIds, text]),
      });
    const a = node('a');
    const b = node('b');
    const here = connect(a);
    const there = [connect(b), connect(b), connect(b)];
    const ids = [here.conn.id, ...there.map((client) => client.conn.id), 'c.x-1', 'no-node'];
    a.emitMany(ids, 'audienceCount', { cid: 'r', count: 4 });
    // Node b's three connections in one message, c's one alone (as a plain id), none for an id of no node.
    expect(routed.map(([to, connIds]) => [to, connIds])).toEqual([
      ['b', there.map((client) => client.conn.id)],
      ['c', 'c.x-1'],
    ]);
    expect(JSON.parse(routed[0][2])).toEqual({ event: 'audienceCount', data: { cid: 'r', count: 4 } });
    for (const [to, connIds, text] of routed) if (to === 'b') b.deliver(connIds, text);
    b.deliver(there[0].conn.id, routed[0][2]); // a single id, as older nodes send it
    await tick();
    expect(here.messages()).toEqual([{ event: 'audienceCount', data: { cid: 'r', count: 4 } }]);
    expect(there.map((client) => client.messages().length)).toEqual([2, 1, 1]);
  });

  it('drops frames for a socket that is no longer open', async () => {
    const hub = newHub();
    const client = connect(hub);
    client.socket.readyState = 2;
    hub.reply(client.conn, { seq: 1, code: 200, data: {} });
    await tick();
    expect(client.writes).toHaveLength(0);
  });
});
