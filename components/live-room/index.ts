/**
 * live-room: the interactive live UI as a view of `liveStore`, built like call-screen and room-screen (it
 * wears call-screen's classes and shares their methods): it renders and forwards. Every control emits a
 * component event and, with a session attached (`attachSession`), calls that session; what happens next
 * comes back through the store. It never changes the live's state itself.
 *
 * By role: the host and co-hosts see the stage in `<netcall-room layout="grid">` (marks and hints as in
 * room-screen) with mic, camera, flip and End live / Leave stage; the host sees co-host requests with
 * Accept / Decline. The audience sees one `<live-player>` on the room's mixed stream (live mode, a small
 * cache, the whole picture) with Join stage (then "waiting for the host") and Leave, and an invite with
 * Join / Not now. Everyone sees the room's name, the time, the audience count, the last messages and a line
 * to send one; the end page says why, and gives the host its summary (duration, peak audience).
 *
 * setData budget: one reaction computes a flat view and only what changed is sent, in one setData. While
 * live only `duration` moves each second, so the tick costs one `{timer}`; the audience count changes at
 * most once a second (the server's pace) as one `{count}`. Messages go by path: a new one is one `msgs[n]`
 * (with `first`, the first one shown); the list is resent only when it has grown to twice what is shown,
 * as the last ones. Requests are one prompt (the oldest) and a count.
 *
 * The roster is the app's to bind (`bindRosterToStore(session.roster, callStore)`), as for the other
 * screens. An attached session's `mediaAction` runs on the grid, or on the audience's player (its uid is
 * LIVE_PLAYER_UID): the player's status codes go to the session's media policy like the grid's.
 */
import type { LivePhase } from '../../services/live/live-session';
import type { DevicePosition, PeerState } from '../../services/call/types';
import { formatDuration } from '../../services/i18n';
import { liveLabels, type LiveLabels } from '../../services/i18n/live';
import {
  bindLiveToStore,
  liveStore,
  type LiveSessionLike,
  type LiveStore,
} from '../../services/stores/live-store';
import type { MediaActionEvent } from '../../services/stores/call-store';
import { createPlayerContext } from '../../services/platform/primitives';
// Imported per module, not through the platform index, so tests can spy on these exports.
import * as device from '../../services/platform/device';
import {
  forwardThrottled,
  isWatching,
  netcallComponent,
  screenFrame,
  screenMethods,
  watchStore,
} from '../common/component';

/** The uid the audience's player reports under: LiveSession's LIVE_PLAYER_UID (not imported: it ships apart). */
const LIVE = 'live';
/** Messages on screen at once. */
export const MESSAGES_SHOWN = 4;

/** One line of the message list. */
export interface MessageLine {
  id: number;
  name: string;
  text: string;
  mine: boolean;
}

/** Everything the template reads but the messages (sent by path, apart). */
export interface LiveRoomView {
  t: Readonly<LiveLabels>;
  frame: string;
  phase: LivePhase;
  /** On stage (host, co-host): the grid. */
  stage: boolean;
  /** Watching (audience, requesting, invited): the live stream. */
  watching: boolean;
  /** In the live (any role): header, messages, the line to send. */
  inside: boolean;
  host: boolean;
  flv: string;
  title: string;
  /** Joining, closing, or nothing (then the timer shows). */
  status: string;
  count: string;
  micOn: boolean;
  cameraOn: boolean;
  devicePosition: DevicePosition;
  speaker: boolean;
  reconnecting: boolean;
  marks: Readonly<Record<string, number>>;
  hints: Readonly<Record<string, string>>;
  /** The hint over the live stream ('' for none) and whether it spins. */
  liveHint: string;
  liveSpin: boolean;
  notice: string;
  pending: boolean;
  /** Invited: the question. */
  invite: string;
  /** Host: the oldest request's account, its question, and how many more wait. */
  asker: string;
  ask: string;
  more: string;
  /** The end page. */
  endText: string;
  endDuration: string;
  endPeak: string;
}

interface Private {
  lastView: Partial<LiveRoomView>;
  frame: string;
  /** The id of every message line in `msgs`, in order. */
  shown: number[];
  draft: string;
}

const privates = new WeakMap<object, Private>();
// A local name: CommonJS output would spell out the module's export at every use.
const store = liveStore;

function privateOf(instance: object): Private {
  let state = privates.get(instance);
  if (!state) privates.set(instance, (state = { lastView: {}, frame: '', shown: [], draft: '' }));
  return state;
}

const ACTIVE: readonly LivePhase[] = [
  'joining',
  'host',
  'audience',
  'requesting',
  'invited',
  'cohost',
  'closing',
];
const WATCHING: readonly LivePhase[] = ['audience', 'requesting', 'invited'];
const SPINS = ['reconnecting', 'buffering'];

const fill = (text: string, key: string, value: string | number) => text.replace(`{${key}}`, String(value));

/** A member's mark, as netcall-room reads it: 1 their mic is off, 2 their camera is. */
const markOf = (media: Omit<PeerState, 'background'>) =>
  (media.micOn ? 0 : 1) | (!media.cameraOn || media.cameraUnavailable ? 2 : 0);

