/**
 * What every kit component shares. The `Component()` wrapper (vant's `VantComponent` idea) fixes the shared
 * options once and disposes every store watcher of an instance when it is detached, so no component can leak
 * a reaction; the media tiles' event forwarding; and what the two call screens share (below). No call logic:
 * the screens' methods only forward to a session. One module, because each file a mini-program ships
 * carries its own CommonJS preamble and gzip header (the size budgets in bench/budgets.json count them).
 */
import { reaction, type IReactionOptions } from 'mobx-miniprogram';
import type { LocalMedia, SoundMode } from '../../services/call/types';
import type { CallType } from '../../services/protocol/frames';
import type { MediaActionEvent } from '../../services/stores/call-store';
// Per module, not through the platform index, so tests can spy on these exports.
import * as device from '../../services/platform/device';
import { defaultTimers } from '../../services/platform/primitives';

type AnyObject = WechatMiniprogram.IAnyObject;

const watchers = new WeakMap<object, Map<string, () => void>>();

export function netcallComponent<
  TData extends WechatMiniprogram.Component.DataOption,
  TProperty extends WechatMiniprogram.Component.PropertyOption,
  TMethod extends WechatMiniprogram.Component.MethodOption,
>(options: WechatMiniprogram.Component.Options<TData, TProperty, TMethod, []>): string {
  const userDetached = options.lifetimes?.detached ?? options.detached;
  const definition: AnyObject = {
    ...options,
    options: { multipleSlots: true, styleIsolation: 'apply-shared', ...options.options },
    externalClasses: ['custom-class', ...(options.externalClasses ?? [])],
    lifetimes: {
      ...options.lifetimes,
      detached(this: AnyObject) {
        userDetached?.call(this);
        unwatchAll(this);
      },
    },
  };
  delete definition.detached;
  return Component(definition as WechatMiniprogram.Component.TrivialOption);
}

/**
 * A mobx reaction owned by a component instance under `key`: `effect` runs now and whenever `expression`
 * changes, and the reaction dies with the instance. Watching the same key again replaces the old one
 * (e.g. a player whose `uid` changed).
 */
export function watchStore<T>(
  instance: object,
  key: string,
  expression: () => T,
  effect: (value: T) => void,
  options: IReactionOptions<T, boolean> = {},
): void {
  let byKey = watchers.get(instance);
  if (!byKey) watchers.set(instance, (byKey = new Map()));
  byKey.get(key)?.();
  byKey.set(key, reaction(expression, effect, { fireImmediately: true, ...options }));
}

export function isWatching(instance: object, key: string): boolean {
  return watchers.get(instance)?.has(key) ?? false;
}

export function unwatchAll(instance: object): void {
  const byKey = watchers.get(instance);
  if (!byKey) return;
  for (const dispose of byKey.values()) dispose();
  watchers.delete(instance);
}

// ---- media element events out of a tile. `netstatus` fires several times a second per stream (WeChat's
// netstatus event of live-pusher/live-player), so it is throttled here and never copied into `data`. ------

export const NETSTATUS_INTERVAL_MS = 1000;

const lastForwarded = new WeakMap<object, Map<string, number>>();

interface EventTarget {
  triggerEvent(name: string, detail?: unknown): void;
}

/** Re-emits `detail` as `name`, at most once per `intervalMs` for this instance and name. */
export function forwardThrottled(
  instance: EventTarget,
  name: string,
  detail: unknown,
  intervalMs = NETSTATUS_INTERVAL_MS,
): boolean {
  let byName = lastForwarded.get(instance);
  if (!byName) lastForwarded.set(instance, (byName = new Map()));
  const now = defaultTimers.now();
  const last = byName.get(name);
  if (last !== undefined && now - last < intervalMs) return false;
  byName.set(name, now);
  instance.triggerEvent(name, detail);
  return true;
}

/**
 * The handler a media element's component binds to each of its events (`bindstatechange="onMedia"`,
 * `bindnetstatus`, `binderror`): statechange and error pass through as they are, netstatus throttled. Spread
 * into a component's `methods`.
 */
export const mediaEventHandlers = {
  onMedia(this: EventTarget, event: WechatMiniprogram.CustomEvent) {
    if (event.type === 'netstatus') forwardThrottled(this, 'netstatus', event.detail);
    else this.triggerEvent(event.type, event.detail);
  },
};

