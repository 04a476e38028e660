/**
 * setData scenarios on rendered kit components (miniprogram-simulate), shared by the benchmarks and by the
 * guards in test/guards/: a bare netcall-room (joins, netstatus bursts) and the whole call-screen of an
 * established call (what an app shows: the room with pusher and player, plus the in-call timer). Measured the
 * way the other kits were measured for the README's comparison: every setData of every component (call-screen, room, pusher,
 * each player, including tiles created mid-scenario) is recorded with `JSON.stringify(payload).length`;
 * stream URLs are 80 bytes.
 */
import './dom';
import path from 'path';
import { runInAction } from 'mobx-miniprogram';
import { CallSession } from '../../services/call';
import { MediaRoster } from '../../services/media';
import type { Timers } from '../../services/platform/primitives';
import type { RtcUser } from '../../services/protocol';
import { bindRosterToStore, callStore, sessionStore, type CallSessionLike } from '../../services/stores';
import {
  COMPONENTS_ROOT,
  FakeNetcall,
  defineHost,
  playerAttrs,
  pusherAttrs,
  recordEvents,
  renderHost,
  simulate,
  type Host,
} from '../../test/helpers/simulate';

export interface SetDataRecord {
  component: string;
  keys: string[];
  bytes: number;
  payload: Record<string, unknown>;
}

/** Every setData since the last `take()`, across every instrumented component. */
class SetDataRecorder {
  private records: SetDataRecord[] = [];

  add(component: string, payload: Record<string, unknown>): void {
    this.records.push({
      component,
      keys: Object.keys(payload),
      bytes: JSON.stringify(payload).length,
      payload,
    });
  }

  take(): SetDataRecord[] {
    const taken = this.records;
    this.records = [];
    return taken;
  }
}

type AnyObject = Record<string, unknown>;
type SetData = (data: AnyObject, callback?: () => void) => void;

/** Names an instance by what its data holds; the ids simulate gives components are opaque. */
function componentName(data: AnyObject): string {
  if ('players' in data) return 'room';
  if ('managed' in data) return `player(${String(data.uid)})`;
  if ('enableCamera' in data) return 'pusher';
  if ('phase' in data && 'ringtone' in data) return 'call-screen';
  return 'other';
}

const recorder = new SetDataRecorder();

interface HostIds {
  /** `<netcall-room id="room" />` alone. */
  room: string;
  /** `<netcall-room id="room" layout="grid" />` alone: the group layout. */
  grid: string;
  /** `<call-screen id="screen" />`, which renders its own netcall-room (the same registration). */
  screen: string;
}

let hostIds: HostIds | undefined;

/**
 * Registers the kit's components once per process (jest: per file), with every setData recorded.
 * Each kit component is loaded by path exactly once (miniprogram-simulate#25: a second load of a path
 * whose module is cached registers nothing): netcall-room with its pusher and player, then call-screen with
 * its `netcall-room` pointed at that registration through simulate's `usingComponents` override.
 */
function hosts(): HostIds {
  if (hostIds) return hostIds;
  hostIds = instrumented(() => {
    const load = (name: string, options: { usingComponents?: Record<string, string> } = {}) =>
      simulate.load(path.join(COMPONENTS_ROOT, name, 'index'), { rootPath: COMPONENTS_ROOT, ...options });
    const room = load('netcall-room');
    const screen = load('call-screen', { usingComponents: { 'netcall-room': room } });
    return {
      room: defineHost({ usingComponents: { 'netcall-room': room }, template: '<netcall-room id="room" />' }),
      grid: defineHost({
        usingComponents: { 'netcall-room': room },
        template: '<netcall-room id="room" layout="grid" />',
      }),
      screen: defineHost({
        usingComponents: { 'call-screen': screen },
        template: '<call-screen id="screen" lang="en" />',
      }),
    };
  });
  return hostIds;
}

/**
 * Runs `register` with the global `Component` constructor wrapped so every instance created from then on
 * reports its setData: a tile created by a join must be counted from its very first call, which patching
 * instances after rendering (test/helpers/simulate.ts `countSetData`) would miss.
 */
function instrumented<T>(register: () => T): T {
  const globals = globalThis as unknown as { Component: (definition: AnyObject) => unknown };
  const original = globals.Component;
  globals.Component = (definition: AnyObject) => {
    const lifetimes = (definition.lifetimes ?? {}) as Record<string, (this: AnyObject) => void>;
    return original({
      ...definition,
      lifetimes: {
        ...lifetimes,
        created(this: AnyObject & { setData: SetData; data: AnyObject }) {
          const setData = this.setData;
          this.setData = (data, callback) => {
            recorder.add(componentName(this.data), data);
            return setData.call(this, data, callback);
          };
          lifetimes.created?.call(this);
        },
      },
    });
  };
  try {
    return register();
  } finally {
    globals.Component = original;
  }
}

