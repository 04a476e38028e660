/**
 * `npm run bot -- --account NAME [--answer | --call X[,Y…] | --join ROOM] [--pattern | --file F]`
 *
 * A peer for testing with one phone: the kit's real `Netcall` over a WebSocket, logged in as NAME (a token from
 * dev login, or `--token`), pushing a test pattern (moving `testsrc` + a 1 kHz tone) or a looped media file to
 * the push URL its `syncDone` gives it. Prints every event it receives as one JSON line
 * (`{"event":"syncDone","data":{…}}`) and its own steps as `{"bot":"pushing",…}`. Start several to fill a room.
 *
 * - `--answer` (the default): answers every call (1:1 or group), one at a time; declines others `busy`.
 * - `--call bob` rings one account; `--call bob,carol` a group call. Exits 0 when the call is over.
 * - `--join standup`: creates the room if it does not exist, joins it, starts RTC.
 * - `--host show`: creates the room, goes live in it as its host, starts RTC and pushes; accepts every co-host
 *   request. Exits 0 when the live ends.
 * - `--cohost show`: joins the live room `show` as audience and asks to go on stage; once the host accepts (or
 *   invites it), steps on stage, starts RTC and pushes. Back in the audience when removed; exits 0 at the end.
 * - SIGINT/SIGTERM: hangs up (or leaves the room), stops pushing, logs out, exits 0.
 *
 * Owns one connection and at most one pusher (ffmpeg), which never outlives it.
 */
import { parseArgs } from 'node:util';
import type { Ffmpeg } from './ffmpeg';
import { checkFfmpeg, pushArgs, runFfmpeg, type PushSource } from './ffmpeg';
import { Netcall } from '../../services/netcall/netcall';
import type { NetcallEvents } from '../../services/netcall/types';
import { Code, NetcallError, type CallType } from '../../services/protocol';
import { wsConnectSocket } from './socket';

const USAGE = `npm run bot -- --account NAME [action] [media] [--server URL] [--token T] [--type 1|2]

  --account NAME     the account to log in as (required)
  --server URL       the server (default http://127.0.0.1:8080, what npm start runs; ws:// also accepted)
  --token T          a token for NAME (default: one from the server's dev login, POST /api/login)
  --type 1|2         audio (1) or video (2) for --call and --join (default 2)

  action (one of):
  --answer           answer every call (the default)
  --call X[,Y…]      call one account, or several as a group call; exit when it is over
  --join ROOM        create the room if needed, join it and push
  --host ROOM        create the live room, host it and push; accept every co-host request
  --cohost ROOM      join the live room, ask to go on stage, push once accepted (or invited)

  media:
  --pattern          a moving test pattern and a 1 kHz tone (the default)
  --file F           a media file, looped

Every event is printed as one JSON line; Ctrl-C hangs up and exits.`;

type Action =
  | { kind: 'answer' }
  | { kind: 'call'; callees: string[] }
  | { kind: 'join'; room: string }
  | { kind: 'host'; room: string }
  | { kind: 'cohost'; room: string };

interface Settings {
  ws: string;
  http: string;
  account: string;
  token?: string;
  type: CallType;
  action: Action;
  source: PushSource;
}

/** Usage problems: printed with the usage, exit 2. */
class UsageError extends Error {}

