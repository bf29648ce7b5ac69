/**
 * In-process wake-ups: long-polling receivers and result waiters sleep until
 * something changes, a timer runs out or their signal aborts — never polling.
 */
export class Wakeups {
  private readonly sleepers = new Set<() => void>();

  /** Wakes every sleeper. */
  wake(): void {
    for (const w of [...this.sleepers]) w();
  }

  /** Resolves on the next `wake()`, after `ms`, or on abort. */
  next(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.sleepers.add(done);
    });
  }
}
