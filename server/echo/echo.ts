/**
 * The built-in `echo` peer: call the account `echo` and it answers, then plays your own stream back to you,
 * so one phone sees and hears itself through the whole call path (signalling, media URLs, the media plane).
 *
 * It is a real client of our own server, not a special case in the handlers: each line is the kit's `Netcall`
 * over a WebSocket, logged in with a token the server mints for it, doing what an app does (`beCalling` →
 * `response` → `startRtc` → `syncDone`/`clientJoin`). That is why it imports services/netcall (the one place
 * server/ reaches past services/protocol): it must take the path a phone takes, or it would prove nothing.
 *
 * - Concurrency: a device takes part in one call at a time, so the echo logs in one device ("line") per
 *   concurrent call, up to `maxCalls`; every line rings for every call and the first ring of a cid is taken
 *   by an idle line (a new one is logged in if none is idle). Past `maxCalls` it declines with `busy`. One idle
 *   line is kept; extra ones log out when their call ends.
 * - Group calls: rung in (`call` with a list, or `inviteToCall`), it answers and joins like any member, and
 *   plays back the member who rang it (while that one is in the RTC session, else the first other member).
 * - Live rooms: a host's `inviteCoHost({account: 'echo'})` reaches it by account with the room's name; it joins,
 *   accepts, steps on stage and plays the host back; it leaves when removed and ends with the room.
 * - Media: `Relay` copies the source's play URL to the echo's push URL, `delayMs` later; it is restarted when
 *   either URL changes (a rejoin, a media-plane restart) and stopped when the call ends or the source leaves.
 *
 * Owns its lines and relays; never touches the store, the hub or the media plane directly.
 */
import type { Logger } from 'pino';
import type { BeCallingEvent, CoHostInviteEvent, RtcUser } from '../../services/protocol';
import { Netcall } from '../../services/netcall/netcall';
import { wsConnectSocket } from '../tools/socket';
import type { EchoConfig } from './options';
import { Relay, streamOf } from './relay';

export interface EchoDeps {
  /** Signalling URL the echo dials (the local listener, not the public address). */
  server: string;
  /** Host the echo reaches the media plane on; issued URLs name the public host, which may be a tunnel. */
  mediaHost: string;
  /** A fresh token for the echo's account. */
  mintToken(): string;
  ffmpeg: string;
  log: Logger;
}

export interface EchoPeer {
  readonly account: string;
  /** Hangs up every echo call, kills every relay and logs every line out; resolves when all of it is done. */
  close(): Promise<void>;
}

/** Logs in its first line (rejecting if that fails) and answers from then on. */
export async function startEcho(config: EchoConfig, deps: EchoDeps): Promise<EchoPeer> {
  const echo = new Echo(config, deps);
  await echo.start();
  return echo;
}

/** Remembered rings, so that one cid ringing on every line is answered once; bounded, oldest forgotten. */
const MAX_RINGS_REMEMBERED = 1000;
const REOPEN_INITIAL_MS = 1000;
const REOPEN_MAX_MS = 30_000;
// The server is in-process or next door: a request it has not answered in this long will not be answered.
const REQUEST_TIMEOUT_MS = 5000;

class Echo implements EchoPeer {
  readonly account: string;
  private readonly lines = new Set<Line>();
  private readonly rings = new Set<string>();
  private closed = false;
  private reopenTimer: ReturnType<typeof setTimeout> | null = null;
  private reopenMs = REOPEN_INITIAL_MS;

  constructor(
    readonly config: EchoConfig,
    readonly deps: EchoDeps,
  ) {
    this.account = config.account;
  }

  async start(): Promise<void> {
    await this.open();
    this.deps.log.info(
      { account: this.account, delayMs: this.config.delayMs, maxCalls: this.config.maxCalls },
      'echo peer ready',
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reopenTimer !== null) clearTimeout(this.reopenTimer);
    this.reopenTimer = null;
    await Promise.all([...this.lines].map((line) => line.close()));
    this.lines.clear();
  }

  /** A ring on any line. The first of a cid is taken; the same ring on the other lines is ignored. */
  ring(event: BeCallingEvent, via: Line): void {
    if (this.closed || this.rings.has(event.cid)) return;
    this.rings.add(event.cid);
    if (this.rings.size > MAX_RINGS_REMEMBERED) this.rings.delete(this.rings.values().next().value!);
    void this.take(event, via);
  }

  /**
   * A live room's host invites the echo on stage (`coHostInvite` with the room's name: every line hears it).
   * The first line to hear it takes it, as for a ring; with every line busy it lets the invite time out.
   */
  invited(event: CoHostInviteEvent): void {
    if (this.closed || !event.channelName || this.rings.has(`live:${event.cid}`)) return;
    const key = `live:${event.cid}`;
    this.rings.add(key);
    void this.free()
      .then((line) =>
        line
          ? line.joinStage(event)
          : this.deps.log.info({ cid: event.cid }, 'echo busy: no line for the stage'),
      )
      // Invited again later (after leaving the stage), it may go again.
      .finally(() => this.rings.delete(key));
  }

