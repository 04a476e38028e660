/**
 * netcall-room: lays out my pusher and the remote players. The layout is a class (`layout`): `pip` (1:1: the
 * first remote user fills the room, my pusher floats as picture-in-picture, further users get small tiles) or
 * `grid` (a group: every tile the same size, mine first, in rows of two up to four tiles and of three up to
 * nine, each with the member's name), driven by each slot's `pos` and by `count`, so a layout is a class, not
 * a set of positions computed here.
 *
 * setData budget (one setData per remote join, payload independent of N: where every competitor measured
 * re-sends its list): the room owns every remote URL and hands it to its tile as a property, so a join is ONE
 * setData on the room, the new slot by path (`players[3]` = `{key, uid, src, pos, name}`), and the new tile
 * never calls setData itself. A URL change is one path (`players[1].src`). Slots are appended and never move
 * while someone is in the room: a leaver's slot is blanked by path (`players[1].uid` = '') instead of
 * resending the shifted list, which WXML could only do with a whole-array setData (it has no splice); the
 * tiles that move after it get their new `pos`. `pos` (place in the layout) is a separate field so a blank
 * slot leaves no hole on screen; the grid flows the shown tiles in slot order. The slot list is reset when
 * the room empties, so holes accumulate only while a multi-party call keeps running with people coming and
 * going. Events of the tiles come out as room events tagged with their source and uid.
 *
 * My media switches (mic, camera, side, sound route) are properties bound straight through the template to
 * the pusher and to every player: a toggle re-renders bindings, it never resends `players`. What each tile
 * shows over its video is one path per tile that changed (`players[1].hint`, `players[1].mark`, `selfHint`,
 * `selfMark`), in one setData per change: the hints by uid (the `hints` property, or the 1:1 session's
 * `sessionStore.hints`) and the `marks` property (by uid, bits of what each member's control notices said:
 * 1 mic off, 2 camera off; `marks['*']` applies to every tile, e.g. a voice call). A joiner's hint and mark
 * ride in its join's setData. Recovery (`restartPusher`, `replay(uid)`) is called by whoever runs the
 * session's media policy (call-screen, room-screen).
 */
import { comparer } from 'mobx-miniprogram';
import { callStore, sessionStore } from '../../services/stores/call-store';
import { netcallComponent, watchStore } from '../common/component';

/** One remote user's place in the room. `uid` '' marks the slot of someone who left. */
interface Slot {
  /** The slot's index at creation: a stable wx:key, unlike uids, which a rejoin can repeat. */
  key: number;
  uid: string;
  src: string;
  /** Place in the layout among the shown users: 0 is the main (full-screen) one. */
  pos: number;
  /** The member's account, shown on the tile in the grid. */
  name: string;
  /** The tile's hint and mark; only written (by path) once there is one, so a join does not carry them. */
  hint?: string;
  mark?: number | '';
}

/** What the room calls on its children for recovery. */
interface PusherApi {
  restart(): void;
}
interface PlayerApi {
  data: { uid: string };
  replay(): void;
}

interface Wanted {
  uid: string;
  src: string;
  name: string;
}

type Marks = Readonly<Record<string, number>>;
type Hints = Readonly<Record<string, string>>;

/** A tile's mark: its own bits and everyone's; '' for none, so a tile without one carries nothing. */
function markOf(marks: Marks, uid: string): number | '' {
  return marks[uid] | marks['*'] || '';
}