type Snapshot = Pick<
  LiveStore,
  | 'phase'
  | 'role'
  | 'channelName'
  | 'host'
  | 'uid'
  | 'live'
  | 'duration'
  | 'reason'
  | 'closeReason'
  | 'summary'
  | 'stage'
  | 'requests'
  | 'invitedBy'
  | 'notice'
  | 'audienceCount'
  | 'local'
  | 'hints'
  | 'reconnecting'
>;

/** The display values for a snapshot in a language; pure, so the reaction can compare its output. */
export function viewOf(snapshot: Snapshot, lang: string, frame = ''): LiveRoomView {
  const t = liveLabels(lang);
  const { phase, local } = snapshot;
  const stage = phase === 'host' || phase === 'cohost';
  const watching = WATCHING.includes(phase);

  let status = '';
  if (phase === 'joining') status = snapshot.role === 'host' ? t.goingLive : t.joiningLive;
  else if (phase === 'closing') status = t.closingLive;

  const marks: Record<string, number> = {};
  for (const m of snapshot.stage) {
    const bits = markOf(m);
    if (bits && m.uid && m.rtc) marks[m.uid] = bits;
  }
  const mine = markOf({ ...local, cameraUnavailable: false });
  if (mine && snapshot.uid && stage) marks[snapshot.uid] = mine;

  const liveHint = (watching && snapshot.hints[LIVE]) || '';
  const notice = snapshot.notice
    ? fill(t[`notice.${snapshot.notice.kind}`], 'account', snapshot.notice.account ?? '')
    : '';
  const asking = phase === 'host' ? snapshot.requests : [];
  const asker = asking.length > 0 ? asking[0].account : '';

  const ended = phase === 'ended';
  const close = snapshot.closeReason as keyof LiveLabels | null;
  const closeText = close && t[`close.${close}` as keyof LiveLabels];
  const summary = ended && snapshot.role === 'host' ? snapshot.summary : null;
  // Read only once ended, so the view does not depend on the tick before then.
  const seconds = !ended ? 0 : summary ? Math.round(summary.duration / 1000) : snapshot.duration;
  return {
    t,
    frame,
    phase,
    stage,
    watching,
    inside: stage || watching,
    host: snapshot.role === 'host',
    flv: watching && snapshot.live ? snapshot.live.flv : '',
    title: snapshot.channelName,
    status,
    count: fill(t.watching, 'count', snapshot.audienceCount),
    micOn: local.micOn,
    cameraOn: local.cameraOn,
    devicePosition: local.devicePosition,
    speaker: local.soundMode === 'speaker',
    reconnecting: snapshot.reconnecting,
    marks,
    hints: snapshot.hints,
    liveHint: liveHint && t[`hint.${liveHint}`],
    liveSpin: SPINS.includes(liveHint),
    notice,
    pending: phase === 'requesting',
    invite: phase === 'invited' ? fill(t.invited, 'host', snapshot.invitedBy) : '',
    asker,
    ask: asker ? fill(t.asks, 'account', asker) : '',
    more: asking.length > 1 ? fill(t.moreWaiting, 'count', asking.length - 1) : '',
    endText: !ended
      ? ''
      : snapshot.role === 'host' && snapshot.reason === 'local-hangup'
        ? t.liveEnded
        : (typeof closeText === 'string' && closeText) ||
          (snapshot.reason ? t[`reason.${snapshot.reason}`] : t.liveEnded),
    endDuration: ended && seconds > 0 ? `${t.duration} ${formatDuration(seconds)}` : '',
    endPeak: summary ? `${t.peakAudience} ${summary.peakAudience}` : '',
  };
}

const marksKey = (marks: Readonly<Record<string, number>> | undefined) =>
  marks
    ? Object.keys(marks)
        .sort()
        .map((uid) => `${uid}:${marks[uid]}`)
        .join()
    : undefined;

/** The screens' shared methods; `runMediaAction` is extended below for the live stream's own player. */
const shared = screenMethods<LiveSessionLike & { accept(): Promise<unknown>; reject(): Promise<unknown> }>(
  store,
  (session) => bindLiveToStore(session, store),
  '.live-room__room',
);

