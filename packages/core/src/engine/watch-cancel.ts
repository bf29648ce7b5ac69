import type { ResultSink } from '../plugins/result-sink.js';

export interface CancelWatch {
  /** Aborts when the job's record turns `cancelled` (or when `parent` aborts): reaches the sandbox. */
  readonly signal: AbortSignal;
  /** Ends the watch (the run is over): the store's waiter is released, at once when the final record already ended it, else within a second. */
  stop(): void;
}

/**
 * Watches a running job for a cancel. `POST /jobs/{id}/cancel` publishes the
 * final `cancelled` record through the result store (from any controller), so
 * the worker running the job learns it through `wait`, the same way a client
 * learns a result (or through `onFinal`, from a store that has it), and kills
 * the run. The run's own publish then finds the record final and changes nothing.
 */
/** The reason the watch ends with: a constant, since `abort()` without one builds a DOMException (a stack) per call. */
const RUN_OVER = new Error('the run is over');
/** How long a stopped watch waits for the store's notice of the run's own final record before it aborts. */
const STOP_GRACE_MS = 1000;

export function watchCancel(results: ResultSink, jobId: string, parent?: AbortSignal): CancelWatch {
  const run = new AbortController();
  const signal = parent ? AbortSignal.any([parent, run.signal]) : run.signal;
  if (results.onFinal) {
    // A store that makes every write in this process tells the status as it is written: nothing to wait for, and
    // no grace at the end (its notice of the run's own final record, if any, has already come).
    try {
      const stop = results.onFinal(jobId, (status) => {
        if (status === 'cancelled') run.abort();
      });
      return { signal, stop };
    } catch {
      // A store that fails here only loses the cancel watch, as with `wait` below: the run goes on.
      return { signal, stop: () => undefined };
    }
  }
  const watch = new AbortController();
  // Usually the run's own final record ends the wait (an in-process store answers it at once): then there is
  // nothing to abort, and an abort (an Event dispatched through the store's listener) costs more than the watch.
  let settled = false;
  let grace: ReturnType<typeof setTimeout> | undefined;
  results
    .wait(jobId, { signal: watch.signal })
    .then((record) => {
      settled = true;
      clearTimeout(grace);
      if (record?.status === 'cancelled') run.abort();
    })
    // A store that fails here only loses the cancel watch; the run goes on and publishes as usual.
    .catch(() => undefined);
  return {
    signal,
    stop: () => {
      if (settled || grace) return;
      // A remote store's notice of the final record may still be on its way (Redis pub/sub): give it a moment,
      // since an aborted wait reads the record once more. A run that ended without a final record (handed back
      // to the queue) lets its wait go after this.
      grace = setTimeout(() => watch.abort(RUN_OVER), STOP_GRACE_MS);
      grace.unref();
    },
  };
}
