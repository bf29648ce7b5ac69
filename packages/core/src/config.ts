import type { NetworkPolicy } from './function-meta.js';
import type { QueueSource } from './plugins/queue-source.js';
import type { ResultSink } from './plugins/result-sink.js';
import type { RateLimitStore } from './plugins/rate-limit-store.js';
import type { RuntimePlugin } from './plugins/runtime-plugin.js';
import type { Sandbox } from './plugins/sandbox.js';
import type { StorageBackend } from './plugins/storage-backend.js';

export type Role = 'all' | 'controller' | 'worker';
export type SandboxChoice = 'auto' | 'process' | 'docker';

/** A sandbox chosen by kind, with the isolation it must give. */
export interface SandboxSettings {
  /** `auto`: Docker when an engine with the runtime images answers, else the process sandbox. */
  kind: SandboxChoice;
  /**
   * `required`: a worker refuses to start when nothing isolates runs (no Docker
   * engine with images for `auto`, no working bubblewrap for the process sandbox).
   * `none`: functions may run as plain host processes, with the host's rights
   * (trusted code only; the host warns). `NANOGRID_ALLOW_UNISOLATED=1` in the
   * environment has the same effect.
   * @default 'required'
   */
  isolation?: 'required' | 'none';
}

/** Limits applied to uploads and runs. */
export interface LimitsConfig {
  /** Seconds a function may run when the upload names no timeout. @default 300 */
  defaultTimeoutSec?: number;
  /** Largest timeout an upload may ask for, in seconds. @default 3600 */
  maxTimeoutSec?: number;
  /** Memory of a run when the upload names none. @default 512 */
  defaultMemoryMb?: number;
  /** Largest memory an upload may ask for. @default 4096 */
  maxMemoryMb?: number;
  /** Space of a run's /tmp and /output together, MiB, when the upload names none; writes past it fail with ENOSPC. @default 512 */
  defaultDiskMb?: number;
  /** Largest `disk_mb` an upload may ask for. @default 10240 */
  maxDiskMb?: number;
  /** CPU share of a run. @default 0.5 */
  cpus?: number;
  /** Most entries in an uploaded zip. @default 10_000 */
  maxArchiveEntries?: number;
  /** Most uncompressed bytes in an uploaded zip. @default 256 MiB */
  maxArchiveBytes?: number;
  /** Most bytes a job may leave in its output directory. @default 100 MiB */
  maxOutputBytes?: number;
  /** Largest result a function may return, in bytes. @default 6 MiB */
  maxResultBytes?: number;
  /** Largest JSON payload of a run. @default 6 MiB */
  maxPayloadBytes?: number;
  /**
   * Bytes of job messages the embedded queue holds at once (waiting and
   * running). A run past it is refused with 503 QUEUE_FULL; jobs already
   * accepted are kept. Honoured by every queue that keeps messages in the host. @default 128 MiB
   */
  maxQueuedBytes?: number;
  /**
   * Bytes of job records the embedded result store holds at once. A run past
   * it is refused with 503 RESULTS_FULL; records of accepted jobs are always
   * kept (until `jobTtlSec`). Honoured by every result store that keeps
   * records in the host. @default 256 MiB
   */
  maxStoredResultBytes?: number;
  /**
   * A result whose JSON is larger is stored as an object in the StorageBackend
   * (`job-results/…`, removed after `jobTtlSec`) and the job record holds a
   * reference; `/status` and `/run` return it as usual. Applies to every
   * result store. @default 64 KiB
   */
  resultSpillBytes?: number;
}

export interface HttpConfig {
  /** Bearer keys accepted; none means the API is open. @default [] */
  apiKeys?: string[];
  /** Requests per IP per window; `false` turns it off. @default { max: 1000, windowMs: 300_000 } */
  rateLimit?: { max: number; windowMs: number } | false;
  /** Where rate-limit counters live; share one (Redis) across controllers. @default in-memory */
  rateLimitStore?: RateLimitStore;
  /** Largest request body in bytes, counted as the bytes arrive (uploads stream to a temp file). @default 50 MiB */
  bodyLimitBytes?: number;
  /** Sync `POST /run` requests waiting at once on one controller; more answer 429 with Retry-After. @default 1000 */
  maxInflight?: number;
  /** Base URL clients reach this host at, for signed file links. @default http://localhost:{port} */
  publicUrl?: string;
  /** Take the client IP for the rate limit from `X-Forwarded-For` (right-most entry); only behind a proxy that sets it. @default false */
  trustProxy?: boolean;
  /** Serve the web dashboard at `/ui/` (its page and files need no key; everything it shows does). @default true */
  ui?: boolean;
  /**
   * Time a client has to send a request's whole header block, ms; a slow
   * header drip (slowloris) is dropped with 408 past it. @default 10_000
   */
  headersTimeoutMs?: number;
  /**
   * Longest silence while a request body arrives, ms: a client that stalls
   * mid-body is dropped (408). Waiting for the answer is not limited: a sync
   * `POST /run` may wait for the function's whole timeout. @default 10_000
   */
  bodyIdleTimeoutMs?: number;
  /**
   * Time a client has to send a whole request (headers and body), ms: bounds
   * a body that trickles in just fast enough to dodge `bodyIdleTimeoutMs`.
   * Raise it for large uploads over slow links. @default 300_000
   */
  requestTimeoutMs?: number;
}

