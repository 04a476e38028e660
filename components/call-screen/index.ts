/**
 * call-screen: the whole P2P call UI (outgoing, incoming, connecting, in-call, ended) as a view of
 * `sessionStore`. It renders and forwards: every button emits a component event and, when a session was
 * attached with `attachSession`, calls that session too. What happens next (phases, media switches) comes
 * back through the store; the screen never changes call state itself.
 *
 * setData budget: one reaction computes a flat view of display values and only the keys whose value changed
 * are sent, in one setData. While in call only `duration` changes each second, so the tick costs one
 * `{timer: '01:23'}`. Labels are one shared object per language, sent once (and again on a `lang` change).
 *
 * Layout comes from the screen (services/platform/lifecycle.ts, read once at attach): under the status bar and
 * clear of WeChat's capsule when the page draws under them (`navigationStyle: custom`), as CSS custom
 * properties in one `frame` style string. Controls are views, never buttons (see the WXSS).
 *
 * Besides rendering it owns two presentation effects: the ringtone (while dialing or ringing) and keeping
 * the screen on (from ringing to the end). A voice call's earpiece default is the session's (`local`), not
 * decided here: the screen shows and toggles whatever the session says.
 *
 * Media goes properties-down: `local` (mic, camera, side, sound route) is in the view, and the template binds
 * it to `<netcall-room>`, which binds it to the pusher and players; a toggle is one small setData here. An
 * attached session's `mediaAction` (restart the pusher on -1307, replay a player on -2301) is run on the room.
 */
import type { CallPhase, CallSnapshot, DevicePosition } from '../../services/call/types';
import type { CallType } from '../../services/protocol';
import { formatDuration, labels, type CallLabels } from '../../services/i18n';
import { sessionStore, bindSessionToStore, type CallSessionLike } from '../../services/stores/call-store';
// Imported per module, not through the platform index, so tests can spy on these exports.
import * as device from '../../services/platform/device';
import { isWatching, netcallComponent, screenFrame, screenMethods, watchStore } from '../common/component';

/** Everything the template reads. Flat and primitive except `t`, which is shared per language. */
export interface CallScreenView {
  t: Readonly<CallLabels>;
  /** CSS custom properties placing the screen under the status bar and beside the capsule. */
  frame: string;
  phase: CallPhase;
  peer: string;
  initial: string;
  video: boolean;
  /** Video fills the screen (a video call, from dialing on): text sits on scrims, the peer block is compact. */
  stage: boolean;
  /** The room is rendered (shown on stage, kept out of sight for voice). */
  media: boolean;
  status: string;
  timer: string;
  /** Under the end reason: how long the call lasted ("Duration 01:23"); '' if it never connected. */
  ended: string;
  micOn: boolean;
  cameraOn: boolean;
  devicePosition: DevicePosition;
  speaker: boolean;
  peerMicOff: boolean;
  peerCameraOff: boolean;
  peerCameraUnavailable: boolean;
  peerBackground: boolean;
  reconnecting: boolean;
  /** Non-empty while the peer's switch request waits for my answer: the question to show. */
  switchAsk: string;
  /** My own switch request waits for the peer. */
  switchPending: boolean;
  /** Ended for a refused permission: offer the settings page. */
  openSettings: boolean;
  hint: string;
}

/** What an instance keeps outside `data` (none of it is for the view, and a session is not serialisable). */
interface Private {
  ringtone: device.Ringtone | null;
  ringing: boolean;
  lastView: Partial<CallScreenView>;
  frame: string;
}

const privates = new WeakMap<object, Private>();

function privateOf(instance: object): Private {
  let state = privates.get(instance);
  if (!state) {
    state = { ringtone: null, ringing: false, lastView: {}, frame: '' };
    privates.set(instance, state);
  }
  return state;
}

const RINGING: readonly CallPhase[] = ['dialing', 'incoming'];
const ACTIVE: readonly CallPhase[] = ['dialing', 'incoming', 'connecting', 'in-call'];

function statusOf(snapshot: CallSnapshot, t: Readonly<CallLabels>): string {
  switch (snapshot.phase) {
    case 'dialing':
      return t.calling;
    case 'incoming':
      return snapshot.type === 2 ? t.incomingVideo : t.incomingAudio;
    case 'connecting':
      return t.connecting;
    case 'ended':
      return snapshot.reason ? t[`reason.${snapshot.reason}`] : '';
    default:
      return '';
  }
}

/** The display values for a snapshot in a language; pure, so the reaction can compare its output. */
export function viewOf(snapshot: CallSnapshot, lang: string, frame = ''): CallScreenView {
  const t = labels(lang);
  const request = snapshot.switchRequest;
  const { phase } = snapshot;
  const denied = phase === 'ended' && snapshot.reason === 'permission-denied';
  const video = snapshot.type === 2;
  const live = phase === 'connecting' || phase === 'in-call';
  return {
    t,
    frame,
    phase,
    peer: snapshot.peer,
    initial: snapshot.peer ? snapshot.peer.charAt(0).toUpperCase() : '',
    video,
    stage: video && (live || phase === 'dialing'),
    media: live || (video && phase === 'dialing'),
    status: statusOf(snapshot, t),
    timer: formatDuration(snapshot.duration),
    ended:
      phase === 'ended' && snapshot.duration > 0 ? `${t.duration} ${formatDuration(snapshot.duration)}` : '',
    micOn: snapshot.local.micOn,
    cameraOn: snapshot.local.cameraOn,
    devicePosition: snapshot.local.devicePosition,
    speaker: snapshot.local.soundMode === 'speaker',
    peerMicOff: !snapshot.peerState.micOn,
    peerCameraOff: !snapshot.peerState.cameraOn,
    peerCameraUnavailable: snapshot.peerState.cameraUnavailable,
    peerBackground: snapshot.peerState.background,
    reconnecting: snapshot.reconnecting,
    switchAsk:
      // A peer only ever asks for video: going to voice needs no consent (NetEase's control 8).
      request && request.from === 'peer' ? t.peerAsksVideo : '',
    switchPending: !!request && request.from === 'me',
    openSettings: denied,
    hint: denied ? (snapshot.deniedScope === 'scope.camera' ? t.deniedCamera : t.deniedRecord) : '',
  };
}

