/**
 * The run slots of one worker: at most `limit` jobs execute at once, whichever
 * way they came (the queue, or a sync call handed over in-process). A job that
 * finds none waits in arrival order; a limit changed later applies as slots free.
 */
export class RunSlots {
  private used = 0;
  private readonly waiters: (() => void)[] = [];

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
      const admitted = (): void => {
        signal?.removeEventListener('abort', gaveUp);
        resolve(true);
      };
      const gaveUp = (): void => {
        const at = this.waiters.indexOf(admitted);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve(false);
      };
      signal?.addEventListener('abort', gaveUp, { once: true });
      this.waiters.push(admitted);
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

  private admit(): void {
    while (this.used < this.limit && this.waiters.length > 0) {
      this.used++;
      this.waiters.shift()?.();
    }
  }
}
