/**
 * The call's media view for components: my pusher binding and the remote players, as plain data.
 * Only roster changes write here (through actions); nothing here talks to the netcall or to `wx`.
 * Objects are replaced, never mutated, so reactions keyed on them see every change.
 */
import { action, makeObservable, observable } from 'mobx-miniprogram';
import type { RtcUser } from '../protocol';
import type { MediaRoster, PusherBinding, RosterChange, RosterSnapshot } from '../media';

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