netcallComponent({
  properties: {
    /** Chosen by the host app; anything but 'zh-CN' shows English. */
    lang: { type: String, value: 'en' },
    /** Audio file looped while dialing or ringing; none by default. */
    ringtone: { type: String, value: '' },
    /** Peer's avatar image; without one the peer's initial is shown. */
    avatar: { type: String, value: '' },
  },
  data: {
    phase: 'idle' as CallPhase,
  },
  observers: {
    lang() {
      // The first value is read in `attached`; a later one re-renders the labels.
      if (isWatching(this, 'view')) this.watchView();
    },
    ringtone() {
      if (!isWatching(this, 'ringing')) return;
      const state = privateOf(this);
      state.ringtone?.destroy();
      state.ringtone = null;
      const ringing = state.ringing;
      state.ringing = false;
      this.ring(ringing);
    },
  },
  lifetimes: {
    attached() {
      privateOf(this).frame = screenFrame(device.getScreenInsets());
      this.watchView();
      watchStore(
        this,
        'ringing',
        () => RINGING.includes(sessionStore.phase),
        (ringing) => this.ring(ringing),
      );
      watchStore(
        this,
        'screen',
        () => ACTIVE.includes(sessionStore.phase),
        (active) => this.keepScreenOn(active),
      );
    },
    detached() {
      const state = privateOf(this);
      state.ringtone?.destroy();
      state.ringtone = null;
      state.ringing = false;
      this.releaseScreen();
    },
  },
  methods: {
    ...screenMethods<CallSessionLike>(
      sessionStore,
      (session) => bindSessionToStore(session, sessionStore),
      '.call-screen__room',
    ),

    watchView() {
      const lang = this.data.lang as string;
      watchStore(
        this,
        'view',
        () => viewOf(sessionStore, lang, privateOf(this).frame),
        (view) => this.render(view),
      );
    },

    /** Sends only what changed since the last render, in one setData (none if nothing did). */
    render(view: CallScreenView) {
      const state = privateOf(this);
      const patch: WechatMiniprogram.IAnyObject = {};
      let changed = false;
      for (const key of Object.keys(view) as Array<keyof CallScreenView>) {
        if (state.lastView[key] === view[key]) continue;
        patch[key] = view[key];
        changed = true;
      }
      if (!changed) return;
      state.lastView = view;
      this.setData(patch);
    },

    ring(ringing: boolean) {
      const state = privateOf(this);
      if (ringing === state.ringing) return;
      state.ringing = ringing;
      const src = this.data.ringtone as string;
      if (ringing && src) {
        if (!state.ringtone) state.ringtone = device.createRingtone(src);
        state.ringtone.play();
      } else {
        state.ringtone?.stop();
      }
    },

    /** A video call answered with the microphone only: no camera prompt, no camera. */
    onVoice() {
      this.triggerEvent('accept', { cid: sessionStore.cid, type: 1 });
      this.callSession('accept', (session) => session.accept({ type: 1 }));
    },
    onCancel() {
      this.onHangup();
    },
    onSwitch() {
      const request = sessionStore.switchRequest;
      if (request) return; // shown disabled while a switch waits for an answer
      const to: CallType = sessionStore.type === 2 ? 1 : 2;
      this.triggerEvent('switch', { to });
      this.callSession('switch', (session) => session.requestSwitch(to));
    },
    onSwitchAgree() {
      this.replySwitch(true);
    },
    onSwitchRefuse() {
      this.replySwitch(false);
    },
    replySwitch(agree: boolean) {
      this.triggerEvent('switchreply', { agree });
      this.callSession('switchreply', (session) => session.respondSwitch(agree));
    },
    /** Must stay synchronous up to `openCallSettings`: WeChat opens settings only inside a tap. */
    onOpenSetting() {
      const type = sessionStore.type;
      device.openCallSettings(type).then((granted) => {
        this.triggerEvent('opensetting', { granted });
        // Still refused: stay on this screen, so the user can try again.
        if (granted) this.callSession('retry', (session) => session.retryPermissions());
      });
    },

    /** Status codes go out as they are and, with a session attached, to its media policy (restart, replay). */
    onRoomStateChange(event: WechatMiniprogram.CustomEvent) {
      this.triggerEvent('statechange', event.detail);
      this.toMediaPolicy(event.detail, 'code');
    },
    onRoomNetStatus(event: WechatMiniprogram.CustomEvent) {
      this.triggerEvent('netstatus', event.detail);
    },
    /**
     * `binderror` of an element: 10001/10002 (camera/microphone refused mid-call, WeChat's live-pusher
     * binderror codes) go to the session's media policy like status codes, which runs the permission flow.
     */
    onRoomError(event: WechatMiniprogram.CustomEvent) {
      this.triggerEvent('mediaerror', event.detail);
      this.toMediaPolicy(event.detail, 'errCode');
    },
  },
});
