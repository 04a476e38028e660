/**
 * room-screen: the group call and room UI (an invitation ringing, ringing others out, joining, the in-call
 * grid, the member list, ended) as a view of `groupStore`. Built like call-screen: it renders and forwards.
 * Every button emits a component event and, with a session attached (`attachSession`), calls that session;
 * what happens next comes back through the store. The screen never changes call state itself.
 *
 * setData budget: one reaction computes a flat view and only what changed is sent, in one setData. The two
 * lists (the invitees of an invitation, the member list's rows) go by path: a member joining is one
 * `rows[n]`, a notice is one `rows[i].mark`, never the list again (only a shorter list, i.e. a new call,
 * resends it). While in call only `duration` moves each second, so the tick costs one `{timer: '01:23'}`.
 * The grid's marks (mic/camera off, by uid) are one small object, sent only when a notice changed one.
 *
 * It keeps the screen on from the invitation to the end; ringing is the app's (it knows the phase too).
 *
 * Layout comes from the screen (services/platform/lifecycle.ts, read once at attach) as one `frame` style
 * string, as in call-screen. Controls are views, never buttons (see the WXSS).
 *
 * The roster is the app's to bind (`bindRosterToStore(session.roster, callStore)`), as for call-screen: the
 * grid plays whatever `callStore` holds. An attached session's `mediaAction` is run on the room.
 */
import type { GroupPhase } from '../../services/call/group-session';
import type { DevicePosition, PeerState } from '../../services/call/types';
import { formatDuration } from '../../services/i18n';
import { groupLabels, type GroupLabels } from '../../services/i18n/group';
import {
  bindGroupToStore,
  groupStore,
  type GroupSessionLike,
  type GroupStore,
} from '../../services/stores/group-store';
// Imported per module, not through the platform index, so tests can spy on these exports.
import * as device from '../../services/platform/device';
import { isWatching, netcallComponent, screenFrame, screenMethods, watchStore } from '../common/component';

/** Someone on the invitation: their initial in a square, their name under it. */
export interface Invitee {
  name: string;
  initial: string;
}

/** One line of the member list. `mark` as the grid's: 1 mic off, 2 camera off. */
export interface MemberRow {
  name: string;
  initial: string;
  /** Their state in words ('' while they are simply in). */
  state: string;
  mark: number;
  /** Declined, busy, missed or left: shown dimmed. */
  gone: boolean;
}

/** Everything the template reads. Flat and primitive except `t` (shared per language), the marks and lists. */
export interface RoomScreenView {
  t: Readonly<GroupLabels>;
  frame: string;
  phase: GroupPhase;
  video: boolean;
  /** The grid is on screen (a video call ringing out shows my camera; joining and in call for both types). */
  stage: boolean;
  /** Text may lie over video: my camera fills the room (nobody else in it yet). In a grid it never does. */
  scrim: boolean;
  /** The room's name, or "Group call". */
  title: string;
  /** Incoming: who is calling, and their initial when there is no `avatar`. */
  caller: string;
  initial: string;
  status: string;
  /** Under the end reason: "Duration 01:23"; '' if it never connected. */
  ended: string;
  /** Ended for a refused permission: which one to allow. */
  hint: string;
  micOn: boolean;
  cameraOn: boolean;
  devicePosition: DevicePosition;
  speaker: boolean;
  reconnecting: boolean;
  /** The grid's marks by uid, mine too (`'*'` for every tile); see netcall-room. */
  marks: Readonly<Record<string, number>>;
  /** The grid's hints by uid (the group session's media policy), as netcall-room's `hints`. */
  hints: Readonly<Record<string, string>>;
  invitees: readonly Invitee[];
  rows: readonly MemberRow[];
  /** People in the call, me included, for the member list's heading. */
  count: number;
}

interface Private {
  lastView: Partial<RoomScreenView>;
  frame: string;
}

const privates = new WeakMap<object, Private>();
// A local name: CommonJS output would spell out the module's export at every use.
const store = groupStore;

function privateOf(instance: object): Private {
  let state = privates.get(instance);
  if (!state) {
    state = { lastView: {}, frame: '' };
    privates.set(instance, state);
  }
  return state;
}

