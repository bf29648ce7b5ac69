import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type NanoGrid,
  type NanoGridConfig,
  type RuntimePlugin,
  composeNanoGrid,
  fsStorage,
  memoryQueue,
  memoryResults,
  silentLogger,
} from '../../src/index.js';

/**
 * A shell runtime: the engine is language-agnostic, so its tests use `sh`
 * (stdout protocol, event on stdin) and need no runtime package.
 */
export function shRuntime(extra: Partial<RuntimePlugin> = {}): RuntimePlugin {
  return {
    name: 'sh',
    runtimes: ['sh', /^posix-sh\d*$/],
    extensions: ['.sh'],
    image: 'nanogrid/python:3',
    defaultHandler: 'main.handler',
    bootstrap: {},
    protocol: 'stdout',
    entry: (fn) => ['sh', fn.entryFile],
    ...extra,
  };
}

/** The same shell functions, compiled: the build copies `*.sh` to the output and stamps it. */
export function builtShRuntime(): RuntimePlugin {
  return shRuntime({
    name: 'sh-built',
    runtimes: ['sh-built'],
    build: {
      command: () => [
        'sh',
        '-c',
        'sh -n "$NANOGRID_ENTRY_FILE" && cp ./*.sh "$OUTPUT_DIR"/ && echo built > "$OUTPUT_DIR/stamp"',
      ],
    },
    entry: (fn) => ['sh', fn.entryFile],
  });
}

export interface EngineEnv {
  ng: NanoGrid;
  dir: string;
  close(): Promise<void>;
}

/** An all-in-one engine on the process sandbox, in a fresh temp dir, its worker started. */
export async function engineEnv(config: Partial<NanoGridConfig> = {}, start = true): Promise<EngineEnv> {
  const dir = await mkdtemp(join(tmpdir(), 'nanogrid-engine-'));
  const ng = await composeNanoGrid(
    {
      dataDir: join(dir, 'data'),
      storage: fsStorage({ dir: join(dir, 'storage'), publicUrl: 'http://files.test' }),
      queue: memoryQueue({ name: `q-${Math.random().toString(36).slice(2)}` }),
      results: memoryResults(),
      sandbox: 'process',
      worker: { concurrency: 2, pollWaitMs: 500 },
      runtimes: [shRuntime(), builtShRuntime()],
      ...config,
    },
    { runtimes: [], cwd: dir, logger: silentLogger },
  );
  if (start) ng.worker?.start();
  return {
    ng,
    dir,
    async close() {
      await ng.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const src = (text: string): Buffer => Buffer.from(text);
