import type { WorkerLoop } from '../engine/worker-loop.js';
import type { Logger } from '../logger.js';
import type { NanoGridMetrics } from '../metrics/nanogrid-metrics.js';
import type { QueueSource } from '../plugins/queue-source.js';
import type { Sandbox } from '../plugins/sandbox.js';
import { AutoscalePolicy, type AutoscalePolicyOptions, type ScalingDecision } from './autoscale-policy.js';

export interface AutoscalerOptions extends AutoscalePolicyOptions {
  /** How often queue depth and in-flight work are sampled. @default 15_000 */
  intervalMs?: number;
  /** Local concurrency at `min` desired workers. @default the worker's concurrency */
  baseConcurrency?: number;
  /** Local concurrency at `max` desired workers. @default baseConcurrency (local concurrency stays put) */
  maxConcurrency?: number;
  /** Warm instances at base concurrency; scaled in proportion with it. @default 16 */
  baseWarmCapacity?: number;
}

/**
 * Samples the queue and the worker, asks the policy, exports the answer as
 * `nanogrid_desired_workers` for an external scaler (ASG, KEDA) and scales
 * this worker's own concurrency between base and max along with it, and the
 * sandbox's warm capacity in proportion (more jobs at once need more warm
 * instances).
 */
export class Autoscaler {
  readonly policy: AutoscalePolicy;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly base: number;
  private readonly maxConc: number;

  constructor(
    private readonly queue: QueueSource,
    private readonly worker: WorkerLoop | undefined,
    private readonly metrics: NanoGridMetrics,
    private readonly logger: Logger,
    private readonly opts: AutoscalerOptions = {},
    private readonly sandbox?: Pick<Sandbox, 'setWarmCapacity'>,
  ) {
    this.policy = new AutoscalePolicy(opts);
    this.base = opts.baseConcurrency ?? worker?.concurrency ?? 1;
    this.maxConc = Math.max(this.base, opts.maxConcurrency ?? this.base);
    metrics.desiredCapacity.set(this.policy.desired);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(
      () =>
        void this.tick().catch((err: Error) => this.logger.warn('autoscale: sample failed', { error: err.message })),
      this.opts.intervalMs ?? 15_000,
    );
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One sample and decision. */
  async tick(now = Date.now()): Promise<ScalingDecision> {
    // Sync calls waiting in this worker's memory for a run slot are a backlog as much as queued jobs.
    const queueDepth = (await this.queue.depth()) + (this.worker?.waitingInProcess ?? 0);
    const inFlight = this.worker?.inFlight ?? 0;
    const decision = this.policy.decide({ queueDepth, inFlight, now });
    this.metrics.queueDepth.set(queueDepth);
    this.metrics.inFlight.set(inFlight);
    this.metrics.desiredCapacity.set(decision.desired);
    if (this.worker) {
      const span = this.policy.max - this.policy.min;
      const share = span === 0 ? 0 : (decision.desired - this.policy.min) / span;
      this.worker.setConcurrency(Math.round(this.base + (this.maxConc - this.base) * share));
      this.metrics.concurrency.set(this.worker.concurrency);
      this.metrics.waiting.set(this.worker.waiting);
      if (this.sandbox?.setWarmCapacity) {
        const warm = Math.max(
          1,
          Math.round(((this.opts.baseWarmCapacity ?? 16) * this.worker.concurrency) / this.base),
        );
        this.sandbox.setWarmCapacity(warm);
        this.metrics.warmCapacity.set(warm);
      }
    }
    if (decision.change !== 0)
      this.logger.info('autoscale: desired workers changed', { desired: decision.desired, reason: decision.reason });
    return decision;
  }
}
