/**
 * A typed stream of events with any number of listeners: `next` calls each listener in the order
 * they subscribed, `complete` ends the stream (listeners dropped, later `next` calls ignored).
 * The part of an rxjs Subject that sessions and connections use, without loading rxjs.
 */
export interface Subscription {
  unsubscribe(): void;
}

export class Signal<T> {
  private listeners: ((value: T) => void)[] = [];
  private done = false;

  subscribe(listener: (value: T) => void): Subscription {
    if (this.done) return { unsubscribe: () => undefined };
    this.listeners.push(listener);
    return {
      unsubscribe: () => {
        this.listeners = this.listeners.filter((l) => l !== listener);
      },
    };
  }

  next(value: T): void {
    if (this.done) return;
    // A listener may unsubscribe (or subscribe) while we iterate: iterate over the current list.
    for (const l of this.listeners) l(value);
  }

  complete(): void {
    this.done = true;
    this.listeners = [];
  }

  get closed(): boolean {
    return this.done;
  }
}
