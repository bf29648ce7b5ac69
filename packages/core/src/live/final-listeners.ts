import { type JobStatus, isFinalStatus } from '../job.js';

/** Per-job registry of one-shot `onFinal` listeners, shared by the result stores. */
export interface FinalListeners {
  /** Adds a listener told once, at the job's final status; returns a function that removes it. */
  add(jobId: string, listener: (status: JobStatus) => void): () => void;
  /**
   * A store's `onFinal`: tells `listener` at once when `current` (the job's status as stored now) is final, with
   * nothing to remove; adds it otherwise.
   */
  onFinal(jobId: string, current: JobStatus | undefined, listener: (status: JobStatus) => void): () => void;
  /** Tells (and removes) every listener of the job. */
  notify(jobId: string, status: JobStatus): void;
  /** Listeners still waiting (for leak checks). */
  size(): number;
}

/** Creates an empty registry; each store owns its own (no shared state between stores). */
export function finalListeners(): FinalListeners {
  const finals = new Map<string, Set<(status: JobStatus) => void>>();
  const add = (jobId: string, listener: (status: JobStatus) => void): (() => void) => {
    let set = finals.get(jobId);
    if (!set) finals.set(jobId, (set = new Set()));
    const own = set;
    const stop = () => {
      own.delete(once);
      // Only drop the map entry if it is still ours (a later add may have made a new set).
      if (own.size === 0 && finals.get(jobId) === own) finals.delete(jobId);
    };
    const once = (status: JobStatus) => {
      stop();
      listener(status);
    };
    own.add(once);
    return stop;
  };
  return {
    add,
    onFinal(jobId, current, listener) {
      if (current !== undefined && isFinalStatus(current)) {
        listener(current);
        return () => undefined;
      }
      return add(jobId, listener);
    },
    notify(jobId, status) {
      // Copy first: each listener removes itself while we iterate.
      for (const fn of [...(finals.get(jobId) ?? [])]) fn(status);
    },
    size() {
      let n = 0;
      for (const set of finals.values()) n += set.size;
      return n;
    },
  };
}
