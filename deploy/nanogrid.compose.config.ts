// The distributed topology of docker-compose.yml: Redis results, SQS queue, S3 storage.
// Only this file differs from the embedded default; the same file serves every role.
import { defineConfig } from '@nanogrid/host';
import { redisRateLimitStore, redisResults } from '@nanogrid/redis';
import { sqsQueue } from '@nanogrid/queue-sqs';
import { s3Storage } from '@nanogrid/storage-s3';

const redis = process.env.REDIS_URL ?? 'redis://redis:6379';
const aws = {
  region: 'us-east-1',
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'nanogrid-local',
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'nanogrid-local-secret',
  },
};

export default defineConfig({
  storage: s3Storage({
    bucket: 'nanogrid',
    endpoint: process.env.S3_ENDPOINT ?? 'http://s3:4568',
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  }),
  queue: sqsQueue({
    queueName: 'nanogrid-jobs',
    endpoint: process.env.SQS_ENDPOINT ?? 'http://sqs:9324',
    createQueue: true,
    ...aws,
  }),
  results: redisResults({ connection: redis }),
  // Workers reach Docker through the mounted socket; controllers never run code.
  sandbox: 'auto',
  worker: { concurrency: 4 },
  http: {
    rateLimitStore: redisRateLimitStore({ connection: redis }), // the per-IP limit holds across both controllers
    publicUrl: process.env.PUBLIC_URL ?? 'http://localhost:8080',
  },
});
