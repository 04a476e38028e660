/**
 * MediaRoster: who is in the current RTC session and which URL each member binds to.
 *
 * It owns the URL binding rules (as NetEase's weapp demo binds its SDK's `syncDone`/`clientJoin` URLs): self (uid === startRtc().uid) pushes to its own
 * `syncDone` URL; every other uid plays its URL; `syncDone` is authoritative and repeats after a reconnect;
 * `clientJoin` upserts and may come first; `clientLeave` removes; a `hangup` of the current call clears all.
 * It turns those events into the smallest list of changes for a store or view to apply.
 * It must never touch `wx`, components or stores: it only listens to a `NetcallLike`.
 */
import { Emitter } from '../netcall/netcall';
import type { NetcallLike } from '../netcall/types';
import type {
  ClientJoinEvent,
  ClientLeaveEvent,
  HangupEvent,
  RtcUser,
  StartRtcResult,
  SyncDoneEvent,
} from '../protocol';

/** What `<live-pusher>` needs: my own uid and the URL I push to. */
export interface PusherBinding {
  uid: string;
  account: string;
  url: string;
}

/**
 * One step of the view's change. Applied in order, each `index` refers to `players` as it is after the
 * steps before it; `update` and `remove` also carry the uid so a consumer can check it is in step.
 */
export type RosterChange =
  | { kind: 'pusher'; pusher: PusherBinding | null }
  | { kind: 'add'; index: number; user: RtcUser }
  | { kind: 'update'; index: number; user: RtcUser }
  | { kind: 'remove'; index: number; uid: string }
  | { kind: 'clear' };

export interface RosterEvents {
  /** One batch per netcall event (or `setSelf`/`clear`), so a consumer can apply it in one action. */
  changes: readonly RosterChange[];
}

export interface RosterSnapshot {
  pusher: PusherBinding | null;
  players: readonly RtcUser[];
}

type SelfIdentity = Pick<StartRtcResult, 'uid' | 'account' | 'cid'>;

export class MediaRoster extends Emitter<RosterEvents> {
  private currentCid: string | null = null;
  private self: { uid: string; account: string } | null = null;
  /** Every member heard of, self included, in join order. Items are replaced, never mutated. */
  private members: RtcUser[] = [];
  /** The last authoritative list: only there does the self entry carry the push URL. */
  private lastSync: RtcUser[] | null = null;
  private view: RosterSnapshot = { pusher: null, players: [] };
  private disposed = false;

  constructor(private readonly netcall: NetcallLike) {
    super();
    netcall.on('syncDone', this.onSyncDone);
    netcall.on('clientJoin', this.onClientJoin);
    netcall.on('clientLeave', this.onClientLeave);
    netcall.on('hangup', this.onHangup);
  }

  get pusher(): PusherBinding | null {
    return this.view.pusher;
  }

  /** Remote members only, in join order. */
  get players(): readonly RtcUser[] {
    return this.view.players;
  }

  get cid(): string | null {
    return this.currentCid;
  }

  snapshot(): RosterSnapshot {
    return { pusher: this.view.pusher, players: this.view.players };
  }

  /**
   * Tells the roster who I am (the `startRtc`/`joinChannel` result). Until then nobody is shown: without
   * my uid a self entry could be played as a remote stream.
   */
  setSelf(result: SelfIdentity): void {
    if (this.disposed) return;
    const cid = String(result.cid);
    // Events gathered under another cid belong to a session this result is not part of.
    if (this.currentCid !== null && this.currentCid !== cid) this.forget();
    this.currentCid = cid;
    this.self = { uid: String(result.uid), account: String(result.account) };
    this.publish();
  }

  /** Forget the session, e.g. after a local hangup (the server does not echo it back). */
  clear(): void {
    if (this.disposed) return;
    this.forget();
    this.replaceView({ pusher: null, players: [] }, [{ kind: 'clear' }]);
  }

