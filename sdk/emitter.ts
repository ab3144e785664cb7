/**
 * A small typed event emitter: `on` returns the function that removes the listener, so every
 * subscription has its cleanup at hand. A throwing listener never breaks the emitter.
 *
 * `Events` maps each event name to its payload. It is an interface without an index signature,
 * so a misspelt name (`call.on('remote-steam', …)`) is a compile error and every payload is
 * typed by its name.
 */
export type Listener<T> = (payload: T) => void;

/** The names of an event map (string keys only). */
export type EventName<Events> = keyof Events & string;

export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends EventName<Events>>(name: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(name, listener);
  }

  once<K extends EventName<Events>>(name: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(name, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  off<K extends EventName<Events>>(name: K, listener: Listener<Events[K]>): void {
    this.listeners.get(name)?.delete(listener as Listener<never>);
  }

  protected emit<K extends EventName<Events>>(name: K, payload: Events[K]): void {
    for (const listener of [...(this.listeners.get(name) ?? [])]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (error) {
        // A host page's bug must not break the call; surface it where developers look.
        setTimeout(() => {
          throw error;
        });
      }
    }
  }

  protected removeAllListeners(): void {
    this.listeners.clear();
  }
}