/** An 80-byte signed URL (the length the competitor measurements used), shaped like the server's. */
export function streamUrl(uid: string, sign = '0'): string {
  const base = `rtmp://10.0.0.2:1935/live/c1_${uid}?sign=1767225600-`;
  return (base + sign.repeat(80)).slice(0, 80);
}

const SELF: RtcUser = { uid: '1', account: 'alice', mode: 0, url: streamUrl('1', 'a') };
const remote = (index: number, sign = 'b'): RtcUser => ({
  uid: String(index + 1),
  account: `user${index}`,
  mode: 0,
  url: streamUrl(String(index + 1), sign),
});

interface Session {
  netcall: FakeNetcall;
  host: Host;
  end(): void;
}

export type RoomLayout = 'pip' | 'grid';

/** A rendered room bound to a fresh roster, self already pushing (startRtc + syncDone with self only). */
async function openSession(layout: RoomLayout = 'pip'): Promise<Session> {
  const id = layout === 'grid' ? hosts().grid : hosts().room;
  runInAction(() => callStore.reset());
  const netcall = new FakeNetcall('alice');
  const roster = new MediaRoster(netcall);
  const unbind = bindRosterToStore(roster, callStore);
  const host = renderHost(id);
  roster.setSelf(await netcall.startRtc({ mode: 0 }));
  netcall.syncDone([SELF]);
  await simulate.sleep(0);
  return {
    netcall,
    host,
    end() {
      host.detach();
      unbind();
      roster.dispose();
      runInAction(() => callStore.reset());
      recorder.take();
    },
  };
}

export interface StepCost {
  calls: number;
  bytes: number;
  records: SetDataRecord[];
}

function cost(records: SetDataRecord[]): StepCost {
  return { calls: records.length, bytes: records.reduce((sum, record) => sum + record.bytes, 0), records };
}

export interface JoinScenario {
  /** joins[k] is the cost of the (k+1)-th remote join. */
  joins: StepCost[];
  /** syncDone after a reconnect carrying one new URL (user #3). */
  urlChange: StepCost;
  /** clientLeave of the first remote user, with `maxUsers` in the room: every other tile moves up. */
  leave: StepCost;
  /** clientLeave of the last remote user after that: nothing else moves. */
  lastLeave: StepCost;
  /** Players rendered once everyone joined, to prove the joins really showed up. */
  shownPlayers: number;
}

/**
 * 1..maxUsers remote users join one by one (clientJoin), then one URL changes, then the first user leaves
 * (the worst leave: every tile after it moves), then the last one.
 */
export async function runJoinScenario(maxUsers = 8, layout: RoomLayout = 'pip'): Promise<JoinScenario> {
  const session = await openSession(layout);
  try {
    recorder.take();
    const joins: StepCost[] = [];
    const users: RtcUser[] = [];
    for (let index = 1; index <= maxUsers; index++) {
      const user = remote(index);
      users.push(user);
      session.netcall.clientJoin(user);
      await simulate.sleep(0);
      joins.push(cost(recorder.take()));
    }
    const shownPlayers = session.host
      .querySelector('#room')!
      .querySelectorAll('.netcall-room__player').length;

    const changed = users.map((user, index) => (index === 2 ? remote(3, 'c') : user));
    session.netcall.syncDone([SELF, ...changed]);
    await simulate.sleep(0);
    const urlChange = cost(recorder.take());

    session.netcall.clientLeave(users[0]);
    await simulate.sleep(0);
    const leave = cost(recorder.take());

    session.netcall.clientLeave(users[users.length - 1]);
    await simulate.sleep(0);
    const lastLeave = cost(recorder.take());
    return { joins, urlChange, leave, lastLeave, shownPlayers };
  } finally {
    session.end();
  }
}

/** What `<live-pusher>` reports in `bindnetstatus` (WeChat docs, live-pusher netstatus `info`). */
function pusherInfo(second: number): AnyObject {
  return {
    videoBitrate: 480 + (second % 7) * 3,
    audioBitrate: 64,
    videoFPS: 15,
    videoGOP: 1,
    netSpeed: 560 + (second % 5) * 11,
    netJitter: second % 3,
    netQualityLevel: 1,
    videoWidth: 360,
    videoHeight: 480,
  };
}

