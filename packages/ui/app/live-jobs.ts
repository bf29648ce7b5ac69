import { client } from './session.js';
import { followSse } from './sse.js';
import type { Job, JobStatus } from './vendor/client/index.js';
import { useEffect, useState } from './vendor/htm-preact.js';

export interface JobFilter {
  fn?: string | undefined;
  status?: JobStatus | undefined;
}

/** Jobs the live list keeps as new ones arrive (it reads `max` at first; older pages are read on demand). */
const KEEP = 500;

/** How the list keeps up: the event stream, or polling while the stream is unavailable. */
export type LiveMode = 'connecting' | 'stream' | 'polling';

const matches = (j: Job, f: JobFilter) =>
  (!f.status || j.status === f.status) && (!f.fn || j.function_name === f.fn || j.function_id === f.fn);

/** Adds or replaces jobs (the newer record of a job wins: a page read may be older than an event), newest first. */
function merge(list: Job[], incoming: Job[], filter: JobFilter, max: number): Job[] {
  const byId = new Map(list.map((j) => [j.job_id, j]));
  for (const job of incoming) {
    const known = byId.get(job.job_id);
    if (known && known.updated_at > job.updated_at) continue;
    if (matches(job, filter)) byId.set(job.job_id, job);
    else byId.delete(job.job_id);
  }
  return [...byId.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : -1)).slice(0, max);
}

/**
 * The newest jobs that match `filter`, kept current by `GET /jobs?follow=1`
 * (each `job` event is a record that changed); when the stream breaks it
 * reconnects, polling meanwhile.
 */
export function useLiveJobs(
  filter: JobFilter,
  max = 50,
): { jobs: Job[]; mode: LiveMode; error?: unknown; cursor?: string | undefined } {
  const [jobs, setJobs] = useState<Job[]>([]);
  // Where the pages after the live one start (GET /jobs next_cursor of the latest read).
  const [cursor, setCursor] = useState<string>();
  const [mode, setMode] = useState<LiveMode>('connecting');
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const stop = new AbortController();
    setJobs([]);
    const query = {
      ...(filter.fn ? { function: filter.fn } : {}),
      ...(filter.status ? { status: filter.status } : {}),
    };
    const load = async () => {
      const page = await client().listJobs({ ...query, limit: max });
      if (stop.signal.aborted) return;
      setJobs((list) => merge(list, page.jobs, filter, KEEP));
      setCursor(page.next_cursor);
    };
    const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
    (async () => {
      while (!stop.signal.aborted) {
        try {
          const qs = new URLSearchParams({ ...query, follow: '1' }).toString();
          // The page is read once the stream listens, so no change falls between the two.
          await followSse(
            `/jobs?${qs}`,
            (e) => {
              if (e.event !== 'job') return;
              const job = JSON.parse(e.data) as Job;
              setJobs((list) => merge(list, [job], filter, KEEP));
            },
            stop.signal,
            () => {
              setMode('stream');
              setError(undefined);
              load().catch(setError);
            },
          );
        } catch (err) {
          if (stop.signal.aborted) return;
          setError(err);
        }
        // The stream ended or is not served: poll a while, then try it again.
        setMode('polling');
        for (let i = 0; i < 5 && !stop.signal.aborted; i++) {
          await load().catch(setError);
          await wait(2000);
        }
      }
    })();
    return () => stop.abort();
  }, [filter.fn, filter.status, max]);
  return { jobs, mode, error, cursor };
}
