import type { JobMessage } from '../job.js';

/** One received job. Exactly one of ack / retry / deadLetter should end it. */
export interface Delivery {
  /** Queue-specific id of this delivery (stream entry id, SQS receipt …). */
  readonly id: string;
  readonly job: JobMessage;
  /** 1 on first delivery, incremented on every redelivery. */
  readonly attempt: number;
  /** Done with it: remove it from the queue. */
  ack(): Promise<void>;
  /** Make it visible again after `delayMs` (default 0); counts as an attempt. */
  retry(delayMs?: number): Promise<void>;
  /** Keep it invisible for `ms` more from now (heartbeat of a long job). */
  extend(ms: number): Promise<void>;
}

export interface ReceiveOptions {
  /** Most deliveries to return. */
  max: number;
  /** Long-poll: wait up to this long for the first message. */
  waitMs: number;
  signal?: AbortSignal;
}

/**
 * A job queue with at-least-once delivery. A delivery not acked within the
 * visibility timeout is delivered again; after `maxAttempts` it goes to a
 * dead-letter place. Messages that are not valid jobs are dead-lettered by the
 * queue itself with a reason (see `parseJobMessage`), never returned.
 */
export interface QueueSource {
  readonly name: string;
  send(job: JobMessage): Promise<void>;
  receive(opts: ReceiveOptions): Promise<Delivery[]>;
  /** Messages waiting (not in flight): input of autoscaling. */
  depth(): Promise<number>;
  /** Proves at start-up that the queue is reachable (credentials, queue exists); throws a NanoGridError naming the fix. */
  check?(): Promise<void>;
  close(): Promise<void>;
}
