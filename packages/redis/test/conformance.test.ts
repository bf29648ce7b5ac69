import { testLiveEvents, testQueueSource, testResultSink } from '@nanogrid/core/testing';
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

  testLiveEvents('redisResults (two instances: a worker and another controller)', async () => {
    const keyPrefix = uniquePrefix('live');
    const writer = redisResults({ connection: server.url, keyPrefix });
    const reader = redisResults({ connection: server.url, keyPrefix });
    return {
      writer,
      reader,
      listeners: () => reader.followers(),
      cleanup: async () => {
        await Promise.all([writer.close(), reader.close()]);
      },
    };
  });
});
