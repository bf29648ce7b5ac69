import { randomBytes } from 'node:crypto';
import * as sqs from '@aws-sdk/client-sqs';
import { sqsQueue, type SqsQueue, type SqsQueueOptions } from '../src/index.js';
import { LOCAL_SQS_CREDENTIALS, type LocalSqs } from '../src/local-server.js';

/** A queue name no other test uses. */
export function uniqueQueueName(tag = 'q'): string {
  return `ng-${tag}-${randomBytes(5).toString('hex')}`;
}

/** A plain SDK client on the local server, to look at queues from the outside. */
export function rawClient(local: LocalSqs): sqs.SQSClient {
  return new sqs.SQSClient({ region: 'us-east-1', endpoint: local.endpoint, credentials: LOCAL_SQS_CREDENTIALS });
}

/** An sqsQueue on the local server that creates its own queue and dead-letter queue. */
export function localQueue(local: LocalSqs, extra: Partial<SqsQueueOptions> = {}): SqsQueue {
  return sqsQueue({
    queueName: uniqueQueueName(),
    endpoint: local.endpoint,
    region: 'us-east-1',
    credentials: LOCAL_SQS_CREDENTIALS,
    createQueue: true,
    ...extra,
  });
}

export interface DeadLetter {
  body: string;
  reason: string | undefined;
}

/** Everything in a dead-letter queue, left in place (received with visibility 0). */
export async function readDeadLetters(client: sqs.SQSClient, dlqUrl: string): Promise<DeadLetter[]> {
  const out = await client.send(
    new sqs.ReceiveMessageCommand({
      QueueUrl: dlqUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 0,
      WaitTimeSeconds: 0,
      MessageAttributeNames: ['All'],
    }),
  );
  return (out.Messages ?? []).map((m) => ({ body: m.Body ?? '', reason: m.MessageAttributes?.reason?.StringValue }));
}

export async function sendRaw(client: sqs.SQSClient, url: string, body: string): Promise<void> {
  await client.send(new sqs.SendMessageCommand({ QueueUrl: url, MessageBody: body }));
}