/** What `<live-player>` reports in `bindnetstatus`. */
function playerInfo(second: number): AnyObject {
  return {
    videoBitrate: 470 + (second % 7) * 3,
    audioBitrate: 64,
    videoFPS: 15,
    videoGOP: 1,
    netSpeed: 550 + (second % 5) * 11,
    netJitter: second % 3,
    netQualityLevel: 1,
    videoWidth: 360,
    videoHeight: 480,
    videoCache: 120,
    audioCache: 110,
    vDecCacheSize: 2,
    vSumCacheSize: 3,
    avPlayInterval: 12,
    avRecvInterval: 15,
    audioCacheThreshold: 0.2,
  };
}

export interface SteadyScenario {
  seconds: number;
  /** netstatus events dispatched (pusher + player). */
  events: number;
  /** Per simulated second. */
  perSecond: StepCost[];
}

interface Scheduled {
  at: number;
  /** null: a timeout. */
  every: number | null;
  fn: () => void;
}

/**
 * Simulated time for a steady scenario: `Date.now` (which the components' netstatus throttle reads through
 * services/platform `defaultTimers.now()`) and a `Timers` for the CallSession, both on one clock that only
 * `advance` moves. `restore` puts the real `Date.now` back.
 */
class VirtualClock implements Timers {
  private readonly realNow = Date.now;
  private time = this.realNow.call(Date);
  private nextHandle = 1;
  private readonly scheduled = new Map<number, Scheduled>();

  constructor() {
    Date.now = () => this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    return this.schedule(fn, ms, null);
  }
  setInterval(fn: () => void, ms: number): unknown {
    return this.schedule(fn, ms, Math.max(1, ms));
  }
  clearTimeout(handle: unknown): void {
    this.scheduled.delete(handle as number);
  }
  clearInterval(handle: unknown): void {
    this.scheduled.delete(handle as number);
  }
  now(): number {
    return this.time;
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way, earliest first. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      let due: [number, Scheduled] | undefined;
      for (const entry of this.scheduled)
        if (entry[1].at <= until && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) break;
      const [handle, timer] = due;
      this.time = timer.at;
      if (timer.every === null) this.scheduled.delete(handle);
      else timer.at += timer.every;
      timer.fn();
    }
    this.time = until;
  }

  restore(): void {
    Date.now = this.realNow;
  }

  private schedule(fn: () => void, ms: number, every: number | null): number {
    const handle = this.nextHandle++;
    this.scheduled.set(handle, { at: this.time + Math.max(0, ms), every, fn });
    return handle;
  }
}

type Rendered = NonNullable<ReturnType<Host['querySelector']>>;

/** The `<live-pusher>` and the first `<live-player>` of a rendered netcall-room, or a clear failure. */
function mediaElements(room: Rendered, what: string): { pusher: Rendered; player: Rendered } {
  const pusher = room.querySelector('.netcall-room__pusher')?.querySelector('#live-pusher');
  const player = room.querySelector('.netcall-room__player')?.querySelector('#player-2');
  if (!pusher || !player) throw new Error(`${what}: the 1:1 call did not render a pusher and a player`);
  return { pusher, player };
}

/**
 * Each simulated second: `burst` times, time moves 1000/burst ms (running the timers due) and `netstatus`
 * fires on the pusher and the player; then that second's setData are taken.
 */
async function steadySeconds(
  clock: VirtualClock,
  elements: { pusher: Rendered; player: Rendered },
  seconds: number,
  burst: number,
): Promise<SteadyScenario> {
  const perSecond: StepCost[] = [];
  let events = 0;
  for (let second = 0; second < seconds; second++) {
    for (let shot = 0; shot < burst; shot++) {
      // The last shot lands exactly on the second, so whole-second timers fire once per second.
      clock.advance(
        shot === burst - 1 ? 1000 - (burst - 1) * Math.floor(1000 / burst) : Math.floor(1000 / burst),
      );
      elements.pusher.dispatchEvent('netstatus', { detail: { info: pusherInfo(second) } });
      elements.player.dispatchEvent('netstatus', { detail: { info: playerInfo(second) } });
      events += 2;
      await simulate.sleep(0);
    }
    perSecond.push(cost(recorder.take()));
  }
  return { seconds, events, perSecond };
}

/**
 * A bare netcall-room in an established 1:1 call: each simulated second the pusher and the player fire
 * `netstatus` `burst` times (1 = WeChat's usual once a second). Nothing else changes, so this isolates the
 * media components (the guard's burst case); benchmark 2 uses `runCallScreenScenario`.
 */
export async function runSteadyScenario(seconds = 10, burst = 1): Promise<SteadyScenario> {
  const session = await openSession();
  const clock = new VirtualClock();
  try {
    session.netcall.clientJoin(remote(1));
    await simulate.sleep(0);
    const elements = mediaElements(session.host.querySelector('#room')!, 'steady scenario');
    recorder.take();
    return await steadySeconds(clock, elements, seconds, burst);
  } finally {
    clock.restore();
    session.end();
  }
}

