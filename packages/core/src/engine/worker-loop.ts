import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { LOGGER, QUEUE } from '../di/tokens.js';
import { inject, injectable } from '../di/tsyringe.js';
import { toNanoGridError } from '../errors.js';
import type { JobRecord } from '../job.js';
import type { Logger } from '../logger.js';
import type { Delivery, QueueSource } from '../plugins/queue-source.js';
import { Executor, type FunctionLookup, isRetryable } from './executor.js';
import { FunctionGate } from './function-gate.js';
import { FunctionRegistry } from './function-registry.js';
import type { FunctionMeta } from '../function-meta.js';
import type { JobMessage } from '../job.js';
import { localDelivery } from './local-delivery.js';
import { RunSlots } from './run-slots.js';

/** Why a long poll was cut short: a constant, since `abort()` without one builds a DOMException per call. */
const CUT = new Error('a run slot was taken in-process');

export const WORKER_OPTIONS: unique symbol = Symbol('nanogrid.workerOptions');

export interface WorkerLoopOptions {
  /** Jobs run at once. @default 2 */
  concurrency: number;
  /** Long-poll wait of one receive, ms. @default 20_000 */
  pollWaitMs: number;
  /** Shown on jobs as `worker`. @default hostname:pid */
  id: string;
  /** Deliveries of a job that hits infrastructure errors before it is failed. @default 3 */
  maxAttempts: number;
  /** How often a running job's delivery is kept invisible. @default 60_000 */
  heartbeatMs: number;
  /** Invisibility asked for on each heartbeat. @default 300_000 */
  extendMs: number;
  /** Jobs of one function run at once when its upload set no `max_concurrency`; 0: no cap below `concurrency`. @default 0 */
  functionConcurrency: number;
  /** Received jobs held waiting for a slot of their function, beyond `concurrency`. @default 4 × concurrency */
  maxWaiting?: number;
  /**
   * Sync calls handed over in-process (`runNow`) that may wait here for a run slot when none is free, in
   * arrival order with the queue's jobs; past it they are queued. @default 1024
   */
  maxLocalWaiting?: number;
  /**
   * How long a job that hits a backend outage (BACKEND_UNAVAILABLE: storage,
   * results) is retried in place, with backoff, before its delivery is given
   * back to the queue; its delivery stays invisible meanwhile and no delivery
   * attempt is spent, so an outage shorter than this costs a job nothing. @default 120_000
   */
  backendRetryMs: number;
  /** Called with every final record this worker produced (metrics). */
  onFinished?: (record: JobRecord, delivery: Delivery) => void;
}

export function workerLoopDefaults(partial: Partial<WorkerLoopOptions> = {}): WorkerLoopOptions {
  return {
    concurrency: 2,
    pollWaitMs: 20_000,
    id: `${hostname()}:${process.pid}`,
    maxAttempts: 3,
    heartbeatMs: 60_000,
    extendMs: 300_000,
    functionConcurrency: 0,
    backendRetryMs: 120_000,
    ...partial,
  };
}

/**
 * Takes jobs from the queue while it has free slots, runs each through the
 * Executor and acks it once its final record is published. `stop()` takes no
 * new jobs and resolves when the running ones have finished.
 *
 * A function at its concurrency limit (its `max_concurrency`, else
 * `functionConcurrency`) queues its further jobs here in arrival order,
 * their deliveries kept invisible by the heartbeat; they take no run slot, so
 * other functions keep running. At most `maxWaiting` wait: past that the
 * worker receives nothing until a job ends, and the rest stay in the queue.
 */
@injectable()
export class WorkerLoop {
  private running = new Set<Promise<void>>();
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private slotFreed: (() => void) | undefined;
  private readonly gate = new FunctionGate();
  private readonly slots: RunSlots;
  /** The receive in progress (its slots promised to the queue), which `runNow` may cut short. */
  private receiving: { max: number; cut: AbortController } | undefined;
  /** Jobs handed over by `runNow` that wait for a run slot (tracked in `running`, never queued). */
  private localWaiting = 0;

  constructor(
    @inject(QUEUE) private readonly queue: QueueSource,
    @inject(Executor) private readonly executor: Executor,
    @inject(FunctionRegistry) private readonly registry: FunctionRegistry,
    @inject(WORKER_OPTIONS) readonly options: WorkerLoopOptions,
    @inject(LOGGER) private readonly logger: Logger,
  ) {
    this.slots = new RunSlots(options.concurrency);
  }

  /** Jobs received and not yet finished: running or waiting for their function. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Jobs waiting for a slot of their function. */
  get waiting(): number {
    return this.gate.waiting;
  }

  /** Sync calls handed over in-process that wait for a run slot (never queued). */
  get waitingInProcess(): number {
    return this.localWaiting;
  }

