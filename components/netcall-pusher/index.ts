/**
 * netcall-pusher: my `<live-pusher>`, bound to the push URL in `callStore.pusher`.
 * It renders nothing until there is a URL (or, with `preview`, shows my camera before there is one: while a
 * video call rings out), starts pushing when the URL comes, restarts when a reconnect issues a new one, and
 * forwards the element's events out unchanged (netstatus throttled). It never decides anything about the
 * call: mic, camera, side and the `hint` it shows over the video are properties its parent binds, and
 * `restart()` runs when the session says so (-1307).
 */
import { callStore } from '../../services/stores/call-store';
import { createPusherContext, defaultTimers } from '../../services/platform/primitives';
import { mediaEventHandlers, netcallComponent, watchStore } from '../common/component';

/** Instances showing the camera before a URL: observers see only the new value. */
const previewing = new WeakSet<object>();

netcallComponent({
  properties: {
    // Bound straight to the element's attributes: a toggle is a property change, never a setData here.
    enableCamera: { type: Boolean, value: true },
    enableMic: { type: Boolean, value: true },
    devicePosition: { type: String, value: 'front' },
    /** Pushed while the app is in the background (WeChat's live-pusher `waiting-image`): set it, or peers see a frozen frame. */
    waitingImage: { type: String, value: '' },
    /** Show my camera before there is a push URL (`LivePusherContext.startPreview`, base library 2.7.0). */
    preview: { type: Boolean, value: false },
    /** A TileHint shown over the video ('poor-network', 'reconnecting', …); '' for none. */
    hint: { type: String, value: '' },
    /** The label set (`labels(lang)` of services/i18n) for the hint and the camera-off placeholder. */
    labels: { type: Object, value: {} },
  },
  observers: {
    preview(preview: boolean) {
      if (previewing.has(this) === preview || this.data.url) return;
      if (!preview) {
        previewing.delete(this);
        createPusherContext().stopPreview();
        return;
      }
      previewing.add(this);
      // The element mounts on the render this change causes; preview once it is there, if still wanted.
      defaultTimers.setTimeout(() => {
        if (previewing.has(this) && !this.data.url) createPusherContext().startPreview();
      }, 0);
    },
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
      // `autopush` starts the first URL by itself once `wx:if` renders the element; an element already
      // mounted for the preview has to be told.
      if (!previous) {
        if (previewing.delete(this)) this.setData({ url }, () => createPusherContext().start());
        else this.setData({ url });
        return;
      }
      if (!url) {
        createPusherContext().stop();
        // The element stays for the preview; it needs the camera back.
        if (this.data.preview) {
          previewing.add(this);
          createPusherContext().startPreview();
        }
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
