/**
 * Room: rooms by name and group calls, on the app's GroupSession. Idle, it shows a form (room name, video or
 * voice, Create / Join); once a call is on, the kit's room-screen, drawn under the status bar (`navigationStyle:
 * custom`; the form draws its own bar beside the capsule). Opened with `?callees=a,b&type=…` by the dial page
 * it rings them; opened by an invitation (session.ts) it shows the call that is ringing. Everything in the call
 * (ringing, answering, the grid, controls, reasons) is the kit's; this page starts calls, words their errors,
 * asks before a back gesture would leave a live call, and once the call is over returns to the form (a room,
 * or a call the user met on the form) or to the dial page (a group call it was opened for).
 */
import { alertBeforeUnload, getScreenInsets, type CallType, type EndReason } from 'miniprogram-netcall';
import type { GroupSnapshot } from 'miniprogram-netcall/services/call/group-session';
import { demoLabels } from '../../i18n';
import {
  DIAL_PAGE,
  GROUP_ACTIVE,
  barStyle,
  callGroup,
  enterRoom,
  groupCallOf,
  type RoomKind,
} from '../../room';
import { globalData, toast } from '../../session';

/** How long an ended call's reason and duration stay before the page moves on. */
const LEAVE_AFTER_MS = 2500;
/** Ends the user can do something about on the screen: it stays until they close it. */
const STAY: readonly EndReason[] = ['permission-denied'];

type View = 'form' | 'screen';

let leaveTimer: ReturnType<typeof setTimeout> | null = null;
let stop: (() => void) | null = null;
/** A create, join or dial is waiting for the server: its result, not the `ended` change, says what follows. */
let entering = false;
/** The page showed its form first: whatever call comes, its end returns there rather than to the dial page. */
let formFirst = false;

function leave(): void {
  wx.navigateBack({ fail: () => wx.reLaunch({ url: `/${DIAL_PAGE}` }) });
}

function cancelLeave(): void {
  if (leaveTimer !== null) clearTimeout(leaveTimer);
  leaveTimer = null;
}

/** Status bar text that reads on the light form and on the dark screen. */
function statusBarFor(view: View): void {
  wx.setNavigationBarColor({
    frontColor: view === 'form' ? '#000000' : '#ffffff',
    backgroundColor: view === 'form' ? '#f5f5f5' : '#151517',
    fail: () => undefined,
  });
}

Page({
  data: {
    lang: 'zh-CN',
    t: demoLabels('zh-CN'),
    bar: '',
    view: 'form' as View,
    name: '',
    video: true,
    entering: false,
    error: '',
  },

  onLoad(query: Record<string, string | undefined>) {
    const { group, lang } = globalData();
    if (!group) {
      wx.reLaunch({ url: '/pages/login/index' });
      return;
    }
    cancelLeave();
    entering = false;
    const t = demoLabels(lang);
    this.setData({ lang, t, bar: barStyle(getScreenInsets()) });
    const onChange = (change: Partial<GroupSnapshot>) => this.phaseChanged(change.phase);
    group.on('change', onChange);
    stop = () => group.off('change', onChange);
    const dial = groupCallOf(query);
    formFirst = !dial && !GROUP_ACTIVE.includes(group.phase);
    if (dial) {
      void this.start(callGroup(group, dial.callees, dial.type, t), 'call');
    } else if (formFirst) {
      this.show('form');
    } else {
      alertBeforeUnload(t.leaveCall);
      this.show('screen');
    }
  },

  /** The screen shown from onLoad (an invitation, a live call) is attached once it is surely rendered. */
  onReady() {
    if (this.data.view === 'screen') this.show('screen');
  },

  onShow() {
    const group = globalData().group;
    group?.appShown();
    // Back from a page that covered an ended call (a 1:1 invitation): move on as if it had just ended.
    if (group && group.phase === 'ended' && this.data.view === 'screen' && !entering) this.ended();
  },

  onHide() {
    // navigateBack leaves whatever page is on top: a page opened over this one must not be the one to go.
    cancelLeave();
    globalData().group?.appHidden();
  },

  onUnload() {
    cancelLeave();
    alertBeforeUnload(null);
    if (stop) stop();
    stop = null;
    const group = globalData().group;
    // The home button and the capsule leave without asking: a call without its screen could not be left.
    if (group && GROUP_ACTIVE.includes(group.phase)) group.hangup().catch(() => undefined);
  },

  phaseChanged(phase: string | undefined) {
    if (!phase) return;
    if (GROUP_ACTIVE.includes(phase)) {
      // A call on the screen again (an invitation on the form, a retry): nothing should take it away.
      cancelLeave();
      alertBeforeUnload(this.data.t.leaveCall);
      this.show('screen');
    } else if (phase === 'ended') {
      alertBeforeUnload(null);
      if (!entering) this.ended();
    }
  },

  /** The call is over: its reason and length stay on the screen a moment, or until closed when it matters. */
  ended() {
    const reason = globalData().group?.snapshot().reason;
    if (leaveTimer === null && !(reason && STAY.includes(reason)))
      leaveTimer = setTimeout(() => this.finish(), LEAVE_AFTER_MS);
  },

  /** After an ended call: back to the form, or to the dial page when this page was opened for a group call. */
  finish() {
    cancelLeave();
    const group = globalData().group;
    const kind: RoomKind | null = group ? group.snapshot().kind : null;
    if (formFirst || kind === 'room') this.show('form');
    else leave();
  },

  /** Waits for a create, join or dial: a refusal is worded on the form (a room) or the dial page (a call). */
  async start(pending: Promise<string | null>, kind: RoomKind) {
    entering = true;
    this.setData({ entering: true, error: '' });
    const problem = await pending;
    entering = false;
    this.setData({ entering: false });
    if (problem !== null) {
      if (kind === 'room') {
        this.show('form');
        this.setData({ error: problem });
      } else {
        toast(problem);
        if (formFirst) this.show('form');
        else leave();
      }
      return;
    }
    // It ended by itself before getting anywhere (a refused permission): the screen says why.
    if (globalData().group?.phase === 'ended') {
      this.show('screen');
      this.ended();
    }
  },

  show(view: View) {
    const attach = () => {
      if (view !== 'screen') return;
      // Null while the screen is not rendered (WeChat returns null on no match).
      const screen = this.selectComponent('#screen') as unknown as {
        attachSession(session: unknown): void;
      } | null;
      screen?.attachSession(globalData().group);
    };
    if (this.data.view === view) {
      attach();
      return;
    }
    statusBarFor(view);
    this.setData({ view }, attach);
  },

  onNameInput(event: WechatMiniprogram.Input) {
    // A stale refusal next to a name being corrected would read as a verdict on the new one.
    this.setData({ name: event.detail.value, error: '' });
  },

  onVideoChange(event: WechatMiniprogram.SwitchChange) {
    this.setData({ video: event.detail.value });
  },

  enter(how: 'create' | 'join') {
    const group = globalData().group;
    if (!group || entering) return;
    const { name, video, t } = this.data;
    const type: CallType = video ? 2 : 1;
    void this.start(enterRoom(group, how, name, type, t), 'room');
  },

  onCreate() {
    this.enter('create');
  },

  onJoin() {
    this.enter('join');
  },

  onBack() {
    leave();
  },

  /** The ended screen's close button. */
  onClose() {
    this.finish();
  },

  onScreenError(event: WechatMiniprogram.CustomEvent<{ code?: number; message: string }>) {
    toast(event.detail.message);
  },
});
