/**
 * At most `limit` tasks run at once; the rest wait in order. Callbacks to a slow or
 * dead receiver must not open one connection per pending entry (a retry storm).
 */
export interface ParallelGate {
  run<T>(task: () => Promise<T>): Promise<T>;
}

export function parallelGate(limit: number): ParallelGate {
  let active = 0;
  // A queue read from `head` (Array.shift is O(n): thousands of waiters made it quadratic).
  let waiting: (() => void)[] = [];
  let head = 0;
  return {
    async run(task) {
      if (active >= limit) await new Promise<void>((go) => waiting.push(go));
      else active++;
      try {
        return await task();
      } finally {
        // The slot passes to the next waiter as is, so `active` never drops below the work in hand.
        const next = waiting[head];
        if (next) {
          waiting[head++] = undefined as never;
          if (head === waiting.length) {
            waiting = [];
            head = 0;
          }
          next();
        } else active--;
      }
    },
  };
}
