/**
 * The kit's `Component()` wrapper (vant's `VantComponent` idea): fixes the shared options once and
 * disposes every store watcher of an instance when it is detached, so no component can leak a reaction.
 * It must stay thin: shared options and reaction cleanup only, no behaviours and no call logic.
 */
import { reaction, type IReactionOptions } from 'mobx-miniprogram';

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
