import type { JobListQuery, JobStatus } from '@nanogrid/client';
import { type CliIo, parseCommand } from './client-context.js';
import { EXIT } from './exit-codes.js';
import { seconds, table, when } from './format.js';
import { UsageError } from './usage-error.js';

const STATUSES: readonly JobStatus[] = ['pending', 'running', 'completed', 'failed', 'cancelled'];

/** `cancel <job>`: a pending job never runs, a running one is killed; it ends `cancelled`. */
export async function cancelCommand(args: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const { ctx, positionals } = parseCommand('cancel', args, {}, io, env, { min: 1, max: 1, names: 'a job id' });
  const job = await ctx.client.cancel(positionals[0] as string);
  if (ctx.json) io.out(JSON.stringify(job, null, 2));
  else io.out(`job ${job.job_id} cancelled`);
  return EXIT.OK;
}

/** `jobs [--function F] [--status S] [--since T] [--limit N] [--cursor C]`: recent jobs, newest first. */
export async function jobsCommand(args: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const { ctx, values } = parseCommand(
    'jobs',
    args,
    {
      function: { type: 'string' },
      status: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
    },
    io,
    env,
    { min: 0, max: 0, names: '' },
  );
  const query: JobListQuery = {};
  const status = values['status'] as string | undefined;
  if (status !== undefined) {
    if (!STATUSES.includes(status as JobStatus)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
    query.status = status as JobStatus;
  }
  const limit = values['limit'] as string | undefined;
  if (limit !== undefined) {
    if (!/^\d{1,3}$/.test(limit)) throw new UsageError('--limit must be a whole number from 1 to 100');
    query.limit = Number(limit);
  }
  for (const k of ['function', 'since', 'cursor'] as const) {
    const v = values[k] as string | undefined;
    if (v !== undefined) query[k] = v;
  }
  const page = await ctx.client.listJobs(query);
  if (ctx.json) {
    io.out(JSON.stringify(page, null, 2));
    return EXIT.OK;
  }
  const rows = page.jobs.map((j) => [
    j.job_id,
    j.function_name ? `${j.function_name}:${j.function_version}` : j.function_id,
    j.status,
    when(j.created_at),
    j.execution_time_ms !== undefined ? seconds(j.execution_time_ms) : '',
  ]);
  for (const line of table(['JOB', 'FUNCTION', 'STATUS', 'CREATED', 'DURATION'], rows)) io.out(line);
  if (page.next_cursor) io.err(`more: nanogrid jobs --cursor ${page.next_cursor}`);
  return EXIT.OK;
}
