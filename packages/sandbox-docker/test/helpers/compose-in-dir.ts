import { join } from 'node:path';
import {
  type NanoGrid,
  type NanoGridConfig,
  composeNanoGrid,
  fsStorage,
  memoryQueue,
  memoryResults,
  silentLogger,
} from '@nanogrid/core';

/**
 * Composes an engine whose data and file storage live in `dir`, with an in-memory queue (a unique name) and
 * results: the pieces a Docker test does not look at. `config` brings the rest (sandbox, worker, warm, runtimes…).
 */
export function composeInDir(dir: string, config: NanoGridConfig): Promise<NanoGrid> {
  return composeNanoGrid(
    {
      dataDir: join(dir, 'data'),
      storage: fsStorage({ dir: join(dir, 'storage') }),
      queue: memoryQueue({ name: `q-${Math.random().toString(36).slice(2)}` }),
      results: memoryResults(),
      ...config,
    },
    { runtimes: [], cwd: dir, logger: silentLogger },
  );
}
