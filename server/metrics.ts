/**
 * Prometheus metrics for one server instance (prom-client), served on `GET /metrics` to holders of the metrics
 * token. Owns a registry of its own — never prom-client's global one: a process (a test run, an embedder) may
 * start several servers, and each must report only its own calls. Gauges are read from the store, the hub and
 * the media plane when scraped, so they can never drift from the state they describe; only what has no state
 * to read (replies, setup times) is counted as it happens. Never throws into signalling and never labels a
 * series with anything a client chose beyond the known op names. The store answers asynchronously: gauges
 * read it in an async `collect()`. A setup time is told by signalling (`callSetUp`), which holds the call then:
 * reading it back from the store would cost a node on Redis two round trips per `startRtc`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { isOp, type Op } from '../services/protocol';
import type { MediaPlane } from './media/plane';
import type { Hub } from './signaling/hub';
import type { CallState, RoomState, StateStore } from './store/types';

export interface MetricsSources {
  store: Pick<StateStore, 'onlineCount' | 'allCalls' | 'allRooms'>;
  hub: Pick<Hub, 'size'>;
  media: Pick<MediaPlane, 'health'>;
  /**
   * Whether the state store answers. The memory store lives in this process, so it is up whenever anything
   * can scrape; a networked store (Redis) reports its connection here.
   */
  storeUp(): boolean | Promise<boolean>;
}

const ROOM_KINDS = ['room', 'call', 'live'] as const;
const ROOM_STATES = ['waiting', 'active'] as const;
const kindOf = (room: RoomState) => (room.live ? 'live' : room.kind);
const stateOf = (room: RoomState) => (room.members.length < 2 ? 'waiting' : 'active');

/**
 * A gauge read from a store that does not answer (Redis down) is NaN, "unknown": the scrape must still answer,
 * or `netcall_store_up` 0 could never be seen; and 0 or the last value would be a count that is not true.
 */
const UNKNOWN = Number.NaN;
async function orUnknown<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch {
    return undefined;
  }
}

/**
 * Bucket bounds of the call-setup histogram, in seconds: fine around the 250 ms setup budget, coarse above
 * (a client on a slow network still lands in a bucket rather than only in +Inf).
 */
const SETUP_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Node's process metrics (CPU, memory, event-loop lag, GC) describe the process, not a server: collected once
 * per process and shared by every server's scrape. prom-client starts an event-loop monitor and a GC observer
 * per collection that it never stops, so one per server would pile up in a process that starts many.
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'netcall_' });
  }
  return processRegistry;
}

export class ServerMetrics {
  /** What a scrape reads: this server's metrics and the process's. */
  private readonly registry: Registry;
  private readonly requests: Counter<'op' | 'code'>;
  private readonly callSetup: Histogram;

  constructor(private readonly sources: MetricsSources) {
    const own = new Registry();
    const registers = [own];
    const { store, hub, media } = sources;

    new Gauge({
      name: 'netcall_connections',
      help: 'Open signalling connections (WebSocket), logged in or not.',
      registers,
      collect() {
        this.set(hub.size());
      },
    });
    new Gauge({
      name: 'netcall_online_accounts',
      help: 'Accounts with at least one logged-in device.',
      registers,
      async collect() {
        this.set((await orUnknown(store.onlineCount())) ?? UNKNOWN);
      },
    });
    new Gauge({
      name: 'netcall_calls',
      help: '1:1 calls by state: ringing (not answered yet) or accepted.',
      labelNames: ['state'],
      registers,
      async collect() {
        const calls = await orUnknown(store.allCalls());
        const count = (phase: CallState['phase']) =>
          calls?.filter((call) => call.phase === phase).length ?? UNKNOWN;
        // Both states always present, so a dashboard shows 0 rather than no data.
        this.set({ state: 'ringing' }, count('ringing'));
        this.set({ state: 'accepted' }, count('accepted'));
      },
    });
    new Gauge({
      name: 'netcall_rooms',
      help:
        'Rooms by kind and state. kind: room (joined by name), call (a group call), live (a room with a live ' +
        'host). state: waiting (fewer than two members in it: no one to talk to yet, or everyone else left) or ' +
        'active.',
      labelNames: ['kind', 'state'],
      registers,
      async collect() {
        const rooms = await orUnknown(store.allRooms());
        for (const kind of ROOM_KINDS)
          for (const state of ROOM_STATES) {
            const count = rooms?.filter((room) => kindOf(room) === kind && stateOf(room) === state).length;
            this.set({ kind, state }, count ?? UNKNOWN);
          }
      },
    });
    this.requests = new Counter({
      name: 'netcall_requests_total',
      help: 'Replies to signalling requests, by op and reply code (refusals included; unknown ops as "unknown").',
      labelNames: ['op', 'code'],
      registers,
    });
    this.callSetup = new Histogram({
      name: 'netcall_call_setup_seconds',
      help:
        "1:1 call setup: from the callee's accept to the reply to the second side's first startRtc " +
        '(both sides hold their media URLs). Ring time is excluded: it is how long a person takes to answer.',
      buckets: SETUP_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'netcall_media_up',
      help: 'Whether the media plane is up (1) or starting, restarting or stopped (0).',
      registers,
      collect() {
        this.set(media.health().status === 'up' ? 1 : 0);
      },
    });
    new Counter({
      name: 'netcall_media_restarts_total',
      help: 'Times the media plane was restarted after it died.',
      registers,
      collect() {
        // The plane keeps the count; mirroring it here means no restart is missed between scrapes.
        this.reset();
        this.inc(media.health().restarts);
      },
    });
    new Gauge({
      name: 'netcall_store_up',
      help: 'Whether the state store answers (1) or not (0).',
      registers,
      async collect() {
        this.set((await sources.storeUp()) ? 1 : 0);
      },
    });

    this.registry = Registry.merge([processMetrics(), own]);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text of a scrape. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * Told about every reply (and unattributed `error` event) the signalling edge sends. `op` is undefined when
   * the frame named no known op.
   */
  replied(op: Op | undefined, code: number): void {
    // The frame was parsed already, but an op that reached here unchecked must still not become a label.
    const label = op !== undefined && isOp(op) ? op : 'unknown';
    this.requests.inc({ op: label, code: String(code) });
  }

  /**
   * A 1:1 call is set up: the second side's first `startRtc` was answered at `at` (on the clock `answeredAt`
   * was taken with). Signalling tells each call once; a rejoin is not a setup, and group calls are not told.
   */
  callSetUp(call: CallState, at: number): void {
    if (call.answeredAt !== undefined) this.callSetup.observe(Math.max(0, at - call.answeredAt) / 1000);
  }
}