function settingsFrom(argv: string[]): Settings | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string', default: 'http://127.0.0.1:8080' },
      account: { type: 'string' },
      token: { type: 'string' },
      type: { type: 'string', default: '2' },
      answer: { type: 'boolean', default: false },
      call: { type: 'string' },
      join: { type: 'string' },
      host: { type: 'string' },
      cohost: { type: 'string' },
      pattern: { type: 'boolean', default: false },
      file: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  if (!values.account) throw new UsageError('--account NAME is required');
  const actions = [
    values.answer,
    values.call !== undefined,
    values.join !== undefined,
    values.host !== undefined,
    values.cohost !== undefined,
  ].filter(Boolean);
  if (actions.length > 1) throw new UsageError('give one of --answer, --call, --join, --host, --cohost');
  if (values.pattern && values.file !== undefined) throw new UsageError('give one of --pattern, --file');
  if (values.type !== '1' && values.type !== '2')
    throw new UsageError('--type must be 1 (audio) or 2 (video)');
  const callees = values.call?.split(',').map((name) => name.trim());
  if (callees && callees.some((name) => !name)) throw new UsageError('--call needs account names');
  const action: Action = callees
    ? { kind: 'call', callees }
    : values.join !== undefined
      ? { kind: 'join', room: values.join }
      : values.host !== undefined
        ? { kind: 'host', room: values.host }
        : values.cohost !== undefined
          ? { kind: 'cohost', room: values.cohost }
          : { kind: 'answer' };
  let server: URL;
  try {
    server = new URL(values.server);
  } catch {
    throw new UsageError(`--server must be a URL like http://127.0.0.1:8080, got "${values.server}"`);
  }
  const secure = server.protocol === 'https:' || server.protocol === 'wss:';
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(server.protocol))
    throw new UsageError(`--server must be http(s):// or ws(s)://, got "${values.server}"`);
  const base = `${server.host}${server.pathname.replace(/\/$/, '')}`;
  return {
    ws: `${secure ? 'wss' : 'ws'}://${base}`,
    http: `${secure ? 'https' : 'http'}://${base}`,
    account: values.account,
    token: values.token,
    type: Number(values.type) as CallType,
    action,
    source: values.file !== undefined ? { file: values.file } : { pattern: true },
  };
}

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** A token from the server's dev login (the server must run with --dev). */
async function devLogin(http: string, account: string): Promise<string> {
  const res = await fetch(`${http}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ account }),
  }).catch((error: unknown) => {
    // fetch hides the reason (refused, unknown host) in `cause`; lib is ES2017 here, so read it untyped.
    const reason = (error as { cause?: { message?: unknown } }).cause?.message;
    const cause = typeof reason === 'string' ? `: ${reason}` : '';
    throw new Error(`cannot reach ${http}${cause}; is the server running (npm start)? see --server`);
  });
  const body = (await res.json().catch(() => ({}))) as { token?: string; message?: string };
  if (!res.ok || !body.token)
    throw new Error(
      `dev login at ${http}/api/login refused (${res.status} ${body.message ?? ''}): ` +
        'run the server with --dev, or pass --token',
    );
  return body.token;
}

const PUSH_RETRY_MS = 1000;

class Bot {
  private readonly netcall: Netcall;
  /** The call or room the bot is in, and how it got there (a room is left, a call hung up). */
  private current: { cid: string; room: boolean; type: CallType } | null = null;
  private pushUrl: string | null = null;
  private pusher: Ffmpeg | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private work: Promise<void> = Promise.resolve();
  /**
   * Answers to our call that came before `call()` resolved: ws delivers every frame of one TCP read at once, so
   * the callee's answer can be handled before the reply's continuation has run.
   */
  private readonly early = new Map<string, 'accepted' | 'ended'>();
  private stopping = false;

  constructor(
    private readonly settings: Settings,
    token: string,
    private readonly ffmpeg: string,
    private readonly exit: (code: number) => void,
  ) {
    const netcall = new Netcall({
      server: settings.ws,
      account: settings.account,
      token,
      connectSocket: wsConnectSocket,
    });
    this.netcall = netcall;
    // Every event, whatever its name (the server may grow new ones): print it, then let the listeners act.
    const emit = netcall.emit.bind(netcall) as (name: string, payload: unknown) => void;
    (netcall as unknown as { emit: typeof emit }).emit = (name, payload) => {
      print({ event: name, data: payload });
      emit(name, payload);
    };
    netcall.on('beCalling', (event) => void this.ringing(event));
    netcall.on('callAccepted', (event) => {
      if (this.settings.action.kind !== 'call') return;
      if (this.current?.cid === event.cid) void this.startRtc();
      else if (!this.current) this.early.set(event.cid, 'accepted');
    });
    netcall.on('callRejected', (event) => {
      // One refusal ends a 1:1 call; a group call goes on while anyone is in it.
      if (Array.isArray(this.calleeArg())) return;
      if (this.current?.cid === event.cid) this.ended();
      else if (!this.current) this.early.set(event.cid, 'ended');
    });
    netcall.on('syncDone', (event) => {
      if (this.current?.cid !== event.cid) return;
      const self = event.userlist.find((user) => user.account === settings.account);
      if (self) this.push(self.url);
    });
    netcall.on('hangup', (event) => {
      if (this.current?.cid === event.cid) this.ended();
      else if (!this.current && this.settings.action.kind === 'call') this.early.set(event.cid, 'ended');
    });
    netcall.on('callLost', (event) => {
      if (this.current?.cid === event.cid) this.ended();
    });
    // Interactive live: the host takes every co-host; a co-host steps on stage when taken, off when removed.
    netcall.on('coHostRequest', (event) => {
      if (this.settings.action.kind !== 'host' || this.current?.cid !== event.cid) return;
      void this.netcall
        .respondCoHost({ account: event.account, accepted: true, cid: event.cid })
        .then(() => print({ bot: 'accepted co-host', account: event.account }))
        .catch((error: unknown) =>
          print({ bot: 'could not accept', account: event.account, message: String(error) }),
        );
    });
    netcall.on('coHostResponse', (event) => {
      if (this.settings.action.kind !== 'cohost' || this.current?.cid !== event.cid) return;
      if (event.accepted) void this.goOnStage();
      else print({ bot: 'not taken on stage', reason: event.reason ?? 'refused' });
    });
    netcall.on('coHostInvite', (event) => {
      if (this.settings.action.kind !== 'cohost' || this.current?.cid !== event.cid) return;
      void this.netcall
        .respondCoHostInvite({ accepted: true, cid: event.cid })
        .then(() => this.goOnStage())
        .catch((error: unknown) => print({ bot: 'could not answer the invite', message: String(error) }));
    });
    netcall.on('coHostRemoved', (event) => {
      if (this.current?.cid === event.cid) void this.stopPushing();
    });
    netcall.on('liveRoomClose', (event) => {
      if (this.current?.cid !== event.cid) return;
      print({ bot: 'live over', cid: event.cid, reason: event.reason });
      // The room is gone: nothing to leave.
      this.current = null;
      void this.stop(0);
    });
    netcall.on('tokenWillExpire', () => void this.renew());
    netcall.on('disconnect', (event) => {
      if (this.stopping) return;
      print({ bot: 'offline', code: event.code, reason: event.reason });
      void this.stop(1);
    });
  }

  async start(): Promise<void> {
    await this.netcall.connect();
    print({ bot: 'ready', account: this.settings.account, server: this.settings.ws });
    const { action, type } = this.settings;
    if (action.kind === 'call') {
      const { cid } = await this.netcall.call({ type, callee: this.calleeArg()! });
      this.current = { cid, room: false, type };
      print({ bot: 'calling', cid, callee: action.callees });
      const early = this.early.get(cid);
      this.early.clear();
      if (early === 'accepted') await this.startRtc();
      else if (early === 'ended') this.ended();
    } else if (action.kind === 'join') {
      await this.netcall.createChannel({ channelName: action.room }).catch((error: unknown) => {
        if (!(error instanceof NetcallError && error.code === Code.EXISTS)) throw error;
      });
      const { cid } = await this.netcall.joinChannel({ channelName: action.room, type });
      this.current = { cid, room: true, type };
      await this.startRtc();
    } else if (action.kind === 'host') {
      await this.netcall.createChannel({ channelName: action.room });
      const { cid, role } = await this.netcall.joinChannel({
        channelName: action.room,
        type,
        liveEnable: true,
        sessionConfig: {},
      });
      this.current = { cid, room: true, type };
      print({ bot: 'live', cid, role });
      await this.startRtc();
    } else if (action.kind === 'cohost') {
      const { cid, role, live } = await this.netcall.joinChannel({
        channelName: action.room,
        type,
        liveEnable: true,
      });
      this.current = { cid, room: true, type };
      print({ bot: 'live', cid, role, live });
      await this.netcall.requestCoHost({ cid });
      print({ bot: 'asked to go on stage', cid });
    }
  }

  /** Taken on stage (a request accepted, an invite answered): on stage, then RTC, then the push. */
  private async goOnStage(): Promise<void> {
    const current = this.current;
    if (!current || this.stopping) return;
    try {
      await this.netcall.changeRoleToPlayer({ cid: current.cid });
      print({ bot: 'on stage', cid: current.cid });
      await this.startRtc();
    } catch (error) {
      print({ bot: 'could not go on stage', cid: current.cid, message: String(error) });
    }
  }

  /** Hangs up or leaves, stops pushing, logs out, then exits with `code`. */
  async stop(code: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const current = this.current;
    this.current = null;
    if (current && this.netcall.isConnected) {
      const leave = current.room
        ? this.netcall.leaveChannel({ cid: current.cid })
        : this.netcall.hangup({ cid: current.cid });
      await leave.catch((error: unknown) => print({ bot: 'could not hang up', message: String(error) }));
    }
    await this.stopPushing();
    this.netcall.close();
    print({ bot: 'bye' });
    this.exit(code);
  }

  private calleeArg(): string | string[] | undefined {
    const { action } = this.settings;
    if (action.kind !== 'call') return undefined;
    return action.callees.length === 1 ? action.callees[0] : action.callees;
  }

  private async ringing(event: NetcallEvents['beCalling']): Promise<void> {
    const { cid, caller, type } = event;
    if (this.settings.action.kind !== 'answer' || this.current || this.stopping) {
      // In a call already (or not answering at all): what a busy phone says.
      await this.netcall
        .response({ accepted: false, caller, type, cid, reason: 'busy' })
        .catch((error: unknown) => print({ bot: 'could not decline', cid, message: String(error) }));
      return;
    }
    this.current = { cid, room: false, type };
    try {
      await this.netcall.response({ accepted: true, caller, type, cid });
      print({ bot: 'answered', cid, caller });
      await this.startRtc();
    } catch (error) {
      print({ bot: 'could not answer', cid, message: String(error) });
      if (this.current?.cid === cid) this.ended();
    }
  }

  private async startRtc(): Promise<void> {
    const current = this.current;
    if (!current) return;
    try {
      const self = await this.netcall.startRtc({ mode: 0, cid: current.cid });
      print({ bot: 'in rtc', cid: self.cid, uid: self.uid });
    } catch (error) {
      print({ bot: 'could not start rtc', cid: current.cid, message: String(error) });
    }
  }

  private ended(): void {
    const current = this.current;
    this.current = null;
    void this.stopPushing();
    if (current) print({ bot: 'call over', cid: current.cid });
    // A caller's job is done when its call is; an answering bot waits for the next one.
    if (this.settings.action.kind === 'call') void this.stop(0);
  }

  /** (Re)starts the pusher on `url` unless it already pushes there; a pusher that dies is restarted. */
  private push(url: string): void {
    void this.queue(async () => {
      if (this.pushUrl === url && this.pusher) return;
      await this.killPusher();
      if (!this.current || this.stopping) return;
      this.pushUrl = url;
      const audioOnly = this.current.type === 1;
      const args = pushArgs(this.settings.source, url, audioOnly);
      const pusher = runFfmpeg(this.ffmpeg, args, ['ignore', 'ignore', 'pipe']);
      this.pusher = pusher;
      print({ bot: 'pushing', url, audioOnly });
      void pusher.exited.then((end) => {
        if (this.pusher !== pusher) return;
        this.pusher = null;
        print({ bot: 'pusher exited', code: end.code, signal: end.signal, stderr: end.stderr.slice(-500) });
        if (this.stopping || !this.current) return;
        this.retry = setTimeout(() => {
          this.retry = null;
          this.push(url);
        }, PUSH_RETRY_MS);
      });
    });
  }

  private stopPushing(): Promise<void> {
    return this.queue(() => this.killPusher());
  }

  /** Pusher changes run one after another: two syncDones in a row must not leave two pushers running. */
  private queue(step: () => Promise<void>): Promise<void> {
    this.work = this.work
      .then(step)
      .catch((error: unknown) => print({ bot: 'pusher change failed', message: String(error) }));
    return this.work;
  }

  private async killPusher(): Promise<void> {
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
    const pusher = this.pusher;
    this.pusher = null;
    this.pushUrl = null;
    if (pusher) await pusher.kill();
  }

  private async renew(): Promise<void> {
    if (this.settings.token !== undefined) {
      print({ bot: 'token expires soon: restart with a fresh --token' });
      return;
    }
    try {
      await this.netcall.renewToken(await devLogin(this.settings.http, this.settings.account));
    } catch (error) {
      print({ bot: 'could not renew the token', message: String(error) });
    }
  }
}

async function main(): Promise<void> {
  let settings: Settings | 'help';
  try {
    settings = settingsFrom(process.argv.slice(2));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    process.exit(2);
  }
  if (settings === 'help') {
    console.log(USAGE);
    return;
  }
  const ffmpeg = await checkFfmpeg();
  const token = settings.token ?? (await devLogin(settings.http, settings.account));
  const bot = new Bot(settings, token, ffmpeg, (code) => process.exit(code));
  // Installed before anything can ring: a Ctrl-C at any point hangs up cleanly.
  process.once('SIGINT', () => void bot.stop(0));
  process.once('SIGTERM', () => void bot.stop(0));
  try {
    await bot.start();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    await bot.stop(1);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
