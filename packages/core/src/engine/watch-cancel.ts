import type { ResultSink } from '../plugins/result-sink.js';

export interface CancelWatch {
  /** Aborts when the job's record turns `cancelled` (or when `parent` aborts): reaches the sandbox. */
  readonly signal: AbortSignal;
  /** Ends the watch (the run is over); the store's waiter is released. */
  stop(): void;
}

/**
 * Watches a running job for a cancel. `POST /jobs/{id}/cancel` publishes the
 * final `cancelled` record through the result store (from any controller), so
 * the worker running the job learns it through `wait`, the same way a client
 * learns a result, and kills the run. The run's own publish then finds the
 * record final and changes nothing.
 */
/** The reason the watch ends with: a constant, since `abort()` without one builds a DOMException (a stack) per call. */
const RUN_OVER = new Error('the run is over');

export function watchCancel(results: ResultSink, jobId: string, parent?: AbortSignal): CancelWatch {
  const run = new AbortController();
  const watch = new AbortController();
  // Usually the run's own final record ends the wait (an in-process store answers it at once): then there is
  // nothing to abort, and an abort (an Event dispatched through the store's listener) costs more than the watch.
  let settled = false;
  results
    .wait(jobId, { signal: watch.signal })
    .then((record) => {
      settled = true;
      if (record?.status === 'cancelled') run.abort();
    })
    // A store that fails here only loses the cancel watch; the run goes on and publishes as usual.
    .catch(() => undefined);
  return {
    signal: parent ? AbortSignal.any([parent, run.signal]) : run.signal,
    stop: () => {
      if (!settled) watch.abort(RUN_OVER);
    },
  };
}
