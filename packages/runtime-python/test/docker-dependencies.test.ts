import { isNanoGridError } from '@nanogrid/core';
import { type BuildEngine, buildEngine } from '@nanogrid/core/testing';
import { dockerSandbox } from '@nanogrid/sandbox-docker';
import { dockerTestEnv } from '@nanogrid/sandbox-docker/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pythonRuntime } from '../src/index.js';
import { type LocalIndex, makeWheel, serveIndex } from './local-index.js';

// The run reports the package and whether it can reach the index itself (its network policy is `none`).
const HANDLER = `import tinydep, urllib.request

def handler(event, context):
    try:
        urllib.request.urlopen(event["index"], timeout=3)
        reached = True
    except Exception:
        reached = False
    return {"value": tinydep.VALUE, "from": tinydep.__file__.split("/")[-3], "index_reached": reached}
`;

const runtime = pythonRuntime();
const env = await dockerTestEnv([runtime.image]);

describe.skipIf(!env.ready)('requirements.txt installed at deploy (Docker sandbox, local index)', () => {
  let index: LocalIndex;
  let engine: BuildEngine;
  beforeAll(async () => {
    // 0.0.0.0: the install container reaches the host's index through the Docker host's alias.
    index = await serveIndex(
      [await makeWheel('tinydep', '2.0.0', { 'tinydep/__init__.py': 'VALUE = "tiny 2.0"\n' })],
      '0.0.0.0',
    );
    engine = await buildEngine(pythonRuntime({ dependencies: { indexUrl: index.url } }), dockerSandbox());
  });
  afterAll(async () => {
    await engine?.close();
    await index?.close();
  });

  it('installs in the runtime image with the network open for the install only; the run keeps network none', async () => {
    const before = engine.builds();
    const fn = await engine.deploy({ 'main.py': HANDLER, 'requirements.txt': 'tinydep>=2\n' });
    expect(engine.builds()).toBe(before + 1);
    expect(index.requests.some((p) => p.startsWith('/files/tinydep-2.0.0'))).toBe(true);
    const job = await engine.run(fn.function_id, {
      index: `${index.url.replace('127.0.0.1', 'host.docker.internal')}tinydep/`,
    });
    expect(job.error).toBeUndefined();
    expect(job.result).toEqual({ value: 'tiny 2.0', from: '__nanogrid_deps', index_reached: false });
    const again = await engine.deploy({ 'main.py': `${HANDLER}# v2\n`, 'requirements.txt': 'tinydep>=2\n' });
    expect(engine.builds()).toBe(before + 1);
    expect((await engine.run(again.function_id, { index: 'http://127.0.0.1:9/' })).result).toMatchObject({
      value: 'tiny 2.0',
    });
  });

  it("a missing package is BUILD_FAILED with pip's output from the container", async () => {
    let error: unknown;
    try {
      await engine.deploy({ 'main.py': HANDLER, 'requirements.txt': 'not-in-this-index==1.0\n' });
    } catch (err) {
      error = err;
    }
    expect(isNanoGridError(error, 'BUILD_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(/No matching distribution found for not-in-this-index/);
  });
});