netcallComponent({
  properties: {
    enableMic: { type: Boolean, value: true },
    enableCamera: { type: Boolean, value: true },
    devicePosition: { type: String, value: 'front' },
    soundMode: { type: String, value: 'speaker' },
    /** Show my camera before my push URL comes (a video call ringing out). */
    preview: { type: Boolean, value: false },
    /** The label set (`labels(lang)` of services/i18n) the tiles show their hints with. */
    labels: { type: Object, value: {} },
    /** The layout class: `pip` (1:1) or `grid`. */
    layout: { type: String, value: 'pip' },
    /** Marks by uid (mine too), `'*'` for every tile: bit 1 mic off, bit 2 camera off, as the members said. */
    marks: { type: Object, value: {} },
    /**
     * The tiles' hints by uid, from a session other than the 1:1 one (room-screen passes its group's);
     * without it the room shows `sessionStore.hints`.
     */
    hints: { type: Object, value: null },
  },
  observers: {
    'marks, hints'() {
      this.showTiles();
    },
  },
  data: {
    players: [] as Slot[],
    /** How many slots are shown: decides full-screen or picture-in-picture for my pusher. */
    count: 0,
    selfHint: '',
    selfMark: '' as number | '',
  },
  lifetimes: {
    attached() {
      watchStore(
        this,
        'players',
        () => callStore.players.map((user): Wanted => ({ uid: user.uid, src: user.url, name: user.account })),
        (wanted) => this.showPlayers(wanted),
        // Store changes that leave uids and URLs alone (e.g. a mode flip) must not reach the room.
        { equals: comparer.structural },
      );
      // My own tile's hint is keyed by my uid, which comes with my push URL.
      watchStore(
        this,
        'tiles',
        () => [sessionStore.hints, callStore.pusher && callStore.pusher.uid],
        () => this.showTiles(),
        { equals: comparer.shallow },
      );
    },
  },
  methods: {
    showPlayers(wanted: Wanted[]) {
      const slots = this.data.players as Slot[];
      const srcOf = new Map(wanted.map((user) => [user.uid, user.src]));
      const patch: Record<string, unknown> = {};
      const kept: string[] = [];
      slots.forEach((slot, index) => {
        if (!slot.uid) return;
        if (!srcOf.has(slot.uid)) {
          // wx:if drops the tile (and its <live-player>); the stale src stays in data unrendered.
          patch[`players[${index}].uid`] = '';
          return;
        }
        const src = srcOf.get(slot.uid)!;
        if (src !== slot.src) patch[`players[${index}].src`] = src;
        if (slot.pos !== kept.length) patch[`players[${index}].pos`] = kept.length;
        kept.push(slot.uid);
      });

      if (wanted.length === 0) {
        // Nobody left: start the next session with an empty list instead of a row of blank slots.
        if (slots.length > 0 || this.data.count !== 0) this.setData({ players: [], count: 0 });
        return;
      }
      // MediaRoster only appends, so the users still here lead `wanted` in slot order. Anything else (a
      // store written by hand) cannot be expressed as appends: fall back to one whole-list setData.
      if (!kept.every((uid, index) => wanted[index].uid === uid)) {
        this.setData({
          players: wanted.map((user, index) => this.slotOf(user, index, index)),
          count: wanted.length,
        });
        return;
      }
      wanted.slice(kept.length).forEach((user, offset) => {
        const index = slots.length + offset;
        patch[`players[${index}]`] = this.slotOf(user, index, kept.length + offset);
      });
      if (this.data.count !== wanted.length) patch.count = wanted.length;
      if (Object.keys(patch).length > 0) this.setData(patch);
    },
    /** A new slot, with its tile's hint and mark when it has them (so it shows them from its first frame). */
    slotOf(user: Wanted, key: number, pos: number): Slot {
      const slot: Slot = { key, uid: user.uid, src: user.src, pos, name: user.name };
      const hint = this.hintsShown()[user.uid];
      if (hint) slot.hint = hint;
      const mark = markOf(this.data.marks as Marks, user.uid);
      if (mark) slot.mark = mark;
      return slot;
    },
    hintsShown(): Hints {
      return (this.data.hints as Hints | null) || sessionStore.hints;
    },
    /** Each tile whose hint or mark differs from what it shows gets one path, all in one setData. */
    showTiles() {
      const hints = this.hintsShown();
      const marks = this.data.marks as Marks;
      const patch: Record<string, unknown> = {};
      const show = (path: string, value: unknown, shown: unknown) => {
        if (value !== (shown || '')) patch[path] = value;
      };
      const pusher = callStore.pusher;
      show('selfHint', (pusher && hints[pusher.uid]) || '', this.data.selfHint);
      show('selfMark', pusher ? markOf(marks, pusher.uid) : '', this.data.selfMark);
      (this.data.players as Slot[]).forEach((slot, index) => {
        if (!slot.uid) return;
        show(`players[${index}].hint`, hints[slot.uid] || '', slot.hint);
        show(`players[${index}].mark`, markOf(marks, slot.uid), slot.mark);
      });
      if (Object.keys(patch).length > 0) this.setData(patch);
    },
    restartPusher() {
      (this.selectComponent('.netcall-room__pusher') as unknown as PusherApi | null)?.restart();
    },
    /** Slots are keyed by index, so the tile is found by its `uid`; a leaver's tile is not rendered. */
    replay(uid: string) {
      const tiles = this.selectAllComponents('.netcall-room__player') as unknown as PlayerApi[];
      tiles.find((tile) => tile.data.uid === uid)?.replay();
    },
    /** A tile's event (statechange, netstatus, error) goes out as the room's, tagged with its source and uid. */
    onTile(event: WechatMiniprogram.CustomEvent) {
      const { uid } = event.currentTarget.dataset as { uid?: string };
      this.triggerEvent(event.type, {
        source: uid === undefined ? 'pusher' : 'player',
        uid: uid === undefined ? (callStore.pusher?.uid ?? '') : String(uid),
        ...(event.detail as object),
      });
    },
  },
});
