import { type JobRecord, type JobService, type JobWatchFilter, type LogLine, NanoGridError } from '@nanogrid/core';
import type { Context } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import { jobView } from './views.js';

export interface LiveRoutesDeps {
  jobs: Pick<JobService, 'status' | 'followLogs' | 'watch'>;
  /** Aborted at shutdown: open streams end. */
  shutdownSignal?: AbortSignal;
  /** A `: ping` comment this often keeps proxies and browsers from closing a quiet stream. @default 15_000 */
  heartbeatMs?: number;
  /** Bytes of events queued for a slow client before its stream is closed. @default MAX_QUEUED_EVENT_BYTES (16 MiB) */
  maxQueuedBytes?: number;
  /**
   * Bytes queued for all the slow clients of this host together (shared by its streams): a
   * stream whose next event does not fit is closed. Without it, 1,000 streams that never read
   * could hold 1,000 × maxQueuedBytes. @default no bound across streams
   */
  queueBudget?: EventQueueBudget;
}

/** Bytes of events queued across every stream of one host. */
export interface EventQueueBudget {
  readonly maxBytes: number;
  used: number;
}

/** Queued bytes across all streams of a host before the stream that would pass it is closed. */
export const MAX_QUEUED_EVENT_BYTES_TOTAL = 64 * 1024 * 1024;

/** `follow` of a query: absent or 0/false is off, 1/true on; anything else is named. */
export function readFollow(c: Context): boolean {
  const v = c.req.query('follow');
  if (v === undefined || v === '0' || v === 'false') return false;
  if (v === '1' || v === 'true') return true;
  throw new NanoGridError('VALIDATION_FAILED', 'follow must be 1 or 0 (true or false)', {
    details: { field: 'follow' },
  });
}

/** What the `end` event of a job's log stream says: how the job ended. */
export function logEnd(r: JobRecord): { job_id: string; status: JobRecord['status']; error?: JobRecord['error'] } {
  return { job_id: r.job_id, status: r.status, ...(r.error ? { error: r.error } : {}) };
}

/** Bytes of events queued for a client that reads too slowly; past it the stream is closed (it may reconnect). */
export const MAX_QUEUED_EVENT_BYTES = 16 * 1024 * 1024;

/** Sends one event (JSON on one `data:` line) without waiting for the client to read it. */
type Send = (event: string, data: unknown) => void;

/**
 * An SSE response that ends when `run` resolves, the client goes away, reads
 * so slowly that MAX_QUEUED_EVENT_BYTES wait for it, or the host shuts down
 * (its signal aborts: subscriptions are released by `run`), with a heartbeat
 * comment meanwhile.
 */
function sse(
  c: Context,
  deps: LiveRoutesDeps,
  run: (send: Send, stream: SSEStreamingApi, signal: AbortSignal) => Promise<void>,
) {
  c.header('X-Accel-Buffering', 'no'); // a proxy in front must pass events on as they come
  return streamSSE(c, async (stream) => {
    const ac = new AbortController();
    const stop = () => ac.abort();
    stream.onAbort(stop);
    deps.shutdownSignal?.addEventListener('abort', stop, { once: true });
    if (deps.shutdownSignal?.aborted) stop();
    const ping = setInterval(() => void stream.write(': ping\n\n').catch(stop), deps.heartbeatMs ?? 15_000);
    let queued = 0;
    const total = deps.queueBudget;
    const send: Send = (event, data) => {
      if (ac.signal.aborted) return;
      const text = JSON.stringify(data);
      const mine = queued + text.length > (deps.maxQueuedBytes ?? MAX_QUEUED_EVENT_BYTES);
      if (mine || (total && total.used + text.length > total.maxBytes)) {
        stop(); // a client this far behind is dropped, not buffered for
        void stream.abort();
        return;
      }
      queued += text.length;
      if (total) total.used += text.length;
      // Events queue in order on the stream; a client that is gone aborts the stream instead.
      stream.writeSSE({ event, data: text }).then(
        () => {
          if (ac.signal.aborted) return; // given back in full when the stream ended
          queued -= text.length;
          if (total) total.used -= text.length;
        },
        () => stop(),
      );
    };
    try {
      await stream.write(': connected\n\n'); // headers and a first byte now: fetch() resolves at once
      await run(send, stream, ac.signal);
    } finally {
      clearInterval(ping);
      deps.shutdownSignal?.removeEventListener('abort', stop);
      ac.abort();
      // What still waits for this client is dropped with its stream.
      if (total) total.used -= queued;
      queued = 0;
    }
  });
}

/** `GET /jobs/{job_id}/logs?follow=1`: `log` events while the job runs, then one `end` event. */
export async function followLogsResponse(c: Context, deps: LiveRoutesDeps, jobId: string): Promise<Response> {
  await deps.jobs.status(jobId); // JOB_NOT_FOUND is a 404, before the stream starts
  return sse(c, deps, async (send, stream, signal) => {
    const end = await deps.jobs.followLogs(
      jobId,
      (lines: LogLine[]) => {
        for (const l of lines) send('log', { stream: l.stream, line: l.line, t: l.t });
      },
      signal,
    );
    if (end && !signal.aborted) await stream.writeSSE({ event: 'end', data: JSON.stringify(logEnd(end)) });
  });
}

/** A job event: the job's view, with no `result` when the event left it out (GET /jobs/{id} has it). */
function jobEventView(r: JobRecord) {
  const view = jobView(r);
  if (r.result === undefined) delete view.result;
  return view;
}

/** `GET /jobs?follow=1`: a `job` event per status change of the jobs the filter matches. */
export async function watchJobsResponse(c: Context, deps: LiveRoutesDeps, filter: JobWatchFilter): Promise<Response> {
  // Listening starts before the response, so a store without job events answers a plain error.
  const ac = new AbortController();
  const early: JobRecord[] = [];
  let target: Send | undefined;
  await deps.jobs.watch(filter, (r) => (target ? target('job', jobEventView(r)) : early.push(r)), ac.signal);
  return sse(c, deps, async (send, _stream, signal) => {
    target = send;
    for (const r of early.splice(0)) send('job', jobEventView(r));
    if (!signal.aborted)
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    ac.abort();
  });
}
