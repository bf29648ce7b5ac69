import { testQueueSource } from '@nanogrid/core/testing';
import { parseJobMessage } from '@nanogrid/core';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe } from 'vitest';
import type { SqsQueue } from '../src/index.js';
import { startLocalSqs, type LocalSqs } from '../src/local-server.js';
import { localQueue, rawClient, readDeadLetters, sendRaw } from './sqs-fixtures.js';

function jobOrUndefined(body: string) {
  try {
    return parseJobMessage(body);
  } catch {
    return undefined;
  }
}

describe('sqsQueue conformance (real local-aws-sqs)', () => {
  let local: LocalSqs;
  let raw: SQSClient;
  beforeAll(async () => {
    local = await startLocalSqs();
    raw = rawClient(local);
  });
  afterAll(async () => {
    raw?.destroy();
    await local?.stop();
  });

  testQueueSource<SqsQueue>(
    'sqsQueue',
    // SQS counts visibility in whole seconds.
    async ({ visibilityTimeoutMs, maxAttempts }) =>
      localQueue(local, { visibilityTimeoutSec: Math.ceil(visibilityTimeoutMs / 1000), maxAttempts }),
    {
      visibilityTimeoutMs: 1000,
      deadLetters: async (q) => {
        const { dlqUrl } = await q.urls();
        return (await readDeadLetters(raw, dlqUrl!)).map((d) => ({
          job: jobOrUndefined(d.body),
          body: d.body,
          reason: d.reason,
        }));
      },
      sendRaw: async (q, body) => sendRaw(raw, (await q.urls()).url, body),
    },
  );
});
