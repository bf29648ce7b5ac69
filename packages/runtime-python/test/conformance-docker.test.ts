import { dockerSandbox } from '@nanogrid/core';
import { testRuntime } from '@nanogrid/core/testing';
import { describe } from 'vitest';
import { pythonRuntime } from '../src/index.js';
import { dockerReady } from './docker-ready.js';
import { pythonFixtures } from './fixtures.js';

// The default image (Debian's Python 3.11, built offline), read-only /code, user nobody.
const runtime = pythonRuntime();
const ready = await dockerReady(runtime.image, ['python3', '--version']);

describe.skipIf(!ready)('python runtime in its Docker image', () => {
  testRuntime('python on the docker sandbox', { runtime, sandbox: () => dockerSandbox(), fixtures: pythonFixtures });
});
