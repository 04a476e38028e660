/**
 * The components' public contract as types, for apps in TypeScript: each component's properties, the detail
 * of each event it emits, and an instance type for those with methods, so that
 *
 *   const screen = this.selectComponent('#screen') as CallScreenInstance;
 *   screen.attachSession(session); // checked
 *
 *   onAccept(event: CallScreenEvent<'accept'>) { event.detail.cid; } // checked
 *
 * Types only: the package entry re-exports them with `export type`, so they add no JavaScript to what an app
 * ships. They describe components/<name>/index.ts and must change with them: test/guards/reference.test.ts
 * compares the property and event names here with the component definitions (and docs/quick-start.md).
 * Uses the `WechatMiniprogram` globals of miniprogram-api-typings (the package's optional peer dependency).
 */
import type { DevicePosition, EndReason, SoundMode } from '../services/call/types';
import type { TileHint } from '../services/call/base-session';
import type { CallLabels } from '../services/i18n/types';
import type { CallType } from '../services/protocol/frames';
import type { CallSessionLike } from '../services/stores/call-store';
import type { GroupSessionLike } from '../services/stores/group-store';
import type { LiveSessionLike } from '../services/stores/live-store';

// ---- the media elements' own event details (WeChat's live-pusher / live-player) --------------------------

/** `statechange` of live-pusher / live-player: a status code from WeChat's tables (see the README). */
export interface MediaStateDetail {
  code: number;
  message?: string;
}

/** `netstatus` of live-pusher / live-player, throttled by the kit to one a second per stream. */
export interface MediaNetStatusDetail {
  info: WechatMiniprogram.IAnyObject;
}

/** `error` (`binderror`) of live-pusher / live-player: 10001 camera refused, 10002 microphone refused. */
export interface MediaErrorDetail {
  errMsg: string;
  errCode: number;
}

/** A tile's event as netcall-room re-emits it: tagged with whose stream it concerns. */
export type RoomMediaDetail<T> = T & {
  source: 'pusher' | 'player';
  /** The stream's uid in the RTC session ('' for my pusher before it has one). */
  uid: string;
};

/** A session call a screen's button made failed (its promise rejected). */
export interface ScreenErrorDetail {
  /** Which control: 'accept', 'hangup', 'mute', 'media' (a status code sent to the media policy), … */
  action: string;
  /** The NetcallError code, when it was one. */
  code?: number;
  message: string;
}

/** `WechatMiniprogram.CustomEvent` carrying one of a component's event details, by event name. */
export type ComponentEvent<TEvents, K extends keyof TEvents> = WechatMiniprogram.CustomEvent<
  TEvents[K] & WechatMiniprogram.IAnyObject
>;

/** What every component instance has (`setData`, `triggerEvent`, `selectComponent`, …), with its properties. */
export interface NetcallComponentInstance<TProperties extends WechatMiniprogram.IAnyObject>
  extends
    WechatMiniprogram.Component.InstanceProperties,
    WechatMiniprogram.Component.InstanceMethods<TProperties> {
  readonly data: Readonly<TProperties>;
  readonly properties: Readonly<TProperties>;
}

// ---- call-screen ------------------------------------------------------------------------------------------

export interface CallScreenProperties {
  /** 'zh-CN' shows Chinese, anything else English. Default 'en'. */
  lang: string;
  /** Audio file looped while dialing or ringing. Default '' (none). */
  ringtone: string;
  /** The peer's picture; without one their initial is shown. Default ''. */
  avatar: string;
}

export interface CallScreenEvents {
  /** `type` 1 when a video call was answered as voice. */
  accept: { cid: string | null; type: CallType };
  reject: { cid: string | null };
  /** Cancel while ringing out, hang up in call. */
  hangup: { cid: string | null };
  /** The ended screen's close button. */
  close: { reason: EndReason | null };
  mute: { micOn: boolean };
  camera: { cameraOn: boolean };
  flip: { devicePosition: DevicePosition };
  sound: { soundMode: SoundMode };
  /** Asked to switch between voice (1) and video (2). */
  switch: { to: CallType };
  /** Answered the peer's switch request. */
  switchreply: { agree: boolean };
  /** Came back from the settings page opened by "Open settings". */
  opensetting: { granted: boolean };
  statechange: RoomMediaDetail<MediaStateDetail>;
  netstatus: RoomMediaDetail<MediaNetStatusDetail>;
  mediaerror: RoomMediaDetail<MediaErrorDetail>;
  error: ScreenErrorDetail;
}

