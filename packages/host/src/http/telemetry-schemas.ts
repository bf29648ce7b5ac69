import { z } from 'zod';
import 'zod-openapi'; // typed `.meta({ id })` for the document's components

/** Shapes of the statistics and the system view, the dashboard's numbers (docs/dashboard-api.md). */
const statsCounts = {
  invocations: z
    .number()
    .int()
    .meta({ description: 'Runs that finished (completed or failed; cancelled jobs are not counted)' }),
  errors: z.number().int().meta({ description: 'Runs that failed' }),
  p50_ms: z
    .number()
    .nullable()
    .meta({ description: 'Median duration, ms, within ~10% (log-scale bins); null without runs' }),
  p95_ms: z.number().nullable().meta({ description: '95th percentile duration, ms, within ~10%; null without runs' }),
  cold: z.number().int().meta({ description: 'Runs that started a new instance (or a one-shot run)' }),
  warm: z.number().int().meta({ description: 'Runs served by a kept or prewarmed instance' }),
  peak_memory_mb: z
    .number()
    .nullable()
    .meta({ description: 'Largest peak memory of a run, MiB; null when none reported one' }),
};

export const StatsTotalsSchema = z.object(statsCounts).meta({ id: 'StatsTotals' });

export const StatsBucketSchema = z
  .object({ t: z.number().int().meta({ description: 'Start of the bucket, Unix seconds' }), ...statsCounts })
  .meta({ id: 'StatsBucket' });

export const FunctionStatsSchema = z
  .object({
    function_id: z.string(),
    name: z.string(),
    from: z.string().meta({ description: 'Start of the first bucket (ISO 8601, whole minute)' }),
    to: z.string().meta({ description: 'End of the last bucket: the end of the current minute' }),
    step_s: z.number().int().meta({ description: 'Seconds per bucket' }),
    buckets: z.array(StatsBucketSchema).meta({ description: 'Oldest first, one per step, empty ones included' }),
    totals: StatsTotalsSchema,
  })
  .meta({ id: 'FunctionStats', description: 'Statistics of every version of a function over a window' });

export const StatsSummarySchema = z
  .object({
    from: z.string(),
    to: z.string(),
    functions: z.array(
      z.object({ function_id: z.string(), name: z.string(), invocations: z.number().int(), errors: z.number().int() }),
    ),
  })
  .meta({ id: 'StatsSummary', description: 'Invocations and errors of every function over a window' });

const RoleSchema = z.enum(['all', 'controller', 'worker']);

export const SandboxHealthSchema = z
  .object({
    name: z.string(),
    isolated: z.boolean(),
    status: z
      .enum(['ok', 'failing'])
      .optional()
      .meta({ description: "Its check (the Docker engine's ping) at the host's last heartbeat or now" }),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  })
  .meta({ id: 'SandboxHealth' });

export const HostInfoSchema = z
  .object({
    id: z.string(),
    role: RoleSchema,
    hostname: z.string(),
    pid: z.number().int(),
    started_at: z.string(),
    last_seen: z.string().meta({ description: 'Its last heartbeat; a host that misses 3 disappears' }),
    version: z.string(),
    sandbox: SandboxHealthSchema,
    in_flight: z.number().int().optional(),
    concurrency: z.number().int().optional(),
    desired_workers: z.number().int().optional(),
  })
  .meta({ id: 'HostInfo', description: "A host's presence heartbeat" });

export const BackendHealthSchema = z
  .object({
    role: z.enum(['queue', 'results', 'storage']),
    name: z.string(),
    status: z
      .enum(['ok', 'failing'])
      .meta({ description: 'Its check() (or one read when it has none) answered within 2 s, or not' }),
    latency_ms: z.number().optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  })
  .meta({ id: 'BackendHealth' });

export const SystemSchema = z
  .object({
    now: z.string(),
    host: z
      .object({
        id: z.string(),
        role: RoleSchema,
        version: z.string(),
        started_at: z.string(),
        uptime_s: z.number().int(),
      })
      .meta({ description: 'The controller that answered' }),
    presence: z.enum(['ok', 'failing', 'unsupported']).meta({
      description: 'Whether the host lists could be read (unsupported: the result store keeps no heartbeats)',
    }),
    controllers: z.array(HostInfoSchema).meta({ description: 'Hosts serving the API (role controller or all)' }),
    workers: z.array(HostInfoSchema).meta({ description: 'Hosts running jobs (role worker or all)' }),
    queue: z.object({
      name: z.string(),
      depth: z.number().int().nullable().meta({ description: 'null: the queue did not answer' }),
    }),
    desired_workers: z
      .number()
      .int()
      .meta({ description: "Worker capacity the answering host's autoscaling policy wants" }),
    sandbox: SandboxHealthSchema.meta({
      description: "The answering host's sandbox, or (a controller that runs no code) the first worker's",
    }),
    backends: z.array(BackendHealthSchema),
  })
  .meta({ id: 'System' });
