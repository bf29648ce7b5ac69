import { dockerSandbox } from '@nanogrid/sandbox-docker';
import { testRuntime } from '@nanogrid/core/testing';
import { dockerTestEnv } from '@nanogrid/sandbox-docker/testing';
import { describe } from 'vitest';
import { nodeRuntime } from '../src/index.js';
import { nodeFixtures } from './fixtures.js';

const runtime = nodeRuntime();
const env = await dockerTestEnv([runtime.image]);

describe.skipIf(!env.ready)('node in Docker', () => {
  testRuntime(`node on the Docker sandbox (${runtime.image})`, {
    runtime,
    sandbox: () => dockerSandbox(),
    fixtures: nodeFixtures,
  });
});
