import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.js';

const examples = resolve(dirname(fileURLToPath(import.meta.url)), '../../../examples');

describe('examples/nanogrid.config.ts', () => {
  it('loads and passes validation as shipped', async () => {
    const loaded = await loadConfig({ cwd: examples, configPath: join(examples, 'nanogrid.config.ts') });
    expect(loaded.config).toMatchObject({
      role: 'all',
      sandbox: 'auto',
      worker: { concurrency: 2 },
      limits: { defaultTimeoutSec: 300 },
    });
  });
});

describe('the distributed example configs', () => {
  for (const file of ['examples/nanogrid.aws-gcp.config.ts', 'deploy/nanogrid.compose.config.ts']) {
    it(`${file} loads and validates (plugins are built, nothing connects)`, async () => {
      const path = join(examples, '..', file);
      const loaded = await loadConfig({ cwd: dirname(path), configPath: path });
      expect(loaded.config.storage?.name).toMatch(/s3-storage/);
      expect(loaded.config.queue?.name).toMatch(/sqs/);
      expect(loaded.config.results?.name).toMatch(/redis/);
      await Promise.allSettled([
        loaded.config.queue?.close(),
        loaded.config.results?.close(),
        loaded.config.http?.rateLimitStore?.close?.(),
      ]);
    });
  }
});
