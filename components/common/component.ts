/**
 * What every kit component shares. The `Component()` wrapper (vant's `VantComponent` idea) fixes the shared
 * options once and disposes every store watcher of an instance when it is detached, so no component can leak
 * a reaction; and the media tiles' event forwarding. It must stay thin: no behaviours and no call logic. One
 * module, because each file a mini-program ships carries its own CommonJS preamble (bench/budgets.json).
 */
import { reaction, type IReactionOptions } from 'mobx-miniprogram';
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
