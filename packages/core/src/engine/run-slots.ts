/**
 * The run slots of one worker: at most `limit` jobs execute at once, whichever
 * way they came (the queue, or a sync call handed over in-process). A job that
 * finds none waits in arrival order; a limit changed later applies as slots free.
 */
interface Waiter {
  resolve: (held: boolean) => void;
  /** The waiters that give up with the same signal, when it has one. */
  group?: Set<Waiter>;
}

export class RunSlots {
  private used = 0;
  private readonly waiters: Waiter[] = [];
  /**
   * Waiters by the signal they give up at: one `abort` listener per signal (a worker's stop signal serves all its
   * waits), not one added and removed per wait (EventTarget listeners cost µs each, on every queued sync call).
   */
  private readonly bySignal = new WeakMap<AbortSignal, Set<Waiter>>();

  constructor(private limit: number) {}

  /** Slots held now. */
  get inUse(): number {
    return this.used;
  }

  /** Takes a slot now if one is free. */
  tryTake(): boolean {
    if (this.used >= this.limit) return false;
    this.used++;
    return true;
  }

  /**
   * Resolves true once a slot is held; false (no slot held, out of the line) when `signal` aborts first, so a
   * waiter given up at a stop never takes a slot later that nobody gives back.
   */
  take(signal?: AbortSignal): Promise<boolean> {
    if (this.tryTake()) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = { resolve };
      if (signal) {
        waiter.group = this.groupOf(signal);
        waiter.group.add(waiter);
      }
      this.waiters.push(waiter);
    });
  }

  give(): void {
    this.used--;
    this.admit();
  }

  setLimit(limit: number): void {
    this.limit = limit;
    this.admit();
  }

  private groupOf(signal: AbortSignal): Set<Waiter> {
    let group = this.bySignal.get(signal);
    if (!group) {
      const own = new Set<Waiter>();
      group = own;
      this.bySignal.set(signal, own);
      signal.addEventListener(
        'abort',
        () => {
          for (const w of own) {
            const at = this.waiters.indexOf(w);
            if (at >= 0) this.waiters.splice(at, 1);
            w.resolve(false);
          }
          own.clear();
        },
        { once: true },
      );
    }
    return group;
  }

  private admit(): void {
    while (this.used < this.limit && this.waiters.length > 0) {
      this.used++;
      const w = this.waiters.shift();
      w?.group?.delete(w);
      w?.resolve(true);
    }
  }
}