export interface WorkerConfig {
  /** Jobs run at once by one worker. @default 2 */
  concurrency?: number;
  /** Long-poll wait of one receive. @default 20_000 */
  pollWaitMs?: number;
  /** Worker id shown on jobs. @default hostname:pid */
  id?: string;
  /** Concurrency the autoscaler may raise this worker to as desired capacity grows to `autoscale.max`. @default concurrency */
  maxConcurrency?: number;
  /** Jobs of one function run at once on a worker unless its upload says `max_concurrency`; more wait their turn. 0: no cap. @default 0 */
  functionConcurrency?: number;
  /** Received jobs a worker holds waiting for a slot of their function. @default 4 × concurrency */
  maxWaiting?: number;
  /** How long a job waits out a backend outage (storage, results) in place before its delivery goes back to the queue. @default 120_000 */
  backendRetryMs?: number;
}

/** The all-in-one host's own store of jobs, job records and rate-limit counters. */
export interface EmbeddedConfig {
  /**
   * `'sqlite'`: one file, `{dataDir}/nanogrid.db` — queued jobs, job records and
   * rate-limit windows survive a restart or a crash of the host. `'memory'`:
   * lost when the process exits (tests, benchmarks). @default 'sqlite'
   */
  store?: 'sqlite' | 'memory';
  /**
   * SQLite commits: `'normal'` survives the process being killed (an OS crash or
   * power cut may lose the last commits, never the file's consistency);
   * `'full'` flushes every commit to the disk. @default 'normal'
   */
  durability?: 'normal' | 'full';
  /**
   * A sync call (`POST /run`, an HTTP endpoint) runs in this host's worker,
   * skipping the queue's round trip: at once when a run slot is free, else once
   * one frees, in line with the queue's jobs (past 1,024 waiting, or with its
   * function at its `max_concurrency`, it is queued). Such a call is at-most-once across a crash
   * (nothing queued it): after a restart its record reads failed
   * (`WORKER_LOST`) instead of the job running again. Off: every job is queued.
   * @default true
   */
  syncInProcess?: boolean;
}

/** The queue-depth scaling policy (defaults: the original system's). */
export interface AutoscaleConfig {
  /** @default 2 */
  min?: number;
  /** @default 5 */
  max?: number;
  /** Waiting jobs at or above which one worker is added. @default 10 */
  scaleOutAtDepth?: number;
  /** Empty-queue time before one worker is removed. @default 180_000 */
  scaleInAfterEmptyMs?: number;
  /** Time between two changes. @default 300_000 */
  cooldownMs?: number;
  /** Sampling period. @default 15_000 */
  intervalMs?: number;
}

