import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import type { Delivery, JobMessage, Logger } from '@nanogrid/core';
import { sqsError } from './sqs-errors.js';
import { SQS_MAX_VISIBILITY_SEC } from './sqs-queue-options.js';
import type { SqsSdk } from './sqs-setup.js';

export interface DeliveryContext {
  client: SQSClient;
  sdk: SqsSdk;
  url: string;
  logger: Logger;
}

/** Whole seconds for SQS, never rounding a wait down to less than asked. */
function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}

/**
 * A Delivery over one received SQS message. retry/extend are ChangeMessageVisibility calls,
 * so SQS itself counts receives (ApproximateReceiveCount) and applies the redrive policy.
 */
export function sqsDelivery(
  ctx: DeliveryContext,
  msg: Message,
  job: JobMessage,
  attempt: number,
  receivedAt: number,
): Delivery {
  const { client, sdk, url } = ctx;
  const receipt = msg.ReceiptHandle ?? '';
  const setVisibility = async (VisibilityTimeout: number, action: string) => {
    try {
      await client.send(
        new sdk.ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: receipt, VisibilityTimeout }),
      );
    } catch (err) {
      throw sqsError(err, url, action);
    }
  };
  return {
    id: receipt,
    job,
    attempt,
    async ack() {
      try {
        await client.send(new sdk.DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: receipt }));
      } catch (err) {
        throw sqsError(err, url, 'DeleteMessage');
      }
    },
    async retry(delayMs = 0) {
      await setVisibility(Math.min(seconds(delayMs), SQS_MAX_VISIBILITY_SEC), 'ChangeMessageVisibility (retry)');
    },
    async extend(ms: number) {
      // SQS counts the 12 h ceiling from the receive, so a heartbeat asks for at most what is left.
      // Past that SQS cannot hide the message any longer; saying so beats failing the job.
      const left = SQS_MAX_VISIBILITY_SEC - Math.ceil((Date.now() - receivedAt) / 1000) - 1;
      if (left <= 0) {
        ctx.logger.warn("sqs-queue: job ran past SQS's 12 h visibility ceiling; it may be delivered again", {
          job_id: job.job_id,
        });
        return;
      }
      await setVisibility(Math.min(Math.max(1, seconds(ms)), left), 'ChangeMessageVisibility (extend)');
    },
  };
}

/**
 * Moves a message to the dead-letter queue with a `reason` attribute, then deletes it from the
 * queue, so a message that can never be a job is not received again and again.
 * Without a dead-letter queue it is only deleted (and logged): retrying it forever helps nobody.
 */
export async function deadLetter(
  ctx: DeliveryContext,
  dlqUrl: string | undefined,
  msg: Message,
  reason: string,
): Promise<void> {
  const { client, sdk, url, logger } = ctx;
  try {
    if (dlqUrl) {
      await client.send(
        new sdk.SendMessageCommand({
          QueueUrl: dlqUrl,
          // SQS refuses an empty body; keep something a person can recognise.
          MessageBody: msg.Body ? msg.Body : '(empty message)',
          MessageAttributes: {
            reason: { DataType: 'String', StringValue: reason.slice(0, 1000) },
            source_queue: { DataType: 'String', StringValue: url },
            ...(msg.MessageId ? { source_message_id: { DataType: 'String', StringValue: msg.MessageId } } : {}),
          },
          ...(dlqUrl.endsWith('.fifo')
            ? { MessageGroupId: 'dead-letters', MessageDeduplicationId: msg.MessageId ?? String(Date.now()) }
            : {}),
        }),
      );
    }
    await client.send(new sdk.DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: msg.ReceiptHandle ?? '' }));
    const where = dlqUrl ? 'moved to the dead-letter queue' : 'dropped (the queue has no dead-letter queue)';
    logger.warn(`sqs-queue: message ${where}: ${reason}`, { queue: url, message_id: msg.MessageId });
  } catch (err) {
    // Left in the queue: it comes back after its visibility timeout and we try again.
    logger.error('sqs-queue: could not dead-letter a bad message', {
      queue: url,
      message_id: msg.MessageId,
      error: String(err),
    });
  }
}
