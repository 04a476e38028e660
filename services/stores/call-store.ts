/**
 * The kit's stores, what the components read: `callStore`, the call's media (my pusher binding and the
 * remote players), and `sessionStore`, the session's state (a MirrorStore of its snapshot; the group store is
 * another). Written only through actions fed by the roster's and the session's events; nothing here talks to
 * the netcall or to `wx`. One module, because each file a mini-program ships carries its own CommonJS
 * preamble (the size budgets in bench/budgets.json count them).
 */
import { action, makeObservable, observable } from 'mobx-miniprogram';
import type { MediaRoster, PusherBinding, RosterChange, RosterSnapshot } from '../media';
import { idleSnapshot } from '../call/session';
import type {
  CallPhase,
  CallRecord,
  CallSnapshot,
  Direction,
  EndReason,
  LocalMedia,
  PeerState,
  SoundMode,
  SwitchRequest,
} from '../call/types';
import type { TileHint } from '../call/base-session';
import type { CallType, RtcUser } from '../protocol';

// ---- the call's media --------------------------------------------------------------------------------
// The call's media view for components: my pusher binding and the remote players, as plain data.
// Only roster changes write here (through actions); nothing here talks to the netcall or to `wx`.
// Objects are replaced, never mutated, so reactions keyed on them see every change.

export class CallStore {
  pusher: PusherBinding | null = null;
  /** Remote users in join order. Shallow: items are plain, replaced whole by `update`. */
  players: RtcUser[] = [];

  constructor() {
    makeObservable(this, {
      pusher: observable.ref,
      players: observable.shallow,
      rosterLoaded: action,
      applyRosterChange: action,
      applyRosterChanges: action,
      reset: action,
    });
  }

  /** The player bound to `uid`, if that user is in the session. */
  playerOf(uid: string): RtcUser | undefined {
    const key = String(uid);
    return this.players.find((user) => user.uid === key);
  }

  /** A roster was bound: take its whole state, whatever was here before. */
  rosterLoaded(snapshot: RosterSnapshot): void {
    this.pusher = snapshot.pusher;
    this.players = [...snapshot.players];
  }

  applyRosterChange(change: RosterChange): void {
    this.applyRosterChanges([change]);
  }

  /** One action per batch, so reactions (and so setData) run once per netcall event. */
  applyRosterChanges(changes: readonly RosterChange[]): void {
    for (const change of changes) {
      switch (change.kind) {
        case 'pusher':
          this.pusher = change.pusher;
          break;
        case 'add':
          this.players.splice(Math.min(change.index, this.players.length), 0, change.user);
          break;
        case 'update': {
          // By uid, not only by index: a store reset between batches must not bind a URL to the wrong tile.
          const index = this.indexOf(change.user.uid, change.index);
          if (index >= 0) this.players[index] = change.user;
          else this.players.push(change.user);
          break;
        }
        case 'remove': {
          const index = this.indexOf(change.uid, change.index);
          if (index >= 0) this.players.splice(index, 1);
          break;
        }
        case 'clear':
          this.pusher = null;
          this.players = [];
          break;
      }
    }
  }

  /** The call is over (or the page left): nothing to push or play. */
  reset(): void {
    this.pusher = null;
    this.players = [];
  }

  private indexOf(uid: string, hint: number): number {
    if (this.players[hint]?.uid === uid) return hint;
    return this.players.findIndex((user) => user.uid === uid);
  }
}

/** The kit's shared store: components read it, `bindRosterToStore` writes it. */
export const callStore = new CallStore();

/** Keeps `store` in step with `roster` until the returned function is called. */
export function bindRosterToStore(
  roster: Pick<MediaRoster, 'snapshot' | 'on' | 'off'>,
  store: CallStore = callStore,
): () => void {
  const listener = (changes: readonly RosterChange[]) => store.applyRosterChanges(changes);
  store.rosterLoaded(roster.snapshot());
  roster.on('changes', listener);
  return () => {
    roster.off('changes', listener);
  };
}

// ---- the session's state ----------------------------------------------------------------------------
// The call's state for the call screen: a field-by-field mirror of `CallSession.snapshot()`, written only
// through actions fed by the session's `change` events. It never decides anything about the call and never
// talks to the netcall or to `wx`. Objects are replaced, never mutated, so reactions keyed on them see every
// change; primitives that did not change do not notify at all (so a 1 Hz `duration` wakes only what reads it).
// `MirrorStore` is that mirror for any session's snapshot (the group store is one too).

/** CallSession's `mediaAction`: a media element must be restarted (pusher) or replayed (player `uid`). */
export interface MediaActionEvent {
  action: string;
  source: 'pusher' | 'player';
  uid: string;
}

/** What a store needs from a session to mirror it: its snapshot and its `change` events. */
export interface Mirrored<S> {
  on(name: 'change', listener: (change: Partial<S>) => void): unknown;
  off(name: 'change', listener: (change: Partial<S>) => void): unknown;
  snapshot(): S;
}

/**
 * What the store and the call screen need from a `CallSession` (services/call/session.ts). Declared here so
 * the stores do not depend on the session's implementation; the real class, an `Emitter` with these events,
 * fits as is. Results are `unknown`: the screen only waits for them and reports failures.
 */