// ---- the call screens ----------------------------------------------------------------------------------
// What the two call screens (call-screen for 1:1 calls, room-screen for group calls and rooms) share: the
// frame under the status bar and beside the capsule, an attached session (bound to the screen's store, its
// `mediaAction`s run on the screen's netcall-room), keeping the screen on, and the controls both have, each
// emitting its component event and, with a session attached, calling it. One module spread into both
// screens' `methods`, so an app with rooms does not ship the same code twice.

/** What the shared controls need from a session; `CallSessionLike` and `GroupSessionLike` both fit. */
export interface ScreenSession {
  on(name: 'mediaAction', listener: (event: MediaActionEvent) => void): unknown;
  off(name: 'mediaAction', listener: (event: MediaActionEvent) => void): unknown;
  accept(): Promise<unknown>;
  reject(): Promise<unknown>;
  hangup(): Promise<unknown>;
  setMic(on: boolean): Promise<unknown>;
  setCamera(on: boolean): Promise<unknown>;
  flipCamera(): Promise<unknown>;
  setSoundMode(mode: SoundMode): Promise<unknown>;
  onMediaState?(event: { source: 'pusher' | 'player'; uid: string; code: number }): Promise<unknown>;
}

/** What the shared controls read from the screen's store. */
interface ScreenStore {
  cid: string | null;
  type: CallType;
  reason: unknown;
  local: LocalMedia;
}

/** The component instance, as far as the shared methods use it. */
interface Screen {
  triggerEvent(name: string, detail?: unknown): void;
  selectAllComponents(selector: string): unknown[];
  callSession(name: string, action: (session: ScreenSession) => Promise<unknown>): void;
  keepScreenOn(on: boolean): void;
  runMediaAction(event: MediaActionEvent): void;
  attachSession(session: null): void;
}

/** What the screen calls on its netcall-room. */
interface RoomApi {
  restartPusher(): void;
  replay(uid: string): void;
}

interface ErrorLike {
  code?: unknown;
  message?: unknown;
}

/** Kept outside `data`: a session is not serialisable, and none of it is for the view. */
interface Attached {
  session: ScreenSession | null;
  unbind: (() => void) | null;
  screenOn: boolean;
}

const attachments = new WeakMap<object, Attached>();

function attachedTo(screen: object): Attached {
  let state = attachments.get(screen);
  if (!state) attachments.set(screen, (state = { session: null, unbind: null, screenOn: false }));
  return state;
}

/**
 * The frame's custom properties for these insets: where the screen's top is (below the status bar when
 * the page draws under it), the row of the capsule (the compact header shares it, stopping short of the
 * capsule), and where the room may place tiles (below that header).
 */
export function screenFrame(insets: device.ScreenInsets): string {
  const top = insets.immersive ? insets.statusBar : 0;
  const menu = insets.immersive ? insets.menu : null;
  const headerTop = menu ? menu.top : top + 12;
  const headerHeight = menu ? menu.height : 32;
  const headerRight = menu ? insets.width - menu.left + 12 : 16;
  // The header is the name line, then a 20 px timer line.
  const roomTop = headerTop + headerHeight + 20 + 16;
  return (
    `--call-screen-top:${top}px;--call-screen-bar-top:${headerTop}px;` +
    `--call-screen-bar-height:${headerHeight}px;--call-screen-bar-right:${headerRight}px;` +
    `--netcall-room-top:${roomTop}px`
  );
}

/**
 * The methods both screens spread into their `methods`. `store` is what the screen reads, `bind` binds an
 * attached session to it (returning the unbind), `room` selects the screen's netcall-room.
 */
