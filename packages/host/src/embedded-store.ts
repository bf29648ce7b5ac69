import { join, resolve } from 'node:path';
import type { Logger, NanoGridConfig } from '@nanogrid/core';

/** The database file of the embedded store, under the data directory. */
export const EMBEDDED_DB_FILE = 'nanogrid.db';

/**
 * Fills what an all-in-one host leaves unset — queue, job records, rate-limit
 * counters — from one SQLite file under the data directory, so a restart or a
 * crash loses no queued job and no finished result. `embedded.store: 'memory'`
 * keeps core's in-memory defaults; other roles need shared backends and get
 * nothing here. The native driver is imported only when it is used.
 */
export async function withEmbeddedStore(config: NanoGridConfig, cwd: string, logger: Logger): Promise<NanoGridConfig> {
  if ((config.role ?? 'all') !== 'all' || (config.embedded?.store ?? 'sqlite') !== 'sqlite') return config;
  const needRateLimit = config.http?.rateLimit !== false && !config.http?.rateLimitStore;
  if (config.queue && config.results && !needRateLimit) return config;

  const file = join(resolve(cwd, config.dataDir ?? '.nanogrid'), EMBEDDED_DB_FILE);
  const { sqliteBackend } = await import('@nanogrid/sqlite');
  const backend = sqliteBackend({
    file,
    ...(config.embedded?.durability ? { synchronous: config.embedded.durability } : {}),
    ...(config.jobTtlSec !== undefined ? { ttlSec: config.jobTtlSec } : {}),
    // The same byte budgets as the in-memory store (limits.maxQueuedBytes / maxStoredResultBytes).
    ...(config.limits?.maxQueuedBytes !== undefined ? { maxQueuedBytes: config.limits.maxQueuedBytes } : {}),
    ...(config.limits?.maxStoredResultBytes !== undefined
      ? { maxStoredResultBytes: config.limits.maxStoredResultBytes }
      : {}),
  });
  // The stores the config already names elsewhere let go of the file at once.
  await Promise.all([
    config.queue ? backend.queue.close() : undefined,
    config.results ? backend.results.close() : undefined,
    needRateLimit ? undefined : backend.rateLimitStore.close?.(),
  ]);
  logger.info('embedded store: SQLite', {
    file,
    queue: !config.queue,
    results: !config.results,
    rate_limit: needRateLimit,
  });
  if (!config.queue && !config.results) {
    // Sync calls a stopped process ran in-process were never queued: their records say so now.
    const lost = await backend.failOrphans();
    if (lost > 0)
      logger.warn('jobs in flight when the previous process stopped were not queued: marked failed', {
        count: lost,
        code: 'WORKER_LOST',
      });
  }
  return {
    ...config,
    queue: config.queue ?? backend.queue,
    results: config.results ?? backend.results,
    ...(needRateLimit ? { http: { ...config.http, rateLimitStore: backend.rateLimitStore } } : {}),
  };
}
