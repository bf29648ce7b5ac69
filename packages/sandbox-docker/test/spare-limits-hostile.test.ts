import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type JobRecord, type NanoGrid, silentLogger } from '@nanogrid/core';
import { pythonRuntime } from '@nanogrid/runtime-python';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerSandbox } from '../src/docker-sandbox.js';
import { dockerTestEnv, PYTHON_IMAGE } from './helpers/docker-env.js';
import { pythonSparesReady } from './helpers/python-spares.js';
import { composeInDir } from './helpers/compose-in-dir.js';

const env = await dockerTestEnv([PYTHON_IMAGE]);

/**
 * Allocates past its limit while its module loads, before any handler runs: a claimed spare must already hold
 * the function's (lower) limit then, not the spare's 512 MiB, whose engine record is only updated after the call.
 */
const GREEDY_AT_LOAD_PY = `HELD = [bytearray(1 << 20) for _ in range(160)]

def handler(event, context):
    return {"held": len(HELD)}
`;

/** Allocates `event["mb"]` in the call (the first call of a claimed spare included). */
const GREEDY_IN_CALL_PY = `def handler(event, context):
    chunks = [bytearray(1 << 20) for _ in range(event["mb"])]
    return {"held": len(chunks)}
`;

/**
 * A prewarmed spare (512 MiB) claimed by a 64 MiB function: its limit is written in the container's cgroup
 * at the claim, the engine's record follows after the first call. A hostile function allocates past the
 * function's limit from its first byte of code: at module load, and in the very first call.
 */
describe.skipIf(!env.ready)("a claimed spare's limits against a greedy function (Docker)", () => {
  let ng: NanoGrid;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-spare-limits-'));
    ng = await composeInDir(dir, {
      sandbox: dockerSandbox({ logger: silentLogger, workerId: `spare-limits-${process.pid}` }),
      worker: { concurrency: 1, pollWaitMs: 500 },
      warm: { enabled: true, prewarm: { python: 1 } },
      runtimes: [pythonRuntime()],
    });
    ng.worker?.start();
  }, 60_000);
  afterAll(async () => {
    await ng?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const sparesReady = () => pythonSparesReady(ng.sandbox, 1);
  const deploy = async (name: string, code: string) =>
    (
      await ng.registry.deploy({
        functionName: `${name}-${Date.now()}`,
        runtime: 'python3',
        fileName: 'greedy.py',
        handler: 'greedy.handler',
        data: Buffer.from(code),
        memoryMb: 64,
      })
    ).function_id;
  const call = async (fid: string, payload: unknown = {}): Promise<JobRecord> => {
    const { record } = await ng.jobs.submit(fid, payload);
    return ng.jobs.wait(record.job_id, { timeoutMs: 60_000 });
  };

  it('160 MiB taken while the module loads on a spare claimed at 64 MiB: OUT_OF_MEMORY', async () => {
    await sparesReady();
    const fid = await deploy('greedy-load', GREEDY_AT_LOAD_PY);
    const first = await call(fid);
    expect(first).toMatchObject({ status: 'failed', start: 'prewarmed', error: { code: 'OUT_OF_MEMORY' } });
  }, 120_000);

  it("the first call of a spare claimed at 64 MiB cannot use the spare's 512 MiB; the next instance holds too", async () => {
    await sparesReady();
    const fid = await deploy('greedy-call', GREEDY_IN_CALL_PY);
    const first = await call(fid, { mb: 200 });
    expect(first).toMatchObject({ status: 'failed', start: 'prewarmed', error: { code: 'OUT_OF_MEMORY' } });
    // The instance that replaces it (a spare again, or cold) serves within the limit and refuses past it.
    expect(await call(fid, { mb: 8 })).toMatchObject({ status: 'completed', result: { held: 8 } });
    expect(await call(fid, { mb: 200 })).toMatchObject({ status: 'failed', error: { code: 'OUT_OF_MEMORY' } });
  }, 120_000);
});
