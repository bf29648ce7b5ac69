import { defineConfig } from 'vitest/config';

// One root config; each package is a project. The `source` export condition
// makes workspace imports resolve to TypeScript sources, so tests need no build.
const packages = [
  'core',
  'client',
  'sandbox-docker',
  'runtime-python',
  'runtime-node',
  'runtime-cpp',
  'runtime-go',
  'host',
  'redis',
  'queue-sqs',
  'storage-s3',
  'storage-gcs',
  'sqlite',
  'ui',
];

export default defineConfig({
  // tsyringe's parameter decorators are TypeScript's legacy (experimentalDecorators) kind.
  oxc: { decorator: { legacy: true } },
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: packages.map((name) => ({
      extends: true,
      test: { name, root: `packages/${name}`, include: ['test/**/*.test.ts'] },
    })),
  },
});