  /** A line's call ended: keep one idle line, log out the others. */
  ended(line: Line): void {
    const idle = [...this.lines].filter((l) => l.idle);
    if (!this.closed && idle.length > 1 && line.idle) {
      this.lines.delete(line);
      void line.close();
    }
  }

  /** A line is gone for good (kicked, refused, gave up reconnecting): the echo must stay reachable. */
  lost(line: Line): void {
    this.lines.delete(line);
    this.reopenIfOffline();
  }

  private reopenIfOffline(): void {
    if (this.closed || this.lines.size > 0 || this.reopenTimer !== null) return;
    this.deps.log.warn(
      { account: this.account, retryInMs: this.reopenMs },
      'echo peer offline; logging in again',
    );
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = null;
      this.open().then(
        () => (this.reopenMs = REOPEN_INITIAL_MS),
        (error: unknown) => {
          this.deps.log.warn({ err: String(error) }, 'echo peer could not log in');
          this.reopenMs = Math.min(this.reopenMs * 2, REOPEN_MAX_MS);
          this.reopenIfOffline();
        },
      );
    }, this.reopenMs);
    // Never what keeps a process alive: close() clears it, and a dying process need not wait for it.
    this.reopenTimer.unref?.();
  }

  private async open(): Promise<Line> {
    const line = new Line(this);
    this.lines.add(line);
    try {
      await line.connect();
    } catch (error) {
      this.lines.delete(line);
      await line.close();
      throw error;
    }
    if (this.closed) {
      this.lines.delete(line);
      await line.close();
      throw new Error('echo closed');
    }
    return line;
  }

  /** An idle line, logging one more in while under `maxCalls`; undefined when every line is busy. */
  private async free(): Promise<Line | undefined> {
    let line = [...this.lines].find((l) => l.idle);
    if (!line && this.lines.size < this.config.maxCalls)
      line = await this.open().catch((error: unknown) => {
        this.deps.log.warn({ err: String(error) }, 'echo could not log in one more line');
        return undefined;
      });
    return this.closed || !line || !line.idle ? undefined : line;
  }

  private async take(event: BeCallingEvent, via: Line): Promise<void> {
    const line = await this.free();
    if (this.closed) return;
    if (!line) {
      this.deps.log.info({ cid: event.cid, caller: event.caller }, 'echo busy: every line is in a call');
      await via.decline(event);
      return;
    }
    await line.answer(event);
  }
}

interface EchoCall {
  cid: string;
  /** A live room's stage rather than a call: left with leaveChannel, ended by liveRoomClose. */
  live?: boolean;
  /** Who rang: the one played back while it is in the RTC session. */
  caller: string;
  /** Everyone else in the RTC session, by account (one device per account in a call). */
  others: Map<string, RtcUser>;
  /** The echo's own push URL in this call, once syncDone gave it. */
  pushUrl?: string;
}

/** One logged-in device of the echo, in at most one call. */
class Line {
  private readonly netcall: Netcall;
  private call: EchoCall | null = null;
  private relay: Relay | null = null;
  /** Relay changes run one after another: a new publisher must wait until the old one is gone. */
  private work: Promise<void> = Promise.resolve();
  private closing = false;

  constructor(private readonly echo: Echo) {
    const { deps, config } = echo;
    const netcall = new Netcall({
      server: deps.server,
      account: config.account,
      token: deps.mintToken(),
      connectSocket: wsConnectSocket,
      requestTimeout: REQUEST_TIMEOUT_MS,
    });
    this.netcall = netcall;
    netcall.on('beCalling', (event) => echo.ring(event, this));
    netcall.on('coHostInvite', (event) => echo.invited(event));
    netcall.on('liveRoomClose', (event) => {
      if (this.call?.cid === event.cid) this.finish('live closed');
    });
    netcall.on('coHostRemoved', (event) => {
      // Back in the audience there is nothing to echo: leave the room.
      if (this.call?.cid !== event.cid) return;
      void netcall.leaveChannel({ cid: event.cid }).catch(() => {});
      this.finish('removed from the stage');
    });
    netcall.on('syncDone', (event) => {
      const call = this.call;
      if (!call || call.cid !== event.cid) return;
      // Authoritative: it lists everyone in the session now, with the current URLs.
      call.pushUrl = event.userlist.find((u) => u.account === config.account)?.url;
      call.others = new Map(
        event.userlist.filter((u) => u.account !== config.account).map((u) => [u.account, u]),
      );
      this.follow();
    });
    netcall.on('clientJoin', (event) => {
      const call = this.call;
      if (!call || call.cid !== event.cid || event.account === config.account) return;
      call.others.set(event.account, event);
      this.follow();
    });
    netcall.on('clientLeave', (event) => {
      const call = this.call;
      if (!call || call.cid !== event.cid) return;
      call.others.delete(event.account);
      this.follow();
    });
    netcall.on('hangup', (event) => {
      if (this.call?.cid === event.cid) this.finish('hangup');
    });
    netcall.on('callLost', (event) => {
      if (this.call?.cid === event.cid) this.finish('lost');
    });
    netcall.on('tokenWillExpire', () => {
      netcall
        .renewToken(deps.mintToken())
        .catch((error: unknown) => deps.log.warn({ err: String(error) }, 'echo could not renew its token'));
    });
    netcall.on('disconnect', (event) => {
      if (this.closing) return;
      deps.log.warn({ code: event.code, reason: event.reason }, 'echo line disconnected');
      if (this.call) this.finish('disconnect');
      echo.lost(this);
    });
  }

