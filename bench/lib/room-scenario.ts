/**
 * setData scenarios on a rendered netcall-room (miniprogram-simulate), shared by the benchmarks and by the
 * guards in test/guards/. Measured the way anchors.md §2.1 measured the other kits: every setData of every
 * component (room, pusher, each player, including tiles created mid-scenario) is recorded with
 * `JSON.stringify(payload).length`; stream URLs are 80 bytes.
 */
import './dom';
import { runInAction } from 'mobx-miniprogram';
import { MediaRoster } from '../../services/media';
import type { RtcUser } from '../../services/protocol';
import { bindRosterToStore, callStore } from '../../services/stores';
import {
  FakeNetcall,
  defineHost,
  loadComponent,
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
  return 'other';
}

const recorder = new SetDataRecorder();
let hostId: string | undefined;

/**
 * Wraps the global `Component` constructor so every instance created from now on reports its setData:
 * a tile created by a join must be counted from its very first call, which patching instances after
 * rendering (test/helpers/simulate.ts `countSetData`) would miss. Loads the room once (pitfall 6).
 */
function roomHostId(): string {
  if (hostId) return hostId;
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
    hostId = defineHost({
      usingComponents: { 'netcall-room': loadComponent('netcall-room') },
      template: '<netcall-room id="room" />',
    });
  } finally {
    globals.Component = original;
  }
  return hostId;
}

/** An 80-byte signed URL (anchors.md §2.1), shaped like the server's. */
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

/** A rendered room bound to a fresh roster, self already pushing (startRtc + syncDone with self only). */
async function openSession(): Promise<Session> {
  const id = roomHostId();
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
  /** clientLeave of the first remote user, with `maxUsers` in the room. */
  leave: StepCost;
  /** Players rendered once everyone joined, to prove the joins really showed up. */
  shownPlayers: number;
}

/** 1..maxUsers remote users join one by one (clientJoin), then one URL changes, then one user leaves. */
export async function runJoinScenario(maxUsers = 8): Promise<JoinScenario> {
  const session = await openSession();
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
    return { joins, urlChange, leave, shownPlayers };
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

/**
 * An established 1:1 call: each simulated second the pusher and the player fire `netstatus`
 * `burst` times (1 = WeChat's usual once a second). Time is simulated by moving `Date.now`, which the
 * components' throttle reads through services/platform `defaultTimers.now()`.
 */
export async function runSteadyScenario(seconds = 10, burst = 1): Promise<SteadyScenario> {
  const session = await openSession();
  const realNow = Date.now;
  let now = realNow.call(Date);
  Date.now = () => now;
  try {
    session.netcall.clientJoin(remote(1));
    await simulate.sleep(0);
    const room = session.host.querySelector('#room')!;
    const pusher = room.querySelector('.netcall-room__pusher')!.querySelector('#live-pusher');
    const player = room.querySelector('.netcall-room__player')!.querySelector('#player-2');
    if (!pusher || !player)
      throw new Error('steady scenario: the 1:1 call did not render a pusher and a player');
    recorder.take();

    const perSecond: StepCost[] = [];
    let events = 0;
    for (let second = 0; second < seconds; second++) {
      for (let shot = 0; shot < burst; shot++) {
        now += Math.floor(1000 / burst);
        pusher.dispatchEvent('netstatus', { detail: { info: pusherInfo(second) } });
        player.dispatchEvent('netstatus', { detail: { info: playerInfo(second) } });
        events += 2;
        await simulate.sleep(0);
      }
      perSecond.push(cost(recorder.take()));
    }
    return { seconds, events, perSecond };
  } finally {
    Date.now = realNow;
    session.end();
  }
}

/**
 * Why a payload looks like a whole list: a top-level `players` array, or any array of two or more items
 * anywhere in it (anchors.md §2.3: every competitor re-sends its participant list this way).
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
