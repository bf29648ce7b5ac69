import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createZip } from '../archive/create-zip.js';
import { fsStorage } from '../defaults/fs-storage.js';
import { memoryQueue } from '../defaults/memory-queue.js';
import { memoryResults } from '../defaults/memory-results.js';
import { type NanoGrid, composeNanoGrid } from '../di/compose.js';
import type { FunctionMeta, NetworkPolicy } from '../function-meta.js';
import type { JobRecord } from '../job.js';
import { silentLogger } from '../logger.js';
import type { RuntimePlugin } from '../plugins/runtime-plugin.js';
import type { Sandbox } from '../plugins/sandbox.js';
import type { StorageBackend } from '../plugins/storage-backend.js';
import { uniqueId } from './helpers.js';

/** An all-in-one engine over one runtime that counts the build runs (compiles, dependency installs) its sandbox starts. */
export interface BuildEngine {
  ng: NanoGrid;
  /** Build runs so far (runs labelled `nanogrid.build`). */
  builds(): number;
  /** Deploys a zip of these files. */
  deploy(
    files: Record<string, string>,
    opts?: { name?: string; runtime?: string; network?: NetworkPolicy },
  ): Promise<FunctionMeta>;
  /** Runs a function and waits for its final record. */
  run(functionId: string, payload?: unknown): Promise<JobRecord>;
  close(): Promise<void>;
}

/**
 * Starts a BuildEngine on `sandbox` (the engine closes it) in a fresh temp dir;
 * `storage` shares a store between engines, as machines of one cluster do.
 */
export async function buildEngine(
  runtime: RuntimePlugin,
  sandbox: Sandbox,
  opts: { storage?: StorageBackend } = {},
): Promise<BuildEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'nanogrid-build-'));
  let builds = 0;
  const counted: Sandbox = {
    ...sandbox,
    run(spec) {
      if (spec.labels?.['nanogrid.build'] !== undefined) builds += 1;
      return sandbox.run(spec);
    },
  };
  const ng = await composeNanoGrid(
    {
      dataDir: join(dir, 'data'),
      storage: opts.storage ?? fsStorage({ dir: join(dir, 'storage'), publicUrl: 'http://files.test' }),
      queue: memoryQueue({ name: uniqueId('q') }),
      results: memoryResults(),
      sandbox: counted,
      worker: { concurrency: 2, pollWaitMs: 200 },
      runtimes: [runtime],
    },
    { runtimes: [], cwd: dir, logger: silentLogger },
  );
  ng.worker?.start();
  return {
    ng,
    builds: () => builds,
    async deploy(files, opts = {}) {
      const data = await createZip(Object.entries(files).map(([path, text]) => ({ path, data: text })));
      return ng.registry.deploy({
        functionName: opts.name ?? uniqueId('fn'),
        runtime: opts.runtime ?? runtime.name,
        fileName: 'code.zip',
        data,
        ...(opts.network ? { network: opts.network } : {}),
      });
    },
    async run(functionId, payload = {}) {
      const { record } = await ng.jobs.submit(functionId, payload);
      return ng.jobs.wait(record.job_id, { timeoutMs: 60_000 });
    },
    async close() {
      await ng.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
