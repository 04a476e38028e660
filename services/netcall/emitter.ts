/**
 * A small typed multi-listener emitter. NetEase's SDK keeps one handler per event and `off` throws when
 * there is none; ours fans out, `off` is idempotent, and a throwing listener cannot starve the others.
 */
export type Listener<T> = (payload: T) => void;

export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): this {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as Listener<never>);
    return this;
  }

  once<K extends keyof Events>(name: K, listener: Listener<Events[K]>): this {
    const wrapper: Listener<Events[K]> = (payload) => {
      this.off(name, wrapper);
      listener(payload);
    };
    return this.on(name, wrapper);
  }

  /** Without a listener, removes every listener of that event. */
  off<K extends keyof Events>(name: K, listener?: Listener<Events[K]>): this {
    if (!listener) this.listeners.delete(name);
    else this.listeners.get(name)?.delete(listener as Listener<never>);
    return this;
  }

  emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (error) {
        // A broken app handler must not break the kit's own handlers on the same event.
        console.error(`[netcall] listener for "${String(name)}" threw`, error);
      }
    }
  }

  listenerCount(name: keyof Events): number {
    return this.listeners.get(name)?.size ?? 0;
  }
}
