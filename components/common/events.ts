/**
 * Forwarding media element events out of a component. `netstatus` fires several times a second per
 * stream (WeChat's netstatus event of live-pusher/live-player), so it is throttled here and never copied into `data`.
 */
import { defaultTimers } from '../../services/platform/timers';

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
