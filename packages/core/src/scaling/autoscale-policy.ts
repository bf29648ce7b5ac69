/** What the policy reads each time it is asked. */
export interface ScalingSample {
  /** Jobs waiting in the queue (QueueSource.depth()). */
  queueDepth: number;
  /** Jobs running now (on the workers this host knows of). */
  inFlight: number;
  /** Epoch ms of the sample. */
  now: number;
}

export interface ScalingDecision {
  /** Worker capacity wanted now (number of workers). */
  desired: number;
  /** Changed by this decision: +1, -1 or 0. */
  change: -1 | 0 | 1;
  reason: string;
}

export interface AutoscalePolicyOptions {
  /** @default 2 */
  min?: number;
  /** @default 5 */
  max?: number;
  /** Waiting jobs at or above which one worker is added. @default 10 */
  scaleOutAtDepth?: number;
  /** How long the queue must stay empty, with nothing running, before one worker is removed. @default 180_000 */
  scaleInAfterEmptyMs?: number;
  /** Time after any change before the next one. @default 300_000 */
  cooldownMs?: number;
  /** Capacity at start. @default min */
  initial?: number;
}

/**
 * The original system's scaling rule as a pure, clock-driven policy: scale out
 * by one at ≥ 10 waiting jobs, scale in by one after 3 minutes of an empty
 * queue and no running jobs, 300 s cooldown, between 2 and 5 workers.
 */
export class AutoscalePolicy {
  readonly min: number;
  readonly max: number;
  private readonly outAt: number;
  private readonly inAfterMs: number;
  private readonly cooldownMs: number;
  private current: number;
  private lastChangeAt = -Infinity;
  private emptySince: number | undefined;

  constructor(opts: AutoscalePolicyOptions = {}) {
    this.min = opts.min ?? 2;
    this.max = opts.max ?? 5;
    if (this.min < 0 || this.max < this.min)
      throw new RangeError(`autoscale: need 0 <= min <= max, got min ${this.min}, max ${this.max}`);
    this.outAt = opts.scaleOutAtDepth ?? 10;
    this.inAfterMs = opts.scaleInAfterEmptyMs ?? 180_000;
    this.cooldownMs = opts.cooldownMs ?? 300_000;
    this.current = Math.min(this.max, Math.max(this.min, opts.initial ?? this.min));
  }

  get desired(): number {
    return this.current;
  }

  decide(s: ScalingSample): ScalingDecision {
    const idle = s.queueDepth === 0 && s.inFlight === 0;
    if (!idle) this.emptySince = undefined;
    else this.emptySince ??= s.now;
    const keep = (reason: string): ScalingDecision => ({ desired: this.current, change: 0, reason });
    const coolingFor = this.lastChangeAt + this.cooldownMs - s.now;

    if (s.queueDepth >= this.outAt) {
      if (this.current >= this.max) return keep(`at max ${this.max} with ${s.queueDepth} waiting`);
      if (coolingFor > 0) return keep(`cooldown (${Math.ceil(coolingFor / 1000)} s left) with ${s.queueDepth} waiting`);
      return this.change(+1, s.now, `${s.queueDepth} waiting ≥ ${this.outAt}`);
    }
    if (this.emptySince !== undefined && s.now - this.emptySince >= this.inAfterMs) {
      if (this.current <= this.min) return keep(`at min ${this.min}, idle`);
      if (coolingFor > 0) return keep(`cooldown (${Math.ceil(coolingFor / 1000)} s left), idle`);
      this.emptySince = s.now; // another full idle period before the next step down
      return this.change(-1, s.now, `queue empty and nothing running for ${Math.round(this.inAfterMs / 1000)} s`);
    }
    return keep(idle ? 'idle, waiting out the scale-in delay' : `${s.queueDepth} waiting, ${s.inFlight} running`);
  }

  private change(step: -1 | 1, now: number, reason: string): ScalingDecision {
    this.current += step;
    this.lastChangeAt = now;
    return { desired: this.current, change: step, reason };
  }
}
