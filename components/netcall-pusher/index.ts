/**
 * netcall-pusher: my `<live-pusher>`, bound to the push URL in `callStore.pusher`.
 * It renders nothing until there is a URL, restarts when a reconnect issues a new one, and forwards the
 * element's events out unchanged (netstatus throttled). It never decides anything about the call: mic,
 * camera and side are properties its parent binds (`sessionStore.local` via netcall-room), and `restart()`
 * runs when the session says so (-1307).
 */
import { callStore } from '../../services/stores/call-store';
import { createPusherContext } from '../../services/platform/media';
import { netcallComponent, watchStore } from '../common/component';
import { mediaEventHandlers } from '../common/events';

netcallComponent({
  properties: {
    // Bound straight to the element's attributes: a toggle is a property change, never a setData here.
    enableCamera: { type: Boolean, value: true },
    enableMic: { type: Boolean, value: true },
    devicePosition: { type: String, value: 'front' },
    /** Pushed while the app is in the background (WeChat's live-pusher `waiting-image`): set it, or peers see a frozen frame. */
    waitingImage: { type: String, value: '' },
  },
  data: {
    url: '',
  },
  lifetimes: {
    attached() {
      watchStore(
        this,
        'url',
        () => (callStore.pusher ? callStore.pusher.url : ''),
        (url) => this.bindUrl(url),
      );
    },
  },
  methods: {
    bindUrl(url: string) {
      const previous = this.data.url;
      if (url === previous) return;
      // `autopush` starts the first URL by itself once `wx:if` renders the element.
      if (!previous) {
        this.setData({ url });
        return;
      }
      if (!url) {
        createPusherContext().stop();
        this.setData({ url: '' });
        return;
      }
      // A reconnect's syncDone may carry a new signed URL; the running push would keep the old one.
      this.setData({ url }, () => this.restart());
    },
    /**
     * Restarts the push (-1307: the engine gave up reconnecting, per WeChat's live-pusher statechange codes), `start` only in `stop`'s
     * `complete` as NetEase's yunxin-pusher does. Without a URL there is no element to restart.
     */
    restart() {
      if (!this.data.url) return;
      const context = createPusherContext();
      context.stop({ complete: () => context.start() });
    },
    ...mediaEventHandlers,
  },
});