  get idle(): boolean {
    return !this.closing && this.call === null && this.netcall.isConnected;
  }

  connect(): Promise<void> {
    return this.netcall.connect();
  }

  /** Answers and starts RTC; the relay starts once syncDone/clientJoin have given both URLs. */
  async answer(event: BeCallingEvent): Promise<void> {
    const netcall = this.netcall;
    const { cid, caller, type } = event;
    this.call = { cid, caller, others: new Map() };
    try {
      await netcall.response({ accepted: true, caller, type, cid });
      await netcall.startRtc({ mode: 0, cid });
      this.echo.deps.log.info({ cid, caller, group: event.callees !== undefined }, 'echo answered');
    } catch (error) {
      this.echo.deps.log.info({ cid, caller, err: String(error) }, 'echo could not answer');
      if (this.call?.cid !== cid) return;
      // Answered but not in RTC: the caller would wait on a silent peer. (Refused as not ours if unanswered.)
      await netcall.hangup({ cid }).catch(() => {});
      this.finish('not answered');
    }
  }

  /**
   * Goes on a live room's stage it was invited to: joins by name (audience first), accepts, steps on stage and
   * starts RTC; the relay then plays the host back, as the caller of a call.
   */
  async joinStage(event: CoHostInviteEvent): Promise<void> {
    const netcall = this.netcall;
    const { cid, account: host, channelName } = event;
    this.call = { cid, caller: host, others: new Map(), live: true };
    try {
      await netcall.joinChannel({ channelName: channelName!, type: 2, liveEnable: true });
      await netcall.respondCoHostInvite({ accepted: true, cid });
      await netcall.changeRoleToPlayer({ cid });
      await netcall.startRtc({ mode: 0, cid });
      this.echo.deps.log.info({ cid, channelName, host }, 'echo on stage');
    } catch (error) {
      this.echo.deps.log.info({ cid, err: String(error) }, 'echo could not go on stage');
      if (this.call?.cid !== cid) return;
      await netcall.leaveChannel({ cid }).catch(() => {});
      this.finish('not on stage');
    }
  }

  async decline(event: BeCallingEvent): Promise<void> {
    const { cid, caller, type } = event;
    await this.netcall
      .response({ accepted: false, caller, type, cid, reason: 'busy' })
      .catch((error: unknown) =>
        this.echo.deps.log.info({ cid, err: String(error) }, 'echo could not decline'),
      );
  }

  /** Hangs up (if in a call), stops the relay, logs out; resolves when the relay's processes are gone. */
  async close(): Promise<void> {
    if (this.closing) return this.work;
    this.closing = true;
    const call = this.call;
    this.call = null;
    if (call && this.netcall.isConnected)
      // Shutting down with the server: the peer hears what the server's own shutdown would tell it.
      await (
        call.live
          ? this.netcall.leaveChannel({ cid: call.cid })
          : this.netcall.hangup({ cid: call.cid, reason: 'network' })
      ).catch(() => {});
    this.netcall.close();
    await this.follow();
  }

  private finish(why: string): void {
    const call = this.call;
    if (!call) return;
    this.call = null;
    this.echo.deps.log.info({ cid: call.cid, why }, 'echo call ended');
    void this.follow().then(() => this.echo.ended(this));
  }

  /** Brings the relay in line with the call: the source's play URL to our push URL, or nothing. */
  private follow(): Promise<void> {
    this.work = this.work.then(async () => {
      const want = this.wanted();
      const relay = this.relay;
      if (relay && want && relay.from === want.from && relay.to === want.to) return;
      if (relay) {
        this.relay = null;
        await relay.stop();
      }
      if (!want || this.closing) return;
      const { deps, config } = this.echo;
      deps.log.info({ from: streamOf(want.from), to: streamOf(want.to) }, 'echo relay starting');
      this.relay = new Relay({ ffmpeg: deps.ffmpeg, delayMs: config.delayMs, log: deps.log, ...want });
    });
    // One failed step must neither stop the steps after it nor surface as an unhandled rejection.
    this.work = this.work.catch((error: unknown) =>
      this.echo.deps.log.error({ err: String(error) }, 'echo relay change failed'),
    );
    return this.work;
  }

  private wanted(): { from: string; to: string } | null {
    const call = this.call;
    if (!call || !call.pushUrl || this.closing) return null;
    const source = call.others.get(call.caller) ?? call.others.values().next().value;
    if (!source) return null;
    const host = this.echo.deps.mediaHost;
    return { from: local(source.url, host), to: local(call.pushUrl, host) };
  }
}

/** The same URL on `host`: the echo runs beside the media plane and need not go out through a tunnel. */
function local(url: string, host: string): string {
  const parsed = new URL(url);
  parsed.hostname = host.includes(':') ? `[${host}]` : host;
  return parsed.href;
}
