// The original production topology on real clouds: SQS jobs, Redis (ElastiCache) results,
// S3 storage, every deployed function and successful result copied to a GCS bucket.
// Credentials come from the usual places: the AWS SDK chain (env, instance role) and
// GOOGLE_APPLICATION_CREDENTIALS. Start the same file as `--role controller` behind the
// load balancer and as `--role worker` on the autoscaled VMs.
import { defineConfig } from '@nanogrid/host';
import { sqsQueue } from '@nanogrid/queue-sqs';
import { redisRateLimitStore, redisResults } from '@nanogrid/redis';
import { gcsStorage } from '@nanogrid/storage-gcs';
import { s3Storage } from '@nanogrid/storage-s3';

const env = (name: string, fallback?: string): string => {
  const v = process.env[name] ?? fallback;
  if (!v) throw new Error(`set ${name} (see docs/distributed.md)`);
  return v;
};
const redis = env('REDIS_URL', 'redis://127.0.0.1:6379');

export default defineConfig({
  storage: s3Storage({
    bucket: env('NANOGRID_S3_BUCKET', 'nanogrid-code'),
    region: process.env.AWS_REGION ?? 'us-east-1',
  }),
  replicas: [gcsStorage({ bucket: env('NANOGRID_GCS_BUCKET', 'nanogrid-replica') })],
  queue: sqsQueue({
    queueUrl: env('NANOGRID_SQS_URL', 'https://sqs.us-east-1.amazonaws.com/123456789012/nanogrid-jobs'),
  }),
  results: redisResults({ connection: redis }),
  sandbox: 'docker',
  ai: { endpoint: env('NANOGRID_AI_ENDPOINT', 'http://10.0.3.10:11434') },
  worker: { concurrency: 4 },
  http: {
    apiKeys: (process.env.NANOGRID_API_KEYS ?? '').split(',').filter(Boolean),
    rateLimitStore: redisRateLimitStore({ connection: redis }),
    trustProxy: true, // behind the ALB: the client IP is the right-most X-Forwarded-For entry
    publicUrl: process.env.NANOGRID_PUBLIC_URL,
  },
});