export function screenMethods<S extends ScreenSession>(
  store: ScreenStore,
  bind: (session: S) => () => void,
  room: string,
) {
  return {
    /**
     * Lets the screen drive `session` directly (buttons call it as well as emitting their events) and binds
     * it to the screen's store while the screen lives. `null` detaches. A page needs only this one line.
     */
    attachSession(this: Screen, session: S | null) {
      const state = attachedTo(this);
      if (state.session === session) return;
      state.unbind?.();
      state.unbind = null;
      state.session = session;
      if (!session) return;
      const unbind = bind(session);
      const onMediaAction = (event: MediaActionEvent) => this.runMediaAction(event);
      session.on('mediaAction', onMediaAction);
      // One release for both, so re-attaching or detaching the screen can never leave a listener behind.
      state.unbind = () => {
        unbind();
        session.off('mediaAction', onMediaAction);
      };
    },

    /** The screen is going away: the session lets go of it and the screen may sleep again. */
    releaseScreen(this: Screen) {
      this.keepScreenOn(false);
      this.attachSession(null);
    },

    /**
     * Without a room on screen (not connected yet, or ended) there is no element to recover. Not
     * `selectComponent`: it returns null on no match in WeChat but throws in miniprogram-simulate.
     */
    runMediaAction(this: Screen, { action, uid }: MediaActionEvent) {
      const target = this.selectAllComponents(room)[0] as RoomApi | undefined;
      if (action === 'restart') target?.restartPusher();
      else if (action === 'replay') target?.replay(uid);
    },

    keepScreenOn(this: Screen, on: boolean) {
      const state = attachedTo(this);
      if (state.screenOn === on) return;
      state.screenOn = on;
      device.setKeepScreenOn(on);
    },

    /** Runs `action` on the attached session, if any; a failure is reported as an `error` event. */
    callSession(this: Screen, name: string, action: (session: S) => Promise<unknown>) {
      const session = attachedTo(this).session as S | null;
      if (!session) return;
      action(session).catch((error: ErrorLike) =>
        this.triggerEvent('error', {
          action: name,
          code: typeof error?.code === 'number' ? error.code : undefined,
          message: typeof error?.message === 'string' ? error.message : String(error),
        }),
      );
    },

    /** Every round control (the WXML `ctl` template) taps here with its key: `mute` runs `onMute`. */
    onControl(this: Screen, event: WechatMiniprogram.BaseEvent) {
      const key = String((event.currentTarget.dataset as { k?: string }).k);
      const handler = (this as unknown as Record<string, unknown>)[
        `on${key[0].toUpperCase()}${key.slice(1)}`
      ];
      if (typeof handler === 'function') handler.call(this);
    },
    onAccept(this: Screen) {
      this.triggerEvent('accept', { cid: store.cid, type: store.type });
      this.callSession('accept', (session) => session.accept());
    },
    onReject(this: Screen) {
      this.triggerEvent('reject', { cid: store.cid });
      this.callSession('reject', (session) => session.reject());
    },
    /** Cancel while dialing and hang up in call are the same request; the session tells the reasons apart. */
    onHangup(this: Screen) {
      this.triggerEvent('hangup', { cid: store.cid });
      this.callSession('hangup', (session) => session.hangup());
    },
    /** The ended screen's close button: the host decides where to go. */
    onClose(this: Screen) {
      this.triggerEvent('close', { reason: store.reason });
    },
    onMute(this: Screen) {
      const micOn = !store.local.micOn;
      this.triggerEvent('mute', { micOn });
      this.callSession('mute', (session) => session.setMic(micOn));
    },
    onCamera(this: Screen) {
      const cameraOn = !store.local.cameraOn;
      this.triggerEvent('camera', { cameraOn });
      this.callSession('camera', (session) => session.setCamera(cameraOn));
    },
    onFlip(this: Screen) {
      // Shown disabled while the camera is off; a view takes the tap anyway.
      if (!store.local.cameraOn) return;
      const devicePosition = store.local.devicePosition === 'front' ? 'back' : 'front';
      this.triggerEvent('flip', { devicePosition });
      this.callSession('flip', (session) => session.flipCamera());
    },
    onSound(this: Screen) {
      const soundMode: SoundMode = store.local.soundMode === 'speaker' ? 'ear' : 'speaker';
      this.triggerEvent('sound', { soundMode });
      this.callSession('sound', (session) => session.setSoundMode(soundMode));
    },
    /**
     * The room's status codes (statechange `code`) and element errors (`errCode`: 10001/10002, a camera or
     * microphone refused mid-call, WeChat's live-pusher binderror codes) go to the attached session's media
     * policy, which recovers, runs the permission flow or ends the call.
     */
    toMediaPolicy(this: Screen, detail: Record<string, unknown>, field: 'code' | 'errCode') {
      const { source, uid } = detail;
      const code = detail[field];
      if ((source !== 'pusher' && source !== 'player') || typeof code !== 'number') return;
      this.callSession('media', (session) =>
        session.onMediaState
          ? session.onMediaState({ source, uid: String(uid ?? ''), code })
          : Promise.resolve(),
      );
    },
  };
}
