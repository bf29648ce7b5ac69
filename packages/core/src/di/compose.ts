import { join, resolve } from 'node:path';
import type { NanoGridConfig, Role, SandboxSettings } from '../config.js';
import { fsStorage } from '../defaults/fs-storage.js';
import { memoryQueue } from '../defaults/memory-queue.js';
import { memoryResults } from '../defaults/memory-results.js';
import { CodeCache } from '../engine/code-cache.js';
import { DependencyCache } from '../engine/dependency-cache.js';
import type { EngineOptions } from '../engine/engine-options.js';
import { Executor } from '../engine/executor.js';
import { FunctionRegistry } from '../engine/function-registry.js';
import { JobService } from '../engine/job-service.js';
import { Replicator } from '../engine/replicator.js';
import { ResultSpill } from '../engine/result-spill.js';
import { resolveEngineOptions } from '../engine/resolve-options.js';
import { WORKER_OPTIONS, WorkerLoop, workerLoopDefaults } from '../engine/worker-loop.js';
import { NanoGridError } from '../errors.js';
import { type Logger, consoleLogger } from '../logger.js';
import type { QueueSource } from '../plugins/queue-source.js';
import type { ResultSink } from '../plugins/result-sink.js';
import type { RuntimePlugin } from '../plugins/runtime-plugin.js';
import type { Sandbox } from '../plugins/sandbox.js';
import type { StorageBackend } from '../plugins/storage-backend.js';
import type { WarmPoolOptions } from '../sandbox/warm-pool-base.js';
import { bubblewrapStatus, isolatedProcessSandbox, sandboxSettings } from '../sandbox/isolation.js';
import { NanoGridMetrics } from '../metrics/nanogrid-metrics.js';
import { Autoscaler } from '../scaling/autoscaler.js';
import { StatsRecorder } from '../telemetry/stats-recorder.js';
import { WebhookOutbox } from '../webhooks/webhook-outbox.js';
import { checkBackends } from './check-backends.js';
import {
  CONFIG,
  ENGINE_OPTIONS,
  LOGGER,
  QUEUE,
  REPLICAS,
  RESULTS,
  RUNTIMES,
  SANDBOX,
  STORAGE,
  provide,
} from './tokens.js';
import { type DependencyContainer, container as rootContainer } from './tsyringe.js';

export interface ComposeOptions {
  /** Runtimes when the config names none. */
  runtimes: RuntimePlugin[];
  /** Base of relative paths (`dataDir`). @default process.cwd() */
  cwd?: string;
  /** @default consoleLogger() */
  logger?: Logger;
  /**
   * Turns the config's sandbox choice (`auto`, `docker`, `process`) into a
   * sandbox; @nanogrid/host gives one that knows Docker. @default `process` only
   */
  pickSandbox?: SandboxPicker;
}

/** What a sandbox picker builds the chosen sandbox with. */
export interface SandboxPickContext {
  logger: Logger;
  /** Bytes a run may leave in its output directory (the engine's per-job cap). */
  maxOutputBytes: number;
  /** Warm pool options from `config.warm`. */
  warm: WarmPoolOptions;
  /** Images of the configured runtimes (and their builds): what a Docker engine must have. */
  images: string[];
}

/**
 * Builds the sandbox the config chose; throws a NanoGridError when it cannot,
 * `SANDBOX_UNAVAILABLE` when nothing isolates runs and `settings` (or the
 * environment) did not allow unisolated ones.
 */
export type SandboxPicker = (settings: SandboxSettings, ctx: SandboxPickContext) => Promise<Sandbox>;

/** The picker of a bare engine: only the process sandbox lives in core. */
const processOnly: SandboxPicker = async (settings, ctx) => {
  if (settings.kind !== 'process') {
    throw new NanoGridError(
      'CONFIG_INVALID',
      `sandbox "${settings.kind}" is chosen by @nanogrid/host (pass its sandboxPicker() as pickSandbox, or a Sandbox object such as dockerSandbox() from @nanogrid/sandbox-docker)`,
      { details: { field: 'sandbox' } },
    );
  }
  const sandbox = isolatedProcessSandbox(settings, bubblewrapStatus(), { logger: ctx.logger, warm: ctx.warm });
  ctx.logger.info('sandbox: process (chosen in the config)', { isolated: sandbox.isolated });
  return sandbox;
};

