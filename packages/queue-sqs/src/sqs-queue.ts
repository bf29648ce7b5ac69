import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import type { Delivery, JobMessage, QueueSource, ReceiveOptions } from '@nanogrid/core';
import { isNanoGridError, NanoGridError, parseJobMessage, serializeJobMessage, silentLogger } from '@nanogrid/core';
import { deadLetter, sqsDelivery, type DeliveryContext } from './sqs-delivery.js';
import { sqsError, SQS_PLUGIN } from './sqs-errors.js';
import { SQS_DEFAULTS, type SqsQueueOptions } from './sqs-queue-options.js';
import { queueNameOf, resolveQueues, type ResolvedQueues, type SqsSdk } from './sqs-setup.js';

/** A QueueSource plus the start-up probe the host runs to fail fast on bad settings. */
export interface SqsQueue extends QueueSource {
  /** Resolves the queue and reads its attributes; throws `CONFIG_INVALID` / `BACKEND_UNAVAILABLE` naming the queue. */
  check(): Promise<void>;
  /** URLs in use (resolving or creating the queues on first call). */
  urls(): Promise<ResolvedQueues>;
}

interface Ready extends ResolvedQueues {
  client: SQSClient;
  sdk: SqsSdk;
}

/**
 * A job queue on Amazon SQS (or any SQS-compatible server). Long polls, lets SQS count
 * deliveries and dead-letter after `maxAttempts`, and moves messages that are not jobs to the
 * dead-letter queue at once with a `reason` attribute.
 *
 * Heartbeat: there is no timer in here. The engine's WorkerLoop calls `delivery.extend()`
 * periodically while a job runs, so a job of any length stays invisible while its worker
 * lives (see `sqsHeartbeat` for code that consumes deliveries outside the engine).
 */
