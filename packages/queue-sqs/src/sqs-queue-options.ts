import type { Logger } from '@nanogrid/core';

/** Static credentials; omit them to use the AWS default chain (env, profile, instance role …). */
export interface SqsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** @default undefined */
  sessionToken?: string;
}

export interface SqsQueueOptions {
  /** Full queue URL. Give this or `queueName`. @default resolved from `queueName` */
  queueUrl?: string;
  /** Queue name, resolved with GetQueueUrl (or created with `createQueue`). @default taken from `queueUrl` */
  queueName?: string;
  /** @default process.env.AWS_REGION ?? 'us-east-1' */
  region?: string;
  /** Endpoint of an SQS-compatible server (local-aws-sqs, ElasticMQ, LocalStack …). @default AWS */
  endpoint?: string;
  /** @default the AWS default credential chain */
  credentials?: SqsCredentials;
  /**
   * Create the queue and its dead-letter queue when missing (and bring an existing queue's
   * attributes up to date): redrive after `maxAttempts` receives, 14-day retention,
   * `visibilityTimeoutSec` visibility, 20 s receive wait. @default false
   */
  createQueue?: boolean;
  /** Name of the dead-letter queue that `createQueue` makes. @default `${queueName}-dlq` */
  deadLetterQueueName?: string;
  /** Where bad messages go. @default the target of the queue's RedrivePolicy */
  deadLetterQueueUrl?: string;
  /** Deliveries before a job is dead-lettered (the RedrivePolicy's maxReceiveCount). @default 3 */
  maxAttempts?: number;
  /** Visibility timeout given to a created queue, seconds. Workers extend it while a job runs. @default 300 */
  visibilityTimeoutSec?: number;
  /** Retention of a created queue and its dead-letter queue, seconds. @default 1_209_600 (14 days) */
  messageRetentionSec?: number;
  /** Longest long poll of one receive, seconds (SQS allows 0–20). @default 20 */
  waitTimeSec?: number;
  /** Attempts of one API request, SDK retries included. @default 3 */
  requestAttempts?: number;
  /** Where dead-lettering and heartbeat problems are reported. @default silent */
  logger?: Logger;
}

export const SQS_DEFAULTS = {
  maxAttempts: 3,
  visibilityTimeoutSec: 300,
  messageRetentionSec: 14 * 24 * 3600,
  waitTimeSec: 20,
  requestAttempts: 3,
} as const;

/** SQS refuses a visibility timeout past 12 hours after the message was received. */
export const SQS_MAX_VISIBILITY_SEC = 12 * 3600;
