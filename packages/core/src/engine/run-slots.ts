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

  /** Resolves once a slot is held. */
  take(): Promise<void> {
    if (this.tryTake()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
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
