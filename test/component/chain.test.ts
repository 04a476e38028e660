/**
 * @jest-environment jsdom
 * @jest-environment-options {"customExportConditions": ["node", "node-addons"]}
 */
/**
 * The whole chain, nothing stubbed between the server and the rendered elements: the real server in-process →
 * two real `Netcall` clients over ws → `CallSession` and its `MediaRoster` → the stores (`bindRosterToStore`,
 * and `attachSession`, which binds `sessionStore`) → `<call-screen>` → netcall-room → netcall-pusher /
 * netcall-player in miniprogram-simulate. The rendered `<live-pusher url>` and `<live-player src>` of caller and
 * callee must be exactly the URLs the server issued to that client, follow a reconnect's fresh syncDone, and
 * go when the call ends.
 *
 * The stores are module singletons, and both parties are on screen at once, so each party gets its own copy
 * of the kit: its components and stores loaded in their own module registry (`jest.isolateModules`), which is
 * also what lets the same component path be loaded twice in one file (miniprogram-simulate#25).
 * The custom export conditions make `ws` resolve to its Node build under jsdom.
 */
import * as nodeTimers from 'timers';
import type { RunningServer } from '../../server/index';
import type { ClientJoinEvent, SyncDoneEvent } from '../../services/protocol';
import { startTestServer } from '../helpers/server';
import { disposeParties, ended, names, party, phase, type Party } from '../helpers/session';
import {
  defineHost,
  loadComponent,
  playerAttrs,
  pusherAttrs,
  renderHost,
  simulate,
  type Host,
} from '../helpers/simulate';
import { eventually } from '../helpers/wait';

// The server runs in this (jsdom) sandbox and `unref()`s its timers, which jsdom's numeric timer ids cannot
// do: give the sandbox Node's timers. simulate only needs them to fire, which Node's do just the same.
Object.assign(globalThis, {
  setTimeout: nodeTimers.setTimeout,
  clearTimeout: nodeTimers.clearTimeout,
  setInterval: nodeTimers.setInterval,
  clearInterval: nodeTimers.clearInterval,
  setImmediate: nodeTimers.setImmediate,
  clearImmediate: nodeTimers.clearImmediate,
});

type Stores = typeof import('../../services/stores');

/** One party's copy of the kit: a host page with `<call-screen>`, and the stores that screen reads. */
interface Kit {
  hostId: string;
  stores: Stores;
}

function loadKit(): Kit {
  let kit: Kit | undefined;
  jest.isolateModules(() => {
    // Required inside the isolated registry, so this is the copy the components below import too.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const stores = require('../../services/stores') as Stores;
    const hostId = defineHost({
      usingComponents: { 'call-screen': loadComponent('call-screen') },
      template: '<call-screen id="screen" />',
    });
    kit = { hostId, stores };
  });
  if (!kit) throw new Error('loadKit: the isolated registry did not run');
  return kit;
}

// One copy per party, each loaded once in its own registry (miniprogram-simulate#25: loading a path again in
// the same registry registers nothing).
const callerKit = loadKit();
const calleeKit = loadKit();

interface ScreenApi {
  attachSession(session: unknown): void;
}

/** A party with its screen on, and every URL the server issued to its client, in arrival order. */
interface Side {
  party: Party;
  account: string;
  host: Host;
  /** syncDone and clientJoin, as the client received them. */
  received: Array<SyncDoneEvent | ClientJoinEvent>;
  /** When the latest syncDone arrived (ms epoch). */
  syncedAt: number;
  release(): void;
}

async function onScreen(kit: Kit, account: string): Promise<Side> {
  const p = await party(server, account, { callerTimeout: 60000, calleeTimeout: 60000 });
  const side: Side = {
    party: p,
    account,
    host: renderHost(kit.hostId),
    received: [],
    syncedAt: 0,
    release() {},
  };
  p.netcall.on('syncDone', (event) => {
    side.received.push(event);
    side.syncedAt = Date.now();
  });
  p.netcall.on('clientJoin', (event) => side.received.push(event));
  // As the demo's pages wire it: roster → callStore here, session → sessionStore through the screen.
  const unbindRoster = kit.stores.bindRosterToStore(p.session.roster, kit.stores.callStore);
  (side.host.querySelector('#screen')!.instance as unknown as ScreenApi).attachSession(p.session);
  side.release = () => {
    side.host.detach();
    unbindRoster();
  };
  return side;
}

const syncDones = (side: Side) =>
  side.received.filter((event): event is SyncDoneEvent => 'userlist' in event);

/** What the server last issued to `side`: its own push URL (latest syncDone) and the peer's play URL. */
function issued(side: Side, peer: string): { pushers: string[]; players: string[] } {
  const self = syncDones(side)
    .pop()
    ?.userlist.find((user) => user.account === side.account);
  // The peer's URL comes in a syncDone, or in a clientJoin when the peer (re)joins after it: the newest wins.
  let player = '';
  for (const event of side.received) {
    const user = 'userlist' in event ? event.userlist.find((u) => u.account === peer) : event;
    if (user?.account === peer && user.url) player = String(user.url);
  }
  return { pushers: self?.url ? [String(self.url)] : [], players: player ? [player] : [] };
}

