import type { SQSClient } from '@aws-sdk/client-sqs';
import { NanoGridError } from '@nanogrid/core';
import { sqsError, sqsErrorName, SQS_PLUGIN } from './sqs-errors.js';
import { SQS_DEFAULTS, type SqsQueueOptions } from './sqs-queue-options.js';

export type SqsSdk = typeof import('@aws-sdk/client-sqs');

export interface ResolvedQueues {
  url: string;
  /** Where bad messages are moved; undefined when the queue has no redrive policy. */
  dlqUrl: string | undefined;
}

/** Last path segment of a queue URL is its name. */
export function queueNameOf(opts: SqsQueueOptions): string {
  if (opts.queueName) return opts.queueName;
  const fromUrl = opts.queueUrl?.replace(/\/+$/, '').split('/').pop();
  if (fromUrl) return fromUrl;
  throw new NanoGridError('CONFIG_INVALID', `${SQS_PLUGIN}: give "queueUrl" or "queueName"`, { plugin: SQS_PLUGIN });
}

async function queueArn(client: SQSClient, sdk: SqsSdk, url: string): Promise<string> {
  const out = await client.send(new sdk.GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  const arn = out.Attributes?.QueueArn;
  if (!arn)
    throw new NanoGridError('BACKEND_UNAVAILABLE', `${SQS_PLUGIN}: queue ${url} reported no QueueArn`, {
      plugin: SQS_PLUGIN,
    });
  return arn;
}

/** Creates `name` with `attributes`, or updates the attributes of the queue that already has that name. */
async function createOrUpdate(
  client: SQSClient,
  sdk: SqsSdk,
  name: string,
  attributes: Record<string, string>,
): Promise<string> {
  try {
    const out = await client.send(new sdk.CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    if (out.QueueUrl) return out.QueueUrl;
  } catch (err) {
    const errName = sqsErrorName(err);
    if (errName !== 'QueueNameExists' && errName !== 'QueueAlreadyExists') throw err;
  }
  // Exists with other attributes (e.g. an older visibility timeout): bring it up to date.
  const { QueueUrl } = await client.send(new sdk.GetQueueUrlCommand({ QueueName: name }));
  if (!QueueUrl)
    throw new NanoGridError('BACKEND_UNAVAILABLE', `${SQS_PLUGIN}: GetQueueUrl gave no URL for "${name}"`, {
      plugin: SQS_PLUGIN,
    });
  await client.send(new sdk.SetQueueAttributesCommand({ QueueUrl, Attributes: attributes }));
  return QueueUrl;
}

async function createQueues(client: SQSClient, sdk: SqsSdk, opts: SqsQueueOptions): Promise<ResolvedQueues> {
  const name = queueNameOf(opts);
  const retention = String(opts.messageRetentionSec ?? SQS_DEFAULTS.messageRetentionSec);
  const dlqUrl = await createOrUpdate(client, sdk, opts.deadLetterQueueName ?? `${name}-dlq`, {
    MessageRetentionPeriod: retention,
  });
  const redrive = {
    maxReceiveCount: opts.maxAttempts ?? SQS_DEFAULTS.maxAttempts,
    deadLetterTargetArn: await queueArn(client, sdk, dlqUrl),
  };
  const url = await createOrUpdate(client, sdk, name, {
    VisibilityTimeout: String(opts.visibilityTimeoutSec ?? SQS_DEFAULTS.visibilityTimeoutSec),
    MessageRetentionPeriod: retention,
    ReceiveMessageWaitTimeSeconds: String(Math.min(20, opts.waitTimeSec ?? SQS_DEFAULTS.waitTimeSec)),
    RedrivePolicy: JSON.stringify(redrive),
  });
  return { url, dlqUrl: opts.deadLetterQueueUrl ?? dlqUrl };
}

/** The dead-letter queue named by the queue's RedrivePolicy (`arn:aws:sqs:region:account:name`). */
async function redriveTarget(client: SQSClient, sdk: SqsSdk, url: string): Promise<string | undefined> {
  const out = await client.send(
    new sdk.GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['RedrivePolicy'] }),
  );
  const policy = out.Attributes?.RedrivePolicy;
  if (!policy) return undefined;
  const arn = (JSON.parse(policy) as { deadLetterTargetArn?: string }).deadLetterTargetArn;
  const parts = arn?.split(':') ?? [];
  const [account, name] = [parts[4], parts[5]];
  if (!name) return undefined;
  const dlq = await client.send(
    new sdk.GetQueueUrlCommand({ QueueName: name, ...(account ? { QueueOwnerAWSAccountId: account } : {}) }),
  );
  return dlq.QueueUrl;
}

/** Finds (or with `createQueue`, makes) the queue and its dead-letter queue. */
export async function resolveQueues(client: SQSClient, sdk: SqsSdk, opts: SqsQueueOptions): Promise<ResolvedQueues> {
  const label = opts.queueUrl ?? opts.queueName ?? '?';
  try {
    if (opts.createQueue) return await createQueues(client, sdk, opts);
    let url = opts.queueUrl;
    if (!url) {
      const out = await client.send(new sdk.GetQueueUrlCommand({ QueueName: queueNameOf(opts) }));
      url = out.QueueUrl;
    }
    if (!url)
      throw new NanoGridError('CONFIG_INVALID', `${SQS_PLUGIN}: queue "${label}" has no URL`, { plugin: SQS_PLUGIN });
    return { url, dlqUrl: opts.deadLetterQueueUrl ?? (await redriveTarget(client, sdk, url)) };
  } catch (err) {
    throw sqsError(err, label, opts.createQueue ? 'create queue' : 'resolve queue');
  }
}
