import { processSandbox } from '@nanogrid/core';
import { testRuntime } from '@nanogrid/core/testing';
import { nodeRuntime } from '../src/index.js';
import { nodeFixtures } from './fixtures.js';

testRuntime('node on the process sandbox', {
  runtime: nodeRuntime(),
  sandbox: () => processSandbox(),
  fixtures: nodeFixtures,
});