export interface CallSessionLike extends Mirrored<CallSnapshot> {
  on(name: 'change', listener: (change: Partial<CallSnapshot>) => void): unknown;
  on(name: 'callEnded', listener: (record: CallRecord) => void): unknown;
  off(name: 'change', listener: (change: Partial<CallSnapshot>) => void): unknown;
  off(name: 'callEnded', listener: (record: CallRecord) => void): unknown;
  /** The call screen runs these on its room (a session that never emits them just never asks). */
  on(name: 'mediaAction', listener: (event: MediaActionEvent) => void): unknown;
  off(name: 'mediaAction', listener: (event: MediaActionEvent) => void): unknown;
  call(callee: string, type: CallType): Promise<unknown>;
  /** `{ type: 1 }` answers a video call as voice. */
  accept(options?: { type?: CallType }): Promise<unknown>;
  reject(): Promise<unknown>;
  hangup(): Promise<unknown>;
  setMic(on: boolean): Promise<unknown>;
  setCamera(on: boolean): Promise<unknown>;
  flipCamera(): Promise<unknown>;
  setSoundMode(mode: SoundMode): Promise<unknown>;
  requestSwitch(to: CallType): Promise<unknown>;
  respondSwitch(agree: boolean): Promise<unknown>;
  retryPermissions(): Promise<unknown>;
  /** Optional: a media element's status code (netcall-room `statechange`), for the session's media policy. */
  onMediaState?(event: { source: 'pusher' | 'player'; uid: string; code: number }): Promise<unknown>;
}

/**
 * One observable per snapshot field, each a ref: a primitive notifies when its value changes, an object when
 * it is replaced (objects are swapped whole, so no deep proxies). `idle` gives the fields and their values
 * before any session is bound.
 */
export class MirrorStore<S extends object> {
  private readonly keys: string[];

  constructor(private readonly idle: () => S) {
    this.keys = Object.keys(idle());
    const annotations: Record<string, unknown> = {
      sessionLoaded: action,
      applySessionChange: action,
      reset: action,
    };
    for (const key of this.keys) annotations[key] = observable.ref;
    this.assign(idle());
    makeObservable(this, annotations as never);
  }

  /** A session was bound: take its whole state, whatever was here before. */
  sessionLoaded(snapshot: S): void {
    this.assign(this.idle());
    this.assign(snapshot);
  }

  /** The session reported the fields that changed; one action, so reactions run once per change event. */
  applySessionChange(change: Partial<S>): void {
    this.assign(change);
  }

  /** No call (the page left, or the app wants a blank screen). */
  reset(): void {
    this.assign(this.idle());
  }

  /** The current state as a plain snapshot (copies, so callers cannot mutate the store by accident). */
  snapshot(): S {
    const result: Record<string, unknown> = {};
    for (const key of this.keys) result[key] = copy((this as Record<string, unknown>)[key]);
    return result as S;
  }

  private assign(change: Partial<S>): void {
    const target = this as Record<string, unknown>;
    for (const key of this.keys) {
      if (!Object.prototype.hasOwnProperty.call(change, key)) continue;
      const value = (change as Record<string, unknown>)[key];
      if (value === undefined) continue;
      // A fresh object each time: if the session ever re-emitted an object it had mutated in place, the
      // same reference would not notify a `ref` observable and the screen would miss the change.
      target[key] = copy(value);
    }
  }
}

function copy<T>(value: T): T {
  if (Array.isArray(value)) return [...value] as T;
  return value !== null && typeof value === 'object' ? ({ ...value } as T) : value;
}

export class SessionStore extends MirrorStore<CallSnapshot> implements CallSnapshot {
  declare phase: CallPhase;
  declare cid: string | null;
  declare peer: string;
  declare type: CallType;
  declare direction: Direction | null;
  declare duration: number;
  declare reason: EndReason | null;
  declare peerState: PeerState;
  declare local: LocalMedia;
  declare switchRequest: SwitchRequest;
  declare reconnecting: boolean;
  declare deniedScope: 'scope.camera' | 'scope.record' | null;
  declare hints: Readonly<Record<string, TileHint>>;

  constructor() {
    super(idleSnapshot);
  }
}

/** The kit's shared store: the call screen reads it, `bindSessionToStore` writes it. */
export const sessionStore = new SessionStore();

interface Binding {
  session: Mirrored<never>;
  listener: (change: never) => void;
  refs: number;
}

const bindings = new WeakMap<object, Binding>();

/**
 * Keeps `store` in step with `session` until the returned function is called. A store mirrors one session:
 * binding another session takes the store over (the old one stops writing to it), and binding the same
 * session twice (a page and `call-screen.attachSession`) shares one listener, released by the last unbind.
 */
export function bindSessionToStore<S extends object>(
  session: Mirrored<S>,
  store: MirrorStore<S> = sessionStore as unknown as MirrorStore<S>,
): () => void {
  let binding = bindings.get(store);
  if (binding && binding.session === session) {
    binding.refs++;
  } else {
    if (binding) binding.session.off('change', binding.listener);
    const listener = (change: Partial<S>) => store.applySessionChange(change);
    binding = { session, listener, refs: 1 } as unknown as Binding;
    bindings.set(store, binding);
    store.sessionLoaded(session.snapshot());
    session.on('change', listener);
  }
  const current = binding;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (bindings.get(store) !== current || --current.refs > 0) return;
    current.session.off('change', current.listener);
    bindings.delete(store);
  };
}
