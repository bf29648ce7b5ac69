export * from './errors.js';
export * from './job.js';
export * from './job-cursor.js';
export * from './function-meta.js';
export * from './config.js';
export * from './logger.js';
export * from './shell-quote.js';
export * from './plugins/queue-source.js';
export * from './plugins/result-sink.js';
export * from './plugins/storage-backend.js';
export * from './plugins/sandbox.js';
export * from './plugins/runtime-plugin.js';
export * from './plugins/rate-limit-store.js';
export * from './di/tokens.js';
export * from './engine/engine-options.js';
// --- embedded defaults (memory queue, memory results, fs storage)
export * from './job-message.js';
export * from './defaults/memory-queue.js';
export * from './defaults/memory-results.js';
export * from './defaults/byte-budget.js';
export * from './defaults/storage-key.js';
export * from './defaults/url-signer.js';
export * from './defaults/fs-storage.js';
// --- archives
export * from './archive/extract-zip.js';
export * from './archive/create-zip.js';
export * from './archive/list-zip.js';
export * from './archive/entry-path.js';
export type { ZipSource, ZipEntryKind } from './archive/open-zip.js';
// --- sandboxes
export * from './sandbox/process-sandbox.js';
export * from './sandbox/isolation.js';
export * from './sandbox/capped-buffer.js';
// the warm protocol and pool, shared with @nanogrid/sandbox-docker
export * from './sandbox/warm-channel.js';
export * from './sandbox/warm-stderr.js';
export * from './sandbox/warm-pool-base.js';
export * from './sandbox/peak-rearm.js';
// --- engine
export * from './engine/invoke.js';
// --- live logs and job events
export * from './live/job-event.js';
export * from './live/job-log-writer.js';
export * from './live/in-process-live.js';
export * from './live/final-listeners.js';
export * from './live/follow-job.js';
export * from './engine/lambda-env.js';
export * from './engine/interpret-run.js';
export * from './engine/resolve-options.js';
export * from './engine/validate-deploy.js';
export * from './engine/entry-file.js';
export * from './engine/code-cache.js';
export * from './engine/dependency-cache.js';
export { linkTree, type LinkTreeOptions } from './engine/link-tree.js';
export * from './engine/collect-outputs.js';
export * from './engine/function-registry.js';
export * from './engine/function-ref.js';
export * from './engine/function-store.js';
export * from './engine/job-service.js';
export * from './engine/executor.js';
export * from './engine/worker-loop.js';
export * from './di/compose.js';
export { findExecutable } from './sandbox/find-executable.js';
export * from './engine/replicator.js';
export * from './engine/result-spill.js';
// --- scaling and metrics
export * from './scaling/autoscale-policy.js';
export * from './scaling/autoscaler.js';
export * from './metrics/nanogrid-metrics.js';
// --- triggers and completion callbacks
export * from './triggers/schedule-expression.js';
export * from './webhooks/index.js';
export * from './triggers/schedule-store.js';
export * from './triggers/scheduler.js';
export * from './telemetry/host-info.js';
export * from './telemetry/duration-sketch.js';
export * from './telemetry/job-stats.js';
export * from './telemetry/host-presence.js';
export * from './telemetry/stats-recorder.js';
export * from './telemetry/probe.js';
