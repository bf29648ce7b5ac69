import { testQueueSource, testResultSink } from '@nanogrid/core/testing';
import { afterAll, beforeAll, describe } from 'vitest';
import { redisQueue, redisResults } from '../src/index.js';
import type { RedisQueue } from '../src/index.js';
import { redisTestEnv, startRedisServer, uniquePrefix } from './redis-server.js';
import type { LocalRedis } from './redis-server.js';

const env = redisTestEnv();

describe.skipIf(!env.ready)('redis conformance (real redis-server)', () => {
  let server: LocalRedis;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  testQueueSource<RedisQueue>(
    'redisQueue',
    async ({ visibilityTimeoutMs, maxAttempts }) =>
      redisQueue({ connection: server.url, keyPrefix: uniquePrefix('queue'), visibilityTimeoutMs, maxAttempts }),
    {
      deadLetters: (q) => q.deadLetters(),
      sendRaw: (q, body) => q.sendRaw(body),
    },
  );

  testResultSink(
    'redisResults',
    async ({ ttlSec }) =>
      redisResults({
        connection: server.url,
        keyPrefix: uniquePrefix('results'),
        ...(ttlSec === undefined ? {} : { ttlSec }),
      }),
    { waiters: 100 },
  );
});