export type CallScreenEvent<K extends keyof CallScreenEvents> = ComponentEvent<CallScreenEvents, K>;

export interface CallScreenInstance extends NetcallComponentInstance<CallScreenProperties> {
  /**
   * Lets the screen drive `session` (its buttons call it as well as emitting their events) and binds it to
   * the screen's store while the screen lives; `null` detaches.
   */
  attachSession(session: CallSessionLike | null): void;
}

// ---- room-screen ------------------------------------------------------------------------------------------

export interface RoomScreenProperties {
  /** 'zh-CN' shows Chinese, anything else English. Default 'en'. */
  lang: string;
  /** The caller's picture on an invitation; without one their initial is shown. Default ''. */
  avatar: string;
}

export interface RoomScreenEvents {
  accept: { cid: string | null; type: CallType };
  reject: { cid: string | null };
  /** Cancel while ringing out, leave in call. */
  hangup: { cid: string | null };
  close: { reason: EndReason | null };
  mute: { micOn: boolean };
  camera: { cameraOn: boolean };
  flip: { devicePosition: DevicePosition };
  sound: { soundMode: SoundMode };
  /** The member list opened or closed. */
  members: { open: boolean };
  error: ScreenErrorDetail;
}

export type RoomScreenEvent<K extends keyof RoomScreenEvents> = ComponentEvent<RoomScreenEvents, K>;

export interface RoomScreenInstance extends NetcallComponentInstance<RoomScreenProperties> {
  /** As call-screen's, for a GroupSession (`miniprogram-netcall/services/call/group-session`). */
  attachSession(session: GroupSessionLike | null): void;
}

// ---- live-room -------------------------------------------------------------------------------------------

export interface LiveRoomProperties {
  /** 'zh-CN' shows Chinese, anything else English. Default 'en'. */
  lang: string;
}

export interface LiveRoomEvents {
  /** Shared screen controls; a live has no ringing to accept or reject. */
  accept: { cid: string | null; type: CallType };
  reject: { cid: string | null };
  /** Leave; the host ends the live for everyone. */
  hangup: { cid: string | null };
  close: { reason: EndReason | null };
  mute: { micOn: boolean };
  camera: { cameraOn: boolean };
  flip: { devicePosition: DevicePosition };
  sound: { soundMode: SoundMode };
  /** The audience asked to join the stage. */
  request: { cid: string | null };
  /** A co-host stepped down. */
  leavestage: { cid: string | null };
  /** The audience answered the host's invite. */
  invite: { accepted: boolean };
  /** The host answered a request. */
  respond: { account: string; accepted: boolean };
  send: { content: string };
  /** A status code of the audience's live player. */
  playerstate: { code: number | undefined };
  /** The live player's network figures, one a second. */
  netstatus: MediaNetStatusDetail;
  error: ScreenErrorDetail;
}

export type LiveRoomEvent<K extends keyof LiveRoomEvents> = ComponentEvent<LiveRoomEvents, K>;

export interface LiveRoomInstance extends NetcallComponentInstance<LiveRoomProperties> {
  /** As call-screen's, for a LiveSession (`miniprogram-netcall/services/live/live-session`). */
  attachSession(session: LiveSessionLike | null): void;
}

// ---- netcall-room -----------------------------------------------------------------------------------------

