import type { CallbackUrlPolicy } from '../webhooks/callback-url-guard.js';
import type { NetworkPolicy } from '../function-meta.js';
import type { LambdaIdentity } from './lambda-env.js';
import type { JobLogLimits } from '../live/job-log-writer.js';

/** Resolved settings the engine runs with (defaults filled in by `resolveEngineOptions`). */
export interface EngineOptions {
  /** Work files: extracted code, builds, per-job output directories. */
  workDir: string;
  defaultTimeoutSec: number;
  maxTimeoutSec: number;
  defaultMemoryMb: number;
  maxMemoryMb: number;
  defaultDiskMb: number;
  maxDiskMb: number;
  cpus: number;
  maxArchiveEntries: number;
  maxArchiveBytes: number;
  maxOutputBytes: number;
  maxResultBytes: number;
  maxPayloadBytes: number;
  /** Budget of the embedded queue (limits.maxQueuedBytes). */
  maxQueuedBytes: number;
  /** Budget of the embedded result store (limits.maxStoredResultBytes). */
  maxStoredResultBytes: number;
  /** Results larger than this go to storage (limits.resultSpillBytes). */
  resultSpillBytes: number;
  defaultNetwork: NetworkPolicy;
  aiEndpoint: string | undefined;
  /** Region and account of function ARNs and `AWS_REGION`. */
  lambda: LambdaIdentity;
  jobTtlSec: number;
  /** Lifetime of output links, seconds. */
  outputUrlTtlSec: number;
  /** Completion webhooks, defaults filled in. */
  webhooks: WebhookOptions;
  /** Serve runtimes that have a warm server from warm instances (sandboxes that keep them). */
  warm: boolean;
  /** Bounds of a job's live logs (line length, characters per job). @default 8 KiB lines, 1 MiB per job */
  liveLogs?: JobLogLimits;
}

/** `config.webhooks` with its defaults. */
export interface WebhookOptions {
  secret: string | undefined;
  policy: CallbackUrlPolicy;
  retryMs: number;
  maxDelayMs: number;
  maxAgeMs: number;
  timeoutMs: number;
  sweepMs: number;
}
