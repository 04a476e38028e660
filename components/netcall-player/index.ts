/**
 * netcall-player: one remote user's `<live-player>`, bound by `uid` to that user's play URL in
 * `callStore`. Each tile watches only its own user, so one peer's new URL costs one setData on one tile.
 * It stops the stream when the user leaves (node-media-server never ends a player whose publisher went,
 * platform.md §4) and forwards the element's events (netstatus throttled). No call logic here.
 */
import { callStore } from '../../services/stores';
import { createPlayerContext } from '../../services/platform';
import { isWatching, netcallComponent, watchStore } from '../common/component';
import { forwardThrottled } from '../common/events';

netcallComponent({
  properties: {
    uid: { type: String, value: '' },
    muted: { type: Boolean, value: false },
    soundMode: { type: String, value: 'speaker' },
    objectFit: { type: String, value: 'fillCrop' },
  },
  data: {
    src: '',
  },
  observers: {
    uid() {
      // The first value is picked up in `attached`; later ones rebind this tile to another user.
      if (isWatching(this, 'src')) this.watchUser();
    },
  },
  lifetimes: {
    attached() {
      this.watchUser();
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
      const context = createPlayerContext(
        `player-${this.data.uid}`,
        this as unknown as WechatMiniprogram.Component.TrivialInstance,
      );
      context.stop();
      if (!src) {
        this.setData({ src: '' });
        return;
      }
      // A reconnect's syncDone may carry a new URL; replay on it rather than trust the element to notice.
      this.setData({ src }, () => context.play());
    },
    onStateChange(event: WechatMiniprogram.CustomEvent) {
      this.triggerEvent('statechange', event.detail);
    },
    onNetStatus(event: WechatMiniprogram.CustomEvent) {
      forwardThrottled(this, 'netstatus', event.detail);
    },
    onError(event: WechatMiniprogram.CustomEvent) {
      this.triggerEvent('error', event.detail);
    },
  },
});
