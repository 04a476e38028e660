/**
 * The hook between live-room signalling and the mixer: signalling says when a live room's mix must start (the
 * host's first push), when its stage changed (re-lay out), and when it ends; an implementation composes the stage
 * into the room's live stream. Signalling hands over everything the mix needs as plain data (URLs already signed
 * and authorised), so an implementation never reads the state store or the media plane's secrets.
 *
 * Must never throw into signalling: a failed mix is the mixer's to log and retry, the room goes on.
 * The default (`noLiveMixes`) mixes nothing: rooms, roles and the directory work without ffmpeg.
 */
import type { MediaMode, SessionConfig } from '../../services/protocol';

/** One member on stage that pushes: where the mixer pulls it from. */
export interface LiveMixMember {
  account: string;
  uid: string;
  role: 'host' | 'cohost';
  mode: MediaMode;
  /** RTMP play URL of the member's stream on our media server (signed, authorised while it is on stage). */
  url: string;
}

/** A live room as the mixer sees it, at one moment. */
export interface LiveMixRoom {
  cid: string;
  channelName: string;
  /** The host's settings: `splitMode`, `layout` (already checked: it parses), `rtmpUrl`, `rtmpRecord`. */
  sessionConfig: SessionConfig;
  /** The room's own live stream: its name on the media plane, and the push URL the mix publishes with. */
  stream: string;
  pushUrl: string;
  /** Host first, then co-hosts in the order they went on stage; only members that started RTC. */
  stage: LiveMixMember[];
}

export interface LiveMixes {
  /** The host started pushing (its first `startRtc`): start composing `room.stage` into `room.pushUrl`. */
  start(room: LiveMixRoom): void;
  /** The stage changed (a co-host started pushing or left it, a mode changed, the host rejoined): re-lay out. */
  update(room: LiveMixRoom): void;
  /** The room closed: stop the mix (its stream is being revoked). Idempotent. */
  stop(cid: string): void;
}

/** No mix: the hook's default until a mixer is wired in. */
export const noLiveMixes: LiveMixes = {
  start: () => undefined,
  update: () => undefined,
  stop: () => undefined,
};
