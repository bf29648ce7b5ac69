import { fileURLToPath } from 'node:url';
import { securityTable, testSandbox } from '@nanogrid/core/testing';
import { afterAll } from 'vitest';
import { dockerSandbox } from '../src/docker-sandbox.js';
import { dockerTestEnv, PYTHON_IMAGE } from './helpers/docker-env.js';

// Fails with CI=true when the engine or the image is missing; skips (and says why) elsewhere.
const env = await dockerTestEnv([PYTHON_IMAGE]);

// docs/security.md's "docker" column is checked against what this run sees (NANOGRID_WRITE_SECURITY_DOC=1 rewrites it).
const doc = fileURLToPath(new URL('../../../docs/security.md', import.meta.url));
const table = securityTable(doc, 'docker');
afterAll(async () => {
  if (env.ready) await table.verify();
});

if (env.ready)
  testSandbox('Docker sandbox', ({ logger }) => dockerSandbox({ logger, workerId: `suite-${process.pid}` }), {
    image: PYTHON_IMAGE,
    onOutcome: table.onOutcome,
  });
