import { fileURLToPath } from 'node:url';
import { afterAll, describe } from 'vitest';
import { securityTable, testSandbox } from '@nanogrid/core/testing';
import { dockerSandbox } from '../src/docker-sandbox.js';
import { dockerTestEnv } from './helpers/docker-env.js';

const env = await dockerTestEnv();
// docs/security.md's docker column is checked against what this run sees (NANOGRID_WRITE_SECURITY_DOC=1 rewrites it).
const table = securityTable(fileURLToPath(new URL('../../../docs/security.md', import.meta.url)), 'docker');

describe.skipIf(!env.ready)('docker sandbox', () => {
  afterAll(() => table.verify());
  testSandbox('docker sandbox', () => dockerSandbox(), { onOutcome: table.onOutcome });
});
