import { dockerSandbox } from '@nanogrid/sandbox-docker';
import { testRuntime } from '@nanogrid/core/testing';
import { dockerTestEnv } from '@nanogrid/sandbox-docker/testing';
import { describe } from 'vitest';
import { pythonRuntime } from '../src/index.js';
import { pythonFixtures } from './fixtures.js';

const runtime = pythonRuntime();
const env = await dockerTestEnv([runtime.image]);

describe.skipIf(!env.ready)('python in Docker', () => {
  testRuntime(`python on the Docker sandbox (${runtime.image})`, {
    runtime,
    sandbox: () => dockerSandbox(),
    fixtures: pythonFixtures,
  });
});