/** The URLs on the rendered media elements of `side`'s screen. */
function shown(side: Side): { pushers: string[]; players: string[] } {
  const screen = side.host.querySelector('#screen')!;
  return {
    pushers: pusherAttrs(screen).map((attrs) => String(attrs.url ?? '')),
    players: playerAttrs(screen).map((attrs) => String(attrs.src ?? '')),
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Waits until `side`'s screen shows a pusher and a player, with exactly the URLs the server last issued. Frames
 * arrive over the socket, then pass roster → store → reaction → setData (on the next `wx.nextTick`): the wait
 * yields to both between looks.
 */
async function untilShowsIssued(side: Side, peer: string): Promise<void> {
  await eventually(
    () => shown(side).players.length > 0 && same(shown(side), issued(side, peer)),
    () =>
      `${side.account} shows ${JSON.stringify(shown(side))}, issued ${JSON.stringify(issued(side, peer))}`,
  );
}

/** The stream a push or play URL is for: its path, without the signature. */
const streamOf = (url: string) => new URL(url).pathname;

/** Taps a call-screen button, as the user would; simulate delivers taps on a timer. */
async function tap(side: Side, button: string): Promise<void> {
  const element = side.host.querySelector('#screen')!.querySelector(`.call-screen__ctl--${button}`);
  if (!element) throw new Error(`${side.account}: no ${button} button on screen`);
  element.dispatchEvent('tap');
  await simulate.sleep(0);
}

let server: RunningServer;
const sides: Side[] = [];

beforeAll(async () => {
  // A long grace period: the reconnect below must rejoin the call, not end it.
  server = await startTestServer({ callGraceMs: 15000 });
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  for (const side of sides.splice(0)) side.release();
  await disposeParties();
});

describe('server → Netcall → CallSession → stores → call-screen', () => {
  it('renders exactly the URLs the server issued, for caller and callee, follows a reconnect, and clears them on hangup', async () => {
    const [alice, bob] = names('alice', 'bob');
    const caller = await onScreen(callerKit, alice);
    const callee = await onScreen(calleeKit, bob);
    sides.push(caller, callee);
    expect(shown(caller)).toEqual({ pushers: [], players: [] });

    await caller.party.session.call(bob, 2);
    await phase(callee.party, 'incoming');
    await tap(callee, 'accept');
    await Promise.all([phase(caller.party, 'in-call'), phase(callee.party, 'in-call')]);
    await untilShowsIssued(caller, bob);
    await untilShowsIssued(callee, alice);

    const first = { caller: shown(caller), callee: shown(callee) };
    // Each side plays the stream the other pushes, with a play signature, never the other's push URL.
    expect(streamOf(first.caller.players[0])).toBe(streamOf(first.callee.pushers[0]));
    expect(streamOf(first.callee.players[0])).toBe(streamOf(first.caller.pushers[0]));
    expect(first.caller.players[0]).not.toBe(first.callee.pushers[0]);
    // Two copies of the kit, two sets of stores: neither screen shows the other's binding.
    expect(first.caller.pushers).not.toEqual(first.callee.pushers);

    // Signatures expire in whole seconds: once the second has turned, a rejoin is issued different URLs.
    await eventually(
      () => Math.floor(Date.now() / 1000) > Math.floor(caller.syncedAt / 1000),
      () => 'the clock did not reach the next second',
    );
    const syncsBefore = syncDones(caller).length;
    const joinsBefore = callee.received.length;
    caller.party.cut();
    await eventually(
      () => syncDones(caller).length > syncsBefore && callee.received.length > joinsBefore,
      () => `${alice} got no fresh syncDone, or ${bob} no clientJoin, after the reconnect`,
    );
    await untilShowsIssued(caller, bob);
    await untilShowsIssued(callee, alice);
    const second = { caller: shown(caller), callee: shown(callee) };
    // Fresh URLs for the same streams: the screens moved to them, they did not keep the old ones.
    expect(second.caller.pushers[0]).not.toBe(first.caller.pushers[0]);
    expect(second.callee.players[0]).not.toBe(first.callee.players[0]);
    expect(streamOf(second.callee.players[0])).toBe(streamOf(second.caller.pushers[0]));
    expect(caller.party.session.phase).toBe('in-call');

    await tap(caller, 'hangup');
    await ended(caller.party, 'local-hangup');
    await ended(callee.party, 'remote-hangup');
    for (const side of [caller, callee])
      await eventually(
        () => same(shown(side), { pushers: [], players: [] }),
        () => `${side.account} still shows ${JSON.stringify(shown(side))} after the hangup`,
      );
  });
});
