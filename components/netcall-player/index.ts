/**
 * netcall-player: one remote user's `<live-player>`.
 *
 * Two ways to get the play URL:
 * - standalone (`<netcall-player uid="…">`): the tile watches its own user in `callStore`, so one peer's
 *   new URL costs one setData on this tile only;
 * - managed (`managed` + `src`, what netcall-room does): the parent passes the URL as a property in the
 *   same setData that adds the tile, so a join costs the page one setData instead of two (the parent's
 *   slot plus the tile's own `src`). A managed tile never calls setData and never watches the store.
 *
 * Either way it stops the stream when the URL goes (a media server need not end a player whose publisher
 * went: node-media-server keeps it waiting for a new one), replays on a new URL or on `replay()` (-2301, per
 * WeChat's live-player statechange codes), shows the `hint` its parent binds over the video (buffering,
 * poor network, video paused), and forwards the element's events (netstatus throttled). No call logic here.
 */
import { callStore } from '../../services/stores/call-store';
import { createPlayerContext, defaultTimers } from '../../services/platform/primitives';
import { isWatching, mediaEventHandlers, netcallComponent, watchStore } from '../common/component';

type Instance = WechatMiniprogram.Component.TrivialInstance;

/** The URL a managed tile last saw: observers get only the new value, and `data` already holds it. */
const managedSrc = new WeakMap<object, string>();

netcallComponent({
  properties: {
    uid: { type: String, value: '' },
    /** The play URL, when `managed`; a standalone tile writes it itself from the store. */
    src: { type: String, value: '' },
    /** Set by a parent that owns the URLs (netcall-room). Read once, at attach time. */
    managed: { type: Boolean, value: false },
    muted: { type: Boolean, value: false },
    soundMode: { type: String, value: 'speaker' },
    objectFit: { type: String, value: 'fillCrop' },
    /** A TileHint shown over the video ('buffering', 'video-paused', …); '' for none. */
    hint: { type: String, value: '' },
    /** The label set (`labels(lang)` of services/i18n) for the hint. */
    labels: { type: Object, value: {} },
  },
  observers: {
    uid() {
      // The first value is picked up in `attached`; later ones rebind this tile to another user.
      if (isWatching(this, 'src')) this.watchUser();
    },
    src(src: string) {
      if (!this.data.managed) return;
      const previous = managedSrc.get(this);
      managedSrc.set(this, src);
      // `autoplay` starts the first URL by itself once `wx:if` renders the element.
      if (!previous || previous === src) return;
      const context = createPlayerContext(`player-${this.data.uid}`, this as unknown as Instance);
      context.stop();
      if (!src) return;
      // The parent's setData has queued this render before the observer returns; play once it is out,
      // unless the URL changed again meanwhile (that change schedules its own play).
      defaultTimers.setTimeout(() => {
        if (managedSrc.get(this) === src) context.play();
      }, 0);
    },
  },
  lifetimes: {
    attached() {
      if (this.data.managed) managedSrc.set(this, this.data.src);
      else this.watchUser();
    },
  },
  methods: {
    watchUser() {
      const uid = this.data.uid;
      watchStore(
        this,
        'src',
        () => {
          const user = uid ? callStore.playerOf(uid) : undefined;
          return user ? user.url : '';
        },
        (src) => this.bindSrc(src),
      );
    },
    bindSrc(src: string) {
      const previous = this.data.src;
      if (src === previous) return;
      // `autoplay` starts the first URL by itself once `wx:if` renders the element.
      if (!previous) {
        this.setData({ src });
        return;
      }
      const context = createPlayerContext(`player-${this.data.uid}`, this as unknown as Instance);
      context.stop();
      if (!src) {
        this.setData({ src: '' });
        return;
      }
      // A reconnect's syncDone may carry a new URL; replay on it rather than trust the element to notice.
      this.setData({ src }, () => context.play());
    },
    /**
     * Plays the same URL again (-2301: the engine gave up reconnecting, per WeChat's live-player statechange codes). The session decides
     * when, and asks for a fresh URL if this fails again; a tile without a URL has no element to replay.
     */
    replay() {
      if (!this.data.src) return;
      const context = createPlayerContext(`player-${this.data.uid}`, this as unknown as Instance);
      context.stop();
      context.play();
    },
    ...mediaEventHandlers,
  },
});
