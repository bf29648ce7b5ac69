import { client } from './session.js';
import { followSse } from './sse.js';
import type { Job, JobStatus } from './vendor/client/index.js';
import { useEffect, useState } from './vendor/htm-preact.js';

export interface JobFilter {
  fn?: string | undefined;
  status?: JobStatus | undefined;
}

/** How the list keeps up: the event stream, or polling while the stream is unavailable. */
export type LiveMode = 'connecting' | 'stream' | 'polling';

const matches = (j: Job, f: JobFilter) =>
  (!f.status || j.status === f.status) && (!f.fn || j.function_name === f.fn || j.function_id === f.fn);

function upsert(list: Job[], job: Job, filter: JobFilter, max: number): Job[] {
  const rest = list.filter((j) => j.job_id !== job.job_id);
  if (!matches(job, filter)) return rest;
  return [job, ...rest].sort((a, b) => (a.created_at < b.created_at ? 1 : -1)).slice(0, max);
}

/**
 * The newest jobs that match `filter`, kept current by `GET /jobs?follow=1`
 * (each `job` event is a record that changed); when the stream breaks it
 * reconnects, polling meanwhile.
 */
export function useLiveJobs(filter: JobFilter, max = 50): { jobs: Job[]; mode: LiveMode; error?: unknown } {
  const [jobs, setJobs] = useState<Job[]>([]);
  const [mode, setMode] = useState<LiveMode>('connecting');
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const stop = new AbortController();
    const query = {
      ...(filter.fn ? { function: filter.fn } : {}),
      ...(filter.status ? { status: filter.status } : {}),
    };
    const load = async () => {
      const page = await client().listJobs({ ...query, limit: max });
      if (!stop.signal.aborted) setJobs(page.jobs);
    };
    const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
    (async () => {
      while (!stop.signal.aborted) {
        try {
          await load();
          setError(undefined);
          const qs = new URLSearchParams({ ...query, follow: '1' }).toString();
          await followSse(
            `/jobs?${qs}`,
            (e) => {
              if (e.event === 'ready' || e.event === 'open') return setMode('stream');
              if (e.event !== 'job') return;
              setMode('stream');
              const job = JSON.parse(e.data) as Job;
              setJobs((list) => upsert(list, job, filter, max));
            },
            stop.signal,
          );
        } catch (err) {
          if (stop.signal.aborted) return;
          setError(err);
        }
        // The stream ended or is not served: poll a while, then try it again.
        setMode('polling');
        for (let i = 0; i < 5 && !stop.signal.aborted; i++) {
          await wait(2000);
          await load().catch(setError);
        }
      }
    })();
    return () => stop.abort();
  }, [filter.fn, filter.status, max]);
  return { jobs, mode, error };
}
