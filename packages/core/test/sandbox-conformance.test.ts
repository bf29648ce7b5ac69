import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { processSandbox } from '../src/sandbox/process-sandbox.js';
import { findExecutable, splitPath } from '../src/sandbox/find-executable.js';
import { securityTable, testSandbox } from '../src/testing/index.js';

const hasBwrap = findExecutable('bwrap', splitPath(process.env.PATH)) !== undefined;
if (!hasBwrap && process.env.CI === 'true')
  throw new Error('the sandbox suite needs bubblewrap with CI=true (apt-get install -y bubblewrap)');
if (!hasBwrap) console.warn('sandbox conformance: bubblewrap is not installed, the bubblewrap sandbox is not tried');

// docs/security.md's table is checked against what these runs see (NANOGRID_WRITE_SECURITY_DOC=1 rewrites it).
const doc = fileURLToPath(new URL('../../../docs/security.md', import.meta.url));
const isolated = securityTable(doc, 'process + bubblewrap');
const plain = securityTable(doc, 'process, no bubblewrap');
afterAll(async () => {
  await isolated.verify();
  await plain.verify();
});

if (hasBwrap)
  testSandbox('process sandbox, bubblewrap', ({ logger }) => processSandbox({ bwrap: true, logger }), {
    onOutcome: isolated.onOutcome,
  });

const noIsolation = 'plain host processes are not isolated';
testSandbox('process sandbox, no bubblewrap', ({ logger }) => processSandbox({ bwrap: false, logger }), {
  noNetwork: false,
  unpromised: {
    'launcher-env': noIsolation,
    capabilities: noIsolation,
    remount: noIsolation,
    'disk-quota': 'no mount namespace to hold a quota',
    'setsid-grandchild': 'a process that leaves the session before it is first seen cannot be found',
  },
  onOutcome: plain.onOutcome,
});
