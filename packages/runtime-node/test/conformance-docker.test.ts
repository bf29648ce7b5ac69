import { dockerSandbox } from '@nanogrid/core';
import { testRuntime } from '@nanogrid/core/testing';
import { describe } from 'vitest';
import { nodeRuntime } from '../src/index.js';
import { dockerReady } from './docker-ready.js';
import { nodeFixtures } from './fixtures.js';

// The default image (Debian's Node 18, built offline): exercises the ESM-in-.js retry, read-only /code, user nobody.
const runtime = nodeRuntime();
const ready = await dockerReady(runtime.image, ['node', '--version']);

describe.skipIf(!ready)('node runtime in its Docker image', () => {
  testRuntime('node on the docker sandbox', { runtime, sandbox: () => dockerSandbox(), fixtures: nodeFixtures });
});
