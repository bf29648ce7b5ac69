import { readFile } from 'node:fs/promises';
import type { Job } from '@nanogrid/client';
import { type CliIo, type ClientContext, parseCommand } from './client-context.js';
import { callbackOptions } from './deploy-command.js';
import { EXIT } from './exit-codes.js';
import { pretty, seconds, terminalSafe, when } from './format.js';
import { PackError } from './pack-dir.js';
import { UsageError } from './usage-error.js';

/** `--data`: inline JSON, `@file` with JSON, or `@-` for stdin. */
async function payloadOf(data: string | undefined, stdin: () => Promise<string>): Promise<unknown> {
  if (data === undefined) return {};
  let text = data;
  let from = '--data';
  if (data.startsWith('@')) {
    from = data === '@-' ? 'stdin' : data.slice(1);
    text =
      data === '@-'
        ? await stdin()
        : await readFile(data.slice(1), 'utf8').catch((err: Error) =>
            Promise.reject(new PackError(`${from}: ${err.message}`)),
          );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${from} is not JSON: ${(err as Error).message}`);
  }
}

function ref(job: Job): string {
  return job.function_name ? `${job.function_name}:${job.function_version}` : job.function_id;
}

/** A finished job for people: the result on stdout, a failure on stderr. */
function report(ctx: ClientContext, job: Job): number {
  if (ctx.json) ctx.io.out(JSON.stringify(job, null, 2));
  if (job.status === 'failed' || job.status === 'cancelled') {
    if (!ctx.json) {
      const e = job.error;
      // Exception messages often start with their type already ("ValueError: …").
      const type = e?.type && !e.message.startsWith(e.type) ? ` ${e.type}` : '';
      const message = terminalSafe(e?.message ?? '');
      ctx.io.err(`job ${job.job_id} (${ref(job)}) failed: ${e?.code ?? 'UNKNOWN'}${terminalSafe(type)}: ${message}`);
      if (e?.trace) ctx.io.err(terminalSafe(e.trace.trimEnd()));
    }
    return EXIT.FAILED;
  }
  if (!ctx.json) {
    if (job.status === 'completed') ctx.io.out(pretty(job.result ?? null));
    else ctx.io.err(`job ${job.job_id} is still ${job.status}: nanogrid status ${job.job_id}`);
    for (const link of job.output_files) ctx.io.err(`output: ${link}`);
  }
  return EXIT.OK;
}

export async function invokeCommand(
  args: string[],
  io: CliIo,
  env: NodeJS.ProcessEnv,
  stdin: () => Promise<string>,
): Promise<number> {
  const { ctx, values, positionals } = parseCommand(
    'invoke',
    args,
    {
      data: { type: 'string', short: 'd' },
      async: { type: 'boolean' },
      'callback-url': { type: 'string' },
      'callback-format': { type: 'string' },
    },
    io,
    env,
    { min: 1, max: 1, names: 'a function (name, name:version, name:alias or id)' },
  );
  const payload = await payloadOf(values['data'] as string | undefined, stdin);
  const fn = positionals[0] as string;
  const callback = callbackOptions(values);
  if (values['async']) {
    const sub = await ctx.client.submit(fn, payload, callback);
    io.out(ctx.json ? JSON.stringify(sub, null, 2) : sub.job_id);
    if (!ctx.json)
      io.err(`queued ${sub.function_name}:${sub.function_version}; follow it: nanogrid logs ${sub.job_id} --follow`);
    return EXIT.OK;
  }
  // Node's fetch gives up on an answer after 300 s: longer functions are queued and polled instead of awaited.
  const { timeout } = await ctx.client.getFunction(fn);
  if (timeout > LONGEST_SYNC_SEC) {
    const sub = await ctx.client.submit(fn, payload, callback);
    if (!ctx.json)
      io.err(`${sub.function_name}:${sub.function_version} may run up to ${timeout} s: polling job ${sub.job_id}`);
    return report(ctx, await ctx.client.wait(sub.job_id, { intervalMs: 1000 }));
  }
  return report(ctx, await ctx.client.run(fn, payload, callback));
}

/** A function whose timeout (plus the host's 30 s margin) fits in Node fetch's 300 s wait for an answer is awaited. */
const LONGEST_SYNC_SEC = 240;

export async function statusCommand(args: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const { ctx, positionals } = parseCommand('status', args, {}, io, env, { min: 1, max: 1, names: 'a job id' });
  const job = await ctx.client.status(positionals[0] as string);
  if (ctx.json) {
    io.out(JSON.stringify(job, null, 2));
    return EXIT.OK;
  }
  const rows: [string, string | undefined][] = [
    ['job', job.job_id],
    ['function', ref(job)],
    ['status', job.status],
    ['created', when(job.created_at)],
    ['started', when(job.started_at)],
    ['finished', when(job.finished_at)],
    ['duration', job.execution_time_ms !== undefined ? seconds(job.execution_time_ms) : undefined],
    ['start', job.start],
    ['error', job.error ? `${job.error.code}: ${job.error.message}` : undefined],
    ['result', job.status === 'completed' ? JSON.stringify(job.result ?? null) : undefined],
    ...job.output_files.map((f): [string, string] => ['output', f]),
  ];
  for (const [k, v] of rows) if (v !== undefined) io.out(`${k.padEnd(9)} ${v}`);
  return EXIT.OK;
}

/**
 * `logs <job> [--follow]`: the job's log tail; with --follow, its lines as it
 * prints them (stdout lines on stdout, stderr lines on stderr; --json: one
 * event per line) until it ends, exiting with the job's outcome (0 completed, 1 failed or cancelled).
 */
export async function logsCommand(args: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const { ctx, values, positionals } = parseCommand(
    'logs',
    args,
    { follow: { type: 'boolean', short: 'f' } },
    io,
    env,
    { min: 1, max: 1, names: 'a job id' },
  );
  const jobId = positionals[0] as string;
  if (values['follow']) return followLogs(ctx, jobId);
  const job = await ctx.client.logs(jobId);
  const final = job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled';
  if (ctx.json) io.out(JSON.stringify(job, null, 2));
  // A cancelled job's record keeps no logs: the lines it printed before the cancel are all there is.
  else if ((!final || !job.logs) && job.lines.length > 0)
    for (const l of job.lines) (l.stream === 'stderr' ? io.err : io.out)(terminalSafe(l.line));
  else if (job.logs) io.out(terminalSafe(job.logs.trimEnd()));
  else io.err(final ? '(no logs)' : `(no logs yet: the job is ${job.status}; --follow shows them as they come)`);
  return EXIT.OK;
}

async function followLogs(ctx: ClientContext, jobId: string): Promise<number> {
  const { io } = ctx;
  for await (const e of ctx.client.followLogs(jobId)) {
    if (ctx.json) io.out(JSON.stringify(e));
    else if (e.type === 'log') (e.stream === 'stderr' ? io.err : io.out)(terminalSafe(e.line));
    if (e.type !== 'end') continue;
    if (e.status === 'completed') return EXIT.OK;
    if (!ctx.json) io.err(`[${e.status}]${e.error ? ` ${e.error.code}: ${terminalSafe(e.error.message)}` : ''}`);
    return EXIT.FAILED;
  }
  io.err(`the log stream of ${jobId} ended before the job did (the host went away?)`);
  return EXIT.UNAVAILABLE;
}