export interface CallScreenScenario extends SteadyScenario {
  /** The peer's play URL and my push URL, as the rendered elements hold them once in call. */
  shownUrls: { pusher: string; player: string };
  /**
   * Sources (`pusher`, `player`) of the `netstatus` events call-screen emitted: proof the dispatched events
   * reached the kit. Not a count: simulate bubbles the raw element event through every component boundary
   * (test/helpers/simulate.ts `recordEvents`), so the screen hears each one several times, WeChat once.
   */
  netstatusSources: string[];
}

/** The callee of the call-screen scenario, as the server lists it in `syncDone`. */
const PEER: RtcUser = { uid: '2', account: 'bob', mode: 0, url: streamUrl('2', 'b') };

/**
 * What an app shows during a 1:1 video call: `<call-screen>` (which renders netcall-room with my pusher and
 * the peer's player) driven by a real CallSession on a scripted FakeNetcall, as the demo's pages wire it
 * (roster → callStore with `bindRosterToStore`, session → sessionStore with `attachSession`). The session
 * dials, the callee accepts, `syncDone` lists both streams, and the session goes in-call and starts its
 * 1 s duration tick on the virtual clock. Then, each simulated second, the tick fires (`duration` + 1, so
 * the timer changes) and `netstatus` fires `burst` times on both media elements. Setup costs are not counted.
 */
export async function runCallScreenScenario(seconds = 10, burst = 1): Promise<CallScreenScenario> {
  const id = hosts().screen;
  runInAction(() => {
    callStore.reset();
    sessionStore.reset();
  });
  const clock = new VirtualClock();
  const netcall = new FakeNetcall('alice');
  const session = new CallSession({
    netcall,
    timers: clock,
    checkPermissions: async () => ({ granted: true }),
  });
  const unbindRoster = bindRosterToStore(session.roster, callStore);
  const host = renderHost(id);
  try {
    const screen = host.querySelector('#screen')!;
    (screen.instance as { attachSession(session: CallSessionLike | null): void }).attachSession(session);
    await session.call(PEER.account, 2);
    const cid = netcall.startRtcResult.cid;
    netcall.emit('callAccepted', { cid, account: PEER.account, type: 2 });
    await simulate.sleep(0);
    netcall.syncDone([SELF, PEER]);
    await simulate.sleep(0);
    if (session.phase !== 'in-call' || sessionStore.phase !== 'in-call')
      throw new Error(`call-screen scenario: the call is ${session.phase}, not in-call`);
    const room = screen.querySelector('.call-screen__room');
    if (!room) throw new Error('call-screen scenario: call-screen in call did not render its netcall-room');
    const elements = mediaElements(room, 'call-screen scenario');
    const shownUrls = {
      pusher: String(pusherAttrs(screen)[0]?.url ?? ''),
      player: String(playerAttrs(screen)[0]?.src ?? ''),
    };
    const emitted = recordEvents(screen);
    recorder.take();
    const steady = await steadySeconds(clock, elements, seconds, burst);
    const netstatusSources = [
      ...new Set(
        emitted.flatMap((event) => {
          // The room's forward carries `source`; simulate's raw bubbled copies do not.
          const source = (event.detail as { source?: unknown } | null)?.source;
          return event.name === 'netstatus' && typeof source === 'string' ? [source] : [];
        }),
      ),
    ].sort();
    return { ...steady, shownUrls, netstatusSources };
  } finally {
    host.detach();
    await session.dispose();
    unbindRoster();
    runInAction(() => {
      callStore.reset();
      sessionStore.reset();
    });
    clock.restore();
    recorder.take();
  }
}

/**
 * Why a payload looks like a whole list: a top-level `players` array, or any array of two or more items
 * anywhere in it (every competitor measured re-sends its participant list this way).
 */
export function wholeListProblems(records: readonly SetDataRecord[]): string[] {
  const problems: string[] = [];
  const walk = (value: unknown, where: string, record: SetDataRecord) => {
    if (Array.isArray(value)) {
      if (value.length >= 2) problems.push(`${record.component} setData ${where}: array of ${value.length}`);
      value.forEach((item, index) => walk(item, `${where}[${index}]`, record));
    } else if (value && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) walk(item, where ? `${where}.${key}` : key, record);
    }
  };
  for (const record of records) {
    if (Array.isArray(record.payload.players))
      problems.push(`${record.component} setData resends the whole "players" list`);
    walk(record.payload, '', record);
  }
  return problems;
}
