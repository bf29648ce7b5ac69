import type { Delivery, Logger } from '@nanogrid/core';
import { silentLogger } from '@nanogrid/core';

export interface SqsHeartbeatOptions {
  /** How often to extend. Keep it well under the queue's visibility timeout. @default 60_000 */
  everyMs?: number;
  /** Visibility asked for on each beat, from now. @default 300_000 */
  extendMs?: number;
  /** @default silent */
  logger?: Logger;
}

/**
 * Keeps one delivery invisible while work on it goes on, by calling `extend()` every `everyMs`.
 * The engine's WorkerLoop already does this for every job it runs, so only code that consumes a
 * QueueSource by hand needs it. Returns a function that stops the beats.
 */
export function sqsHeartbeat(delivery: Delivery, opts: SqsHeartbeatOptions = {}): () => void {
  const everyMs = opts.everyMs ?? 60_000;
  const extendMs = opts.extendMs ?? 300_000;
  const logger = opts.logger ?? silentLogger;
  const timer = setInterval(() => {
    delivery.extend(extendMs).catch((err: unknown) => {
      // A missed beat is not fatal: the next one may land before the visibility runs out.
      logger.warn('sqs-queue: heartbeat extend failed', { job_id: delivery.job.job_id, error: String(err) });
    });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