  /** Stops listening to the netcall; the last state stays readable. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.netcall.off('syncDone', this.onSyncDone);
    this.netcall.off('clientJoin', this.onClientJoin);
    this.netcall.off('clientLeave', this.onClientLeave);
    this.netcall.off('hangup', this.onHangup);
    this.off('changes');
  }

  private readonly onSyncDone = (event: SyncDoneEvent): void => {
    // A failed login carries no usable list; replacing with it would drop everyone.
    if (event.code !== 200 || !this.adoptCid(event.cid)) return;
    const list = (event.userlist ?? []).map(toUser);
    const byUid = new Map(list.map((user) => [user.uid, user]));
    const kept = this.members.filter((user) => byUid.has(user.uid)).map((user) => byUid.get(user.uid)!);
    const known = new Set(kept.map((user) => user.uid));
    this.members = [...kept, ...list.filter((user) => !known.has(user.uid))];
    this.lastSync = list;
    this.publish();
  };

  private readonly onClientJoin = (event: ClientJoinEvent): void => {
    if (!this.adoptCid(event.cid)) return;
    const user = toUser(event);
    // My own join echoed back carries a play URL of my stream: never a player, never my push URL.
    if (this.self && user.uid === this.self.uid) return;
    const index = this.members.findIndex((member) => member.uid === user.uid);
    if (index < 0) this.members = [...this.members, user];
    else this.members = this.members.map((member, i) => (i === index ? user : member));
    this.publish();
  };

  private readonly onClientLeave = (event: ClientLeaveEvent): void => {
    if (!this.isCurrent(event.cid)) return;
    const uid = String(event.uid);
    this.members = this.members.filter((member) => member.uid !== uid);
    this.publish();
  };

  private readonly onHangup = (event: HangupEvent): void => {
    // In P2P the peer's loss arrives as a hangup, not a clientLeave: the session is over for us too.
    if (this.isCurrent(event.cid)) this.clear();
  };

  /** Events before any cid is known start the session (clientJoin/syncDone may beat `setSelf`). */
  private adoptCid(cid: string): boolean {
    if (this.disposed) return false;
    if (this.currentCid === null) this.currentCid = String(cid);
    return this.currentCid === String(cid);
  }

  private isCurrent(cid: string): boolean {
    return !this.disposed && this.currentCid !== null && this.currentCid === String(cid);
  }

  private forget(): void {
    this.currentCid = null;
    this.self = null;
    this.members = [];
    this.lastSync = null;
  }

  private computeView(): RosterSnapshot {
    const self = this.self;
    if (!self) return { pusher: null, players: [] };
    const entry = this.lastSync?.find((user) => user.uid === self.uid);
    const pusher = entry?.url
      ? { uid: self.uid, account: entry.account || self.account, url: entry.url }
      : null;
    return { pusher, players: this.members.filter((user) => user.uid !== self.uid) };
  }

  private publish(): void {
    const next = this.computeView();
    this.replaceView(next, diff(this.view, next));
  }

  private replaceView(next: RosterSnapshot, changes: RosterChange[]): void {
    // Keep the previous pusher object when nothing changed, so consumers can compare by reference.
    this.view = {
      pusher: samePusher(this.view.pusher, next.pusher) ? this.view.pusher : next.pusher,
      players: next.players,
    };
    if (changes.length) this.emit('changes', changes);
  }
}

/** Ids arrive as numbers from NetEase's engine; everything here compares their string form. */
function toUser(source: RtcUser): RtcUser {
  const user: RtcUser = {
    account: String(source.account),
    uid: String(source.uid),
    mode: source.mode,
    // An audience member's own entry has `url: null`: no push URL, no pusher.
    url: source.url ? String(source.url) : '',
  };
  if (source.flvUrl) user.flvUrl = String(source.flvUrl);
  return user;
}

function samePusher(a: PusherBinding | null, b: PusherBinding | null): boolean {
  if (a === null || b === null) return a === b;
  return a.uid === b.uid && a.account === b.account && a.url === b.url;
}

function sameUser(a: RtcUser, b: RtcUser): boolean {
  return a.account === b.account && a.mode === b.mode && a.url === b.url && a.flvUrl === b.flvUrl;
}

/**
 * Steps from one view to the next. Survivors keep their relative order (members are only appended), so
 * removing the gone ones and then walking the new list yields only updates and appends.
 */
function diff(previous: RosterSnapshot, next: RosterSnapshot): RosterChange[] {
  const changes: RosterChange[] = [];
  if (!samePusher(previous.pusher, next.pusher)) changes.push({ kind: 'pusher', pusher: next.pusher });

  const nextUids = new Set(next.players.map((user) => user.uid));
  const working = [...previous.players];
  for (let i = working.length - 1; i >= 0; i--) {
    if (nextUids.has(working[i].uid)) continue;
    changes.push({ kind: 'remove', index: i, uid: working[i].uid });
    working.splice(i, 1);
  }
  next.players.forEach((user, index) => {
    const current = working[index];
    if (current && current.uid === user.uid) {
      if (!sameUser(current, user)) changes.push({ kind: 'update', index, user });
      return;
    }
    working.splice(index, 0, user);
    changes.push({ kind: 'add', index, user });
  });
  return changes;
}
