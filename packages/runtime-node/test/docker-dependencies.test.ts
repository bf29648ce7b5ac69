import { type BuildEngine, buildEngine } from '@nanogrid/core/testing';
import { dockerSandbox } from '@nanogrid/sandbox-docker';
import { dockerTestEnv } from '@nanogrid/sandbox-docker/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeRuntime } from '../src/index.js';

const HANDLER = `import isNumber from 'is-number';
export async function handler(event) {
  return { number: isNumber(event.x) };
}
`;

const runtime = nodeRuntime();
const env = await dockerTestEnv([runtime.image]);

describe.skipIf(!env.ready)('package.json installed at deploy (Docker sandbox, npm registry)', () => {
  let engine: BuildEngine;
  beforeAll(async () => {
    engine = await buildEngine(runtime, dockerSandbox());
  });
  afterAll(async () => {
    await engine?.close();
  });

  it("installs is-number with the image's npm, once per manifest", async () => {
    const manifest = JSON.stringify({ name: 'fn', dependencies: { 'is-number': '^7.0.0' } });
    const fn = await engine.deploy({ 'main.mjs': HANDLER, 'package.json': manifest }, { runtime: 'nodejs18.x' });
    expect(engine.builds()).toBe(1);
    const job = await engine.run(fn.function_id, { x: 3 });
    expect(job.error).toBeUndefined();
    expect(job.result).toEqual({ number: true });
    await engine.deploy({ 'main.mjs': `${HANDLER}// v2\n`, 'package.json': manifest }, { runtime: 'nodejs18.x' });
    expect(engine.builds()).toBe(1);
  });
});
