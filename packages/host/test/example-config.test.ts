import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.js';

const examples = resolve(dirname(fileURLToPath(import.meta.url)), '../../../examples');

describe('examples/nanogrid.config.ts', () => {
  it('loads and passes validation as shipped', async () => {
    const loaded = await loadConfig({ cwd: examples, configPath: join(examples, 'nanogrid.config.ts') });
    expect(loaded.config).toMatchObject({ role: 'all', sandbox: 'auto', worker: { concurrency: 2 }, limits: { defaultTimeoutSec: 300 } });
  });
});