export function sqsQueue(opts: SqsQueueOptions): SqsQueue {
  const label = opts.queueUrl ?? queueNameOf(opts);
  const maxAttempts = opts.maxAttempts ?? SQS_DEFAULTS.maxAttempts;
  const waitCapSec = Math.max(0, Math.min(20, opts.waitTimeSec ?? SQS_DEFAULTS.waitTimeSec));
  const logger = opts.logger ?? silentLogger;
  const closing = new AbortController();
  let loading: Promise<Ready> | undefined;

  async function load(): Promise<Ready> {
    const sdk = await import('@aws-sdk/client-sqs');
    const client = new sdk.SQSClient({
      region: opts.region ?? process.env.AWS_REGION ?? 'us-east-1',
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      maxAttempts: opts.requestAttempts ?? SQS_DEFAULTS.requestAttempts,
    });
    try {
      return { client, sdk, ...(await resolveQueues(client, sdk, opts)) };
    } catch (err) {
      client.destroy();
      throw err;
    }
  }

  function ready(): Promise<Ready> {
    if (closing.signal.aborted)
      return Promise.reject(
        new NanoGridError('SHUTTING_DOWN', `${SQS_PLUGIN}: queue is closed`, { plugin: SQS_PLUGIN }),
      );
    loading ??= load().catch((err: unknown) => {
      loading = undefined; // the next call tries again
      throw err;
    });
    return loading;
  }

  /** A Delivery, or undefined after dead-lettering a message that is no job (or went past maxAttempts). */
  async function toDelivery(r: Ready, msg: Message, receivedAt: number): Promise<Delivery | undefined> {
    const ctx: DeliveryContext = { client: r.client, sdk: r.sdk, url: r.url, logger };
    const attempt = Math.max(1, Number(msg.Attributes?.ApproximateReceiveCount ?? '1') || 1);
    let job: JobMessage;
    try {
      job = parseJobMessage(msg.Body ?? '');
    } catch (err) {
      if (!isNanoGridError(err, 'BAD_MESSAGE')) throw err;
      await deadLetter(ctx, r.dlqUrl, msg, err.message);
      return undefined;
    }
    // The redrive policy normally does this; a queue created without one still must not loop forever.
    if (attempt > maxAttempts) {
      await deadLetter(ctx, r.dlqUrl, msg, `gave up after ${attempt - 1} deliveries (maxAttempts ${maxAttempts})`);
      return undefined;
    }
    return sqsDelivery(ctx, msg, job, attempt, receivedAt);
  }

  return {
    name: SQS_PLUGIN,

    async send(job: JobMessage): Promise<void> {
      const body = serializeJobMessage(job);
      const r = await ready();
      try {
        await r.client.send(
          new r.sdk.SendMessageCommand({
            QueueUrl: r.url,
            MessageBody: body,
            ...(r.url.endsWith('.fifo') ? { MessageGroupId: job.function_id, MessageDeduplicationId: job.job_id } : {}),
          }),
        );
      } catch (err) {
        throw sqsError(err, r.url, 'SendMessage');
      }
    },

    async receive({ max, waitMs, signal }: ReceiveOptions): Promise<Delivery[]> {
      if (signal?.aborted || closing.signal.aborted) return [];
      const r = await ready();
      // Not `AbortSignal.any([signal, closing.signal])`: Node 20 keeps ~1 KB of each such signal alive on the
      // long-lived `closing` one, a leak of one per receive. A controller of this receive, released after it.
      const cut = new AbortController();
      const abortSignal = cut.signal;
      const stop = (): void => cut.abort();
      signal?.addEventListener('abort', stop, { once: true });
      closing.signal.addEventListener('abort', stop, { once: true });
      let messages: Message[];
      try {
        const out = await r.client.send(
          new r.sdk.ReceiveMessageCommand({
            QueueUrl: r.url,
            MaxNumberOfMessages: Math.max(1, Math.min(10, Math.floor(max))),
            // Whole seconds, never longer than the caller is willing to wait.
            WaitTimeSeconds: Math.max(0, Math.min(waitCapSec, Math.floor(waitMs / 1000))),
            // Both spellings: newer SQS reads MessageSystemAttributeNames, older servers AttributeNames.
            AttributeNames: ['All'],
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal },
        );
        messages = out.Messages ?? [];
      } catch (err) {
        if (abortSignal.aborted) return [];
        throw sqsError(err, r.url, 'ReceiveMessage');
      } finally {
        signal?.removeEventListener('abort', stop);
        closing.signal.removeEventListener('abort', stop);
      }
      const receivedAt = Date.now();
      const deliveries = await Promise.all(messages.map((m) => toDelivery(r, m, receivedAt)));
      return deliveries.filter((d): d is Delivery => d !== undefined);
    },

    async depth(): Promise<number> {
      const r = await ready();
      try {
        const out = await r.client.send(
          new r.sdk.GetQueueAttributesCommand({
            QueueUrl: r.url,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed'],
          }),
        );
        const attrs = out.Attributes ?? {};
        return Number(attrs.ApproximateNumberOfMessages ?? 0) + Number(attrs.ApproximateNumberOfMessagesDelayed ?? 0);
      } catch (err) {
        throw sqsError(err, r.url, 'GetQueueAttributes');
      }
    },

    async check(): Promise<void> {
      const r = await ready();
      try {
        await r.client.send(new r.sdk.GetQueueAttributesCommand({ QueueUrl: r.url, AttributeNames: ['QueueArn'] }));
      } catch (err) {
        throw sqsError(err, label, 'check (GetQueueAttributes)');
      }
    },

    async urls(): Promise<ResolvedQueues> {
      const { url, dlqUrl } = await ready();
      return { url, dlqUrl };
    },

    async close(): Promise<void> {
      const current = loading;
      closing.abort(); // ends pending long polls at once
      loading = undefined;
      if (!current) return;
      try {
        (await current).client.destroy();
      } catch {
        // It never connected; nothing to release.
      }
    },
  };
}
