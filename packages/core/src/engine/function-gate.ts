/**
 * Per-function concurrency on one worker: at most `limit` jobs of a function
 * run at once; the rest wait in arrival order (FIFO) and start as soon as one
 * of the same function finishes. Waiting costs no run slot of the worker, so a
 * busy function never holds back the others.
 */
export class FunctionGate {
  private readonly active = new Map<string, number>();
  private readonly queues = new Map<string, (() => void)[]>();
  private waitingCount = 0;

  /** Jobs waiting for a slot of their function, over every function. */
  get waiting(): number {
    return this.waitingCount;
  }

  /** Jobs of `functionId` running now. */
  running(functionId: string): number {
    return this.active.get(functionId) ?? 0;
  }

  /** Resolves with a release function once the job may run. */
  async acquire(functionId: string, limit: number): Promise<() => void> {
    if (this.running(functionId) >= limit || (this.queues.get(functionId)?.length ?? 0) > 0) {
      this.waitingCount++;
      try {
        await new Promise<void>((resolve) => {
          const q = this.queues.get(functionId) ?? [];
          q.push(resolve);
          this.queues.set(functionId, q);
        });
      } finally {
        this.waitingCount--;
      }
    } else {
      this.active.set(functionId, this.running(functionId) + 1);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(functionId);
    };
  }

  /** Hands the slot to the next waiter of the function (the count stays), or frees it. */
  private release(functionId: string): void {
    const q = this.queues.get(functionId);
    const next = q?.shift();
    if (q && q.length === 0) this.queues.delete(functionId);
    if (next) return next();
    const n = this.running(functionId) - 1;
    if (n > 0) this.active.set(functionId, n);
    else this.active.delete(functionId);
  }
}
