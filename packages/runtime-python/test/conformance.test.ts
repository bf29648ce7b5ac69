import { processSandbox } from '@nanogrid/core';
import { testRuntime } from '@nanogrid/core/testing';
import { pythonRuntime } from '../src/index.js';
import { pythonFixtures } from './fixtures.js';

testRuntime('python on the process sandbox', {
  runtime: pythonRuntime(),
  sandbox: () => processSandbox(),
  fixtures: pythonFixtures,
});