/** One composed host: the engine's services, resolved from its own child container. */
export interface NanoGrid {
  role: Role;
  config: NanoGridConfig;
  options: EngineOptions;
  container: DependencyContainer;
  registry: FunctionRegistry;
  jobs: JobService;
  /** Prometheus metrics of this host (`GET /metrics`). */
  metrics: NanoGridMetrics;
  /** Queue-depth policy: desired capacity, local concurrency; started by the host. */
  autoscaler: Autoscaler;
  /** Copies code and successful results to the replicas (durable outbox, retried). */
  replicator: Replicator;
  /** Completion webhooks: durable outbox, retried; swept by every role. */
  webhooks: WebhookOutbox;
  /** Per-minute job statistics, written by the worker once a second (`flush()` writes them now). */
  stats: StatsRecorder;
  /** Present unless the role is `controller`. */
  worker: WorkerLoop | undefined;
  storage: StorageBackend;
  replicas: StorageBackend[];
  queue: QueueSource;
  results: ResultSink;
  sandbox: Sandbox;
  runtimes: RuntimePlugin[];
  logger: Logger;
  /** Stops the worker (running jobs finish), then closes every plugin. */
  close(): Promise<void>;
}

function needsShared(role: Role, what: string): never {
  throw new NanoGridError(
    'CONFIG_INVALID',
    `role "${role}" needs a shared ${what}: the in-memory default only works inside one "all" process (set ${what} in nanogrid.config.ts, e.g. redisQueue() / redisResults())`,
    { details: { field: what } },
  );
}

/** A controller with no build steps never runs code: its sandbox only explains that. */
const noSandbox: Sandbox = {
  name: 'none',
  isolated: true,
  run() {
    return Promise.reject(new NanoGridError('SANDBOX_ERROR', 'this controller has no sandbox; runs happen on workers'));
  },
};

/**
 * The composition root: fills the config's gaps with the embedded defaults,
 * registers every plugin under its token in a child container of its own, and
 * resolves the engine's services from it.
 */
