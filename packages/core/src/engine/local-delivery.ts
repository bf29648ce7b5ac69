import type { JobMessage } from '../job.js';
import type { Delivery, QueueSource } from '../plugins/queue-source.js';

/**
 * A job handed to this process's worker without a queue round trip (a sync
 * call the worker had a free slot for). Nothing holds it in the queue, so
 * acking and extending do nothing; a retry — an infrastructure error the
 * worker would deliver again — sends it to the queue, where the usual
 * at-least-once delivery takes over.
 */
export function localDelivery(job: JobMessage, queue: QueueSource): Delivery {
  return {
    id: `local:${job.job_id}`,
    job,
    attempt: 1,
    ack: async () => undefined,
    extend: async () => undefined,
    retry: () => queue.send(job),
  };
}