const ACTIVE: readonly GroupPhase[] = ['dialing', 'incoming', 'joining', 'in-call'];
/** Nine in a call at most (the server's room capacity): the caller and eight invitees. */
const MAX_INVITEES = 8;

const initialOf = (name: string) => name.charAt(0).toUpperCase();

/** A member's mark, as netcall-room reads it: 1 their mic is off, 2 their camera is (a voice call has none). */
const markOf = (media: Omit<PeerState, 'background'>, video: boolean) =>
  (media.micOn ? 0 : 1) | (video && (!media.cameraOn || media.cameraUnavailable) ? 2 : 0);

const GONE = ['declined', 'busy', 'missed', 'left'];

type Snapshot = Pick<
  GroupStore,
  | 'phase'
  | 'kind'
  | 'channelName'
  | 'caller'
  | 'type'
  | 'direction'
  | 'duration'
  | 'reason'
  | 'members'
  | 'local'
  | 'uid'
  | 'hints'
  | 'reconnecting'
  | 'deniedScope'
>;

/** The display values for a snapshot in a language; pure, so the reaction can compare its output. */
export function viewOf(snapshot: Snapshot, lang: string, frame = ''): RoomScreenView {
  const t = groupLabels(lang);
  const { phase, local } = snapshot;
  const { members } = snapshot;
  const video = snapshot.type === 2;
  const live = phase === 'joining' || phase === 'in-call';
  const others = members.filter((m) => m.state === 'joined' && m.rtc);

  let status = '';
  if (phase === 'incoming') status = video ? t.invitesVideo : t.invitesVoice;
  else if (phase === 'dialing') status = t.waitingAnswer;
  else if (phase === 'joining') status = t.connecting;
  else if (phase === 'in-call' && others.length === 0) status = t.waitingJoin;
  else if (phase === 'ended' && snapshot.reason) status = t[`reason.${snapshot.reason}`];

  // The grid's marks: what each member's notices said; a voice call has no pictures at all.
  const marks: Record<string, number> = video ? {} : { '*': 2 };
  for (const m of others) {
    const bits = markOf(m, video);
    if (bits && m.uid) marks[m.uid] = bits;
  }
  // Mine, as my own controls say: my tile shows my mic off, and my initial while my camera is off.
  const mine = markOf({ ...local, cameraUnavailable: false }, video);
  if (mine && snapshot.uid) marks[snapshot.uid] = mine;

  const shown = phase === 'incoming' ? members.filter((m) => m.account !== snapshot.caller) : members;
  const invitees =
    phase === 'incoming' || phase === 'dialing'
      ? shown.slice(0, MAX_INVITEES).map((m) => ({ name: m.account, initial: initialOf(m.account) }))
      : [];

  const me: MemberRow = {
    name: t.me,
    initial: initialOf(t.me),
    state: '',
    mark: mine,
    gone: false,
  };
  const rows = [
    me,
    ...members.map((m): MemberRow => {
      const joined = m.state === 'joined';
      return {
        name: m.account,
        initial: initialOf(m.account),
        state: joined ? (m.background ? t.away : m.rtc ? '' : t.joining) : t[`member.${m.state}`],
        mark: joined ? markOf(m, video) : 0,
        gone: GONE.includes(m.state),
      };
    }),
  ];

  const denied = phase === 'ended' && snapshot.reason === 'permission-denied';
  return {
    t,
    frame,
    phase,
    video,
    stage: live || (video && phase === 'dialing'),
    scrim: (live && others.length === 0) || (video && phase === 'dialing'),
    title: snapshot.kind === 'room' ? snapshot.channelName : t.groupCall,
    caller: snapshot.caller,
    initial: initialOf(snapshot.caller),
    status,
    ended:
      phase === 'ended' && snapshot.duration > 0 ? `${t.duration} ${formatDuration(snapshot.duration)}` : '',
    hint: denied ? (snapshot.deniedScope === 'scope.camera' ? t.deniedCamera : t.deniedRecord) : '',
    micOn: local.micOn,
    cameraOn: local.cameraOn,
    devicePosition: local.devicePosition,
    speaker: local.soundMode === 'speaker',
    reconnecting: snapshot.reconnecting,
    marks,
    hints: snapshot.hints,
    invitees,
    rows,
    count: 1 + members.filter((m) => m.state === 'joined').length,
  };
}

