import { NanoGridError, toNanoGridError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { QueueSource } from '../plugins/queue-source.js';
import type { ResultSink } from '../plugins/result-sink.js';
import type { StorageBackend } from '../plugins/storage-backend.js';

/**
 * Calls `check()` on every backend that has one, at once. A primary backend
 * that fails stops the start-up with an error naming it; a replica that fails
 * is only a warning (its copies wait in the replication outbox).
 */
export async function checkBackends(
  roles: { storage: StorageBackend; queue: QueueSource; results: ResultSink; replicas: readonly StorageBackend[] },
  logger: Logger,
): Promise<void> {
  const primary = [
    ['storage', roles.storage],
    ['queue', roles.queue],
    ['results', roles.results],
  ] as const;
  const failures = await Promise.all(
    primary.map(async ([role, plugin]) => {
      try {
        await plugin.check?.();
        return undefined;
      } catch (err) {
        const e = toNanoGridError(err, 'BACKEND_UNAVAILABLE', plugin.name);
        return { code: e.code, text: `${role} (${plugin.name}): ${e.code}: ${e.message}` };
      }
    }),
  );
  const problems = failures.filter((f) => f !== undefined);
  const first = problems[0];
  if (first) {
    // The first failure's code (CONFIG_INVALID for wrong credentials, BACKEND_UNAVAILABLE for a server that is down).
    const texts = problems.map((p) => p.text);
    throw new NanoGridError(
      first.code,
      `start-up check failed — fix the config or the credentials:\n  ${texts.join('\n  ')}`,
      {
        details: { problems: texts },
      },
    );
  }
  await Promise.all(
    roles.replicas.map(async (replica, i) => {
      await replica.check?.().catch((err: unknown) =>
        logger.warn('replica failed its start-up check; copies to it wait in the replication outbox', {
          replica: `${i}:${replica.name}`,
          error: toNanoGridError(err).message,
        }),
      );
    }),
  );
}
