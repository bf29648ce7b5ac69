import { type FunctionRegistry, type JobQuery, type JobService, type JobStatus, NanoGridError } from '@nanogrid/core';
import type { Context, Hono } from 'hono';
import {
  type LiveRoutesDeps,
  MAX_QUEUED_EVENT_BYTES_TOTAL,
  followLogsResponse,
  readFollow,
  watchJobsResponse,
} from './live-routes.js';
import { jobView } from './views.js';

export interface JobRoutesDeps extends Omit<LiveRoutesDeps, 'jobs'> {
  registry: Pick<FunctionRegistry, 'get'>;
  jobs: Pick<JobService, 'status' | 'cancel' | 'list' | 'followLogs' | 'watch' | 'logs'>;
}

const STATUSES: readonly JobStatus[] = ['pending', 'running', 'completed', 'failed', 'cancelled'];
/** Jobs per page of `GET /jobs`. */
export const JOB_PAGE_DEFAULT = 20;
export const JOB_PAGE_MAX = 100;

const bad = (field: string, message: string) => new NanoGridError('VALIDATION_FAILED', message, { details: { field } });

/** `GET /jobs`'s query, checked: every field optional, each wrong one named. */
async function readJobQuery(c: Context, registry: JobRoutesDeps['registry']): Promise<JobQuery> {
  const q = c.req.query();
  const limitText = q.limit ?? String(JOB_PAGE_DEFAULT);
  const limit = /^\d{1,4}$/.test(limitText) ? Number(limitText) : Number.NaN;
  if (!(limit >= 1 && limit <= JOB_PAGE_MAX))
    throw bad('limit', `limit must be a whole number from 1 to ${JOB_PAGE_MAX}`);
  const query: JobQuery = { limit };
  if (q.status !== undefined) {
    if (!STATUSES.includes(q.status as JobStatus)) throw bad('status', `status must be one of ${STATUSES.join(', ')}`);
    query.status = q.status as JobStatus;
  }
  if (q.since !== undefined) {
    const t = q.since.length <= 40 ? Date.parse(q.since) : Number.NaN;
    if (Number.isNaN(t)) throw bad('since', 'since must be an ISO 8601 time, e.g. 2026-01-31T12:00:00Z');
    query.since = new Date(t).toISOString();
  }
  if (q.cursor !== undefined) {
    if (q.cursor.length === 0 || q.cursor.length > 1024)
      throw bad('cursor', 'cursor must be the next_cursor of a page');
    query.cursor = q.cursor;
  }
  // A name, id or name:version: the jobs of that function (every version).
  if (q.function !== undefined) query.function_id = (await registry.get(q.function, 'function')).function_id;
  return query;
}

/**
 * `GET /jobs` (`?follow=1`: job events), `GET /jobs/{id}` (what `/status/{id}` answers),
 * `GET /jobs/{id}/logs` (`?follow=1`: live), `POST /jobs/{id}/cancel`.
 */
export function jobRoutes(app: Hono, given: JobRoutesDeps): void {
  // One budget for every event stream this host serves.
  const deps: JobRoutesDeps = { queueBudget: { maxBytes: MAX_QUEUED_EVENT_BYTES_TOTAL, used: 0 }, ...given };
  app.get('/jobs', async (c) => {
    const follow = readFollow(c);
    const query = await readJobQuery(c, deps.registry);
    if (follow) {
      const { function_id, status } = query;
      return watchJobsResponse(c, deps, { ...(function_id ? { function_id } : {}), ...(status ? { status } : {}) });
    }
    const page = await deps.jobs.list(query);
    return c.json({
      jobs: page.jobs.map((r) => jobView(r)),
      ...(page.next_cursor ? { next_cursor: page.next_cursor } : {}),
    });
  });
  app.get('/jobs/:job_id', async (c) =>
    c.json(jobView(await deps.jobs.status(c.req.param('job_id')), { withPayload: true })),
  );
  app.get('/jobs/:job_id/logs', async (c) => {
    const jobId = c.req.param('job_id');
    if (readFollow(c)) return followLogsResponse(c, deps, jobId);
    const { record: r, lines } = await deps.jobs.logs(jobId);
    return c.json({ job_id: r.job_id, status: r.status, logs: r.logs ?? '', lines });
  });
  app.post('/jobs/:job_id/cancel', async (c) => c.json(jobView(await deps.jobs.cancel(c.req.param('job_id')))));
}