const marksKey = (marks: Readonly<Record<string, number>> | undefined) =>
  marks
    ? Object.keys(marks)
        .sort()
        .map((uid) => `${uid}:${marks[uid]}`)
        .join()
    : undefined;

/**
 * A list by path: a new item is one `list[n]`, a changed field one `list[i].field`. Lists here only grow or
 * change in place during a call (members are marked, never removed), so a shorter one is a new call: resent.
 */
function listPatch<T extends object>(
  name: string,
  before: readonly T[],
  after: readonly T[],
  patch: Record<string, unknown>,
): void {
  if (after.length < before.length) {
    patch[name] = after;
    return;
  }
  after.forEach((item, index) => {
    const old = before[index];
    if (!old) {
      patch[`${name}[${index}]`] = item;
      return;
    }
    for (const field of Object.keys(item) as Array<keyof T>)
      if (old[field] !== item[field]) patch[`${name}[${index}].${String(field)}`] = item[field];
  });
}

netcallComponent({
  properties: {
    /** Chosen by the host app; anything but 'zh-CN' shows English. */
    lang: { type: String, value: 'en' },
    /** The caller's picture on an invitation; without one their initial is shown. */
    avatar: { type: String, value: '' },
  },
  data: {
    phase: 'idle' as GroupPhase,
    invitees: [] as Invitee[],
    rows: [] as MemberRow[],
    marks: {} as Record<string, number>,
    /** The member list is open: the screen's own state, not the call's. */
    panel: false,
  },
  observers: {
    lang() {
      if (isWatching(this, 'view')) this.watchView();
    },
  },
  lifetimes: {
    attached() {
      privateOf(this).frame = screenFrame(device.getScreenInsets());
      this.watchView();
      // The 1 Hz tick on its own: the view (members, marks, messages) is not rebuilt every second.
      watchStore(
        this,
        'timer',
        () => formatDuration(store.duration),
        (timer) => this.setData({ timer }),
      );
      watchStore(
        this,
        'screen',
        () => ACTIVE.includes(store.phase),
        (active) => this.keepScreenOn(active),
      );
    },
    detached() {
      this.releaseScreen();
    },
  },
  methods: {
    ...screenMethods<GroupSessionLike>(
      store,
      (session) => bindGroupToStore(session, store),
      '.room-screen__room',
    ),

    watchView() {
      const lang = this.data.lang as string;
      watchStore(
        this,
        'view',
        () => viewOf(store, lang, privateOf(this).frame),
        (view) => this.render(view),
      );
    },

    /** Sends only what changed since the last render, in one setData (none if nothing did). */
    render(view: RoomScreenView) {
      const state = privateOf(this);
      const last = state.lastView;
      const patch: Record<string, unknown> = {};
      for (const key of Object.keys(view) as Array<keyof RoomScreenView>) {
        if (key === 'invitees' || key === 'rows') listPatch(key, last[key] ?? [], view[key], patch);
        else if (key === 'marks') {
          if (marksKey(last.marks) !== marksKey(view.marks)) patch.marks = view.marks;
        } else if (last[key] !== view[key]) patch[key] = view[key];
      }
      // The list belongs to a call: it closes with it.
      if (this.data.panel && !ACTIVE.includes(view.phase)) patch.panel = false;
      state.lastView = view;
      if (Object.keys(patch).length > 0) this.setData(patch);
    },

    onMembers() {
      this.showPanel(!this.data.panel);
    },
    onDone() {
      this.showPanel(false);
    },
    showPanel(open: boolean) {
      if (open === this.data.panel) return;
      this.setData({ panel: open });
      this.triggerEvent('members', { open });
    },

    /** The grid's status codes and element errors go to the attached session's media policy. */
    onRoomMedia(event: WechatMiniprogram.CustomEvent) {
      this.toMediaPolicy(event.detail, event.type === 'error' ? 'errCode' : 'code');
    },
  },
});