/** What `nanogrid.config.ts` exports (through `defineConfig`). Every field is optional. */
export interface NanoGridConfig {
  /** @default 'all' */
  role?: Role;
  /** @default 8080 */
  port?: number;
  /** @default '0.0.0.0' */
  hostname?: string;
  /**
   * Host processes on this machine behind the one port (node:cluster), each a
   * whole host of its role: `'auto'` is one per core. More than one needs a
   * queue, job records and (with the rate limit on) a rate-limit store that
   * every process shares, e.g. Redis: the embedded store is one process's
   * (docs/scaling.md). `nanogrid start --processes` overrides it. @default 1
   */
  processes?: number | 'auto';
  /** Directory of the embedded defaults (filesystem storage, work files). @default '.nanogrid' */
  dataDir?: string;
  /** Where code, metadata and outputs live. @default filesystem storage under `dataDir` */
  storage?: StorageBackend;
  /** Copies of code and successful results. @default [] */
  replicas?: StorageBackend[];
  /** @default the embedded store's queue (role 'all' only; see `embedded`) */
  queue?: QueueSource;
  /** @default the embedded store's job records (role 'all' only; see `embedded`) */
  results?: ResultSink;
  /** Where role 'all' keeps what `queue`, `results` and `http.rateLimitStore` leave unset. */
  embedded?: EmbeddedConfig;
  /** A choice, a choice with its isolation, or a sandbox object. @default 'auto' (isolation required) */
  sandbox?: Sandbox | SandboxChoice | SandboxSettings;
  /** @default Python and Node (plus C++ and Go where installed) */
  runtimes?: RuntimePlugin[];
  /** Private LLM server given to functions as `AI_ENDPOINT`. */
  ai?: { endpoint: string };
  /** Network policy of functions whose upload names none. @default 'none' */
  defaultNetwork?: NetworkPolicy;
  worker?: WorkerConfig;
  /**
   * Warm instances: runtimes with a warm server (Python, Node; C++ and Go
   * through the exec server) are served by instances kept per function version
   * — containers in the Docker sandbox, processes in the process sandbox.
   */
  warm?: {
    /** Off: every invocation starts a fresh container or process. @default true */
    enabled?: boolean;
    /** Idle instances stop after this long. @default 60_000 */
    keepAliveMs?: number;
    /** @default 4 */
    maxPerFunction?: number;
    /** @default 16 */
    maxTotal?: number;
    /** Generic instances kept ready per runtime plugin name (Docker sandbox). @default { python: 2, node: 1 } */
    prewarm?: Record<string, number>;
  };
  /** Desired capacity from queue depth, exported on `/metrics`. @default the original's policy */
  autoscale?: AutoscaleConfig;
  http?: HttpConfig;
  limits?: LimitsConfig;
  /** Call each backend's `check()` at start-up (credentials, bucket, queue); a failure stops the host. @default true */
  checkBackends?: boolean;
  /** Job records are kept this long. @default 86_400 */
  jobTtlSec?: number;
  /** How functions and the Lambda API (`/2015-03-31/…`) present themselves to Lambda code and clients. */
  lambda?: LambdaConfig;
  /** Completion webhooks (`callback_url` on /run or at deploy). */
  webhooks?: WebhooksConfig;
  /** Each host's heartbeat in the result store, listed by `GET /system`. */
  presence?: {
    /** Time between heartbeats; a host that misses 3 disappears from the list. @default 10_000 */
    intervalMs?: number;
  };
}

/** Completion webhooks: signing, which networks callbacks may reach, retries. */
export interface WebhooksConfig {
  /**
   * Key of the `X-NanoGrid-Signature: sha256=<hex HMAC-SHA256 of the body>`
   * header on every callback. @default undefined (callbacks are not signed)
   */
  secret?: string;
  /**
   * Networks (CIDR) callbacks may reach although they are loopback, private or
   * link-local, e.g. `['10.0.0.0/8']`. @default [] (public addresses only)
   */
  allowNetworks?: string[];
  /** Delay before the first retry; doubles per attempt. @default 1000 */
  retryMs?: number;
  /** Longest delay between two attempts. @default 600000 (10 min) */
  maxDelayMs?: number;
  /** A callback not delivered this long after the job ended is given up. @default 86400000 (24 h) */
  maxAgeMs?: number;
  /** One attempt, connect to answer. @default 10000 */
  timeoutMs?: number;
  /** How often every process looks for callbacks left by a stopped one. @default 10000 */
  sweepMs?: number;
}

export interface LambdaConfig {
  /**
   * Region in ARNs, the Lambda API and functions' `AWS_REGION` / `AWS_DEFAULT_REGION`
   * (a function's own env may set its region). @default 'us-east-1'
   */
  region?: string;
  /** Twelve-digit account id in ARNs. @default '000000000000' */
  accountId?: string;
  /**
   * Key pairs Lambda API clients sign their requests with (SigV4, as the aws
   * CLI and AWS SDKs do). When set, or when `http.apiKeys` is set, unsigned or
   * wrongly signed Lambda API requests are refused. @default [] (open unless API keys are set)
   */
  credentials?: { accessKeyId: string; secretAccessKey: string }[];
}

export type ConfigExport = NanoGridConfig | (() => NanoGridConfig | Promise<NanoGridConfig>);

/** Typed identity: gives `nanogrid.config.ts` completion and checks. */
export function defineConfig<T extends ConfigExport>(config: T): T {
  return config;
}