  /** Jobs run at once. */
  get concurrency(): number {
    return this.options.concurrency;
  }

  /** Changes how many jobs run at once (the autoscaler drives it); running jobs are not touched. */
  setConcurrency(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`concurrency must be a whole number ≥ 1, got ${n}`);
    this.options.concurrency = n;
    this.slots.setLimit(n);
    const wake = this.slotFreed;
    this.slotFreed = undefined;
    wake?.();
  }

  get started(): boolean {
    return this.loop !== undefined && !this.abort?.signal.aborted;
  }

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    // Each sync call waiting in-process for a slot listens for the stop until admitted: many at once is normal.
    setMaxListeners(0, this.abort.signal);
    this.loop = this.run(this.abort.signal);
    this.logger.info('worker started', {
      worker: this.options.id,
      queue: this.queue.name,
      concurrency: this.options.concurrency,
    });
  }

  /** No new jobs; resolves when the running ones are done. */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.abort?.abort();
    this.receiving?.cut.abort();
    this.slotFreed?.();
    await this.loop;
    await Promise.allSettled([...this.running]);
    this.loop = undefined; // start() may run it again
  }

  private async run(signal: AbortSignal): Promise<void> {
    let backoffMs = 250;
    while (!signal.aborted) {
      const maxHeld = this.concurrency + (this.options.maxWaiting ?? 4 * this.concurrency);
      // Held jobs not waiting for their function run now, or are about to (their limit being looked up). While
      // sync calls wait in-process for a slot, up to `concurrency` of the queue's jobs may wait in the same line
      // (arrival order), so a stream of sync calls never starves the queue.
      const held = this.running.size - this.localWaiting;
      const active = held - this.gate.waiting;
      const room = this.localWaiting > 0 ? this.concurrency - (active - this.slots.inUse) : this.concurrency - active;
      const free = Math.min(room, maxHeld - held);
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      let deliveries: Delivery[];
      // Aborted by stop() or by runNow() taking a slot this receive was promised (then the loop asks again).
      const cut = new AbortController();
      this.receiving = { max: free, cut };
      try {
        const asked = Date.now();
        deliveries = await this.queue.receive({ max: free, waitMs: this.options.pollWaitMs, signal: cut.signal });
        backoffMs = 250;
        // A queue that answers "nothing" at once (closed under the worker, or no long poll) must not spin the loop.
        if (deliveries.length === 0 && Date.now() - asked < 5 && !cut.signal.aborted) {
          await delay(50, undefined, { signal }).catch(() => undefined);
        }
      } catch (err) {
        if (signal.aborted) break;
        this.logger.warn('queue receive failed; retrying', {
          queue: this.queue.name,
          error: (err as Error).message,
          retry_in_ms: backoffMs,
        });
        await delay(backoffMs, undefined, { signal }).catch(() => undefined); // an abort ends the wait early
        backoffMs = Math.min(backoffMs * 2, 10_000);
        continue;
      } finally {
        if (this.receiving?.cut === cut) this.receiving = undefined;
      }
      for (const d of deliveries) this.track(this.handle(d));
    }
  }

  private track(run: Promise<void>): void {
    const p = run.finally(() => {
      this.running.delete(p);
      const wake = this.slotFreed;
      this.slotFreed = undefined;
      wake?.();
    });
    this.running.add(p);
  }

  /**
   * Runs a job submitted in this process, skipping the queue: now when a run
   * slot is free, else once one frees, in arrival order with the jobs the
   * queue delivered (at most `maxLocalWaiting` wait so). False (the caller
   * queues it) when the worker is stopped, the function is at its own limit,
   * or too many wait already. The job then lives as any other: its record,
   * its cancel, its final publish, its webhook; `stop()` waits for it.
   */
  runNow(job: JobMessage, fn: FunctionMeta): boolean {
    if (!this.started || this.gate.running(fn.function_id) >= this.limitOf({ meta: fn })) return false;
    if (!this.slots.tryTake()) {
      if (this.localWaiting >= (this.options.maxLocalWaiting ?? 1024)) return false;
      this.localWaiting++;
      this.track(this.handle(localDelivery(job, this.queue), { meta: fn, waitSlot: true }));
      // The loop may now let the queue's jobs join the line (see run()): wake it if it sleeps.
      const wake = this.slotFreed;
      this.slotFreed = undefined;
      wake?.();
      return true;
    }
    // The long poll in progress asked for slots this job now holds: cut it, so the worker does not receive
    // more jobs than it may run (they would wait here, not in the queue).
    const r = this.receiving;
    if (r && this.slots.inUse + r.max > this.concurrency) {
      this.receiving = undefined;
      r.cut.abort(CUT);
    }
    this.track(this.handle(localDelivery(job, this.queue), { meta: fn }));
    return true;
  }

  /**
   * Runs a delivery; `local` (a job handed over by `runNow`) knows its function, and holds a run slot
   * already unless `waitSlot`.
   */
  private async handle(d: Delivery, local?: { meta: FunctionMeta; waitSlot?: boolean }): Promise<void> {
    const beat = local
      ? undefined
      : setInterval(() => {
          d.extend(this.options.extendMs).catch((err: Error) =>
            this.logger.warn('heartbeat failed', { job_id: d.job.job_id, error: err.message }),
          );
        }, this.options.heartbeatMs);
    beat?.unref();
    // Read once per delivery: the gate needs the function's limit, the executor the rest.
    const fn: FunctionLookup =
      local ??
      (await this.registry.forJob(d.job).then(
        (meta) => ({ meta }),
        (error: unknown) => ({ error }),
      ));
    const release = await this.gate.acquire(d.job.function_id, this.limitOf(fn));
    // Waiting for a run slot happens after the function's gate, so a held job never blocks other functions.
    let held = true;
    if (!local) await this.slots.take();
    else if (local.waitSlot) {
      try {
        // A stop ends the wait at once: only the queue keeps the job through a kill during the drain.
        held = await this.slots.take(this.abort?.signal);
      } finally {
        this.localWaiting--;
      }
    }
    try {
      if (local?.waitSlot && (!held || this.abort?.signal.aborted)) {
        // Stopping before it started: it goes to the queue, as a queued job waiting for a slot stays there (it runs
        // after a restart, or on start()); its client's wait answers 202 at the shutdown.
        await this.queue.send(d.job);
        return;
      }
      const final = await this.executeThroughOutages(d, fn);
      await d.ack();
      this.options.onFinished?.(final, d);
    } catch (err) {
      const e = toNanoGridError(err);
      if (isRetryable(err) && d.attempt < this.options.maxAttempts) {
        this.logger.warn('job hit an infrastructure error; it will be delivered again', {
          job_id: d.job.job_id,
          attempt: d.attempt,
          error: e.message,
        });
        await d.retry(Math.min(1000 * 2 ** d.attempt, 30_000)).catch(() => undefined);
        return;
      }
      // Out of attempts or not retryable: record why, so the job does not vanish.
      this.logger.error('job failed in the engine', { job_id: d.job.job_id, code: e.code, error: e.message });
      try {
        const record = await this.executor.currentRecord(d.job);
        const final = await this.executor.finish(
          record,
          { code: e.code, message: `the engine could not run the job: ${e.message}` },
          {},
        );
        await d.ack();
        this.options.onFinished?.(final, d);
      } catch (err2) {
        // The sink is down too: leave the delivery to the queue's redelivery / dead letters.
        this.logger.error('could not record the failure; the queue will redeliver', {
          job_id: d.job.job_id,
          error: (err2 as Error).message,
        });
      }
    } finally {
      if (held) this.slots.give();
      release();
      clearInterval(beat);
    }
  }

  /**
   * Runs the job; while a backend is unavailable, tries again in place (1 s,
   * 2 s, 4 s … at most 10 s apart) for up to `backendRetryMs`, keeping the
   * delivery invisible. A stop, or the budget running out, hands the error on.
   */
  private async executeThroughOutages(d: Delivery, first: FunctionLookup): Promise<JobRecord> {
    const deadline = Date.now() + this.options.backendRetryMs;
    let fn = first;
    for (let wait = 1000; ; wait = Math.min(wait * 2, 10_000)) {
      try {
        return await this.executor.execute(d.job, { fn, attempt: d.attempt, workerId: this.options.id });
      } catch (err) {
        const signal = this.abort?.signal;
        if (!isRetryable(err) || Date.now() + wait > deadline || signal?.aborted) throw err;
        this.logger.warn('a backend is unavailable; the job waits and tries again', {
          job_id: d.job.job_id,
          error: toNanoGridError(err).message,
          retry_in_ms: wait,
        });
        await d.extend(Math.max(this.options.extendMs, wait * 3)).catch(() => undefined);
        await delay(wait, undefined, signal ? { signal } : {}).catch(() => undefined);
        fn = await this.registry.forJob(d.job).then(
          (meta) => ({ meta }),
          (error: unknown) => ({ error }),
        );
      }
    }
  }

  /** The function's own cap, else the worker's; unknown functions are not held (the executor fails them). */
  private limitOf(fn: FunctionLookup): number {
    const limit = ('meta' in fn ? fn.meta.max_concurrency : undefined) ?? this.options.functionConcurrency;
    return limit > 0 ? limit : Number.POSITIVE_INFINITY;
  }
}
