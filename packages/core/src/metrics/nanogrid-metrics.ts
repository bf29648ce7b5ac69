import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JobRecord } from '../job.js';

/**
 * The Prometheus metrics of one host, on a registry of its own (no global
 * default registry): queue depth, in-flight jobs and desired capacity for a
 * scaler; invocations, durations, cold/warm starts and peak memory per function.
 */
export class NanoGridMetrics {
  readonly registry = new Registry();
  readonly queueDepth = new Gauge({
    name: 'nanogrid_queue_depth',
    help: 'Jobs waiting in the queue',
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'nanogrid_jobs_in_flight',
    help: 'Jobs running on this worker',
    registers: [this.registry],
  });
  readonly desiredCapacity = new Gauge({
    name: 'nanogrid_desired_workers',
    help: 'Worker capacity the autoscaling policy wants',
    registers: [this.registry],
  });
  readonly concurrency = new Gauge({
    name: 'nanogrid_worker_concurrency',
    help: 'Jobs this worker runs at once',
    registers: [this.registry],
  });
  readonly warmCapacity = new Gauge({
    name: 'nanogrid_warm_capacity',
    help: 'Warm instances this worker may keep',
    registers: [this.registry],
  });
  readonly waiting = new Gauge({
    name: 'nanogrid_jobs_waiting_for_function',
    help: 'Jobs held by this worker until their function has a free slot',
    registers: [this.registry],
  });
  readonly invocations = new Counter({
    name: 'nanogrid_invocations_total',
    help: 'Finished invocations by function, runtime and status',
    labelNames: ['function_id', 'status', 'code'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'nanogrid_invocation_duration_seconds',
    help: 'Execution time of finished invocations',
    labelNames: ['function_id'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly starts = new Counter({
    name: 'nanogrid_starts_total',
    help: 'Invocations by start kind (cold or warm)',
    labelNames: ['function_id', 'start'] as const,
    registers: [this.registry],
  });
  readonly peakMemory = new Gauge({
    name: 'nanogrid_peak_memory_bytes',
    help: 'Peak memory of the last finished invocation of a function (PeakMemoryBytes of the original)',
    labelNames: ['function_id'] as const,
    registers: [this.registry],
  });

  readonly webhooks = new Counter({
    name: 'nanogrid_webhook_attempts_total',
    help: 'Completion webhook attempts by outcome (delivered, retry, failed, expired)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** Records one final job record. */
  observe(record: JobRecord): void {
    const fn = record.function_id;
    this.invocations.inc({ function_id: fn, status: record.status, code: record.error?.code ?? '' });
    if (record.execution_time_ms !== undefined)
      this.duration.observe({ function_id: fn }, record.execution_time_ms / 1000);
    this.starts.inc({ function_id: fn, start: record.start ?? 'cold' });
    if (record.peak_memory_bytes !== undefined) this.peakMemory.set({ function_id: fn }, record.peak_memory_bytes);
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
