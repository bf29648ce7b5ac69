// The distributed topology of docker-compose.yml: Redis results, SQS queue, S3 storage.
// Only this file differs from the embedded default; the same file serves every role.
import { hostname } from 'node:os';
import { consoleLogger } from '@nanogrid/core';
import { defineConfig } from '@nanogrid/host';
import { sqsQueue } from '@nanogrid/queue-sqs';
import { redisRateLimitStore, redisResults } from '@nanogrid/redis';
import { dockerSandbox } from '@nanogrid/sandbox-docker';
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
    // How soon a job whose worker died is delivered again (a live worker keeps extending it).
    visibilityTimeoutSec: Number(process.env.NANOGRID_SQS_VISIBILITY_SEC ?? 300),
    // Longest long poll. A receive still waiting when its worker dies takes the next message
    // all the same (on SQS too), costing that job one delivery: a short wait bounds the window.
    waitTimeSec: Number(process.env.NANOGRID_SQS_WAIT_SEC ?? 20),
    ...aws,
  }),
  results: redisResults({ connection: redis }),
  // Workers reach the host's Docker engine through the mounted socket (controllers never
  // run code). Paths inside a worker's container are not the engine's: warm instances
  // talk over the attach stream instead of named pipes in /tmp, and peak memory comes
  // from the stats API instead of the host's cgroup files; the per-run tmpfs of the disk
  // quota cannot be mounted where the engine sees it, so /tmp alone is capped (scratchDir:
  // false), and code goes in as an archive, not as a bind mount of a host path (codeDirs:
  // false). Outputs never need a shared path: they come out as archives.
  // The worker id is the container's host name (its id): unique on the engine and the same
  // when the container restarts, so a restarted worker removes what its killed process left.
  sandbox: dockerSandbox({
    workerId: hostname(),
    warmPipes: false,
    cgroupRoot: false,
    scratchDir: false,
    codeDirs: false,
    logger: consoleLogger(),
  }),
  worker: { concurrency: 4 },
  http: {
    rateLimitStore: redisRateLimitStore({ connection: redis }), // the per-IP limit holds across both controllers
    publicUrl: process.env.PUBLIC_URL ?? 'http://localhost:8080',
  },
});
