import type { FunctionStats, HostInfo } from '@nanogrid/client';
import { type CliIo, parseCommand } from './client-context.js';
import { EXIT } from './exit-codes.js';
import { table, when } from './format.js';

const ms = (v: number | null) => (v === null ? undefined : `${v} ms`);
const mb = (v: number | null) => (v === null ? undefined : `${v} MB`);

/**
 * `stats [function] [--window 1h] [--step s]`: without a function, invocations and
 * errors of every function; with one, its totals and a row per bucket that had runs.
 * The window and step are checked by the host (VALIDATION_FAILED names the field).
 */
export async function statsCommand(args: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const { ctx, values, positionals } = parseCommand(
    'stats',
    args,
    { window: { type: 'string' }, step: { type: 'string' } },
    io,
    env,
    { min: 0, max: 1, names: 'at most one function' },
  );
  const window = values['window'] as string | undefined;
  const step = values['step'] as string | undefined;
  const ref = positionals[0];
  if (ref === undefined) {
    const summary = await ctx.client.statsSummary(window ? { window } : {});
    if (ctx.json) io.out(JSON.stringify(summary, null, 2));
    else
      for (const line of table(
        ['FUNCTION', 'INVOCATIONS', 'ERRORS'],
        summary.functions.map((f) => [f.name, f.invocations, f.errors]),
      ))
        io.out(line);
    return EXIT.OK;
  }
  // Window and step go to the host as typed: a bad one is its VALIDATION_FAILED naming the field.
  const params = new URLSearchParams();
  if (window !== undefined) params.set('window', window);
  if (step !== undefined) params.set('step', step);
  const qs = params.toString();
  const stats = await ctx.client.request<FunctionStats>(
    'GET',
    `/functions/${encodeURIComponent(ref)}/stats${qs ? `?${qs}` : ''}`,
  );
  if (ctx.json) {
    io.out(JSON.stringify(stats, null, 2));
    return EXIT.OK;
  }
  const t = stats.totals;
  io.out(`${stats.name}  ${when(stats.from)} → ${when(stats.to)} UTC, ${stats.step_s} s buckets`);
  const rows = [
    ['total', t.invocations, t.errors, ms(t.p50_ms), ms(t.p95_ms), t.cold, t.warm, mb(t.peak_memory_mb)],
    ...stats.buckets
      .filter((b) => b.invocations > 0)
      .map((b) => [
        when(new Date(b.t * 1000).toISOString()),
        b.invocations,
        b.errors,
        ms(b.p50_ms),
        ms(b.p95_ms),
        b.cold,
        b.warm,
        mb(b.peak_memory_mb),
      ]),
  ];
  for (const line of table(['BUCKET', 'INVOCATIONS', 'ERRORS', 'P50', 'P95', 'COLD', 'WARM', 'PEAK MEM'], rows))
    io.out(line);
  return EXIT.OK;
}

/** `system`: the hosts seen, the queue, desired workers, the sandbox and the backends' health. */
export async function systemCommand(args: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const { ctx } = parseCommand('system', args, {}, io, env, { min: 0, max: 0, names: '' });
  const s = await ctx.client.system();
  if (ctx.json) {
    io.out(JSON.stringify(s, null, 2));
    return EXIT.OK;
  }
  const hosts = new Map<string, HostInfo>();
  for (const h of [...s.controllers, ...s.workers]) hosts.set(h.id, h);
  const sandbox = (h: HostInfo) => `${h.sandbox.name}${h.sandbox.status === 'failing' ? ' (FAILING)' : ''}`;
  for (const line of table(
    ['HOST', 'ROLE', 'HOSTNAME', 'PID', 'VERSION', 'SANDBOX', 'IN FLIGHT', 'LAST SEEN'],
    [...hosts.values()].map((h) => [
      h.id,
      h.role,
      h.hostname,
      h.pid,
      h.version,
      sandbox(h),
      h.in_flight,
      when(h.last_seen),
    ]),
  ))
    io.out(line);
  io.out('');
  io.out(`queue ${s.queue.name}: ${s.queue.depth ?? 'no answer'} waiting · desired workers ${s.desired_workers}`);
  io.out(
    `sandbox ${s.sandbox.name}${s.sandbox.isolated ? ' (isolated)' : ' (NOT isolated)'}: ${s.sandbox.status ?? 'unknown'}`,
  );
  for (const b of s.backends)
    io.out(
      `${b.role} ${b.name}: ${b.status}${b.latency_ms !== undefined ? ` (${b.latency_ms} ms)` : ''}${b.error ? ` ${b.error.code}: ${b.error.message}` : ''}`,
    );
  return EXIT.OK;
}