netcallComponent({
  properties: {
    /** Chosen by the host app; anything but 'zh-CN' shows English. */
    lang: { type: String, value: 'en' },
  },
  data: {
    phase: 'idle' as LivePhase,
    flv: '',
    msgs: [] as MessageLine[],
    /** The index in `msgs` of the first line shown. */
    first: 0,
    /** The message line's value: cleared after sending (see onSend). */
    draft: '',
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
    ...shared,

    watchView() {
      const lang = this.data.lang as string;
      // My own lines carry "me" in the language: a new language resends the list.
      privateOf(this).shown = [];
      watchStore(
        this,
        'view',
        () => ({ view: viewOf(store, lang, privateOf(this).frame), messages: store.messages }),
        ({ view, messages }) => this.render(view, messages),
      );
    },

    /** Sends only what changed since the last render, in one setData (none if nothing did). */
    render(view: LiveRoomView, messages: typeof store.messages) {
      const state = privateOf(this);
      const last = state.lastView;
      const patch: Record<string, unknown> = {};
      for (const key of Object.keys(view) as Array<keyof LiveRoomView>) {
        if (key === 'marks') {
          if (marksKey(last.marks) !== marksKey(view.marks)) patch.marks = view.marks;
        } else if (last[key] !== view[key]) patch[key] = view[key];
      }
      this.patchMessages(messages, patch);
      state.lastView = view;
      if (Object.keys(patch).length > 0) this.setData(patch);
    },

    /** New messages by path (`msgs[n]`, and `first`); the whole list only when it restarted or grew long. */
    patchMessages(messages: typeof store.messages, patch: Record<string, unknown>) {
      const state = privateOf(this);
      const lineOf = (m: (typeof messages)[number]): MessageLine => ({
        id: m.id,
        name: m.mine ? liveLabels(this.data.lang as string).me : m.account,
        text: m.content,
        mine: m.mine,
      });
      const text = messages.filter((m) => m.type === 'text');
      const lastId = state.shown.length > 0 ? state.shown[state.shown.length - 1] : 0;
      const fresh = text.filter((m) => m.id > lastId);
      // A list whose newest message is older than what is shown started over (ids only rise within one list).
      const restarted = text.length > 0 && text[text.length - 1].id < lastId;
      if (text.length === 0 && state.shown.length > 0) {
        patch.msgs = [];
        patch.first = 0;
        state.shown = [];
        return;
      }
      if (fresh.length === 0 && !restarted) return;
      if (restarted || state.shown.length + fresh.length > 2 * MESSAGES_SHOWN) {
        const lines = text.slice(-MESSAGES_SHOWN).map(lineOf);
        patch.msgs = lines;
        patch.first = 0;
        state.shown = lines.map((line) => line.id);
        return;
      }
      for (const m of fresh) {
        patch[`msgs[${state.shown.length}]`] = lineOf(m);
        state.shown.push(m.id);
      }
      const first = Math.max(0, state.shown.length - MESSAGES_SHOWN);
      if (first !== this.data.first) patch.first = first;
    },

    /** An action's audience-side half: the grid's own, or a replay of the live stream's player. */
    runMediaAction(event: MediaActionEvent) {
      // The stage's tiles recover as on the other screens; only the live stream's player is this screen's.
      if (event.uid !== LIVE) return shared.runMediaAction.call(this as never, event);
      if (event.action !== 'replay' || !this.data.flv) return;
      const context = createPlayerContext(
        LIVE,
        this as unknown as WechatMiniprogram.Component.TrivialInstance,
      );
      context.stop();
      context.play();
    },

    onRequest() {
      if (this.data.phase !== 'audience') return; // waiting already, or invited: the prompt answers
      this.triggerEvent('request', { cid: store.cid });
      this.callSession('request', (session) => session.requestCoHost());
    },
    onLeaveStage() {
      this.triggerEvent('leavestage', { cid: store.cid });
      this.callSession('leavestage', (session) => session.changeRoleToAudience());
    },
    onInvite(event: WechatMiniprogram.BaseEvent) {
      const accepted = (event.currentTarget.dataset as { ok?: string }).ok === '1';
      this.triggerEvent('invite', { accepted });
      this.callSession('invite', (session) => (accepted ? session.acceptInvite() : session.refuseInvite()));
    },
    onRespond(event: WechatMiniprogram.BaseEvent) {
      const { ok, account } = event.currentTarget.dataset as { ok?: string; account?: string };
      const accepted = ok === '1';
      this.triggerEvent('respond', { account, accepted });
      this.callSession('respond', (session) => session.respondCoHost(String(account), accepted));
    },
    onInput(event: WechatMiniprogram.Input) {
      privateOf(this).draft = event.detail.value;
    },
    onSend() {
      const state = privateOf(this);
      const content = state.draft.trim();
      if (!content) return;
      state.draft = '';
      this.triggerEvent('send', { content });
      this.callSession('send', (session) => session.sendMessage(content));
      // The field shows what was typed, not `draft`: bind it to the text once, then clear it.
      this.setData({ draft: content }, () => this.setData({ draft: '' }));
    },

    /** The grid's status codes and element errors go to the attached session's media policy. */
    onRoomMedia(event: WechatMiniprogram.CustomEvent) {
      this.toMediaPolicy(event.detail, event.type === 'error' ? 'errCode' : 'code');
    },
    /** The live stream's player: its codes go out as `playerstate` and to the media policy. */
    onPlayer(event: WechatMiniprogram.CustomEvent) {
      const { code } = event.detail as { code?: number };
      this.triggerEvent('playerstate', { code });
      this.toMediaPolicy({ source: 'player', uid: LIVE, code }, 'code');
    },
    onPlayerNet(event: WechatMiniprogram.CustomEvent) {
      forwardThrottled(this, 'netstatus', event.detail);
    },
  },
});