export interface NetcallRoomProperties {
  /** Default true. */
  enableMic: boolean;
  /** Default true. */
  enableCamera: boolean;
  /** Default 'front'. */
  devicePosition: DevicePosition;
  /** Default 'speaker'. */
  soundMode: SoundMode;
  /** Show my camera before my push URL comes. Default false. */
  preview: boolean;
  /** The label set (`labels(lang)`) the tiles show their hints with. Default {}. */
  labels: Partial<CallLabels>;
  /** 'pip' (1:1) or 'grid'. Default 'pip'. */
  layout: 'pip' | 'grid';
  /** Marks by uid, '*' for every tile: bit 1 mic off, bit 2 camera off. Default {}. */
  marks: Readonly<Record<string, number>>;
  /** Tile hints by uid; null (the default) shows the 1:1 session's. */
  hints: Readonly<Record<string, TileHint>> | null;
}

export interface NetcallRoomEvents {
  statechange: RoomMediaDetail<MediaStateDetail>;
  netstatus: RoomMediaDetail<MediaNetStatusDetail>;
  error: RoomMediaDetail<MediaErrorDetail>;
}

export type NetcallRoomEvent<K extends keyof NetcallRoomEvents> = ComponentEvent<NetcallRoomEvents, K>;

export interface NetcallRoomInstance extends NetcallComponentInstance<NetcallRoomProperties> {
  /** Restarts my push (-1307); the screens call it when the session's media policy says so. */
  restartPusher(): void;
  /** Plays `uid`'s stream again (-2301). */
  replay(uid: string): void;
}

// ---- netcall-pusher / netcall-player ----------------------------------------------------------------------

export interface NetcallPusherProperties {
  /** Default true. */
  enableCamera: boolean;
  /** Default true. */
  enableMic: boolean;
  /** Default 'front'. */
  devicePosition: DevicePosition;
  /** Pushed while the app is in the background (live-pusher `waiting-image`). Default ''. */
  waitingImage: string;
  /** Show my camera before there is a push URL. Default false. */
  preview: boolean;
  /** A hint shown over the video; '' (the default) for none. */
  hint: TileHint | '';
  /** The label set (`labels(lang)`) for the hint and the camera-off placeholder. Default {}. */
  labels: Partial<CallLabels>;
}

export interface NetcallPlayerProperties {
  /** The remote user whose stream this tile plays (from `callStore`). Default ''. */
  uid: string;
  /** The play URL when `managed`. Default ''. */
  src: string;
  /** A parent (netcall-room) owns the URL and passes it as `src`; read once, at attach. Default false. */
  managed: boolean;
  /** Default false. */
  muted: boolean;
  /** Default 'speaker'. */
  soundMode: SoundMode;
  /** live-player `object-fit`. Default 'fillCrop'. */
  objectFit: 'contain' | 'fillCrop';
  /** A hint shown over the video; '' (the default) for none. */
  hint: TileHint | '';
  /** The label set (`labels(lang)`) for the hint. Default {}. */
  labels: Partial<CallLabels>;
}

/** Both tiles forward their element's events as they are (netstatus throttled). */
export interface NetcallTileEvents {
  statechange: MediaStateDetail;
  netstatus: MediaNetStatusDetail;
  error: MediaErrorDetail;
}

export type NetcallTileEvent<K extends keyof NetcallTileEvents> = ComponentEvent<NetcallTileEvents, K>;

export interface NetcallPusherInstance extends NetcallComponentInstance<NetcallPusherProperties> {
  /** Restarts the push on the same URL (-1307). */
  restart(): void;
}

export interface NetcallPlayerInstance extends NetcallComponentInstance<NetcallPlayerProperties> {
  /** Plays the same URL again (-2301). */
  replay(): void;
}

// ---- netcall-privacy --------------------------------------------------------------------------------------

export interface NetcallPrivacyProperties {
  /** 'zh-CN' shows Chinese, anything else English. Default 'en'. */
  lang: string;
}

export interface NetcallPrivacyEvents {
  /** The user agreed to the privacy guide; the held camera/microphone request goes on. */
  agree: { referrer: string };
  /** The user refused; the request that asked fails, and the next call asks again. */
  disagree: { referrer: string };
}

export type NetcallPrivacyEvent<K extends keyof NetcallPrivacyEvents> = ComponentEvent<
  NetcallPrivacyEvents,
  K
>;
