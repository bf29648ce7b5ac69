import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type NanoGridConfig, type Sandbox, composeNanoGrid, fsStorage, memoryQueue, memoryResults, silentLogger } from '@nanogrid/core';
import { createController, defaultRuntimes } from '../src/index.js';
import type { TestHost } from './helpers.js';

const execFileP = promisify(execFile);

/** Host tests that need Docker: the runtime images they use. */
export const PYTHON_IMAGES = ['nanogrid/python:3', 'nanogrid/python-fat:3'];

/**
 * The real engine behind the real HTTP API (memory queue + results, filesystem
 * storage in a fresh temp dir, the default runtimes) on the sandbox asked for,
 * its worker running.
 */
export async function makeEngineHost(config: Partial<NanoGridConfig> & { sandbox: 'docker' | 'process' | Sandbox }): Promise<TestHost> {
  const dir = await mkdtemp(join(tmpdir(), `nanogrid-${typeof config.sandbox === 'string' ? config.sandbox : config.sandbox.name}-host-`));
  const nanogrid = await composeNanoGrid(
    {
      dataDir: join(dir, 'data'),
      storage: fsStorage({ dir: join(dir, 'storage'), publicUrl: 'http://files.test' }),
      queue: memoryQueue({ name: `q-${Math.random().toString(36).slice(2)}` }),
      results: memoryResults(),
      worker: { concurrency: 2, pollWaitMs: 1000 },
      runtimes: defaultRuntimes(),
      ...config,
    },
    { runtimes: [], cwd: dir, logger: silentLogger },
  );
  nanogrid.worker?.start();
  const app = createController({
    registry: nanogrid.registry,
    jobs: nanogrid.jobs,
    storage: nanogrid.storage,
    ...(config.limits ? { limits: config.limits } : {}),
    logger: silentLogger,
  });
  return {
    app,
    nanogrid,
    dir,
    async close() {
      await nanogrid.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Ids of the containers (any state) carrying a label, through the docker CLI. */
export async function containersLabelled(key: string, value: string): Promise<string[]> {
  const { stdout } = await execFileP('docker', ['ps', '-aq', '--filter', `label=${key}=${value}`]);
  return stdout.split('\n').filter(Boolean);
}

/** The address of Docker's default bridge on this machine: reachable from containers with a network. */
export async function dockerBridgeGateway(): Promise<string> {
  const { stdout } = await execFileP('docker', ['network', 'inspect', 'bridge', '--format', '{{range .IPAM.Config}}{{.Gateway}} {{end}}']);
  return stdout.trim().split(/\s+/).find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a)) ?? '172.17.0.1';
}

/** An example under examples/functions. */
export const example = (file: string): Promise<string> => readFile(new URL(`../../../examples/functions/${file}`, import.meta.url), 'utf8');

export interface JobJson {
  job_id: string;
  status: string;
  result?: Record<string, unknown>;
  error?: { code: string; message: string; type?: string };
  output_files: string[];
  peak_memory_bytes?: number;
  execution_time_ms?: number;
  logs?: string;
}
