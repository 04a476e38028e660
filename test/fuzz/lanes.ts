/**
 * A fuzz connection ("lane"): sends a batch of frames pipelined, then a sentinel request whose answer marks
 * the end of the batch (so a missing or extra answer shows at once, without waiting for silence), and hands
 * back every message in arrival order with how the socket ended. A lane whose socket the server closed opens a
 * new one before its next batch, and a member lane logs in again (that login is the harness's, not a fuzz frame).
 */
import WebSocket from 'ws';
import type { FuzzFrame, LaneKind } from './model';
import type { Outcome, Received } from './oracle';

// Seqs of 15 digits, so even a frame refused unread is answered by its seq; generated seqs stay below.
const SENTINEL_BASE = 700_000_000_000_000;
/** Only a server that stopped answering waits this long: every batch normally settles in milliseconds. */
const SETTLE_MS = 20_000;

function read(data: WebSocket.RawData, isBinary: boolean): Received {
  const raw = Array.isArray(data)
    ? Buffer.concat(data).toString()
    : Buffer.from(data as ArrayBuffer).toString();
  if (isBinary) return { answer: null, raw: `(binary) ${raw}` };
  try {
    const frame = JSON.parse(raw) as {
      seq?: unknown;
      code?: unknown;
      event?: unknown;
      data?: { code?: unknown };
    };
    if (typeof frame.seq === 'number' && typeof frame.code === 'number')
      return { answer: { seq: frame.seq, code: frame.code }, raw };
    if (frame.event === 'error' && typeof frame.data?.code === 'number')
      return { answer: { event: 'error', code: frame.data.code }, raw };
  } catch {
    // Not JSON: reported as an unrecognised message.
  }
  return { answer: null, raw };
}

export class Lane {
  private socket: WebSocket | null = null;
  private inbox: Received[] = [];
  private closedWith: number | null = null;
  private wake: (() => void) | null = null;
  private sentinels = 0;
  /** Sockets opened so far (one more after each close the fuzz caused). */
  opened = 0;

  constructor(
    readonly name: string,
    readonly kind: LaneKind,
    private readonly url: string,
    /** Member lanes: a fresh valid token for the harness's own login. */
    private readonly token?: () => string,
  ) {}

  private async open(): Promise<void> {
    const socket = new WebSocket(this.url);
    this.inbox = [];
    this.closedWith = null;
    socket.on('message', (data, isBinary) => {
      this.inbox.push(read(data, isBinary));
      this.wake?.();
    });
    socket.on('close', (code) => {
      this.closedWith = code;
      this.wake?.();
    });
    // A reset while the server closes is expected; the close code is what the oracle reads.
    socket.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('close', (code) => reject(new Error(`${this.name}: closed (${code}) while opening`)));
    });
    this.socket = socket;
    this.opened++;
    if (!this.token) return;
    socket.send(JSON.stringify({ seq: 0, op: 'login', args: { token: this.token() } }));
    await this.until(() => this.inbox.length > 0 || this.closedWith !== null);
    const reply = this.inbox.shift();
    if (reply?.answer?.code !== 200)
      throw new Error(`${this.name}: login refused: ${reply?.raw ?? 'no answer'}`);
  }

  private until(done: () => boolean): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve(false);
      }, SETTLE_MS);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.wake = null;
        resolve(true);
      };
      this.wake = check;
      check();
    });
  }

  /**
   * Sends `frames` back to back. When `closes` is false a sentinel follows and the batch ends with its answer;
   * otherwise the batch ends when the socket closes.
   */
  async play(frames: FuzzFrame[], closes: boolean): Promise<Outcome> {
    if (!this.socket || this.closedWith !== null) await this.open();
    const socket = this.socket!;
    for (const frame of frames)
      socket.send(typeof frame.data === 'string' ? frame.data : Buffer.from(frame.data), {
        binary: !frame.text,
      });
    let sentinel: number | null = null;
    if (!closes) {
      sentinel = SENTINEL_BASE + ++this.sentinels;
      socket.send(`{"seq":${sentinel},"op":"fuzz.sentinel"}`);
    }
    const settled = await this.until(
      () =>
        this.closedWith !== null ||
        (sentinel !== null &&
          this.inbox.some((m) => m.answer && 'seq' in m.answer && m.answer.seq === sentinel)),
    );
    return { received: this.inbox.splice(0), close: this.closedWith, sentinel, timedOut: !settled };
  }

  async close(): Promise<void> {
    const socket = this.socket;
    if (!socket || this.closedWith !== null) return;
    socket.close(1000);
    await this.until(() => this.closedWith !== null);
  }
}