export async function composeNanoGrid(config: NanoGridConfig, opts: ComposeOptions): Promise<NanoGrid> {
  const cwd = opts.cwd ?? process.cwd();
  const logger = opts.logger ?? consoleLogger();
  const role = config.role ?? 'all';
  const options = resolveEngineOptions(config, cwd);
  const dataDir = resolve(cwd, config.dataDir ?? '.nanogrid');
  const runtimes = config.runtimes ?? opts.runtimes;
  if (runtimes.length === 0)
    throw new NanoGridError('CONFIG_INVALID', 'no runtimes: give at least one RuntimePlugin', {
      details: { field: 'runtimes' },
    });

  const storage =
    config.storage ??
    fsStorage({
      dir: join(dataDir, 'storage'),
      ...(config.http?.publicUrl ? { publicUrl: config.http.publicUrl } : {}),
    });
  const queue =
    config.queue ?? (role === 'all' ? memoryQueue({ maxBytes: options.maxQueuedBytes }) : needsShared(role, 'queue'));
  const results =
    config.results ??
    (role === 'all'
      ? memoryResults({ ttlSec: options.jobTtlSec, maxBytes: options.maxStoredResultBytes })
      : needsShared(role, 'results'));
  // Wrong credentials or a missing bucket/queue stop the host here, naming the backend.
  if (config.checkBackends !== false) {
    try {
      await checkBackends({ storage, queue, results, replicas: config.replicas ?? [] }, logger);
    } catch (err) {
      await Promise.allSettled([queue.close(), results.close(), storage.close?.()]);
      throw err;
    }
  }
  // A controller builds at deploy (compiles, dependency installs), so it needs a sandbox for those.
  const runsCode = role !== 'controller' || runtimes.some((r) => r.build || r.dependencies);
  const pick = opts.pickSandbox ?? processOnly;
  const settings = sandboxSettings(config.sandbox);
  const images = [
    ...new Set(runtimes.flatMap((r) => [r.image, r.build?.image ?? r.image, r.dependencies?.image ?? r.image])),
  ];
  let sandbox: Sandbox = noSandbox;
  try {
    if (!settings) sandbox = config.sandbox as Sandbox;
    else if (runsCode)
      sandbox = await pick(settings, {
        logger,
        maxOutputBytes: options.maxOutputBytes,
        warm: warmPoolOptions(config),
        images,
      });
  } catch (err) {
    // No sandbox (none isolates, no engine): nothing starts, nothing stays open.
    await Promise.allSettled([queue.close(), results.close(), storage.close?.()]);
    throw err;
  }
  if (role !== 'controller' && sandbox.cleanupOrphans) {
    // Containers of a worker that crashed would otherwise hold memory forever.
    await sandbox
      .cleanupOrphans()
      .catch((err: Error) =>
        logger.warn('could not clean up what a stopped worker left', { sandbox: sandbox.name, error: err.message }),
      );
  }

  const container = rootContainer.createChildContainer();
  provide(container, CONFIG, config);
  provide(container, LOGGER, logger);
  provide(container, ENGINE_OPTIONS, options);
  provide(container, STORAGE, storage);
  provide(container, REPLICAS, config.replicas ?? []);
  provide(container, QUEUE, queue);
  provide(container, RESULTS, results);
  provide(container, SANDBOX, sandbox);
  provide(container, RUNTIMES, runtimes);
  const metrics = new NanoGridMetrics();
  container.register(WORKER_OPTIONS, {
    useValue: workerLoopDefaults({
      onFinished: (record) => metrics.observe(record),
      ...(config.worker?.concurrency !== undefined ? { concurrency: config.worker.concurrency } : {}),
      ...(config.worker?.pollWaitMs !== undefined ? { pollWaitMs: config.worker.pollWaitMs } : {}),
      ...(config.worker?.id !== undefined ? { id: config.worker.id } : {}),
      ...(config.worker?.functionConcurrency !== undefined
        ? { functionConcurrency: config.worker.functionConcurrency }
        : {}),
      ...(config.worker?.maxWaiting !== undefined ? { maxWaiting: config.worker.maxWaiting } : {}),
      ...(config.worker?.backendRetryMs !== undefined ? { backendRetryMs: config.worker.backendRetryMs } : {}),
    }),
  });
  container.registerSingleton(Replicator);
  container.registerSingleton(WebhookOutbox);
  container.registerSingleton(DependencyCache);
  container.registerSingleton(ResultSpill);
  container.registerSingleton(StatsRecorder);
  container.registerSingleton(CodeCache);
  container.registerSingleton(FunctionRegistry);
  container.registerSingleton(JobService);
  container.registerSingleton(Executor);
  container.registerSingleton(WorkerLoop);

  const worker = role === 'controller' ? undefined : container.resolve(WorkerLoop);
  // Generic instances per runtime image, ahead of demand (refilled as they are taken).
  if (worker && options.warm && sandbox.prewarm) {
    const counts = config.warm?.prewarm ?? { python: 2, node: 1 };
    for (const rt of runtimes) {
      const count = counts[rt.name] ?? 0;
      if (count > 0 && rt.serve?.prewarm) {
        void sandbox
          .prewarm({
            image: rt.image,
            command: rt.serve.prewarm,
            count,
            memoryMb: options.defaultMemoryMb,
            files: rt.bootstrap,
          })
          .catch((err: Error) => logger.warn('prewarm failed', { runtime: rt.name, error: err.message }));
      }
    }
  }
  // Copies that did not happen (a replica was down, a process stopped) are retried from the outbox.
  const replicator = container.resolve(Replicator);
  replicator.start();
  // Callbacks a stopped process left in the outbox are delivered by whichever process sweeps first.
  const webhooks = container.resolve(WebhookOutbox);
  webhooks.onAttempt = (outcome) => metrics.webhooks.inc({ outcome });
  webhooks.start();
  // Large results stored in storage are removed after the job TTL by the processes that run jobs.
  const spill = container.resolve(ResultSpill);
  if (worker) spill.start();
  const autoscaler = new Autoscaler(
    queue,
    worker,
    metrics,
    logger,
    {
      ...config.autoscale,
      ...(config.worker?.maxConcurrency !== undefined ? { maxConcurrency: config.worker.maxConcurrency } : {}),
      ...(config.warm?.maxTotal !== undefined ? { baseWarmCapacity: config.warm.maxTotal } : {}),
    },
    options.warm ? sandbox : undefined,
  );
  let closing: Promise<void> | undefined;
  return {
    role,
    config,
    options,
    container,
    registry: container.resolve(FunctionRegistry),
    jobs: container.resolve(JobService),
    replicator,
    webhooks,
    stats: container.resolve(StatsRecorder),
    metrics,
    autoscaler,
    worker,
    storage,
    replicas: config.replicas ?? [],
    queue,
    results,
    sandbox,
    runtimes,
    logger,
    close: () =>
      (closing ??= (async () => {
        autoscaler.stop();
        spill.stop();
        await worker?.stop();
        await container.resolve(StatsRecorder).stop();
        // A deploy prepares code in the background: let it finish before the work dir can be removed.
        await container.resolve(CodeCache).idle();
        await replicator.stop();
        await webhooks.stop();
        const all = [
          queue.close(),
          results.close(),
          storage.close?.(),
          sandbox.close?.(),
          ...(config.replicas ?? []).map((r) => r.close?.()),
        ];
        const failed = (await Promise.allSettled(all)).filter(
          (r): r is PromiseRejectedResult => r.status === 'rejected',
        );
        for (const f of failed) logger.warn('a plugin failed to close', { error: String(f.reason) });
        await container.dispose();
      })()),
  };
}

/** The warm pool options from `config.warm`. */
function warmPoolOptions(config: NanoGridConfig): WarmPoolOptions {
  const w = config.warm ?? {};
  return {
    ...(w.keepAliveMs !== undefined ? { keepAliveMs: w.keepAliveMs } : {}),
    ...(w.maxPerFunction !== undefined ? { maxPerKey: w.maxPerFunction } : {}),
    ...(w.maxTotal !== undefined ? { maxTotal: w.maxTotal } : {}),
  };
}
